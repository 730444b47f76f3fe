package server

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"sotto"
	"sotto/internal/store"
)

// Passkeys (WebAuthn) for staff: a second factor after the password, or
// passwordless sign-in with a discoverable credential that verified the
// user (PIN or biometric). This file holds the relying party and the
// conversions; passkey_register.go, passkey_login.go and passkey_web.go
// the handlers.

// maxPasskeysPerUser bounds how many passkeys one staff member may keep.
const maxPasskeysPerUser = 10

// maxPasskeyNameLen bounds the label a user gives a passkey, in characters.
const maxPasskeyNameLen = 64

// passkeys is the passkey service of one Server: its relying party (nil
// when the server's public URL cannot be one) and its pending ceremonies.
// Built by routes(); its handlers are registered there.
type passkeys struct {
	s          *Server
	rp         *webauthn.WebAuthn
	ceremonies *ceremonies
}

// newPasskeys builds the passkey service of s from s.cfg.PublicURL.
func newPasskeys(s *Server) *passkeys {
	rp, _ := newRelyingParty(s.cfg.PublicURL)
	return &passkeys{s: s, rp: rp, ceremonies: newCeremonies(s.now)}
}

// errPasskeysUnavailable answers passkey requests on a server whose public
// URL is not a domain name (WebAuthn binds credentials to one).
var errPasskeysUnavailable = &sotto.Error{Kind: sotto.KindUnavailable, Code: "passkeys_unavailable",
	Msg: "Passkeys are not available on this server: its public address must be a domain name (ask your administrator)."}

// newRelyingParty returns the WebAuthn relying party of a server reached
// at publicURL: the RP ID is its host name, the only accepted origin its
// scheme, host and port. An empty URL, or one whose host is an IP
// address, cannot be a relying party: errPasskeysUnavailable.
func newRelyingParty(publicURL string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return nil, errPasskeysUnavailable
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID:                  strings.ToLower(u.Hostname()),
		RPDisplayName:         "sotto",
		RPOrigins:             []string{strings.ToLower(u.Scheme + "://" + u.Host)},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindUnavailable, Code: errPasskeysUnavailable.Code, Msg: errPasskeysUnavailable.Msg, Err: err}
	}
	return rp, nil
}

// passkeysReady reports whether s can offer passkeys (its public URL is a
// relying party), for the pages that show passkey buttons.
func (s *Server) passkeysReady() bool {
	_, err := newRelyingParty(s.cfg.PublicURL)
	return err == nil
}

// userHandle is the WebAuthn user handle of user id: the 16 bytes of the
// UUID, no personal data.
func userHandle(id string) []byte {
	u, err := uuid.Parse(id)
	if err != nil {
		return []byte(id)
	}
	return u[:]
}

// passkeyUser adapts a staff member and their passkeys to webauthn.User.
type passkeyUser struct {
	u     *sotto.User
	creds []webauthn.Credential
}

// newPasskeyUser wraps u with its stored passkeys.
func newPasskeyUser(u *sotto.User, keys []*store.Passkey) *passkeyUser {
	pu := &passkeyUser{u: u, creds: make([]webauthn.Credential, 0, len(keys))}
	for _, k := range keys {
		pu.creds = append(pu.creds, credentialOf(k))
	}
	return pu
}

func (p *passkeyUser) WebAuthnID() []byte                         { return userHandle(p.u.ID) }
func (p *passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p *passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// credentialOf converts a stored passkey to the library's credential.
func credentialOf(k *store.Passkey) webauthn.Credential {
	flags := protocol.FlagUserPresent
	if k.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if k.BackupState {
		flags |= protocol.FlagBackupState
	}
	c := webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey, AttestationType: k.AttestationType,
		Flags: webauthn.NewCredentialFlags(flags), Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
	for _, t := range k.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// knownTransports are the transport hints kept from a browser's answer;
// anything else a client sends is dropped.
var knownTransports = map[protocol.AuthenticatorTransport]bool{
	protocol.USB: true, protocol.NFC: true, protocol.BLE: true, protocol.SmartCard: true, protocol.Hybrid: true, protocol.Internal: true,
}

// transportsOf keeps the known transport hints of ts, once each.
func transportsOf(ts []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range ts {
		if knownTransports[t] && !slices.Contains(out, string(t)) {
			out = append(out, string(t))
		}
	}
	return out
}

// errPasskeyName answers a missing or unusable passkey name.
var errPasskeyName = &sotto.Error{Kind: sotto.KindInvalid, Code: "invalid",
	Msg: "Give the passkey a name of 1 to 64 characters, such as \"Work laptop\"."}

// passkeyName trims and checks a user-given passkey name: 1 to
// maxPasskeyNameLen characters of valid UTF-8 without control characters.
func passkeyName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxPasskeyNameLen {
		return "", errPasskeyName
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", errPasskeyName
		}
	}
	return s, nil
}

// ceremonyAddr is the per-address key of a client address for the
// ceremony bound: the address itself, or its /64 for IPv6 (one client
// usually holds a whole /64).
func ceremonyAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
