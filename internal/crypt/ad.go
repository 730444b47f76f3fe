package crypt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrTampered is returned (wrapped) when a ciphertext or wrapped key fails
// authentication: it was modified, moved to another row or column (different
// associated data), or encrypted under a key that is unknown, retired or
// belongs to someone else. Callers test for it with errors.Is.
var ErrTampered = errors.New("crypt: authentication failed (ciphertext tampered, moved, or wrong key)")

// ErrBadSignature is returned (wrapped) by [VerifySignature] when a
// signature does not verify.
var ErrBadSignature = errors.New("crypt: signature verification failed")

// Associated-data namespaces used for wrapped keys. Record encryption uses
// the caller's own table and column names.
const (
	orgKeysTable     = "org_keys"
	patientKeysTable = "patient_keys"
	keysetColumn     = "keyset"
)

// tinkPrefixLen is the length of Tink's output prefix for keys with the TINK
// output prefix type: one version byte (0x01) and a big-endian key id.
const tinkPrefixLen = 5

// tinkPrefixVersion is the first byte of a TINK-prefixed ciphertext.
const tinkPrefixVersion = 0x01

// AD returns the canonical associated data binding a ciphertext to the cell
// it is stored in: table, column and row id. Each field is encoded as a
// 4-byte big-endian length followed by its bytes, so distinct triples never
// produce the same encoding (("ab","c") differs from ("a","bc")).
//
// Any package may call it; it never fails. The store must use exactly the
// same triple on Seal and Open.
func AD(table, column, rowID string) []byte {
	return appendLP(appendLP(appendLP(make([]byte, 0, 12+len(table)+len(column)+len(rowID)), table), column), rowID)
}

// KeyIDOf reports the Tink key id that produced ciphertext, read from Tink's
// 5-byte output prefix (0x01 followed by the big-endian key id). It works for
// master ciphertexts produced by a [FileMaster] (and therefore wrapped org
// keys), org-key ciphertexts (including wrapped data keys) and data-key
// ciphertexts. It returns false if ciphertext has no TINK prefix (for
// example a Vault Transit ciphertext). It does not authenticate anything.
func KeyIDOf(ciphertext []byte) (uint32, bool) {
	if len(ciphertext) < tinkPrefixLen || ciphertext[0] != tinkPrefixVersion {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:tinkPrefixLen]), true
}

// appendLP appends a 4-byte big-endian length and then s to b.
func appendLP[T ~string | ~[]byte](b []byte, s T) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// readLP splits one length-prefixed field off the front of b. It returns an
// error (never panics) if b is too short.
func readLP(b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("truncated length prefix")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, fmt.Errorf("field length %d exceeds remaining %d bytes", n, len(b))
	}
	return b[:n], b[n:], nil
}

// requireID returns an error if id is empty; what names the id in the error.
func requireID(what, id string) error {
	if id == "" {
		return fmt.Errorf("crypt: empty %s id", what)
	}
	return nil
}
