package server

import (
	"net/http"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// mfaResetResponse says what an MFA reset removed and ended.
type mfaResetResponse struct {
	PasskeysRemoved int64 `json:"passkeys_removed"`
	SessionsRevoked int64 `json:"sessions_revoked"`
}

// resetUserMFA is POST /api/v1/users/{id}/mfa/reset: an administrator
// removes every second factor of a staff member of their organization
// (authenticator app, recovery codes and passkeys), for a lost or stolen
// device, and ends the member's sessions; the member sets up a new
// authenticator at their next sign-in. Administrators cannot reset their
// own (another administrator does). Audited (mfa_reset of the user).
// Errors: forbidden (not an administrator), not_found (no such user in
// the organization), invalid (oneself).
func (s *Server) resetUserMFA(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditMFAReset); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == c.user.ID {
		return sotto.Errorf(sotto.KindInvalid, "You cannot reset your own sign-in factors: ask another administrator.")
	}
	var out mfaResetResponse
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		if out.PasskeysRemoved, err = tx.ResetMFA(c.user.OrgID, id); err != nil {
			return err
		}
		if out.SessionsRevoked, err = tx.RevokeUserSessions(id, s.now().UTC()); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditMFAReset, "user", id, ""))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
