package server

import (
	"encoding/hex"
	"net/http"
	"unicode/utf8"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/web"
)

// welcomeView is the page a staff invitation link opens. Error is a
// message id. The password is never echoed back.
type welcomeView struct {
	Token, Practice, Email, Error string
	Invalid, Done                 bool
}

// welcomeFreeAttempts is how many refused attempts (an unusable link, or
// a refused password form on a link) a client address or a link may have
// before each further one locks it (1 s, doubling up to 15 min). Links
// are 256-bit tokens: the limit stops bulk guessing, not a person
// fumbling a new password.
const welcomeFreeAttempts = 20

// staffWelcome serves the welcome page of staff invitation links with its
// own throttle, apart from the sign-in's: fumbling a new password never
// locks a sign-in, and a sign-in lockout never blocks a welcome page.
type staffWelcome struct {
	s        *Server
	throttle *auth.Throttle
}

// newStaffWelcome returns the welcome page of s's invitation links.
// Callers: webRoutes, once.
func newStaffWelcome(s *Server) *staffWelcome {
	return &staffWelcome{s: s, throttle: auth.NewThrottle(auth.ThrottleConfig{FreeAttempts: welcomeFreeAttempts}, s.now)}
}

// welcomeThrottleKeys are the throttle keys of a welcome-page attempt:
// the client address and, with hash, the link (by its hash).
func welcomeThrottleKeys(r *http.Request, hash []byte) []string {
	keys := []string{"welcome-ip:" + clientIP(r)}
	if hash != nil {
		keys = append(keys, "welcome:"+hex.EncodeToString(hash[:16]))
	}
	return keys
}

// pendingStaffInvite looks up the usable invitation of the {token} path
// value and its account. Unknown, malformed, used, revoked and expired
// links are KindNotFound (invite_invalid) alike. Errors: KindNotFound,
// KindInternal.
func (s *Server) pendingStaffInvite(r *http.Request) ([]byte, *store.StaffInvite, *sotto.User, error) {
	hash, err := auth.HashToken(r.PathValue("token"))
	if err != nil {
		return nil, nil, nil, errInviteInvalid
	}
	inv, err := s.db.UsableStaffInvite(r.Context(), hash, s.now().UTC())
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.db.User(r.Context(), inv.OrgID, inv.UserID)
	if err != nil {
		return nil, nil, nil, err
	}
	return hash, inv, u, nil
}

// form shows the page a staff invitation link opens: the practice,
// the sign-in address and the new password form. An unusable link gets
// one page whatever the reason, and counts against the client address's
// throttle (tokens are not guessable, but nobody gets to try many).
func (sw *staffWelcome) form(w http.ResponseWriter, r *http.Request) error {
	s := sw.s
	if err := throttled(w, sw.throttle, welcomeThrottleKeys(r, nil)...); err != nil {
		return s.renderWelcome(w, r, http.StatusTooManyRequests, &welcomeView{Error: "welcome.err_rate"})
	}
	_, inv, u, err := s.pendingStaffInvite(r)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return sw.invalid(w, r)
	}
	if err != nil {
		return err
	}
	return s.renderWelcome(w, r, http.StatusOK, s.welcomeViewOf(r, inv, u))
}

// submit sets the invited staff member's password: the same policy
// as every password (auth.CheckPasswordPolicy with their name and
// e-mail), typed twice. It uses the link (every link of the account dies)
// and is audited as a password change by the member; the page then sends
// them to sign in, where the authenticator set-up starts. Refused forms
// count against the link's and the address's throttle.
func (sw *staffWelcome) submit(w http.ResponseWriter, r *http.Request) error {
	s := sw.s
	hash, _ := auth.HashToken(r.PathValue("token"))
	keys := welcomeThrottleKeys(r, hash)
	if err := throttled(w, sw.throttle, keys...); err != nil {
		return s.renderWelcome(w, r, http.StatusTooManyRequests, &welcomeView{Error: "welcome.err_rate"})
	}
	hash, inv, u, err := s.pendingStaffInvite(r)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return sw.invalid(w, r)
	}
	if err != nil {
		return err
	}
	v := s.welcomeViewOf(r, inv, u)
	refuse := func(status int, msg string) error {
		for _, k := range keys {
			sw.throttle.Fail(k)
		}
		v.Error = msg
		return s.renderWelcome(w, r, status, v)
	}
	if err := parseForm(w, r); err != nil {
		return refuse(http.StatusBadRequest, "login.err_form")
	}
	pw := r.PostForm.Get("password")
	switch {
	case utf8.RuneCountInString(pw) < auth.MinPasswordRunes:
		return refuse(http.StatusBadRequest, "invite.err_password_too_short")
	case pw != r.PostForm.Get("password_again"):
		return refuse(http.StatusBadRequest, "welcome.err_mismatch")
	}
	if err := auth.CheckPasswordPolicy(pw, auth.PersonalStrings(u.Name, u.Email)...); err != nil {
		return refuse(http.StatusBadRequest, passwordRefusal(err))
	}
	pwHash, err := auth.HashPassword(pw, s.passwordParams())
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.staffWelcome.submit", Err: err}
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if _, err := tx.AcceptStaffInvite(hash, s.now().UTC(), pwHash); err != nil {
			return err
		}
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditPasswordChange, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "user", u.ID
		return audit.Append(tx, ev)
	})
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return sw.invalid(w, r) // used or revoked meanwhile
	}
	if err != nil {
		return err
	}
	return s.renderPage(w, http.StatusOK, "welcome", &web.Page{L: s.locale(r), Title: "title.welcome_done",
		Data: &welcomeView{Practice: v.Practice, Done: true}})
}

// passwordRefusal maps a password policy refusal to its message id.
func passwordRefusal(err error) string {
	switch code := sotto.ErrorCode(err); code {
	case auth.CodePasswordTooShort, auth.CodePasswordPersonal, auth.CodePasswordCommon, auth.CodePasswordPredictable:
		return "invite.err_" + code
	}
	return "invite.err_password"
}

// welcomeViewOf describes the form of invitation inv for account u.
func (s *Server) welcomeViewOf(r *http.Request, inv *store.StaffInvite, u *sotto.User) *welcomeView {
	v := &welcomeView{Token: r.PathValue("token"), Email: u.Email}
	if org, err := s.db.Org(r.Context(), inv.OrgID); err == nil {
		v.Practice = org.Name
	}
	return v
}

// invalid answers an unusable link with the one page for every
// reason, counting the attempt against the client address.
func (sw *staffWelcome) invalid(w http.ResponseWriter, r *http.Request) error {
	sw.throttle.Fail(welcomeThrottleKeys(r, nil)[0])
	return sw.s.renderPage(w, http.StatusNotFound, "welcome", &web.Page{L: sw.s.locale(r), Title: "title.welcome_invalid", Data: &welcomeView{Invalid: true}})
}

// renderWelcome renders the welcome page v with status.
func (s *Server) renderWelcome(w http.ResponseWriter, r *http.Request, status int, v *welcomeView) error {
	return s.renderPage(w, status, "welcome", &web.Page{L: s.locale(r), Title: "title.welcome", Data: v})
}
