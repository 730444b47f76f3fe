package crypt

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
)

// Keyring unwraps org keysets and patient data keys and caches them in a
// bounded LRU, so hot paths do not call the master (possibly a remote KMS)
// on every request. It is safe for concurrent use. Unwrapped key material
// lives only in this process's memory; nothing unwrapped is ever written
// anywhere.
//
// Cache entries are keyed by id plus a SHA-256 of the wrapped bytes, so a
// re-wrapped or rotated key is a distinct entry and a stale entry can only be
// reached by presenting the exact bytes it was unwrapped from.
type Keyring struct {
	master Master

	mu    sync.Mutex
	cache *lru
	epoch uint64 // incremented by Forget; unwraps that raced it are not cached
}

// NewKeyring returns a Keyring that wraps org keys with master and caches at
// most cacheSize unwrapped keys (orgs and patients together; below 1
// disables caching). master must not be nil. Intended caller: server
// start-up (one Keyring per process). It performs no I/O and never fails.
func NewKeyring(master Master, cacheSize int) *Keyring {
	return &Keyring{master: master, cache: newLRU(cacheSize)}
}

// Len returns the number of cached unwrapped keys. Intended for tests and
// metrics.
func (k *Keyring) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cache.len()
}

// Forget drops every cached entry for id, which may be an org id (its org
// keys and all its patients' data keys) or a patient id. Intended caller:
// the store, right after crypto-shredding (deleting a wrapped key), so the
// destroyed key is not usable from this cache. It cannot reach *OrgKey or
// *DataKey values that callers still hold. An empty id does nothing.
func (k *Keyring) Forget(id string) {
	if id == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.epoch++
	k.cache.removeIf(func(e *lruEntry) bool { return e.orgID == id || e.patientID == id })
}

// NewOrgKey generates an organization's key material (AES256-GCM AEAD
// keyset, HMAC-SHA256 PRF keyset for blind indexes, Ed25519 signing keyset)
// and returns it wrapped by the master with AD("org_keys", "keyset", orgID).
// The store persists the bytes. Intended caller: the store, when creating an
// org. Errors: empty orgID, a Tink failure, or the master's error.
func (k *Keyring) NewOrgKey(orgID string) (wrapped []byte, err error) {
	if err := requireID("org", orgID); err != nil {
		return nil, err
	}
	sets, err := generateOrgKeysets()
	if err != nil {
		return nil, fmt.Errorf("crypt: new org key: %w", err)
	}
	return k.wrapOrg(orgID, sets)
}

// Org unwraps an org's key material (or returns it from the cache).
// Intended caller: the store and services needing org-level encryption,
// blind indexes or signing. Errors: empty orgID; an error wrapping
// [ErrTampered] if wrapped does not authenticate for orgID under any enabled
// master key; a transport error from a remote master; or a format error.
func (k *Keyring) Org(orgID string, wrapped []byte) (*OrgKey, error) {
	if err := requireID("org", orgID); err != nil {
		return nil, err
	}
	fp := sha256.Sum256(wrapped)
	ck := cacheKey("org", orgID, string(fp[:]))
	k.mu.Lock()
	if v, ok := k.cache.get(ck); ok {
		k.mu.Unlock()
		return v.(*OrgKey), nil
	}
	epoch := k.epoch
	k.mu.Unlock()

	if k.master == nil {
		return nil, errors.New("crypt: keyring has no master key")
	}
	pt, err := k.master.Decrypt(wrapped, AD(orgKeysTable, keysetColumn, orgID))
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap org key: %w", err)
	}
	defer clear(pt)
	sets, err := unmarshalOrgKeysets(pt)
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap org key: %w", err)
	}
	o, err := newOrgKey(orgID, fp, sets)
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap org key: %w", err)
	}
	k.put(epoch, &lruEntry{key: ck, orgID: orgID, value: o})
	return o, nil
}

// Data unwraps a patient's data key with orgKey (or returns it from the
// cache). Intended caller: the store, for every patient record read or
// write. Errors: nil orgKey or empty patientID; an error wrapping
// [ErrTampered] if wrapped does not authenticate for patientID under this
// org's enabled keys; or a format error.
func (k *Keyring) Data(orgKey *OrgKey, patientID string, wrapped []byte) (*DataKey, error) {
	if orgKey == nil {
		return nil, errors.New("crypt: nil org key")
	}
	if err := requireID("patient", patientID); err != nil {
		return nil, err
	}
	fp := sha256.Sum256(wrapped)
	ck := cacheKey("data", orgKey.orgID, string(orgKey.fp[:]), patientID, string(fp[:]))
	k.mu.Lock()
	if v, ok := k.cache.get(ck); ok {
		k.mu.Unlock()
		return v.(*DataKey), nil
	}
	epoch := k.epoch
	k.mu.Unlock()

	pt, err := orgKey.unwrapDataKey(patientID, wrapped)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	d, err := newDataKey(patientID, pt)
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap data key: %w", err)
	}
	k.put(epoch, &lruEntry{key: ck, orgID: orgKey.orgID, patientID: patientID, value: d})
	return d, nil
}

// put caches e unless a Forget ran since epoch was read (the unwrap may have
// raced a crypto-shred).
func (k *Keyring) put(epoch uint64, e *lruEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.epoch == epoch {
		k.cache.add(e)
	}
}

// wrapOrg serializes sets and wraps them with the master.
func (k *Keyring) wrapOrg(orgID string, sets orgKeysets) ([]byte, error) {
	if k.master == nil {
		return nil, errors.New("crypt: keyring has no master key")
	}
	pt, err := marshalOrgKeysets(sets)
	if err != nil {
		return nil, fmt.Errorf("crypt: wrap org key: %w", err)
	}
	defer clear(pt)
	wrapped, err := k.master.Encrypt(pt, AD(orgKeysTable, keysetColumn, orgID))
	if err != nil {
		return nil, fmt.Errorf("crypt: wrap org key: %w", err)
	}
	return wrapped, nil
}

// cacheKey joins parts with length prefixes so distinct tuples never
// collide.
func cacheKey(parts ...string) string {
	var b []byte
	for _, p := range parts {
		b = appendLP(b, p)
	}
	return string(b)
}
