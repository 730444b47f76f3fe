package server

import (
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// Fresh authentication. A session proves someone signed in, perhaps
// hours ago, perhaps on a shared computer left open; it does not prove
// that the person at the keyboard now is the account's owner. Changing a
// sign-in factor (password, second factor, passkey) or a contact point
// that sign-in relies on therefore needs fresh proof: the current
// password in the request, or, where allowed, a sign-in (password and
// second factor for staff; password or one-time code for patients)
// within the last freshAuthWindow. docs/security.md lists the routes.

// freshAuthWindow is how recent a sign-in must be to stand in for the
// current password.
const freshAuthWindow = 5 * time.Minute

// errReauthRequired answers a sensitive change that came without fresh
// proof.
var errReauthRequired = &sotto.Error{Kind: sotto.KindForbidden, Code: "reauth_required",
	Msg: "Confirm it is you: send your current password as current_password, or sign in again and retry within 5 minutes."}

// recentSignIn reports whether c's session began within freshAuthWindow.
func (s *Server) recentSignIn(c *caller) bool {
	return s.now().UTC().Sub(c.sess.CreatedAt) <= freshAuthWindow
}

// checkCurrentPassword verifies that password is c's current password,
// throttled and audited like a sign-in (a wrong one counts against the
// account and the client address). Errors: invalid_credentials
// (KindUnauthenticated), rate_limited, KindInternal.
func (s *Server) checkCurrentPassword(w http.ResponseWriter, r *http.Request, c *caller, password string) error {
	ps, err := s.checkPassword(w, r, c.user.Email, password)
	if err != nil {
		return err
	}
	if ps.user.ID != c.user.ID {
		return errInvalidCredentials
	}
	s.throttle.Succeed(ps.att.keys[0])
	return nil
}

// requireFreshAuth returns nil when c proved just now that they hold the
// account: password, when given, must be c's current password (checked
// by checkCurrentPassword); without one, recentOK lets a sign-in within
// freshAuthWindow stand in. Otherwise the refusal is audited as a denied
// action (the change that was asked for) and answered reauth_required.
// Callers: every handler that changes the caller's own password, second
// factor or passkeys. Errors: reauth_required (KindForbidden),
// invalid_credentials, rate_limited, KindInternal.
func (s *Server) requireFreshAuth(w http.ResponseWriter, r *http.Request, c *caller, password string, recentOK bool, action string) error {
	if password != "" {
		return s.checkCurrentPassword(w, r, c, password)
	}
	if recentOK && s.recentSignIn(c) {
		return nil
	}
	ev := s.targetEvent(r, c, action, "user", c.user.ID, "")
	ev.Outcome = sotto.AuditDenied
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return err
	}
	return errReauthRequired
}

// freshAuthRequest is the optional body of an API change of a sign-in
// factor whose request has no body of its own (DELETE
// /api/v1/me/passkeys/{id}).
type freshAuthRequest struct {
	CurrentPassword string `json:"current_password"`
}

// freshAuthed adapts h, an API change of a sign-in factor whose request
// has no body of its own, to need fresh authentication: the body may be
// {"current_password": "..."}; without one, the session must have begun
// within freshAuthWindow. A refusal is audited under action. Errors (before
// h runs): reauth_required, invalid_credentials, rate_limited, KindInvalid
// (a malformed body), KindInternal.
func (s *Server) freshAuthed(action string, h authedFunc) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		var req freshAuthRequest
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &req); err != nil {
				return err
			}
		}
		if err := s.requireFreshAuth(w, r, c, req.CurrentPassword, true, action); err != nil {
			return err
		}
		return h(w, r, c)
	}
}
