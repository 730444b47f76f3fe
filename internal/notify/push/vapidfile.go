package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFile bounds the VAPID key file LoadOrCreateVAPID reads.
const maxKeyFile = 16 << 10

// keyFile is the JSON layout of the VAPID key file.
type keyFile struct {
	Public  string `json:"public_key"`
	Private string `json:"private_key"`
}

// LoadOrCreateVAPID returns the VAPID keys kept in the JSON file at path,
// creating the file with new keys (GenerateVAPID) if it does not exist.
// Serve calls it at start-up with a path in the data directory, which
// must exist.
//
// A new file is written to a temporary file in the same directory with
// mode 0600, synced, then moved into place with a hard link (with rename
// where the file system has no hard links), so a reader never sees a
// partial file and an existing file is never overwritten: if another
// process created path first, its keys are loaded and returned.
//
// An existing file must be a regular file with no permission bits beyond
// 0600 (checked on Unix-like systems); a wider mode is refused with an
// error that says to run chmod 600. Errors name the path but never a key;
// a file that is not valid JSON or holds keys that do not parse or do not
// match is refused, never replaced.
func LoadOrCreateVAPID(path string) (Keys, error) {
	keys, err := loadVAPID(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return keys, err
	}
	if keys, err = GenerateVAPID(); err != nil {
		return Keys{}, err
	}
	data, err := json.MarshalIndent(keyFile{Public: keys.Public, Private: keys.Private.encode()}, "", "  ")
	if err != nil {
		return Keys{}, fmt.Errorf("push: encode VAPID key file: %w", err)
	}
	err = createFile(path, append(data, '\n'))
	if errors.Is(err, fs.ErrExist) {
		return loadVAPID(path) // another process won the race
	}
	if err != nil {
		return Keys{}, fmt.Errorf("push: create VAPID key file: %w", err)
	}
	return keys, nil
}

// loadVAPID reads and checks the key file; an error matching
// fs.ErrNotExist means there is none.
func loadVAPID(path string) (Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return Keys{}, fmt.Errorf("push: open VAPID key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Keys{}, fmt.Errorf("push: stat VAPID key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Keys{}, fmt.Errorf("push: VAPID key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 && runtime.GOOS != "windows" {
		return Keys{}, fmt.Errorf("push: VAPID key file %s has mode %#o, which lets others read it: run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return Keys{}, fmt.Errorf("push: read VAPID key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return Keys{}, fmt.Errorf("push: VAPID key file %s is larger than %d bytes", path, maxKeyFile)
	}
	var kf keyFile
	if json.Unmarshal(data, &kf) != nil { // the decoder's message may quote the file
		return Keys{}, fmt.Errorf("push: VAPID key file %s is not a JSON object with public_key and private_key", path)
	}
	keys, err := ParseVAPID(kf.Public, kf.Private)
	if err != nil {
		return Keys{}, fmt.Errorf("push: VAPID key file %s: %w", path, err)
	}
	return keys, nil
}

// createFile writes data to a new file at path with mode 0600, atomically,
// and returns an error matching fs.ErrExist if path already exists.
func createFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// No hard links here (some network and FAT file systems): rename,
		// which may replace a file created in the last instant.
		if _, serr := os.Lstat(path); serr == nil {
			return fs.ErrExist
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
