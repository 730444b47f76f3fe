package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// passkeyRegisterBeginRequest is the body of POST
// /api/v1/me/passkeys/register/begin: adding a factor needs fresh proof.
type passkeyRegisterBeginRequest struct {
	Password string `json:"password"`
}

// passkeyCeremonyResponse starts a ceremony in the browser: options is
// what navigator.credentials.create or .get takes (as {"publicKey": ...},
// binary members base64url), ceremony_id what the finish sends back.
type passkeyCeremonyResponse struct {
	CeremonyID string `json:"ceremony_id"`
	Options    any    `json:"options"`
}

// passkeyRegisterFinishRequest is the body of POST
// /api/v1/me/passkeys/register/finish; credential is the browser's
// PublicKeyCredential as JSON.
type passkeyRegisterFinishRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// passkeyView is a passkey as its owner sees it (never the key material).
type passkeyView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"` // a synced passkey (may live on several devices)
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
}

// passkeyList is the answer of GET /api/v1/me/passkeys.
type passkeyList struct {
	Passkeys []passkeyView `json:"passkeys"`
}

// viewOf is the owner's view of k.
func viewOf(k *store.Passkey) passkeyView {
	v := passkeyView{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, BackupEligible: k.BackupEligible, BackupState: k.BackupState, Transports: k.Transports}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt
		v.LastUsedAt = &t
	}
	if v.Transports == nil {
		v.Transports = []string{}
	}
	return v
}

// Registration errors.
var (
	errCeremony      = &sotto.Error{Kind: sotto.KindInvalid, Code: "ceremony_invalid", Msg: "This passkey request expired or was already used. Start again."}
	errPasskeyBad    = &sotto.Error{Kind: sotto.KindInvalid, Code: "passkey_invalid", Msg: "The browser's answer could not be verified. Try again."}
	errPasskeyLimit  = &sotto.Error{Kind: sotto.KindConflict, Code: "passkey_limit", Msg: "You already have the most passkeys allowed (10). Remove one first."}
	errPasskeyExists = &sotto.Error{Kind: sotto.KindConflict, Code: "passkey_exists", Msg: "This passkey is already registered."}
)

// registerBegin starts adding a passkey for the signed-in staff member:
// the current password is checked like a sign-in (throttled, failures
// audited), then the creation options are returned with a ceremony id.
// Errors: forbidden (not staff), invalid_credentials, rate_limited,
// passkey_limit, passkeys_unavailable, invalid.
func (p *passkeys) registerBegin(w http.ResponseWriter, r *http.Request, c *caller) error {
	s := p.s
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	var req passkeyRegisterBeginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if p.rp == nil {
		return errPasskeysUnavailable
	}
	ps, err := s.checkPassword(w, r, c.user.Email, req.Password)
	if err != nil {
		return err
	}
	if ps.user.ID != c.user.ID {
		return errInvalidCredentials
	}
	s.throttle.Succeed(ps.att.keys[0])
	out, err := p.beginRegistration(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// beginRegistration creates the ceremony of a new passkey for c (whose
// password was just checked): the user's existing passkeys are excluded,
// a discoverable credential is preferred (for passwordless sign-in).
func (p *passkeys) beginRegistration(r *http.Request, c *caller) (*passkeyCeremonyResponse, error) {
	ctx := r.Context()
	keys, err := p.s.db.Passkeys(ctx, c.user.OrgID, c.user.ID)
	if err != nil {
		return nil, err
	}
	if len(keys) >= maxPasskeysPerUser {
		return nil, errPasskeyLimit
	}
	org, err := p.s.db.Org(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	pu := newPasskeyUser(c.user, keys)
	creation, session, err := p.rp.BeginRegistration(pu,
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithRegistrationRelyingPartyName(org.Name))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "server.passkeyRegisterBegin", Err: err}
	}
	id, err := p.ceremonies.put(&ceremony{kind: ceremonyRegister, orgID: c.user.OrgID, userID: c.user.ID, session: *session, addr: ceremonyAddr(clientIP(r))})
	if err != nil {
		return nil, err
	}
	return &passkeyCeremonyResponse{CeremonyID: id, Options: creation}, nil
}

// registerFinish verifies the browser's new credential against the
// ceremony and stores it under the name given; audited (mfa_enroll on a
// passkey target, failures too). Answers 201 with the passkey. Errors:
// forbidden, ceremony_invalid, invalid (name), passkey_invalid,
// passkey_exists, passkeys_unavailable.
func (p *passkeys) registerFinish(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	var req passkeyRegisterFinishRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if p.rp == nil {
		return errPasskeysUnavailable
	}
	name, err := passkeyName(req.Name)
	if err != nil {
		return err
	}
	cer, ok := p.ceremonies.take(req.CeremonyID, ceremonyRegister)
	if !ok || cer.userID != c.user.ID || cer.orgID != c.user.OrgID {
		return errCeremony
	}
	k, err := p.verifyRegistration(r, c, cer, req.Credential)
	if err != nil {
		return err
	}
	k.Name = name
	err = p.s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertPasskey(k); err != nil {
			return err
		}
		return audit.Append(tx, p.s.targetEvent(r, c, sotto.AuditMFAEnroll, "passkey", k.ID, ""))
	})
	if sotto.ErrorKind(err) == sotto.KindConflict {
		return errPasskeyExists
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewOf(k))
	return nil
}

// verifyRegistration parses and verifies credential (the browser's JSON)
// against ceremony cer and returns the passkey to store (without a name).
// A failure is audited as a failed enrollment and answered passkey_invalid.
func (p *passkeys) verifyRegistration(r *http.Request, c *caller, cer *ceremony, credential []byte) (*store.Passkey, error) {
	fail := func(err error) (*store.Passkey, error) {
		ev := p.s.callerEvent(r, c, sotto.AuditMFAEnroll, sotto.AuditFailure)
		ev.TargetType, ev.TargetID = "user", c.user.ID
		if aerr := p.s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); aerr != nil {
			return nil, aerr
		}
		return nil, &sotto.Error{Kind: errPasskeyBad.Kind, Code: errPasskeyBad.Code, Msg: errPasskeyBad.Msg, Err: err}
	}
	if len(credential) == 0 {
		return fail(errPasskeyBad)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return fail(err)
	}
	keys, err := p.s.db.Passkeys(r.Context(), c.user.OrgID, c.user.ID)
	if err != nil {
		return nil, err
	}
	cred, err := p.rp.CreateCredential(newPasskeyUser(c.user, keys), cer.session, parsed)
	if err != nil {
		return fail(err)
	}
	if len(cred.ID) == 0 || len(cred.ID) > store.MaxCredentialIDLen {
		return fail(errPasskeyBad)
	}
	return &store.Passkey{OrgID: c.user.OrgID, UserID: c.user.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Transports: transportsOf(cred.Transport)}, nil
}

// listPasskeys answers the signed-in staff member's passkeys. Errors:
// forbidden (not staff).
func (p *passkeys) listPasskeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	keys, err := p.s.db.Passkeys(r.Context(), c.user.OrgID, c.user.ID)
	if err != nil {
		return err
	}
	out := passkeyList{Passkeys: make([]passkeyView, 0, len(keys))}
	for _, k := range keys {
		out.Passkeys = append(out.Passkeys, viewOf(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deletePasskey removes one of the signed-in staff member's passkeys;
// someone else's (or an unknown id) is not found. Audited.
func (p *passkeys) deletePasskey(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := p.s.removePasskey(r, c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removePasskey deletes passkey id of c (staff only; someone else's is
// KindNotFound), audited as an MFA reset of that passkey by its owner.
// Shared by the API and the security page.
func (s *Server) removePasskey(r *http.Request, c *caller, id string) error {
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeletePasskey(c.user.OrgID, c.user.ID, id); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditMFAReset, "passkey", id, ""))
	})
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return sotto.Errorf(sotto.KindNotFound, "Passkey not found.")
	}
	return err
}
