package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"sotto"
)

// The admin console's side of staff invitations: the "Add a staff
// member" form of /admin/users and the "Resend invitation" button of an
// account that waits for its password, through the API's cores
// (inviteNewStaff, reinviteStaff), so checks and audit entries are the
// API's.

// staffNotices are the outcomes of this file's actions a redirect to the
// staff page may announce (?done=key), beside the console's own.
var staffNotices = map[string]bool{"invited": true, "invite_sent": true}

// staffForm is the "Add a staff member" form: what was typed (kept after a
// refusal, never a password: there is none), the message id of the
// refusal, and the choices it offers.
type staffForm struct {
	Name, Email, Role string
	DepartmentIDs     []string
	Error             string
	Roles             []formChoice
	Departments       []formChoice
}

// formChoice is one option of a select or one checkbox. Label is shown as
// is (a department's name); LabelID is a message id (a role).
type formChoice struct {
	Value, Label, LabelID string
	Checked               bool
}

// staffFormOf fills in form's choices for organization orgID: the staff
// roles and the departments, with form's own picks checked. Errors:
// KindInternal.
func (s *Server) staffFormOf(ctx context.Context, orgID string, form *staffForm) (*staffForm, error) {
	depts, err := s.db.Departments(ctx, orgID)
	if err != nil {
		return nil, err
	}
	form.Roles, form.Departments = nil, nil
	for _, role := range sotto.StaffRoles {
		form.Roles = append(form.Roles, formChoice{Value: string(role), LabelID: "role." + string(role), Checked: string(role) == form.Role})
	}
	for _, d := range depts {
		form.Departments = append(form.Departments, formChoice{Value: d.ID, Label: d.Name, Checked: slices.Contains(form.DepartmentIDs, d.ID)})
	}
	return form, nil
}

// staffFormProblem checks the form before it reaches the core, so that
// each missing or malformed field is named in the viewer's language; it
// returns a message id, or "" when the form is complete.
func staffFormProblem(req newStaffRequest) string {
	switch {
	case sotto.ValidateName("name", strings.TrimSpace(req.Name)) != nil:
		return "admin.err_staff_name"
	case sotto.ValidateEmail(sotto.NormalizeEmail(req.Email)) != nil:
		return "admin.err_staff_email"
	case !req.Role.IsStaff():
		return "admin.err_staff_role"
	}
	return ""
}

// adminAddStaff creates a staff account from the form and e-mails its
// set-up link through inviteNewStaff, the API's core. A refusal is
// answered on the page, the form as it was typed.
func (s *Server) adminAddStaff(w http.ResponseWriter, r *http.Request, c *caller) error {
	form := &staffForm{}
	if err := parseForm(w, r); err != nil {
		form.Error = "login.err_form"
		return s.renderAdminUsers(w, r, c, http.StatusBadRequest, form)
	}
	f := r.PostForm
	form.Name, form.Email, form.Role, form.DepartmentIDs = strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("email")), f.Get("role"), f["department_ids"]
	req := newStaffRequest{Name: form.Name, Email: form.Email, Role: sotto.Role(form.Role), DepartmentIDs: form.DepartmentIDs}
	status, msg := http.StatusBadRequest, staffFormProblem(req)
	if msg == "" {
		u, err := s.inviteNewStaff(r, c, req)
		if err == nil {
			return adminDone(w, r, "/admin/users", "invited", "#user-"+url.PathEscape(u.ID))
		}
		switch {
		case sotto.ErrorCode(err) == "email_taken":
			status, msg = http.StatusConflict, "admin.err_staff_email_taken"
		case sotto.ErrorCode(err) == "channel_not_configured":
			msg = "admin.err_staff_no_email"
		case errors.Is(err, errStaffDept):
			msg = "admin.err_staff_departments"
		case sotto.ErrorKind(err) == sotto.KindInvalid:
			msg = "invite.err_check"
		default:
			return err
		}
	}
	form.Error = msg
	return s.renderAdminUsers(w, r, c, status, form)
}

// adminResendInvite sends a staff member who has not chosen a password
// yet a new link through reinviteStaff, the API's core; older links stop
// working.
func (s *Server) adminResendInvite(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if _, err := s.reinviteStaff(r, c, id); err != nil {
		return err
	}
	return adminDone(w, r, "/admin/users", "invite_sent", "#user-"+url.PathEscape(id))
}
