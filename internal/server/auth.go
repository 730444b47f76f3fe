package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// SessionCookie is the cookie that carries the session token for browsers;
// API clients send it as "Authorization: Bearer TOKEN" instead.
const SessionCookie = "sotto_session"

// Sign-in errors. The same invalid_credentials answer covers an unknown
// account, a wrong password, a disabled account, a role that cannot sign
// in here and a wrong code, so that answers do not reveal which accounts
// exist.
var (
	errInvalidCredentials    = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "invalid_credentials", Msg: "The e-mail address, password or code is incorrect."}
	errMFARequired           = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "mfa_required", Msg: "Enter the 6-digit code from your authenticator app."}
	errMFAEnrollmentRequired = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "mfa_enrollment_required", Msg: "Set up an authenticator app to finish signing in."}
	errUnauthenticated       = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "unauthenticated", Msg: "Sign in to continue."}
	errTOTPReplay            = errors.New("totp code already used")
)

type loginRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	TOTPCode     string `json:"totp_code"`
	RecoveryCode string `json:"recovery_code"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

type meResponse struct {
	ID    string     `json:"id"`
	OrgID string     `json:"org_id"`
	Role  sotto.Role `json:"role"`
	Email string     `json:"email"`
	Name  string     `json:"name"`
}

// sessionPolicy returns the default session lifetime policy for a role.
func sessionPolicy(r sotto.Role) auth.SessionPolicy {
	if r.IsStaff() {
		return auth.StaffDefault
	}
	return auth.PatientDefault
}

// policyFor returns the session policy of role r in orgID: the defaults,
// with the organization's own idle timeout when it set one (cached 30 s;
// a change made here is seen at once). Errors: KindInternal.
func (s *Server) policyFor(ctx context.Context, orgID string, r sotto.Role) (auth.SessionPolicy, error) {
	p := sessionPolicy(r)
	it, err := s.idle.get(ctx, orgID, time.Now(), s.db.IdleTimeouts)
	if err != nil {
		return p, err
	}
	switch {
	case r.IsStaff() && it.Staff > 0:
		p.Idle = it.Staff
	case !r.IsStaff() && it.Patient > 0:
		p.Idle = it.Patient
	}
	return p, nil
}

// passwordParams are the server's current argon2id parameters.
func (s *Server) passwordParams() auth.Params {
	if s.cfg.PasswordParams == (auth.Params{}) {
		return auth.DefaultParams
	}
	return s.cfg.PasswordParams
}

// dummyHash is a hash of a random password with the current parameters,
// verified when the account does not exist so that unknown and known
// accounts take about the same time.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := auth.HashPassword(auth.GeneratePassword(), s.passwordParams())
		if err != nil {
			s.log.Error("dummy password hash failed", "error", err.Error())
		}
		s.dummy = h
	})
	return s.dummy
}

// loginAttempt is what a failed or successful sign-in is audited with.
// It never holds the e-mail address.
type loginAttempt struct {
	orgID  string
	userID string
	keys   []string // throttle keys: account, then client address
}

// passwordStep is the outcome of checking an e-mail and password.
type passwordStep struct {
	user     *sotto.User
	creds    store.Credentials
	lastStep int64
	att      loginAttempt
}

// checkPassword runs the first factor for login and MFA enrollment: the
// throttle (per account and per address), the password (a dummy hash when
// the account does not exist, so timing does not reveal accounts), and the
// account state. Every failure is audited and answered with the same
// invalid_credentials error.
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, emailIn, password string) (*passwordStep, error) {
	ctx := r.Context()
	email := sotto.NormalizeEmail(emailIn)
	acctKey := email
	if len(acctKey) > sotto.MaxEmailLen {
		acctKey = acctKey[:sotto.MaxEmailLen]
	}
	ps := &passwordStep{att: loginAttempt{orgID: sotto.SystemOrgID, keys: []string{"acct:" + acctKey, "ip:" + clientIP(r)}}}
	u, creds, lastStep, err := s.db.UserForLogin(ctx, email)
	switch sotto.ErrorKind(err) {
	case "":
		ps.att.orgID, ps.att.userID = u.OrgID, u.ID
	case sotto.KindNotFound:
		u = nil
	default:
		return nil, err
	}
	if err := throttled(w, s.throttle, ps.att.keys...); err != nil {
		if aerr := s.auditLogin(r, ps.att); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	hash := s.dummyHash()
	if u != nil && creds.PasswordHash != "" {
		hash = creds.PasswordHash
	}
	pwOK, _, verr := auth.VerifyPasswordWith(password, hash, s.passwordParams())
	if verr != nil {
		// A malformed stored hash: log the user id, never the input.
		s.log.Error("password verification failed", "request_id", requestID(ctx), "user_id", ps.att.userID, "error", verr.Error())
		pwOK = false
	}
	if u == nil || !pwOK || u.Disabled || !u.Role.Valid() {
		return nil, s.loginFailed(r, ps.att, errInvalidCredentials, true)
	}
	ps.user, ps.creds, ps.lastStep = u, creds, lastStep
	return ps, nil
}

// login signs a user in. Staff give e-mail, password and a TOTP code (or
// one of their recovery codes); staff without an enrolled authenticator
// are told to enroll (mfa_enrollment_required). Patients and proxies sign
// in with e-mail and password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	token, expires, _, err := s.signIn(w, r, req)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires})
	return nil
}

// signIn is the sign-in core shared by the API and the sign-in page: it
// checks the password and (for staff) the second factor, and starts a
// session. Errors are the API's: invalid_credentials, mfa_required,
// mfa_enrollment_required, rate_limited, or an internal error.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, req loginRequest) (token string, expires time.Time, u *sotto.User, err error) {
	ps, err := s.checkPassword(w, r, req.Email, req.Password)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	u, att := ps.user, ps.att
	fail := func(err error) (string, time.Time, *sotto.User, error) { return "", time.Time{}, nil, err }
	staff := u.Role.IsStaff()
	now := s.now().UTC()
	var step int64
	var recovery string
	if staff {
		// Staff always sign in with a second factor. Patients and proxies
		// sign in with their password (one-time codes arrive with the
		// notification channels).
		switch {
		case !ps.creds.TOTPEnrolled:
			// Right password, no authenticator yet: the client enrolls one
			// (POST /api/v1/auth/mfa/enroll). Not a failure.
			return fail(s.loginFailed(r, att, errMFAEnrollmentRequired, false))
		case req.RecoveryCode != "":
			recovery = auth.HashRecoveryCode(req.RecoveryCode)
		case req.TOTPCode == "":
			// The password was right: the client asks for the code next.
			// This is the normal two-step flow, so it does not count
			// against the throttle (the password check did not fail).
			return fail(s.loginFailed(r, att, errMFARequired, false))
		default:
			var ok bool
			if step, ok = auth.VerifyTOTP(ps.creds.TOTPSecret, req.TOTPCode, now, ps.lastStep); !ok {
				return fail(s.loginFailed(r, att, errInvalidCredentials, true))
			}
		}
	}
	token, expires, err = s.startSession(r, u, func(tx *store.Tx) error {
		switch {
		case !staff:
			return nil
		case recovery != "":
			ok, err := tx.UseRecoveryCode(u.ID, recovery)
			if err != nil {
				return err
			}
			if !ok {
				return errTOTPReplay
			}
			ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditSuccess)
			ev.TargetType, ev.TargetID = "recovery_code", u.ID
			return audit.Append(tx, ev)
		}
		fresh, err := tx.SetTOTPLastStep(u.ID, step)
		if err != nil {
			return err
		}
		if !fresh {
			return errTOTPReplay
		}
		return nil
	})
	if errors.Is(err, errTOTPReplay) {
		return fail(s.loginFailed(r, att, errInvalidCredentials, true))
	}
	if err != nil {
		return fail(err)
	}
	s.throttle.Succeed(att.keys[0])
	return token, expires, u, nil
}

// loginFailed records a failed sign-in (throttle, when count is set, and
// audit) and returns answer, or the audit error: a failure that cannot be
// audited is not answered as a plain 401.
func (s *Server) loginFailed(r *http.Request, att loginAttempt, answer error, count bool) error {
	if count {
		for _, k := range att.keys {
			s.throttle.Fail(k)
		}
	}
	if err := s.auditLogin(r, att); err != nil {
		return err
	}
	return answer
}

// auditLogin appends a sign_in_failed event for att in its own write.
func (s *Server) auditLogin(r *http.Request, att loginAttempt) error {
	ev := s.auditEvent(r, att.orgID, "", sotto.AuditRoleAnonymous, sotto.AuditSignInFailed, sotto.AuditFailure)
	if att.userID != "" {
		ev.TargetType, ev.TargetID = "user", att.userID
	}
	return s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) })
}

// auditEvent builds an audit event about the request r.
func (s *Server) auditEvent(r *http.Request, orgID, actorID, actorRole, action, outcome string) *sotto.AuditEvent {
	return &sotto.AuditEvent{OrgID: orgID, ActorID: actorID, ActorRole: actorRole, Action: action, Outcome: outcome,
		SourceIP: clientIP(r), UserAgent: r.UserAgent(), RequestID: requestID(r.Context())}
}

// sessionToken returns the token presented with r: the Authorization
// bearer token, else the session cookie.
func sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(tok)
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// touchInterval bounds how often a session's last activity is written: a
// busy client costs one write per interval, not one per request, and the
// idle timeout may end a session up to this much early.
const touchInterval = 30 * time.Second

// authenticate returns the signed-in user and session of r, recording the
// activity (which extends the idle deadline). Missing, malformed, unknown,
// revoked and expired tokens and disabled users all get the same
// KindUnauthenticated error.
func (s *Server) authenticate(r *http.Request) (*sotto.User, *store.Session, error) {
	ctx := r.Context()
	hash, err := auth.HashToken(sessionToken(r))
	if err != nil {
		return nil, nil, errUnauthenticated
	}
	sess, err := s.db.SessionByHash(ctx, hash)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil, nil, errUnauthenticated
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.Revoked() {
		return nil, nil, errUnauthenticated
	}
	u, err := s.db.User(ctx, sess.OrgID, sess.UserID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil, nil, errUnauthenticated
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	policy, err := s.policyFor(ctx, u.OrgID, u.Role)
	if err != nil {
		return nil, nil, err
	}
	if expired, _ := policy.Expired(sess.CreatedAt, sess.LastSeenAt, now); expired || u.Disabled {
		return nil, nil, errUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) < touchInterval {
		return u, sess, nil // recently touched: spare the writer a row update
	}
	expires := policy.ExpiresAt(sess.CreatedAt, now)
	err = s.db.Write(ctx, func(tx *store.Tx) error { return tx.TouchSession(hash, now, expires) })
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil, nil, errUnauthenticated // revoked meanwhile
	}
	if err != nil {
		return nil, nil, err
	}
	sess.LastSeenAt, sess.ExpiresAt = now, expires
	return u, sess, nil
}

// logout revokes the current session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.signOut(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOut revokes r's session (audited) and clears the session cookie:
// the core shared by the API and the sign-out form.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	u, sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.RevokeSession(sess.TokenHash, s.now().UTC()); err != nil {
			return err
		}
		return audit.Append(tx, s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditSignOut, sotto.AuditSuccess))
	})
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return errUnauthenticated
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
	return nil
}

// me returns the signed-in user's own record.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, _, err := s.authenticate(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, meResponse{ID: u.ID, OrgID: u.OrgID, Role: u.Role, Email: u.Email, Name: u.Name})
	return nil
}

// sessionLive reports whether c's session is still valid (not revoked,
// expired or belonging to a disabled user), without recording activity:
// long-lived streams check it so that sign-out and automatic logoff end
// them too.
func (s *Server) sessionLive(ctx context.Context, c *caller) bool {
	sess, err := s.db.SessionByHash(ctx, c.sess.TokenHash)
	if err != nil || sess.Revoked() {
		return false
	}
	u, err := s.db.User(ctx, sess.OrgID, sess.UserID)
	if err != nil || u.Disabled {
		return false
	}
	policy, err := s.policyFor(ctx, u.OrgID, u.Role)
	if err != nil {
		return false
	}
	expired, _ := policy.Expired(sess.CreatedAt, sess.LastSeenAt, s.now().UTC())
	return !expired
}
