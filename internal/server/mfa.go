package server

import (
	"encoding/base32"
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// recoveryCodeCount is how many recovery codes a staff member receives.
const recoveryCodeCount = 10

// startSession creates a new session for u in one write with the sign-in
// audit entry, running also (when not nil) inside the same transaction.
func (s *Server) startSession(r *http.Request, u *sotto.User, also func(*store.Tx) error) (token string, expires time.Time, err error) {
	token, tokenHash, err := auth.NewToken()
	if err != nil {
		return "", time.Time{}, &sotto.Error{Kind: sotto.KindInternal, Op: "server.startSession", Err: err}
	}
	now := s.now().UTC()
	policy, err := s.policyFor(r.Context(), u.OrgID, u.Role)
	if err != nil {
		return "", time.Time{}, err
	}
	expires = policy.ExpiresAt(now, now)
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if err := tx.InsertSession(tokenHash, u.ID, u.OrgID, now, expires); err != nil {
			return err
		}
		return audit.Append(tx, s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditSignIn, sotto.AuditSuccess))
	})
	return token, expires, err
}

// setSessionCookie hands a browser its session token.
func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
}

// mfaEnrollRequest is the body of POST /api/v1/auth/mfa/enroll and
// (with the code) /confirm.
type mfaEnrollRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTPCode string `json:"totp_code"`
}

// mfaEnrollResponse carries the new authenticator secret.
type mfaEnrollResponse struct {
	Secret  string `json:"secret"`      // base32, for typing into an app
	OTPAuth string `json:"otpauth_uri"` // for a QR code
}

// mfaConfirmResponse is a session plus the one-time recovery codes, shown
// only this once.
type mfaConfirmResponse struct {
	Token         string    `json:"token"`
	ExpiresAt     time.Time `json:"expires_at"`
	RecoveryCodes []string  `json:"recovery_codes"`
}

// errNoEnrollment answers MFA set-up for accounts that need none or have one.
var errNoEnrollment = &sotto.Error{Kind: sotto.KindConflict, Code: "mfa_already_enrolled", Msg: "An authenticator is already set up for this account."}

// mfaPassword decodes an MFA set-up request and checks its password.
func (s *Server) mfaPassword(w http.ResponseWriter, r *http.Request) (*mfaEnrollRequest, *passwordStep, error) {
	w.Header().Set("Cache-Control", "no-store")
	var req mfaEnrollRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, nil, err
	}
	ps, err := s.checkPassword(w, r, req.Email, req.Password)
	return &req, ps, err
}

// mfaEnroll starts authenticator set-up for a staff member who has none:
// it proves the password again and returns a fresh secret (replacing any
// earlier unconfirmed one).
func (s *Server) mfaEnroll(w http.ResponseWriter, r *http.Request) error {
	_, ps, err := s.mfaPassword(w, r)
	if err != nil {
		return err
	}
	out, err := s.beginTOTP(r, ps)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// beginTOTP is the enrollment core shared by the API and the pages: for
// a staff member without an authenticator (password already checked in
// ps) it stores a fresh pending secret, audited, and returns it.
func (s *Server) beginTOTP(r *http.Request, ps *passwordStep) (*mfaEnrollResponse, error) {
	u := ps.user
	if !u.Role.IsStaff() || ps.creds.TOTPEnrolled {
		return nil, errNoEnrollment
	}
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "server.mfaEnroll", Err: err}
	}
	org, err := s.db.Org(r.Context(), u.OrgID)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetPendingTOTP(u.OrgID, u.ID, secret); err != nil {
			return err
		}
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAEnroll, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "user", u.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return &mfaEnrollResponse{Secret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret),
		OTPAuth: auth.TOTPURI(org.Name, u.Email, secret)}, nil
}

// mfaConfirm finishes set-up: a valid code from the new authenticator
// enrolls it, issues ten recovery codes (shown once) and signs in.
func (s *Server) mfaConfirm(w http.ResponseWriter, r *http.Request) error {
	req, ps, err := s.mfaPassword(w, r)
	if err != nil {
		return err
	}
	out, err := s.finishTOTP(r, ps, req.TOTPCode)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, out.Token)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// finishTOTP is the confirmation core shared by the API and the pages: a
// valid code from the pending authenticator enrolls it, issues the
// recovery codes and starts a session (the caller hands out the token).
func (s *Server) finishTOTP(r *http.Request, ps *passwordStep, code string) (*mfaConfirmResponse, error) {
	u := ps.user
	if !u.Role.IsStaff() || ps.creds.TOTPEnrolled || len(ps.creds.TOTPSecret) == 0 {
		return nil, errNoEnrollment
	}
	step, ok := auth.VerifyTOTP(ps.creds.TOTPSecret, code, s.now().UTC(), ps.lastStep)
	if !ok {
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAFailed, sotto.AuditFailure)
		if err := s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
			return nil, err
		}
		s.throttle.Fail(ps.att.keys[0])
		return nil, errInvalidCredentials
	}
	codes, hashes, err := auth.NewRecoveryCodes(recoveryCodeCount)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "server.mfaConfirm", Err: err}
	}
	token, expires, err := s.startSession(r, u, func(tx *store.Tx) error {
		if err := tx.ConfirmTOTP(u.ID, step, hashes); err != nil {
			return err
		}
		ev := s.auditEvent(r, u.OrgID, u.ID, string(u.Role), sotto.AuditMFAVerify, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID = "user", u.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return nil, err
	}
	s.throttle.Succeed(ps.att.keys[0])
	return &mfaConfirmResponse{Token: token, ExpiresAt: expires, RecoveryCodes: codes}, nil
}
