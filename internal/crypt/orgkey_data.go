package crypt

import (
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// DataKey is one patient's unwrapped data key (an AES256-GCM keyset).
// Obtain it from [Keyring.Data]. Everything about a patient is sealed with
// it, so deleting its wrapped bytes crypto-shreds the patient. It is safe
// for concurrent use and should be fetched per operation, not retained.
type DataKey struct {
	patientID string
	aead      tink.AEAD
	keyID     uint32
}

// String identifies the key without revealing key material.
func (d *DataKey) String() string { return "crypt.DataKey(" + d.patientID + ")" }

// PatientID returns the patient this key belongs to.
func (d *DataKey) PatientID() string { return d.patientID }

// KeyID returns the Tink key id of the data key (see [KeyIDOf]).
func (d *DataKey) KeyID() uint32 { return d.keyID }

// Seal encrypts a patient record with the data key, authenticating ad
// (build it with [AD]). Intended caller: the store. Errors come from Tink and
// never include plaintext.
func (d *DataKey) Seal(plaintext, ad []byte) ([]byte, error) {
	ct, err := d.aead.Encrypt(plaintext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: data seal: %w", err)
	}
	return ct, nil
}

// Open decrypts a ciphertext produced by Seal. Intended caller: the store.
// It returns an error wrapping [ErrTampered] if authentication fails.
func (d *DataKey) Open(ciphertext, ad []byte) ([]byte, error) {
	pt, err := d.aead.Decrypt(ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: data open: %w", ErrTampered)
	}
	return pt, nil
}

// NewDataKey generates a fresh AES256-GCM data key for patientID and returns
// it wrapped by the org's primary AEAD key with associated data
// AD("patient_keys", "keyset", patientID). The store persists the bytes;
// nothing unwrapped is kept. Intended caller: the store, when creating a
// patient. Errors: empty patientID, or a Tink failure.
func (o *OrgKey) NewDataKey(patientID string) (wrapped []byte, err error) {
	if err := requireID("patient", patientID); err != nil {
		return nil, err
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("crypt: generate data key: %w", err)
	}
	pt, err := marshalDataKey(h)
	if err != nil {
		return nil, fmt.Errorf("crypt: generate data key: %w", err)
	}
	defer clear(pt)
	wrapped, err = o.aead.Encrypt(pt, AD(patientKeysTable, keysetColumn, patientID))
	if err != nil {
		return nil, fmt.Errorf("crypt: wrap data key: %w", err)
	}
	return wrapped, nil
}

// RewrapDataKey re-encrypts a wrapped patient data key under the org's
// current primary AEAD key (after [Keyring.RotateOrgKey]); the data key
// itself, and so every record sealed with it, is unchanged. Intended caller:
// a rotation job. Errors: an error wrapping [ErrTampered] if wrapped does
// not authenticate for patientID under this org, or a format/Tink error.
func (o *OrgKey) RewrapDataKey(patientID string, wrapped []byte) ([]byte, error) {
	pt, err := o.unwrapDataKey(patientID, wrapped)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	out, err := o.aead.Encrypt(pt, AD(patientKeysTable, keysetColumn, patientID))
	if err != nil {
		return nil, fmt.Errorf("crypt: rewrap data key: %w", err)
	}
	return out, nil
}

// unwrapDataKey decrypts and validates a wrapped data key, returning the
// secret serialized form (the caller must clear it).
func (o *OrgKey) unwrapDataKey(patientID string, wrapped []byte) ([]byte, error) {
	if err := requireID("patient", patientID); err != nil {
		return nil, err
	}
	pt, err := o.aead.Decrypt(wrapped, AD(patientKeysTable, keysetColumn, patientID))
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap data key: %w", ErrTampered)
	}
	if _, err := newDataKey(patientID, pt); err != nil {
		clear(pt)
		return nil, fmt.Errorf("crypt: unwrap data key: %w", err)
	}
	return pt, nil
}

// newDataKey parses a serialized data key and builds its primitive.
func newDataKey(patientID string, pt []byte) (*DataKey, error) {
	h, err := unmarshalDataKey(pt)
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("data key keyset: %w", err)
	}
	return &DataKey{patientID: patientID, aead: a, keyID: primaryID(h)}, nil
}
