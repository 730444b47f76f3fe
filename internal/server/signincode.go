package server

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/jobs"
	"sotto/internal/notify"
	"sotto/internal/store"
)

// codeRequestsPerAddress is how many sign-in code requests one client
// address may make before it is slowed down: generous, since a clinic's
// kiosk or a family's router is shared, but a bound on probing.
const codeRequestsPerAddress = 30

// Passwordless sign-in for patients and proxies: a six-digit code sent to
// the e-mail address or phone number on record, valid ten minutes, single
// use, five wrong tries at most. Staff always sign in with a password and
// their second factor, so their accounts never get a code.

// codeRequest is the body of POST /api/v1/auth/code/start and (with the
// code) /verify: exactly one of email and phone.
type codeRequest struct {
	Email string `json:"email"`
	Phone string `json:"phone"`
	Code  string `json:"code,omitempty"`
}

// codeSent answers a start: always the same, whether or not an account
// matched, so the answer reveals no accounts.
type codeSent struct {
	Status           string `json:"status"`
	ExpiresInMinutes int    `json:"expires_in_minutes"`
}

// codeTarget is who a code request names: the portal accounts, the
// channel their code goes by, and the throttle key.
type codeTarget struct {
	users   []*sotto.User
	channel string
	key     string
}

// codeTargetOf checks req and finds its portal accounts (patients and
// proxies only; disabled ones are left out). Errors: KindInvalid,
// KindInternal.
func (s *Server) codeTargetOf(r *http.Request, req codeRequest) (*codeTarget, error) {
	ctx := r.Context()
	email, phone := strings.TrimSpace(req.Email), strings.TrimSpace(req.Phone)
	var t codeTarget
	var users []*sotto.User
	switch {
	case (email == "") == (phone == ""):
		return nil, sotto.Errorf(sotto.KindInvalid, "Give either email or phone.")
	case email != "":
		email = sotto.NormalizeEmail(email)
		if err := sotto.ValidateEmail(email); err != nil {
			return nil, err
		}
		t.channel, t.key = notify.ChannelEmail, "code:"+email
		u, _, _, err := s.db.UserForLogin(ctx, email)
		switch sotto.ErrorKind(err) {
		case "":
			users = []*sotto.User{u}
		case sotto.KindNotFound:
		default:
			return nil, err
		}
	default:
		p, err := sotto.NormalizePhone(phone)
		if err != nil {
			return nil, sotto.Errorf(sotto.KindInvalid, "phone must be a phone number, e.g. +15005550100.")
		}
		t.channel, t.key = notify.ChannelSMS, "code:"+p
		if users, err = s.db.PortalUsersByPhone(ctx, p); err != nil {
			return nil, err
		}
	}
	for _, u := range users {
		if !u.Role.IsStaff() && u.Role.Valid() && !u.Disabled {
			t.users = append(t.users, u)
		}
	}
	return &t, nil
}

// throttled answers rate_limited (with Retry-After) when any of keys is
// over its budget in th.
func throttled(w http.ResponseWriter, th *auth.Throttle, keys ...string) error {
	for _, k := range keys {
		if ok, wait := th.Allow(k); !ok {
			secs := int64((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			return &sotto.Error{Kind: sotto.KindRateLimited, Code: "rate_limited", Msg: "Too many sign-in attempts. Try again later."}
		}
	}
	return nil
}

// startCode is the core of POST /api/v1/auth/code/start and the sign-in
// page: it sends a fresh code to each matching portal account (a family's
// shared phone may match several) and counts the request against the
// throttle of the address it names. Errors: KindInvalid (request; channel_not_configured),
// KindRateLimited, KindInternal.
func (s *Server) startCode(w http.ResponseWriter, r *http.Request, req codeRequest) error {
	t, err := s.codeTargetOf(r, req)
	if err != nil {
		return err
	}
	n := s.cfg.Notify.Notifier
	if n == nil || !n.Configured(t.channel) {
		return &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured", Msg: "Sign-in codes by " + map[string]string{notify.ChannelSMS: "text message", notify.ChannelEmail: "e-mail"}[t.channel] + " are not available here."}
	}
	keys := []string{t.key, "ip:" + clientIP(r)}
	if err := throttled(w, s.throttle, keys...); err != nil {
		return err
	}
	if err := throttled(w, s.codeRequests, keys[1]); err != nil {
		return err
	}
	s.codeRequests.Fail(keys[1])
	// Every request counts against the address it names (a flood of texts
	// to one phone), not against the client's network address, which a
	// clinic's front-desk kiosk shares with every patient; wrong codes
	// count against both, like wrong passwords.
	s.throttle.Fail(t.key)
	if len(t.users) == 0 {
		// No account: do the same kind of work (a code, a sealed-key hash,
		// an audited write) so the answer's timing does not tell.
		if _, err := newSignInCode(); err != nil {
			return err
		}
		return s.db.Write(r.Context(), func(tx *store.Tx) error {
			return audit.Append(tx, s.auditEvent(r, sotto.SystemOrgID, "", sotto.AuditRoleAnonymous, sotto.AuditSignInCode, sotto.AuditFailure))
		})
	}
	for _, u := range t.users {
		code, err := newSignInCode()
		if err != nil {
			return err
		}
		err = s.db.Write(r.Context(), func(tx *store.Tx) error {
			if _, err := tx.InsertSignInCode(u.OrgID, u.ID, t.channel, code, jobs.SignInCodeMinutes*time.Minute); err != nil {
				return err
			}
			if err := n.EnqueueSignInCode(tx, u.OrgID, u.ID, t.channel, code); err != nil {
				return err
			}
			ev := s.auditEvent(r, u.OrgID, "", sotto.AuditRoleAnonymous, sotto.AuditSignInCode, sotto.AuditSuccess)
			ev.TargetType, ev.TargetID = "user", u.ID
			return audit.Append(tx, ev)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// verifyCode is the core of POST /api/v1/auth/code/verify and the sign-in
// page: the code signs in the account it was sent to. Errors:
// invalid_credentials (KindUnauthenticated), KindInvalid, KindRateLimited,
// KindInternal.
func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request, req codeRequest) (string, time.Time, *sotto.User, error) {
	fail := func(err error) (string, time.Time, *sotto.User, error) { return "", time.Time{}, nil, err }
	t, err := s.codeTargetOf(r, req)
	if err != nil {
		return fail(err)
	}
	att := loginAttempt{orgID: sotto.SystemOrgID, keys: []string{t.key, "ip:" + clientIP(r)}}
	if err := throttled(w, s.throttle, att.keys...); err != nil {
		return fail(err)
	}
	code := strings.ReplaceAll(strings.TrimSpace(req.Code), " ", "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return fail(s.loginFailed(r, att, errInvalidCredentials, true))
	}
	if len(t.users) == 0 {
		// No account: one write like a redemption's, so timing does not tell.
		if err := s.db.Write(r.Context(), func(*store.Tx) error { return nil }); err != nil {
			return fail(err)
		}
	}
	for _, u := range t.users {
		att.orgID, att.userID = u.OrgID, u.ID
		var ok bool
		err := s.db.Write(r.Context(), func(tx *store.Tx) error {
			var err error
			ok, err = tx.RedeemSignInCode(u.OrgID, u.ID, code)
			return err
		})
		if err != nil {
			return fail(err)
		}
		if ok {
			token, expires, err := s.startSession(r, u, nil)
			if err != nil {
				return fail(err)
			}
			s.throttle.Succeed(t.key)
			return token, expires, u, nil
		}
	}
	return fail(s.loginFailed(r, att, errInvalidCredentials, true))
}

// newSignInCode returns six random decimal digits.
func newSignInCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", &sotto.Error{Kind: sotto.KindInternal, Op: "server.newSignInCode", Err: err}
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeStart sends a one-time sign-in code (POST /api/v1/auth/code/start).
func (s *Server) codeStart(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req codeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.startCode(w, r, req); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, codeSent{Status: "sent", ExpiresInMinutes: jobs.SignInCodeMinutes})
	return nil
}

// codeVerify signs in with a one-time code (POST /api/v1/auth/code/verify).
func (s *Server) codeVerify(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req codeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	token, expires, _, err := s.verifyCode(w, r, req)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires})
	return nil
}
