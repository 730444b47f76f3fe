package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/jobs"
	"sotto/internal/notify"
	"sotto/internal/store"
)

// Staff invitations. An administrator creates a staff account (API or
// admin console) without a password; sotto e-mails the person a
// single-use link to /welcome/{token} (staff_invite_web.go), where they
// choose a password, then sign in and set up their authenticator app as
// at any first sign-in. The token is stored only as a hash and sealed on
// its notification; it works once, for jobs.InviteDays days, and a newer
// invitation of the same account revokes it.

// staffInviteLifetime is how long a staff invitation link stays usable;
// the e-mail says so.
const staffInviteLifetime = jobs.InviteDays * 24 * time.Hour

// Staff invitation errors.
var (
	errEmailTaken = &sotto.Error{Kind: sotto.KindConflict, Code: "email_taken",
		Msg: "A user with this e-mail address already exists."}
	errNoEmailChannel = &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured",
		Msg: "E-mail is not configured on this server, so an invitation cannot be sent. Configure SMTP, or create the account with the sotto admin command."}
	errStaffRole = sotto.Errorf(sotto.KindInvalid, "role must be one of admin, provider, nurse, front_desk, billing, compliance (patients are invited from their record).")
	errStaffDept = sotto.Errorf(sotto.KindInvalid, "department_ids must list departments of this organization.")
)

// newStaffRequest is the body of POST /api/v1/users.
type newStaffRequest struct {
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Role          sotto.Role `json:"role"`
	DepartmentIDs []string   `json:"department_ids"`
}

// staffUser is a staff account as administrators see it: the account,
// its departments and authenticator state, and whether it still waits
// for its owner to choose a password through an invitation (and until
// when the newest link works).
type staffUser struct {
	*store.StaffMember
	Invited         bool       `json:"invited"`
	InviteExpiresAt *time.Time `json:"invite_expires_at,omitempty"`
}

// staffUsers lists orgID's staff with their invitation state. Callers:
// the staff listing of the API and the admin console. Errors:
// KindInternal.
func (s *Server) staffUsers(r *http.Request, orgID string) ([]staffUser, error) {
	list, err := s.db.StaffUsers(r.Context(), orgID)
	if err != nil {
		return nil, err
	}
	pending, err := s.db.PendingStaffInvites(r.Context(), orgID)
	if err != nil {
		return nil, err
	}
	out := make([]staffUser, 0, len(list))
	for _, m := range list {
		u := staffUser{StaffMember: m}
		if exp, ok := pending[m.ID]; ok {
			u.Invited, u.InviteExpiresAt = true, &exp
		}
		out = append(out, u)
	}
	return out, nil
}

// createStaff is POST /api/v1/users: an administrator creates a staff
// account of their organization and sotto e-mails its set-up link.
// Audited (user.create, department.member, user.invite). Errors:
// forbidden (not an administrator), KindInvalid (fields, department_ids,
// channel_not_configured), email_taken (KindConflict), KindInternal.
func (s *Server) createStaff(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditUserCreate); err != nil {
		return err
	}
	var req newStaffRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.inviteNewStaff(r, c, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// resendStaffInvite is POST /api/v1/users/{id}/invite: a new set-up link
// for a staff member who has not chosen a password yet; earlier links stop
// working. Audited (user.invite). Errors: forbidden, not_found (no such
// staff member in the organization), already_set_up or user_disabled
// (KindConflict), channel_not_configured, KindInternal.
func (s *Server) resendStaffInvite(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditUserInvite); err != nil {
		return err
	}
	exp, err := s.reinviteStaff(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, staffInviteResponse{UserID: r.PathValue("id"), InviteExpiresAt: exp})
	return nil
}

// staffInviteResponse answers POST /api/v1/users/{id}/invite.
type staffInviteResponse struct {
	UserID          string    `json:"user_id"`
	InviteExpiresAt time.Time `json:"invite_expires_at"`
}

// checkNewStaff normalizes and validates req for organization orgID: a
// staff role, a name, an e-mail address, departments of orgID (deduped).
// Errors: KindInvalid.
func (s *Server) checkNewStaff(r *http.Request, orgID string, req *newStaffRequest) (*sotto.User, error) {
	u := &sotto.User{OrgID: orgID, Role: req.Role, Email: sotto.NormalizeEmail(req.Email), Name: strings.TrimSpace(req.Name)}
	if !u.Role.IsStaff() {
		return nil, errStaffRole
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	depts, err := s.db.Departments(r.Context(), orgID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range req.DepartmentIDs {
		if !slices.ContainsFunc(depts, func(d *sotto.Department) bool { return d.ID == id }) {
			return nil, errStaffDept
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	req.DepartmentIDs = ids
	return u, nil
}

// staffNotifier returns the notifier when it can send an invitation
// e-mail (or the demo log channel stands in). Errors:
// channel_not_configured.
func (s *Server) staffNotifier() (*jobs.Notifier, error) {
	n := s.cfg.Notify.Notifier
	if n == nil || !n.Configured(notify.ChannelEmail) {
		return nil, errNoEmailChannel
	}
	return n, nil
}

// inviteNewStaff is the creation core shared by the API and the admin
// console: it checks req, then in one write creates the account (no
// password, no authenticator), its department memberships and its
// invitation, and queues the e-mail with the link, each audited. Errors:
// as createStaff's.
func (s *Server) inviteNewStaff(r *http.Request, c *caller, req newStaffRequest) (*staffUser, error) {
	u, err := s.checkNewStaff(r, c.user.OrgID, &req)
	if err != nil {
		return nil, err
	}
	n, err := s.staffNotifier()
	if err != nil {
		return nil, err
	}
	exp := s.now().UTC().Add(staffInviteLifetime)
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertUser(u, store.Credentials{}); err != nil {
			if sotto.ErrorKind(err) == sotto.KindConflict {
				return errEmailTaken
			}
			return err
		}
		if err := audit.Append(tx, s.targetEvent(r, c, sotto.AuditUserCreate, "user", u.ID, "")); err != nil {
			return err
		}
		for _, d := range req.DepartmentIDs {
			if err := tx.AddDepartmentMember(d, u.ID); err != nil {
				return err
			}
			if err := audit.Append(tx, s.targetEvent(r, c, sotto.AuditDepartmentMember, "user", u.ID, "")); err != nil {
				return err
			}
		}
		return s.sendStaffInvite(tx, r, c, n, u.ID, exp)
	})
	if err != nil {
		return nil, err
	}
	m := &store.StaffMember{User: *u, DepartmentIDs: append([]string{}, req.DepartmentIDs...)}
	return &staffUser{StaffMember: m, Invited: true, InviteExpiresAt: &exp}, nil
}

// reinviteStaff is the resend core shared by the API and the admin
// console: a new invitation for staff member id of c's organization,
// which revokes the older ones, with its e-mail; it returns when the new
// link expires. Errors: as resendStaffInvite's.
func (s *Server) reinviteStaff(r *http.Request, c *caller, id string) (time.Time, error) {
	if _, err := s.db.User(r.Context(), c.user.OrgID, id); err != nil {
		return time.Time{}, err // another organization's user is not found
	}
	n, err := s.staffNotifier()
	if err != nil {
		return time.Time{}, err
	}
	exp := s.now().UTC().Add(staffInviteLifetime)
	err = s.db.Write(r.Context(), func(tx *store.Tx) error { return s.sendStaffInvite(tx, r, c, n, id, exp) })
	return exp, err
}

// sendStaffInvite stores, inside tx, a new invitation for staff member
// userID expiring at exp (revoking older ones), queues the e-mail that
// carries its link (sealed on the notification) and audits it as
// user.invite by c.
func (s *Server) sendStaffInvite(tx *store.Tx, r *http.Request, c *caller, n *jobs.Notifier, userID string, exp time.Time) error {
	token, hash, err := auth.NewToken()
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.sendStaffInvite", Err: err}
	}
	inv := &store.StaffInvite{OrgID: c.user.OrgID, UserID: userID, CreatedBy: c.user.ID, ExpiresAt: exp}
	if err := tx.InsertStaffInvite(hash, inv); err != nil {
		return err
	}
	link := strings.TrimSuffix(s.cfg.PublicURL, "/") + "/welcome/" + token
	if _, err := n.EnqueueStaffInvitation(tx, c.user.OrgID, userID, link); err != nil {
		return err
	}
	return audit.Append(tx, s.targetEvent(r, c, sotto.AuditUserInvite, "user", userID, ""))
}
