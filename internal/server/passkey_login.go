package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// passkeyLoginBeginRequest is the body of POST /api/v1/auth/passkey/begin:
// empty for passwordless sign-in, or e-mail and password when the passkey
// is the second factor.
type passkeyLoginBeginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// passkeyLoginFinishRequest is the body of POST
// /api/v1/auth/passkey/finish; credential is the browser's
// PublicKeyCredential (an assertion) as JSON.
type passkeyLoginFinishRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Credential json.RawMessage `json:"credential"`
}

// Sign-in errors of passkeys. A passkey that is unknown, another user's,
// a disabled user's, badly signed or from a cloned authenticator all get
// errPasskeyFailed, which carries the same code as a wrong password.
var (
	errPasskeyFailed = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "invalid_credentials", Msg: "The passkey was not accepted. Try again, or sign in with your password."}
	errNoPasskey     = &sotto.Error{Kind: sotto.KindConflict, Code: "passkey_not_registered", Msg: "No passkey is set up for this account. Sign in with your authenticator code."}
	errPasskeyClone  = errors.New("passkey signature counter did not advance")
)

// loginBegin starts a passkey sign-in. With no e-mail and password it is
// passwordless (any discoverable passkey of this server, user
// verification required); with them, the password is checked like a
// sign-in (throttled, failures audited) and the ceremony is bound to that
// account's passkeys. Errors: invalid_credentials, rate_limited,
// passkey_not_registered, passkeys_unavailable, invalid.
func (p *passkeys) loginBegin(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req passkeyLoginBeginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if p.rp == nil {
		return errPasskeysUnavailable
	}
	var out *passkeyCeremonyResponse
	var err error
	if req.Email == "" && req.Password == "" {
		out, err = p.beginPasswordless(w, r)
	} else {
		out, err = p.beginSecondFactor(w, r, req)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// beginPasswordless creates a discoverable sign-in ceremony for r's
// client (refused while its address is locked out).
func (p *passkeys) beginPasswordless(w http.ResponseWriter, r *http.Request) (*passkeyCeremonyResponse, error) {
	if err := throttled(w, p.s.throttle, "ip:"+clientIP(r)); err != nil {
		return nil, err
	}
	assertion, session, err := p.rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "server.passkeyLoginBegin", Err: err}
	}
	id, err := p.ceremonies.put(&ceremony{kind: ceremonyPasswordless, session: *session, addr: ceremonyAddr(clientIP(r))})
	if err != nil {
		return nil, err
	}
	return &passkeyCeremonyResponse{CeremonyID: id, Options: assertion}, nil
}

// beginSecondFactor checks the password of req and creates a ceremony
// bound to that staff member's passkeys. The password being right, an
// account without passkeys is told so (passkey_not_registered, audited
// like mfa_required but not counted against the throttle).
func (p *passkeys) beginSecondFactor(w http.ResponseWriter, r *http.Request, req passkeyLoginBeginRequest) (*passkeyCeremonyResponse, error) {
	s := p.s
	ps, err := s.checkPassword(w, r, req.Email, req.Password)
	if err != nil {
		return nil, err
	}
	u := ps.user
	var keys []*store.Passkey
	if u.Role.IsStaff() {
		if keys, err = s.db.Passkeys(r.Context(), u.OrgID, u.ID); err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 {
		return nil, s.loginFailed(r, ps.att, errNoPasskey, false)
	}
	assertion, session, err := p.rp.BeginLogin(newPasskeyUser(u, keys), webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "server.passkeyLoginBegin", Err: err}
	}
	id, err := p.ceremonies.put(&ceremony{kind: ceremonySecondFactor, orgID: u.OrgID, userID: u.ID, acctKey: ps.att.keys[0],
		session: *session, addr: ceremonyAddr(clientIP(r))})
	if err != nil {
		return nil, err
	}
	return &passkeyCeremonyResponse{CeremonyID: id, Options: assertion}, nil
}

// loginFinish verifies a passkey assertion against its ceremony and, when
// it holds, starts a session exactly like a password sign-in (same
// answer, sotto_session cookie, sign_in audit) with an mfa_verify entry
// naming the passkey. Every failure is throttled and audited, and answered
// with the one invalid_credentials error; a signature counter that did not
// advance (a cloned authenticator) is refused and audited as a denied
// mfa_verify of that passkey. Errors: ceremony_invalid,
// invalid_credentials, rate_limited, passkeys_unavailable, invalid.
func (p *passkeys) loginFinish(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req passkeyLoginFinishRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if p.rp == nil {
		return errPasskeysUnavailable
	}
	token, expires, err := p.finishLogin(w, r, req)
	if err != nil {
		return err
	}
	p.s.setSessionCookie(w, token)
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires})
	return nil
}

// finishLogin is the core of loginFinish: it returns the new session's
// token and expiry.
func (p *passkeys) finishLogin(w http.ResponseWriter, r *http.Request, req passkeyLoginFinishRequest) (string, time.Time, error) {
	s := p.s
	att := loginAttempt{orgID: sotto.SystemOrgID, keys: []string{"ip:" + clientIP(r)}}
	fail := func(answer error) (string, time.Time, error) {
		return "", time.Time{}, s.loginFailed(r, att, answer, true)
	}
	cer, ok := p.ceremonies.take(req.CeremonyID, ceremonyPasswordless, ceremonySecondFactor)
	if !ok {
		if err := p.throttled(w, r, att); err != nil {
			return "", time.Time{}, err
		}
		return fail(errCeremony)
	}
	if cer.acctKey != "" {
		att.orgID, att.userID, att.keys = cer.orgID, cer.userID, []string{cer.acctKey, att.keys[0]}
	}
	if err := p.throttled(w, r, att); err != nil {
		return "", time.Time{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(req.Credential)
	if err != nil {
		return fail(errPasskeyFailed)
	}
	k, err := s.db.PasskeyByCredentialID(r.Context(), parsed.RawID)
	switch {
	case sotto.ErrorKind(err) == sotto.KindNotFound:
		return fail(errPasskeyFailed)
	case err != nil:
		return "", time.Time{}, err
	case cer.kind == ceremonySecondFactor && (k.UserID != cer.userID || k.OrgID != cer.orgID):
		return fail(errPasskeyFailed)
	}
	u, err := s.db.User(r.Context(), k.OrgID, k.UserID)
	if err != nil {
		return "", time.Time{}, err
	}
	if cer.acctKey == "" {
		att.orgID, att.userID, att.keys = u.OrgID, u.ID, []string{"acct:" + sotto.NormalizeEmail(u.Email), att.keys[0]}
		if err := p.throttled(w, r, att); err != nil {
			return "", time.Time{}, err
		}
	}
	cred, err := p.verifyAssertion(r, cer, u, parsed)
	if err != nil || u.Disabled || !u.Role.IsStaff() {
		return fail(errPasskeyFailed)
	}
	if cred.Authenticator.CloneWarning {
		return fail(p.cloneRefused(r, u, k))
	}
	token, expires, err := s.startSession(r, u, func(tx *store.Tx) error {
		fresh, err := tx.UsePasskey(k.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
		if err != nil {
			return err
		}
		if !fresh {
			return errPasskeyClone
		}
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "passkey", k.ID
		return audit.Append(tx, ev)
	})
	if errors.Is(err, errPasskeyClone) {
		return fail(p.cloneRefused(r, u, k))
	}
	if err != nil {
		return "", time.Time{}, err
	}
	s.throttle.Succeed(att.keys[0])
	return token, expires, nil
}

// throttled refuses a sign-in whose account or address (att's keys) is
// locked out, auditing the refusal like checkPassword does; it records
// nothing when the attempt may proceed.
func (p *passkeys) throttled(w http.ResponseWriter, r *http.Request, att loginAttempt) error {
	if err := throttled(w, p.s.throttle, att.keys...); err != nil {
		if aerr := p.s.auditLogin(r, att); aerr != nil {
			return aerr
		}
		return err
	}
	return nil
}

// verifyAssertion checks parsed against ceremony cer and u's passkeys
// (challenge, origin, RP ID, signature, user verification when required,
// the user handle of a discoverable credential) and returns the updated
// credential.
func (p *passkeys) verifyAssertion(r *http.Request, cer *ceremony, u *sotto.User, parsed *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
	keys, err := p.s.db.Passkeys(r.Context(), u.OrgID, u.ID)
	if err != nil {
		return nil, err
	}
	pu := newPasskeyUser(u, keys)
	if cer.kind == ceremonySecondFactor {
		return p.rp.ValidateLogin(pu, cer.session, parsed)
	}
	return p.rp.ValidateDiscoverableLogin(func(_, handle []byte) (webauthn.User, error) {
		if !bytes.Equal(handle, pu.WebAuthnID()) {
			return nil, errors.New("user handle does not match the credential's owner")
		}
		return pu, nil
	}, cer.session, parsed)
}

// cloneRefused audits a refused sign-in whose signature counter went
// backwards (a denied mfa_verify of passkey k), logs it by ids, and
// returns the answer for the client, or the audit error.
func (p *passkeys) cloneRefused(r *http.Request, u *sotto.User, k *store.Passkey) error {
	p.s.log.Warn("passkey signature counter did not advance: possible cloned authenticator",
		"request_id", requestID(r.Context()), "user_id", u.ID, "passkey_id", k.ID)
	ev := p.s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditDenied)
	ev.TargetType, ev.TargetID = "passkey", k.ID
	if err := p.s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return err
	}
	return errPasskeyFailed
}
