package server

import (
	"context"
	"net/http"
	"net/url"

	"sotto"
	"sotto/internal/store"
)

// staffList is the answer of GET /api/v1/users.
type staffList struct {
	Users []*store.StaffMember `json:"users"`
}

// listUsers lists the staff of the admin's organization (patients and
// proxies are not staff), with their roles, departments and whether an
// authenticator app is enrolled. Like the other reads of staff details
// (who is on call, a message's sender), it touches no patient data and is
// not audited; a refusal is.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditUserUpdate); err != nil {
		return err
	}
	list, err := s.db.StaffUsers(r.Context(), c.user.OrgID)
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
}

// adminUserRow is one staff account.
type adminUserRow struct {
	ID, Name, Email, RoleID string
	Departments             []string
	MFA, Disabled, Me       bool
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
// account: disable or re-enable it, and end its sessions everywhere.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	staff, err := s.db.StaffUsers(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	names, err := s.departmentNames(ctx, c.user.OrgID)
	if err != nil {
		return err
	}
	v := &adminUsersView{adminBase: newAdminBase(r, "users")}
	for _, m := range staff {
		row := adminUserRow{ID: m.ID, Name: m.Name, Email: m.Email, RoleID: "role." + string(m.Role),
			MFA: m.MFAEnrolled, Disabled: m.Disabled, Me: m.ID == c.user.ID}
		for _, d := range m.DepartmentIDs {
			row.Departments = append(row.Departments, names[d])
		}
		v.Users = append(v.Users, row)
	}
	return s.renderPage(w, http.StatusOK, "admin-users", s.staffView(r, c, "admin.title_users", "admin", v))
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
