package crypt

import (
	"errors"
	"fmt"
)

// RotateOrgKey adds a new AES256-GCM key to the org's AEAD keyset, makes it
// primary, and returns the org key material re-wrapped with the master.
// Old AEAD keys stay enabled, so existing records and wrapped data keys keep
// opening; move them with [OrgKey.RewrapDataKey] and [OrgKey.Reseal], then
// [Keyring.RetireOrgKey]. The PRF and signing keysets are unchanged.
//
// Intended caller: a rotation job; the store must replace the org's wrapped
// bytes with newWrapped. Errors: as for [Keyring.Org], or the master's
// Encrypt error.
func (k *Keyring) RotateOrgKey(orgID string, wrapped []byte) (newWrapped []byte, err error) {
	o, err := k.Org(orgID, wrapped)
	if err != nil {
		return nil, err
	}
	sets := o.sets
	if sets.aead, err = rotateAEAD(o.sets.aead); err != nil {
		return nil, fmt.Errorf("crypt: rotate org key: %w", err)
	}
	return k.wrapOrg(orgID, sets)
}

// RetireOrgKey disables org AEAD key keyID (it no longer decrypts) and
// returns the org key material re-wrapped with the master. Intended caller:
// a rotation job, after every wrapped data key and org-level record under
// keyID has been moved to the primary key. Errors: keyID is unknown or
// primary, or as for [Keyring.RotateOrgKey].
func (k *Keyring) RetireOrgKey(orgID string, wrapped []byte, keyID uint32) (newWrapped []byte, err error) {
	o, err := k.Org(orgID, wrapped)
	if err != nil {
		return nil, err
	}
	sets := o.sets
	if sets.aead, err = retireKey(o.sets.aead, keyID); err != nil {
		return nil, err
	}
	return k.wrapOrg(orgID, sets)
}

// RewrapOrgKey decrypts an org's wrapped key material with the master (any
// enabled master key version) and encrypts it again under the master's
// current primary key, leaving the org keys themselves unchanged. Intended
// caller: a master-rotation job, after [FileMaster.Rotate] or a Vault key
// rotation. Errors: empty orgID; an error wrapping [ErrTampered] if wrapped
// does not authenticate; the container is not a valid org keyset; or the
// master's error.
func (k *Keyring) RewrapOrgKey(orgID string, wrapped []byte) ([]byte, error) {
	if err := requireID("org", orgID); err != nil {
		return nil, err
	}
	if k.master == nil {
		return nil, errors.New("crypt: keyring has no master key")
	}
	ad := AD(orgKeysTable, keysetColumn, orgID)
	pt, err := k.master.Decrypt(wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: rewrap org key: %w", err)
	}
	defer clear(pt)
	if _, err := unmarshalOrgKeysets(pt); err != nil {
		return nil, fmt.Errorf("crypt: rewrap org key: %w", err)
	}
	out, err := k.master.Encrypt(pt, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: rewrap org key: %w", err)
	}
	return out, nil
}
