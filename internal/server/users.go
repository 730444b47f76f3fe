package server

import (
	"net/http"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// isAdmin reports whether r is the admin role.
func isAdmin(r sotto.Role) bool { return r == sotto.RoleAdmin }

// userPatch is the body of PATCH /api/v1/users/{id}.
type userPatch struct {
	Disabled *bool `json:"disabled"`
}

// patchUser disables or re-enables a user of the admin's organization;
// disabling ends the user's sessions at once. Audited.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditUserDisable); err != nil {
		return err
	}
	var req userPatch
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Disabled == nil {
		return sotto.Errorf(sotto.KindInvalid, "Send disabled: true or false.")
	}
	u, err := s.setUserDisabled(r, c, r.PathValue("id"), *req.Disabled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// setUserDisabled disables or re-enables user id of c's organization and
// returns the user; disabling ends their sessions at once. Admins cannot
// disable themselves. Audited. Shared by the API and the admin console.
func (s *Server) setUserDisabled(r *http.Request, c *caller, id string, disabled bool) (*sotto.User, error) {
	if id == c.user.ID && disabled {
		return nil, sotto.Errorf(sotto.KindInvalid, "You cannot disable your own account.")
	}
	action := sotto.AuditUserUpdate
	if disabled {
		action = sotto.AuditUserDisable
	}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetUserDisabled(c.user.OrgID, id, disabled); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, action, "user", id, "")
		return audit.Append(tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return s.db.User(r.Context(), c.user.OrgID, id)
}

// revokedResponse says how many sessions ended.
type revokedResponse struct {
	Revoked int64 `json:"revoked"`
}

// endUserSessions ends every session of a user of the admin's
// organization (the user stays enabled and may sign in again). Audited.
func (s *Server) endUserSessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditSignOut); err != nil {
		return err
	}
	n, err := s.endSessionsOf(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revokedResponse{Revoked: n})
	return nil
}

// endSessionsOf ends every session of user id of c's organization (another
// organization's user is not found) and returns how many ended. Shared by
// the API and the admin console.
func (s *Server) endSessionsOf(r *http.Request, c *caller, id string) (int64, error) {
	if _, err := s.db.User(r.Context(), c.user.OrgID, id); err != nil {
		return 0, err
	}
	return s.revokeSessions(r, c, id)
}

// logoutEverywhere ends every session of the caller, on every device.
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, c *caller) error {
	n, err := s.revokeSessions(r, c, c.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revokedResponse{Revoked: n})
	return nil
}

// revokeSessions ends every session of user id and audits it as a
// sign-out of that user by the caller.
func (s *Server) revokeSessions(r *http.Request, c *caller, id string) (int64, error) {
	var n int64
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		if n, err = tx.RevokeUserSessions(id, s.now().UTC()); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditSignOut, "user", id, "")
		return audit.Append(tx, ev)
	})
	return n, err
}

// passwordChange is the body of POST /api/v1/me/password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword replaces the caller's password. It needs fresh proof
// (requireFreshAuth): the current password, checked (and throttled) like
// a sign-in; a patient or proxy (who may sign in with a one-time code,
// having forgotten the password) may instead have signed in within the
// last five minutes. Every other session of the user ends. Audited.
// Errors: reauth_required, invalid_credentials, rate_limited, KindInvalid
// (password policy), KindInternal.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req passwordChange
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.requireFreshAuth(w, r, c, req.CurrentPassword, !c.user.Role.IsStaff(), sotto.AuditPasswordChange); err != nil {
		return err
	}
	if req.NewPassword == "" {
		return sotto.Errorf(sotto.KindInvalid, "new_password is required: choose one of at least 12 characters.")
	}
	if err := auth.CheckPasswordPolicy(req.NewPassword, auth.PersonalStrings(c.user.Name, c.user.Email)...); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.NewPassword, s.passwordParams())
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.changePassword", Err: err}
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetPassword(c.user.OrgID, c.user.ID, hash, c.sess.TokenHash); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPasswordChange, "user", c.user.ID, ""))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
