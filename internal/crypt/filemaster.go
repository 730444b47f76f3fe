package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// maxMasterFileSize bounds how much of a master key file is read. A keyset
// with hundreds of rotated AES keys is still only tens of KiB.
const maxMasterFileSize = 1 << 20

// masterFileMode is the mode new master key files are written with. Files
// with any group or other permission bit set are refused.
const masterFileMode fs.FileMode = 0o600

// FileMaster is a [Master] backed by a cleartext Tink JSON keyset file of
// AES256-GCM keys.
//
// The key material sits unencrypted in the file: its only protection is the
// file's permissions (0600, enforced on open) plus full-disk encryption and
// backup hygiene on the host. A KMS (Vault Transit, AWS KMS, GCP KMS) is the
// stronger option because the key never leaves the KMS.
//
// A FileMaster is safe for concurrent use. Rotate, Retire and Reload are
// serialized with each other; Encrypt and Decrypt never block on them. Only
// one process should rotate or retire keys in a given file. Another process
// sharing the file (the server, while `sotto keys rotate` runs) picks up
// the change by itself: Encrypt re-reads the file when it changed on disk
// (so new keys are wrapped under the new primary), and a Decrypt that fails
// does the same and tries once more (so keys re-wrapped under the new
// primary open). Reload does it on demand.
type FileMaster struct {
	path  string
	mu    sync.Mutex // serializes Rotate, Retire and Reload
	state atomic.Pointer[fileMasterState]
}

// fileMasterState is an immutable snapshot of the keyset and its primitive.
type fileMasterState struct {
	handle *keyset.Handle
	aead   tink.AEAD
	info   os.FileInfo // the file this state was read from or written to; nil if unknown
}

// OpenMasterFile loads the master keyset at path, creating it on first run.
//
// Intended caller: server start-up and key-management commands.
//
// If path does not exist, a new keyset with one AES256-GCM key is written to
// a temporary file created with O_EXCL and mode 0600 in the same directory,
// fsynced, hard-linked to path (which fails rather than overwrite an existing
// file) and the directory is fsynced. If another process created path first,
// its file is read instead. An existing file is never overwritten.
//
// Errors: the file is not a regular file; its permissions grant any
// group/other access (the message names the path and says `chmod 600`); it
// is empty, larger than 1 MiB, or not a valid Tink JSON AEAD keyset; or an
// I/O error occurred. Errors never include the file's contents.
func OpenMasterFile(path string) (*FileMaster, error) {
	if path == "" {
		return nil, errors.New("crypt: master key file path is empty")
	}
	st, err := readMasterFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		st, err = createMasterFile(path)
		if errors.Is(err, fs.ErrExist) { // lost a creation race: read theirs
			st, err = readMasterFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	m := &FileMaster{path: path}
	m.state.Store(st)
	return m, nil
}

// Path returns the file the master keyset was loaded from. Any caller may
// use it (e.g. for log messages); it never fails.
func (m *FileMaster) Path() string { return m.path }

// Encrypt encrypts plaintext under the current primary key, authenticating
// ad. The ciphertext starts with Tink's 5-byte prefix naming the key (see
// [KeyIDOf]). Intended caller: the [Keyring]. Errors come from Tink and never
// include plaintext.
func (m *FileMaster) Encrypt(plaintext, ad []byte) ([]byte, error) {
	m.refresh()
	ct, err := m.state.Load().aead.Encrypt(plaintext, ad)
	if err != nil {
		return nil, fmt.Errorf("crypt: master encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts a ciphertext produced by Encrypt under any enabled key of
// the keyset. Intended caller: the [Keyring]. It returns an error wrapping
// [ErrTampered] if the ciphertext was modified, ad differs, or the key is
// unknown or retired.
func (m *FileMaster) Decrypt(ciphertext, ad []byte) ([]byte, error) {
	pt, err := m.state.Load().aead.Decrypt(ciphertext, ad)
	if err != nil && m.refresh() {
		pt, err = m.state.Load().aead.Decrypt(ciphertext, ad)
	}
	if err != nil {
		return nil, fmt.Errorf("crypt: master decrypt: %w", ErrTampered)
	}
	return pt, nil
}

// KeyIDOf reports which master key produced ciphertext (see the package
// function [KeyIDOf]). It does not authenticate the ciphertext.
func (m *FileMaster) KeyIDOf(ciphertext []byte) (uint32, bool) {
	return KeyIDOf(ciphertext)
}

// Versions lists the keys in the master keyset with their status. Any caller
// may use it (e.g. an admin status page); it never fails.
func (m *FileMaster) Versions() []KeyVersion {
	return versionsOf(m.state.Load().handle)
}

// PrimaryKeyID returns the id of the key that encrypts new data.
func (m *FileMaster) PrimaryKeyID() uint32 {
	return primaryID(m.state.Load().handle)
}

// readMasterFile opens, permission-checks and parses the keyset at path.
// A missing file yields an error satisfying errors.Is(err, fs.ErrNotExist).
func readMasterFile(path string) (*fileMasterState, error) {
	// O_NONBLOCK: opening a FIFO planted at path must not hang start-up; it
	// is then rejected as not a regular file. No effect on regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("crypt: master key file %s: %w", path, err)
		}
		return nil, fmt.Errorf("crypt: open master key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat() // stat the open descriptor: no check-then-use race
	if err != nil {
		return nil, fmt.Errorf("crypt: stat master key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("crypt: master key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("crypt: master key file %s has mode %04o, which grants access beyond its owner; run `chmod 600 %s` and check the file's owner", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxMasterFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("crypt: read master key file %s: %w", path, err)
	}
	defer clear(data)
	st, err := parseMasterKeyset(data)
	if err != nil {
		return nil, fmt.Errorf("crypt: master key file %s: %w", path, err)
	}
	st.info = info
	return st, nil
}

// parseMasterKeyset turns JSON keyset bytes into a usable state. Errors
// describe the problem without echoing the input.
func parseMasterKeyset(data []byte) (*fileMasterState, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty; restore it from backup or delete it to generate a new key (data encrypted under the old key becomes unreadable)")
	}
	if len(data) > maxMasterFileSize {
		return nil, fmt.Errorf("file is larger than %d bytes; not a master keyset", maxMasterFileSize)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("not a valid Tink JSON keyset (corrupt?): %w", err)
	}
	return newFileMasterState(h)
}

// newFileMasterState builds the AEAD primitive for h.
func newFileMasterState(h *keyset.Handle) (*fileMasterState, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("keyset is not a usable AEAD keyset: %w", err)
	}
	return &fileMasterState{handle: h, aead: a}, nil
}

// createMasterFile generates a fresh keyset and links it into place at path
// without ever overwriting an existing file. If path already exists the
// error satisfies errors.Is(err, fs.ErrExist).
func createMasterFile(path string) (*fileMasterState, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("crypt: generate master key: %w", err)
	}
	st, err := newFileMasterState(h)
	if err != nil {
		return nil, fmt.Errorf("crypt: generate master key: %w", err)
	}
	tmp, err := writeTempKeyset(path, h)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("crypt: create master key file %s: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("crypt: create master key file: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return nil, fmt.Errorf("crypt: create master key file: remove temp file: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("crypt: create master key file: %w", err)
	}
	return st, nil
}

// writeTempKeyset writes h as a JSON keyset to a new 0600 temporary file
// (created with O_EXCL) next to path, fsyncs and closes it, and returns its
// name. On error the temporary file is removed.
func writeTempKeyset(path string, h *keyset.Handle) (name string, err error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return "", fmt.Errorf("crypt: encode master keyset: %w", err)
	}
	defer clear(buf.Bytes())
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("crypt: write master key file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(masterFileMode); err != nil { // CreateTemp uses 0600 already; be explicit
		return "", fmt.Errorf("crypt: write master key file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return "", fmt.Errorf("crypt: write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("crypt: fsync master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("crypt: close master key file: %w", err)
	}
	return f.Name(), nil
}

// syncDir fsyncs a directory so that a link or rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}
