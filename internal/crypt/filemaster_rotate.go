package crypt

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Rotate adds a new AES256-GCM key to the master keyset, makes it primary
// and atomically rewrites the file (temporary 0600 file, fsync, rename over
// the old file, fsync the directory). Existing keys keep decrypting; use
// [Keyring.RewrapOrgKey] to move wrapped org keys to the new key, then
// [FileMaster.Retire] the old one.
//
// Intended caller: a key-management command or admin job, from a single
// process. The keyset is re-read from disk first; if the file no longer
// contains every key this FileMaster knows, Rotate refuses rather than lose
// keys. Errors: permission, parse or I/O errors as for [OpenMasterFile]. On
// error the file and the in-memory keyset are unchanged, except when only the
// final directory fsync fails: the new keyset is then in place and in use.
func (m *FileMaster) Rotate() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, err := m.diskHandleLocked()
	if err != nil {
		return fmt.Errorf("crypt: rotate master key: %w", err)
	}
	km := keyset.NewManagerFromHandle(h)
	id, err := km.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("crypt: rotate master key: %w", err)
	}
	if err := km.SetPrimary(id); err != nil {
		return fmt.Errorf("crypt: rotate master key: %w", err)
	}
	nh, err := km.Handle()
	if err != nil {
		return fmt.Errorf("crypt: rotate master key: %w", err)
	}
	return m.commitLocked(nh)
}

// Retire disables master key keyID so it no longer decrypts, and atomically
// rewrites the file. The key material stays in the file (disabled), so an
// operator can re-enable it by editing the keyset if something was missed.
//
// Intended caller: a key-management command, after every wrapped org key has
// been re-wrapped with [Keyring.RewrapOrgKey]. Errors: keyID is unknown or is
// the primary key (rotate first), or permission, parse or I/O errors as for
// [Rotate]. On error nothing changes.
func (m *FileMaster) Retire(keyID uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, err := m.diskHandleLocked()
	if err != nil {
		return fmt.Errorf("crypt: retire master key: %w", err)
	}
	nh, err := retireKey(h, keyID)
	if err != nil {
		return err
	}
	return m.commitLocked(nh)
}

// Reload re-reads the keyset file, picking up a rotation or retirement made
// by another process. Intended caller: long-running servers sharing the
// file with a key-management command (e.g. on SIGHUP). Errors: as for
// [OpenMasterFile]; on error the in-memory keyset is unchanged.
func (m *FileMaster) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := readMasterFile(m.path)
	if err != nil {
		return err
	}
	m.state.Store(st)
	return nil
}

// refresh re-reads the keyset if the file on disk is no longer the one the
// in-memory keyset came from (another process rotated or retired a key),
// and reports whether it did. A file that cannot be read or parsed leaves
// the in-memory keyset in place.
func (m *FileMaster) refresh() bool {
	info, err := os.Stat(m.path)
	if err != nil {
		return false
	}
	if cur := m.state.Load().info; cur != nil && os.SameFile(cur, info) &&
		cur.ModTime().Equal(info.ModTime()) && cur.Size() == info.Size() {
		return false
	}
	return m.Reload() == nil
}

// diskHandleLocked reads the keyset currently on disk and checks that it
// still contains every key of the in-memory keyset. m.mu must be held.
func (m *FileMaster) diskHandleLocked() (*keyset.Handle, error) {
	st, err := readMasterFile(m.path)
	if err != nil {
		return nil, err
	}
	for _, v := range versionsOf(m.state.Load().handle) {
		if !hasKeyID(st.handle, v.ID) {
			return nil, fmt.Errorf("master key file %s no longer contains key %d; refusing to modify it (restore it or call Reload)", m.path, v.ID)
		}
	}
	return st.handle, nil
}

// commitLocked atomically replaces the file with h, then swaps it in
// memory. m.mu must be held.
func (m *FileMaster) commitLocked(h *keyset.Handle) error {
	st, err := newFileMasterState(h)
	if err != nil {
		return fmt.Errorf("crypt: update master key file: %w", err)
	}
	tmp, err := writeTempKeyset(m.path, h)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, m.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("crypt: replace master key file: %w", err)
	}
	st.info, _ = os.Stat(m.path) // nil on error: the next refresh re-reads
	if err := syncDir(filepath.Dir(m.path)); err != nil {
		// The rename happened; the new keyset is what is on disk now.
		m.state.Store(st)
		return fmt.Errorf("crypt: replace master key file: %w", err)
	}
	m.state.Store(st)
	return nil
}
