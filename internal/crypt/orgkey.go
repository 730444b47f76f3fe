package crypt

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/signature"
	tinked25519 "github.com/tink-crypto/tink-go/v2/signature/ed25519"
	"github.com/tink-crypto/tink-go/v2/signature/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// blindIndexLen is the length of a blind index (full HMAC-SHA256 output).
const blindIndexLen = 32

// OrgKey is one organization's unwrapped key material. Obtain it from
// [Keyring.Org]; it is safe for concurrent use and immutable (rotation
// produces new wrapped bytes, not a mutated OrgKey).
//
// Callers should fetch an OrgKey per operation rather than hold it for long:
// [Keyring.Forget] drops it from the cache but cannot reach copies held
// elsewhere.
type OrgKey struct {
	orgID  string
	fp     [32]byte // SHA-256 of the wrapped bytes it came from
	sets   orgKeysets
	aead   tink.AEAD
	prf    *prf.Set
	signer tink.Signer
	pub    ed25519.PublicKey
}

// newOrgKey builds primitives from sets and validates that each keyset is
// fit for its purpose.
func newOrgKey(orgID string, fp [32]byte, sets orgKeysets) (*OrgKey, error) {
	a, err := aead.New(sets.aead)
	if err != nil {
		return nil, fmt.Errorf("org AEAD keyset: %w", err)
	}
	p, err := prf.NewPRFSet(sets.prf)
	if err != nil {
		return nil, fmt.Errorf("org PRF keyset: %w", err)
	}
	if _, err := p.ComputePrimaryPRF(nil, blindIndexLen); err != nil {
		return nil, fmt.Errorf("org PRF keyset cannot produce %d-byte output: %w", blindIndexLen, err)
	}
	s, err := signature.NewSigner(sets.sign)
	if err != nil {
		return nil, fmt.Errorf("org signing keyset: %w", err)
	}
	pub, err := rawEd25519Public(sets.sign)
	if err != nil {
		return nil, err
	}
	return &OrgKey{orgID: orgID, fp: fp, sets: sets, aead: a, prf: p, signer: s, pub: pub}, nil
}

// rawEd25519Public extracts the primary public key of a signing keyset and
// checks that signatures carry no Tink prefix (so they verify as plain
// Ed25519 signatures).
func rawEd25519Public(h *keyset.Handle) (ed25519.PublicKey, error) {
	ph, err := h.Public()
	if err != nil {
		return nil, fmt.Errorf("org signing keyset: %w", err)
	}
	e, err := ph.Primary()
	if err != nil {
		return nil, fmt.Errorf("org signing keyset: %w", err)
	}
	pk, ok := e.Key().(*tinked25519.PublicKey)
	if !ok {
		return nil, errors.New("org signing keyset: primary key is not Ed25519")
	}
	if len(pk.OutputPrefix()) != 0 {
		return nil, errors.New("org signing keyset: Ed25519 key must use RAW output prefix")
	}
	return ed25519.PublicKey(pk.KeyBytes()), nil
}

// OrgID returns the organization this key belongs to.
func (o *OrgKey) OrgID() string { return o.orgID }

// String identifies the key without revealing key material, so an OrgKey
// that ends up in a log line is harmless.
func (o *OrgKey) String() string { return "crypt.OrgKey(" + o.orgID + ")" }

// Seal encrypts an org-level record (e.g. a staff contact point) with the
// org's primary AEAD key, authenticating ad (build it with [AD]). Intended
// caller: the store. Errors: ad lies in the namespace reserved for wrapped
// patient keys (AD("patient_keys", "keyset", ...)), so a sealed record could
// never be passed off as a data key; otherwise errors come from Tink and
// never include plaintext.
func (o *OrgKey) Seal(plaintext, ad []byte) ([]byte, error) {
	if bytes.HasPrefix(ad, appendLP(appendLP(nil, patientKeysTable), keysetColumn)) {
		return nil, errors.New("crypt: org seal: associated data is reserved for wrapped patient keys")
	}
	ct, err := o.aead.Encrypt(plaintext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: org seal: %w", err)
	}
	return ct, nil
}

// Open decrypts a ciphertext produced by Seal under any enabled org AEAD
// key. Intended caller: the store. It returns an error wrapping
// [ErrTampered] if authentication fails (modified bytes, different ad,
// retired or foreign key).
func (o *OrgKey) Open(ciphertext, ad []byte) ([]byte, error) {
	pt, err := o.aead.Decrypt(ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: org open: %w", ErrTampered)
	}
	return pt, nil
}

// Reseal decrypts ciphertext and encrypts it again under the current primary
// key with the same ad: the per-record step of moving org-level records to a
// rotated key. Intended caller: a rotation job. Errors: as for Open and Seal.
func (o *OrgKey) Reseal(ciphertext, ad []byte) ([]byte, error) {
	pt, err := o.Open(ciphertext, ad)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return o.Seal(pt, ad)
}

// BlindIndex returns a 32-byte deterministic keyed hash (HMAC-SHA256 PRF) of
// a normalized lookup value, for equality search without storing the value
// in plaintext. The input is length-prefixed kind || value, so the same value
// under different kinds ("email", "phone", "mrn") gives unrelated indexes,
// and each org's key gives unrelated indexes. The caller must normalize the
// value first (e.g. lower-case email, E.164 phone).
//
// Intended caller: the store, for both writing and querying indexes. It
// cannot fail: the PRF keyset is validated when the OrgKey is unwrapped.
// The PRF keyset is never rotated, because that would invalidate every
// stored index.
func (o *OrgKey) BlindIndex(kind string, normalized string) []byte {
	in := appendLP(appendLP(make([]byte, 0, 8+len(kind)+len(normalized)), kind), normalized)
	defer clear(in)
	out, err := o.prf.ComputePrimaryPRF(in, blindIndexLen)
	if err != nil {
		// Unreachable: newOrgKey checked that the primary PRF yields 32 bytes.
		panic("crypt: blind index PRF failed after validation")
	}
	return out
}

// Sign signs msg with the org's Ed25519 key and returns a plain 64-byte
// Ed25519 signature. Intended caller: the audit log, for checkpoints.
// Errors come from Tink.
func (o *OrgKey) Sign(msg []byte) ([]byte, error) {
	sig, err := o.signer.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("crypt: org sign: %w", err)
	}
	return sig, nil
}

// PublicKey returns the org's raw 32-byte Ed25519 public key (a copy), for
// [VerifySignature] or any standard Ed25519 verifier. Never fails.
func (o *OrgKey) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), o.pub...)
}

// VerifySignature checks an Ed25519 signature produced by [OrgKey.Sign]
// against a raw 32-byte public key. Any caller may use it (auditors need no
// keyring). Errors: an invalid public key, or an error wrapping
// [ErrBadSignature] if the signature does not verify.
func VerifySignature(pub []byte, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize { // Tink's subtle verifier would panic
		return fmt.Errorf("crypt: verify signature: invalid public key length %d", len(pub))
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("crypt: verify signature: %w", ErrBadSignature)
	}
	v, err := subtle.NewED25519Verifier(pub)
	if err != nil {
		return fmt.Errorf("crypt: verify signature: invalid public key: %w", err)
	}
	if err := v.Verify(sig, msg); err != nil {
		return fmt.Errorf("crypt: verify signature: %w", ErrBadSignature)
	}
	return nil
}

// PrimaryKeyID returns the id of the org AEAD key that encrypts new data;
// compare with [KeyIDOf] of stored ciphertexts and wrapped data keys to find
// what still needs re-wrapping after [Keyring.RotateOrgKey].
func (o *OrgKey) PrimaryKeyID() uint32 { return primaryID(o.sets.aead) }

// Versions lists the keys of the org AEAD keyset with their status.
func (o *OrgKey) Versions() []KeyVersion { return versionsOf(o.sets.aead) }
