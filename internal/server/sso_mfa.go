package server

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// ssoPendingMFA is a single sign-on that succeeded at the identity
// provider and waits for sotto's own second factor: whose it is, and how
// many wrong codes it has seen.
type ssoPendingMFA struct {
	orgID, userID, email string
	attempts             int
}

// ssoMFAPage is the data of the second-factor step after single sign-on:
// a code field, or (for staff without an authenticator yet) the new
// secret to add to an app first. Error is a message id.
type ssoMFAPage struct {
	Error                 string
	Secret, SecretGrouped string
	URI                   template.URL // otpauth: link, built by auth.TOTPURI
}

// renderMFA writes the second-factor step with status.
func (f *ssoFlows) renderMFA(w http.ResponseWriter, r *http.Request, status int, page ssoMFAPage) error {
	return f.s.render(w, r, status, "login-sso-mfa", "title.login_sso_mfa", page)
}

// session starts a session for u after single sign-on, as startSession
// does after a password, with the sign-in audited under the "sso" target
// (the method) and also (when not nil) run in the same transaction.
func (f *ssoFlows) session(r *http.Request, u *sotto.User, also func(*store.Tx) error) (string, time.Time, error) {
	s := f.s
	token, tokenHash, err := auth.NewToken()
	if err != nil {
		return "", time.Time{}, &sotto.Error{Kind: sotto.KindInternal, Op: "server.ssoSession", Err: err}
	}
	now := s.now().UTC()
	policy, err := s.policyFor(r.Context(), u.OrgID, u.Role)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := policy.ExpiresAt(now, now)
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if err := tx.InsertSession(tokenHash, u.ID, u.OrgID, now, expires); err != nil {
			return err
		}
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditSignIn, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "sso", u.OrgID
		return audit.Append(tx, ev)
	})
	return token, expires, err
}

// askCode holds the sign-on of ps's user (proven by the identity
// provider) and asks for sotto's code, exactly as after a password: the
// authenticator code or a recovery code, or, for staff without an
// authenticator, setting one up (a fresh pending secret, audited).
func (f *ssoFlows) askCode(w http.ResponseWriter, r *http.Request, ps *passwordStep) error {
	u := ps.user
	page := ssoMFAPage{}
	if !ps.creds.TOTPEnrolled {
		out, err := f.s.beginTOTP(r, ps)
		if err != nil {
			return err
		}
		page.Secret, page.SecretGrouped, page.URI = out.Secret, groupsOf4(out.Secret), template.URL(out.OTPAuth)
	}
	ticket, ok := f.pending.put("ip:"+clientIP(r), ssoPendingMFA{orgID: u.OrgID, userID: u.ID, email: u.Email})
	if !ok {
		return f.renderSSO(w, r, http.StatusTooManyRequests, ssoPage{Error: "login.err_rate_limited"})
	}
	f.setMFACookie(w, ticket, int(ssoMFATTL.Seconds()))
	return f.renderMFA(w, r, http.StatusOK, page)
}

// setMFACookie hands the browser its waiting sign-on (maxAge < 0 clears it).
func (f *ssoFlows) setMFACookie(w http.ResponseWriter, ticket string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: ssoMFACookie, Value: ticket, Path: "/login/sso", MaxAge: maxAge,
		HttpOnly: true, Secure: f.s.tls, SameSite: http.SameSiteStrictMode})
}

// mfaSubmit is POST /login/sso/mfa: the code for a waiting sign-on. A
// right code starts the session (and, after setting up an authenticator,
// shows the recovery codes once); a wrong one is counted against the
// account and address like a wrong code after a password, and after
// ssoMFAAttempts of them the sign-on must start over.
func (f *ssoFlows) mfaSubmit(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if err := parseForm(w, r); err != nil {
		return f.renderMFA(w, r, http.StatusBadRequest, ssoMFAPage{Error: "login.err_form"})
	}
	c, err := r.Cookie(ssoMFACookie)
	if err != nil || len(c.Value) > ssoMaxParam {
		return f.renderSSO(w, r, http.StatusUnauthorized, ssoPage{Error: "sso.err_expired"})
	}
	ticket := c.Value
	pm, ok := f.pending.update(ticket, func(*ssoPendingMFA) bool { return true })
	if !ok {
		f.setMFACookie(w, "", -1)
		return f.renderSSO(w, r, http.StatusUnauthorized, ssoPage{Error: "sso.err_expired"})
	}
	ctx := r.Context()
	att := loginAttempt{orgID: pm.orgID, userID: pm.userID, keys: []string{"acct:" + pm.email, "ip:" + clientIP(r)}}
	if err := throttled(w, f.s.throttle, att.keys...); err != nil {
		if aerr := f.s.auditLogin(r, att); aerr != nil {
			return aerr
		}
		return f.renderMFA(w, r, http.StatusTooManyRequests, ssoMFAPage{Error: "login.err_rate_limited"})
	}
	u, creds, lastStep, err := f.s.db.UserForLogin(ctx, pm.email)
	if err != nil && sotto.ErrorKind(err) != sotto.KindNotFound {
		return err
	}
	if err != nil || u.ID != pm.userID || u.OrgID != pm.orgID || u.Disabled || !u.Role.IsStaff() {
		// Disabled (or changed) while the code was being typed.
		f.pending.remove(ticket)
		f.setMFACookie(w, "", -1)
		return f.failed(w, r, pm.orgID, "no_account", http.StatusUnauthorized)
	}
	ps := &passwordStep{user: u, creds: creds, lastStep: lastStep, att: att}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	if !creds.TOTPEnrolled {
		return f.confirmEnroll(w, r, ticket, ps, code)
	}
	return f.verifyCode(w, r, ticket, ps, code)
}

// verifyCode checks an authenticator or recovery code of an enrolled
// staff member and starts the session, as signIn does.
func (f *ssoFlows) verifyCode(w http.ResponseWriter, r *http.Request, ticket string, ps *passwordStep, code string) error {
	u := ps.user
	var step int64
	var recovery string
	switch {
	case code == "":
		return f.renderMFA(w, r, http.StatusBadRequest, ssoMFAPage{Error: "sso.err_code_needed"})
	case totpShape.MatchString(code):
		var ok bool
		if step, ok = auth.VerifyTOTP(ps.creds.TOTPSecret, code, f.s.now().UTC(), ps.lastStep); !ok {
			return f.wrongCode(w, r, ticket, ps, ssoMFAPage{})
		}
	default:
		recovery = auth.HashRecoveryCode(code)
	}
	token, _, err := f.session(r, u, func(tx *store.Tx) error {
		if recovery != "" {
			ok, err := tx.UseRecoveryCode(u.ID, recovery)
			if err != nil {
				return err
			}
			if !ok {
				return errTOTPReplay
			}
			ev := f.s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditSuccess)
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
		return f.wrongCode(w, r, ticket, ps, ssoMFAPage{})
	}
	if err != nil {
		return err
	}
	f.signedIn(w, ticket, ps, token)
	http.Redirect(w, r, staffHome(u.Role), http.StatusSeeOther)
	return nil
}

// confirmEnroll finishes setting up an authenticator after single sign-on,
// as finishTOTP does after a password: a right code enrolls it, issues the
// recovery codes (shown once) and starts the session.
func (f *ssoFlows) confirmEnroll(w http.ResponseWriter, r *http.Request, ticket string, ps *passwordStep, code string) error {
	u := ps.user
	if len(ps.creds.TOTPSecret) == 0 {
		f.pending.remove(ticket)
		f.setMFACookie(w, "", -1)
		return f.renderSSO(w, r, http.StatusUnauthorized, ssoPage{Error: "sso.err_expired"})
	}
	again := f.s.secretPage(r, u.Email, ps.creds.TOTPSecret, u)
	page := ssoMFAPage{Secret: again.Secret, SecretGrouped: again.SecretGrouped, URI: again.URI}
	step, ok := auth.VerifyTOTP(ps.creds.TOTPSecret, code, f.s.now().UTC(), ps.lastStep)
	if !ok {
		ev := f.s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAFailed, sotto.AuditFailure)
		if err := f.s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
			return err
		}
		f.s.throttle.Fail(ps.att.keys[0])
		return f.countWrong(w, r, ticket, page)
	}
	codes, hashes, err := auth.NewRecoveryCodes(recoveryCodeCount)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.ssoConfirmEnroll", Err: err}
	}
	token, _, err := f.session(r, u, func(tx *store.Tx) error {
		if err := tx.ConfirmTOTP(u.ID, step, hashes); err != nil {
			return err
		}
		ev := f.s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "user", u.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	f.signedIn(w, ticket, ps, token)
	return f.s.render(w, r, http.StatusOK, "mfa-codes", "title.mfa_codes", map[string][]string{"Codes": codes})
}

// wrongCode records a wrong code as signIn does (throttle and audit) and
// asks again, or ends the sign-on after too many.
func (f *ssoFlows) wrongCode(w http.ResponseWriter, r *http.Request, ticket string, ps *passwordStep, page ssoMFAPage) error {
	if err := f.s.loginFailed(r, ps.att, errInvalidCredentials, true); !errors.Is(err, errInvalidCredentials) {
		return err
	}
	return f.countWrong(w, r, ticket, page)
}

// countWrong counts one wrong code against the waiting sign-on: the page
// asks again, or, after ssoMFAAttempts, the sign-on must start over.
func (f *ssoFlows) countWrong(w http.ResponseWriter, r *http.Request, ticket string, page ssoMFAPage) error {
	pm, ok := f.pending.update(ticket, func(p *ssoPendingMFA) bool { p.attempts++; return p.attempts < ssoMFAAttempts })
	if !ok || pm.attempts >= ssoMFAAttempts {
		f.setMFACookie(w, "", -1)
		return f.renderSSO(w, r, http.StatusUnauthorized, ssoPage{Error: "sso.err_too_many"})
	}
	page.Error = "sso.err_code"
	return f.renderMFA(w, r, http.StatusUnauthorized, page)
}

// signedIn closes a waiting sign-on that became a session: the ticket is
// used up, the account's failure count cleared, the session handed out.
func (f *ssoFlows) signedIn(w http.ResponseWriter, ticket string, ps *passwordStep, token string) {
	f.pending.remove(ticket)
	f.setMFACookie(w, "", -1)
	f.s.throttle.Succeed(ps.att.keys[0])
	f.s.setSessionCookie(w, token)
}
