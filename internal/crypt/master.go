package crypt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Master is the key-encryption key at the top of the hierarchy. It has the
// same shape as tink.AEAD, so any Tink AEAD (including Tink's KMS clients for
// AWS and GCP) satisfies it.
//
// Implementations must be safe for concurrent use, must authenticate ad, and
// must return an error wrapping [ErrTampered] when Decrypt fails
// authentication. Only the [Keyring] is expected to call a Master; other
// packages configure one and hand it to [NewKeyring].
type Master interface {
	Encrypt(plaintext, ad []byte) ([]byte, error)
	Decrypt(ciphertext, ad []byte) ([]byte, error)
}

// Compile-time interface checks.
var (
	_ Master    = (*FileMaster)(nil)
	_ Master    = (*VaultTransit)(nil)
	_ tink.AEAD = Master(nil)
)

// KeyStatus is the state of one key in a keyset.
type KeyStatus string

// Key statuses reported by Versions methods.
const (
	// StatusPrimary marks the key that encrypts new data (it also decrypts).
	StatusPrimary KeyStatus = "primary"
	// StatusEnabled marks a key that still decrypts but no longer encrypts.
	StatusEnabled KeyStatus = "enabled"
	// StatusDisabled marks a retired key: it neither encrypts nor decrypts.
	StatusDisabled KeyStatus = "disabled"
	// StatusDestroyed marks a key whose material was destroyed.
	StatusDestroyed KeyStatus = "destroyed"
	// StatusUnknown is reported for any status Tink adds in the future.
	StatusUnknown KeyStatus = "unknown"
)

// KeyVersion describes one key of a keyset: its Tink key id (the id that
// [KeyIDOf] reads from ciphertexts) and its status.
type KeyVersion struct {
	ID     uint32
	Status KeyStatus
}

// versionsOf lists the keys of h in keyset order.
func versionsOf(h *keyset.Handle) []KeyVersion {
	out := make([]KeyVersion, 0, h.Len())
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil {
			continue
		}
		st := StatusUnknown
		switch {
		case e.IsPrimary():
			st = StatusPrimary
		case e.KeyStatus() == keyset.Enabled:
			st = StatusEnabled
		case e.KeyStatus() == keyset.Disabled:
			st = StatusDisabled
		case e.KeyStatus() == keyset.Destroyed:
			st = StatusDestroyed
		}
		out = append(out, KeyVersion{ID: e.KeyID(), Status: st})
	}
	return out
}

// primaryID returns the key id of h's primary key (0 if it has none, which
// a validated handle never does).
func primaryID(h *keyset.Handle) uint32 {
	e, err := h.Primary()
	if err != nil {
		return 0
	}
	return e.KeyID()
}

// hasKeyID reports whether h contains a key with the given id.
func hasKeyID(h *keyset.Handle, id uint32) bool {
	for _, v := range versionsOf(h) {
		if v.ID == id {
			return true
		}
	}
	return false
}

// retireKey returns a copy of h with key id disabled. It refuses to disable
// the primary key or an unknown id. h itself is not modified.
func retireKey(h *keyset.Handle, id uint32) (*keyset.Handle, error) {
	if !hasKeyID(h, id) {
		return nil, fmt.Errorf("crypt: retire key %d: no such key", id)
	}
	if primaryID(h) == id {
		return nil, fmt.Errorf("crypt: retire key %d: it is the primary key; rotate first", id)
	}
	m := keyset.NewManagerFromHandle(h)
	if err := m.Disable(id); err != nil {
		return nil, fmt.Errorf("crypt: retire key %d: %w", id, err)
	}
	nh, err := m.Handle()
	if err != nil {
		return nil, fmt.Errorf("crypt: retire key %d: %w", id, err)
	}
	return nh, nil
}

// serializeKeyset encodes h (including secret key material) as a binary Tink
// keyset. The result is secret: callers must encrypt it immediately and
// clear it when done.
func serializeKeyset(h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&buf)); err != nil {
		return nil, fmt.Errorf("serialize keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// parseKeyset decodes a binary Tink keyset produced by serializeKeyset.
// Errors never include the input bytes.
func parseKeyset(b []byte) (*keyset.Handle, error) {
	if len(b) == 0 {
		return nil, errors.New("empty keyset")
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewBinaryReader(bytes.NewReader(b)))
	if err != nil {
		return nil, fmt.Errorf("parse keyset: %w", err)
	}
	return h, nil
}
