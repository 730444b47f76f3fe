package server

import (
	"context"
	"net/http"
	"net/url"

	"sotto"
)

// staffList is the answer of GET /api/v1/users.
type staffList struct {
	Users []staffUser `json:"users"`
}

// listUsers lists the staff of the admin's organization (patients and
// proxies are not staff), with their roles, departments, whether an
// authenticator app is enrolled and whether they were invited and have
// not chosen a password yet. Like the other reads of staff details
// (who is on call, a message's sender), it touches no patient data and is
// not audited; a refusal is.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditUserUpdate); err != nil {
		return err
	}
	list, err := s.staffUsers(r, c.user.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, staffList{Users: list})
	return nil
}

// adminUsersView is the staff accounts page.
type adminUsersView struct {
	adminBase
	Users []adminUserRow
	Add   *staffForm // the "Add a staff member" form (staff_invite_admin.go)
}

// adminUserRow is one staff account. Invited: it waits for its owner to
// choose a password through an invitation (InviteExpired: the newest
// link has expired).
type adminUserRow struct {
	ID, Name, Email, RoleID string
	Departments             []string
	MFA, Disabled, Me       bool
	Invited, InviteExpired  bool
}

// departmentNames maps the organization's department ids to their names.
func (s *Server) departmentNames(ctx context.Context, orgID string) (map[string]string, error) {
	depts, err := s.db.Departments(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(depts))
	for _, d := range depts {
		out[d.ID] = d.Name
	}
	return out, nil
}

// adminUsers lists the organization's staff with what may be done to each
// account: disable or re-enable it, end its sessions everywhere, send a
// new invitation while it waits for a password; and the form that adds
// a staff member.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.renderAdminUsers(w, r, c, http.StatusOK, &staffForm{})
}

// renderAdminUsers renders the staff accounts page with status and the
// add form as form holds it (its values and error after a refusal).
func (s *Server) renderAdminUsers(w http.ResponseWriter, r *http.Request, c *caller, status int, form *staffForm) error {
	ctx := r.Context()
	staff, err := s.staffUsers(r, c.user.OrgID)
	if err != nil {
		return err
	}
	names, err := s.departmentNames(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	v := &adminUsersView{adminBase: newAdminBase(r, "users")}
	if done := r.URL.Query().Get("done"); staffNotices[done] {
		v.Notice = "admin.done." + done
	}
	now := s.now()
	for _, m := range staff {
		row := adminUserRow{ID: m.ID, Name: m.Name, Email: m.Email, RoleID: "role." + string(m.Role),
			MFA: m.MFAEnrolled, Disabled: m.Disabled, Me: m.ID == c.user.ID,
			Invited: m.Invited, InviteExpired: m.Invited && !m.InviteExpiresAt.After(now)}
		for _, d := range m.DepartmentIDs {
			row.Departments = append(row.Departments, names[d])
		}
		v.Users = append(v.Users, row)
	}
	if v.Add, err = s.staffFormOf(ctx, c.user.OrgID, form); err != nil {
		return err
	}
	return s.renderPage(w, status, "admin-users", s.staffView(r, c, "admin.title_users", "admin", v))
}

// adminUserStatus disables (disabled=1) or re-enables (disabled=0) an
// account through the API's core; disabling ends its sessions at once.
func (s *Server) adminUserStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	var disabled bool
	switch r.PostForm.Get("disabled") {
	case "1":
		disabled = true
	case "0":
	default:
		return sotto.Errorf(sotto.KindInvalid, "The form asked for an unknown account status.")
	}
	u, err := s.setUserDisabled(r, c, r.PathValue("id"), disabled)
	if err != nil {
		return err
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return adminDone(w, r, "/admin/users", done, "#user-"+url.PathEscape(u.ID))
}

// adminUserSessions signs an account out everywhere through the API's
// core: every session ends; the account stays enabled.
func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if _, err := s.endSessionsOf(r, c, id); err != nil {
		return err
	}
	if id == c.user.ID {
		// The admin's own session ended too: sign in again.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return adminDone(w, r, "/admin/users", "signed_out", "#user-"+url.PathEscape(id))
}
