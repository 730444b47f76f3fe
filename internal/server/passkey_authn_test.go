package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// softAuthenticator is a WebAuthn authenticator in software for the API
// tests: one ECDSA P-256 credential, "none" attestation, a signature
// counter, and the flags a test chooses. It answers the server's options
// the way a browser hands an authenticator's answer to a page.
type softAuthenticator struct {
	t      testing.TB
	key    *ecdsa.PrivateKey
	credID []byte
	origin string // the page's origin the browser reports
	rpID   string // the RP ID the authenticator signs for ("" means the options' own)
	count  uint32 // the signature counter; each assertion adds one first
	uv     bool   // user verified (PIN or biometric)
	handle []byte // the user handle stored at creation
}

// newSoftAuthenticator returns an authenticator at origin with a fresh
// key and credential id, verifying its user.
func newSoftAuthenticator(t testing.TB, origin string) *softAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &softAuthenticator{t: t, key: key, credID: id, origin: origin, uv: true}
}

// b64u encodes b as unpadded base64url.
func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unb64u decodes unpadded base64url, failing the test on error.
func (a *softAuthenticator) unb64u(s string) []byte {
	a.t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		a.t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// publicKeyOptions reads options.publicKey of a ceremony answer.
func publicKeyOptions(t testing.TB, body map[string]any) map[string]any {
	t.Helper()
	opts, _ := body["options"].(map[string]any)
	pk, _ := opts["publicKey"].(map[string]any)
	if pk == nil {
		t.Fatalf("no options.publicKey in %v", body)
	}
	return pk
}

// authData builds authenticator data for rpID with flags and counter,
// plus attested credential data when attested is set.
func (a *softAuthenticator) authData(rpID string, attested bool) []byte {
	a.t.Helper()
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) // UP
	if a.uv {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	if !attested {
		return out
	}
	out = append(out, make([]byte, 16)...) // AAGUID: not disclosed
	out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
	out = append(out, a.credID...)
	pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		a.t.Fatal(err)
	}
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		a.t.Fatal(err)
	}
	return append(out, cose...)
}

// clientData is the browser's collected client data for a ceremony.
func (a *softAuthenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create answers registration options (options.publicKey) with a new
// credential, as the JSON a page sends to the register finish.
func (a *softAuthenticator) create(pk map[string]any) map[string]any {
	a.t.Helper()
	rp, _ := pk["rp"].(map[string]any)
	user, _ := pk["user"].(map[string]any)
	rpID := a.rpID
	if rpID == "" {
		rpID, _ = rp["id"].(string)
	}
	uid, _ := user["id"].(string)
	a.handle = a.unb64u(uid)
	challenge, _ := pk["challenge"].(string)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(rpID, true)})
	if err != nil {
		a.t.Fatal(err)
	}
	return map[string]any{"id": b64u(a.credID), "rawId": b64u(a.credID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64u(a.clientData("webauthn.create", challenge)), "attestationObject": b64u(att),
			"transports": []string{"internal", "carrier-pigeon"}}}
}

// get answers sign-in options (options.publicKey) with an assertion,
// advancing the counter first, as the JSON a page sends to the finish.
func (a *softAuthenticator) get(pk map[string]any) map[string]any {
	a.t.Helper()
	rpID := a.rpID
	if rpID == "" {
		rpID, _ = pk["rpId"].(string)
	}
	challenge, _ := pk["challenge"].(string)
	a.count++
	data := a.authData(rpID, false)
	cdj := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, data...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return map[string]any{"id": b64u(a.credID), "rawId": b64u(a.credID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64u(cdj), "authenticatorData": b64u(data), "signature": b64u(sig), "userHandle": b64u(a.handle)}}
}
