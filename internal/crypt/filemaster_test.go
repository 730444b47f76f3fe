package crypt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
)

func TestOpenMasterFileCreates0600AndNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.json")
	m1, err := OpenMasterFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("new master file mode = %04o, want 0600", perm)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("t", "c", "r")
	ct, err := m1.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}

	m2, err := OpenMasterFile(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("second open rewrote the master file")
	}
	pt, err := m2.Decrypt(ct, ad)
	if err != nil || string(pt) != "secret" {
		t.Fatalf("reopened master Decrypt = %q, %v", pt, err)
	}
	if m1.PrimaryKeyID() != m2.PrimaryKeyID() {
		t.Error("reopened master has a different primary key")
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory has %d entries, want just the key file", len(entries))
	}
}

func TestOpenMasterFileRefusesWidePermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		path := filepath.Join(t.TempDir(), "master.json")
		if _, err := OpenMasterFile(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenMasterFile(path)
		if err == nil {
			t.Fatalf("mode %04o: OpenMasterFile succeeded, want refusal", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %04o: error %q should name the path and say chmod 600", mode, err)
		}
	}
	// Owner-only modes are accepted.
	for _, mode := range []os.FileMode{0o400, 0o600, 0o700} {
		path := filepath.Join(t.TempDir(), "master.json")
		if _, err := OpenMasterFile(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenMasterFile(path); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
}

func TestOpenMasterFileCorrupt(t *testing.T) {
	valid := func() []byte {
		path := filepath.Join(t.TempDir(), "m.json")
		if _, err := OpenMasterFile(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	macKeyset := func() []byte {
		h, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	tests := []struct {
		name    string
		content []byte
		wantMsg string
	}{
		{"empty", nil, "empty"},
		{"whitespace", []byte("\n \n"), "empty"},
		{"garbage", []byte("not json at all \x00\xff"), "not a valid Tink JSON keyset"},
		{"json not keyset", []byte(`{"hello":"world"}`), "not a valid Tink JSON keyset"},
		{"empty keyset", []byte(`{"primaryKeyId":1,"key":[]}`), "not a valid Tink JSON keyset"},
		{"truncated", valid[:len(valid)/2], "not a valid Tink JSON keyset"},
		{"mac keyset", macKeyset, "not a usable AEAD keyset"},
		{"too big", bytes.Repeat([]byte(" "), maxMasterFileSize+10), "empty"},
		{"too big nonblank", bytes.Repeat([]byte("x"), maxMasterFileSize+10), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.json")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := OpenMasterFile(path)
			if err == nil {
				t.Fatalf("OpenMasterFile succeeded on %s content: %v", tc.name, m.Versions())
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should mention %q and the path", err, tc.wantMsg)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tc.content) {
				t.Error("corrupt file was modified")
			}
		})
	}
}

func TestOpenMasterFileBadPaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"directory", dir},
		{"missing parent", filepath.Join(dir, "nope", "master.json")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenMasterFile(tc.path); err == nil {
				t.Error("OpenMasterFile succeeded, want error")
			}
		})
	}
}

func TestFileMasterWrongKeyIsTampered(t *testing.T) {
	a, b := newTestMaster(t), newTestMaster(t)
	ad := AD("t", "c", "r")
	ct, err := a.Encrypt([]byte("x"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(ct, ad); !errors.Is(err, ErrTampered) {
		t.Errorf("other master Decrypt err = %v, want ErrTampered", err)
	}
	if _, err := a.Decrypt(ct, AD("t", "c", "other")); !errors.Is(err, ErrTampered) {
		t.Errorf("wrong AD Decrypt err = %v, want ErrTampered", err)
	}
}

func TestFileMasterRotateRetire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.json")
	m, err := OpenMasterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	oldID := m.PrimaryKeyID()
	ad := AD("t", "c", "r")
	oldCT, err := m.Encrypt([]byte("before"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := m.KeyIDOf(oldCT); !ok || id != oldID {
		t.Fatalf("KeyIDOf(old) = %d, %v; want %d", id, ok, oldID)
	}

	if err := m.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	newID := m.PrimaryKeyID()
	if newID == oldID {
		t.Fatal("Rotate did not change the primary key")
	}
	wantVersions := map[uint32]KeyStatus{oldID: StatusEnabled, newID: StatusPrimary}
	checkVersions(t, m.Versions(), wantVersions)
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("rotated file mode = %04o", info.Mode().Perm())
	}

	// Old data still decrypts; new data uses the new key.
	if pt, err := m.Decrypt(oldCT, ad); err != nil || string(pt) != "before" {
		t.Fatalf("Decrypt(old) after rotate = %q, %v", pt, err)
	}
	newCT, err := m.Encrypt([]byte("after"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(newCT); id != newID {
		t.Errorf("new ciphertext key id = %d, want %d", id, newID)
	}

	// The rotation is durable: a fresh open sees both keys.
	m2, err := OpenMasterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkVersions(t, m2.Versions(), wantVersions)

	if err := m.Retire(newID); err == nil {
		t.Error("Retire(primary) succeeded, want refusal")
	}
	if err := m.Retire(12345); err == nil {
		t.Error("Retire(unknown) succeeded, want error")
	}
	if err := m.Retire(oldID); err != nil {
		t.Fatalf("Retire(old): %v", err)
	}
	checkVersions(t, m.Versions(), map[uint32]KeyStatus{oldID: StatusDisabled, newID: StatusPrimary})
	if _, err := m.Decrypt(oldCT, ad); !errors.Is(err, ErrTampered) {
		t.Errorf("Decrypt(old) after retire err = %v, want ErrTampered", err)
	}
	if pt, err := m.Decrypt(newCT, ad); err != nil || string(pt) != "after" {
		t.Errorf("Decrypt(new) after retire = %q, %v", pt, err)
	}

	// m2 is stale until it reloads.
	if _, err := m2.Decrypt(oldCT, ad); err != nil {
		t.Errorf("stale m2 should still decrypt old data before Reload: %v", err)
	}
	if err := m2.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Decrypt(oldCT, ad); !errors.Is(err, ErrTampered) {
		t.Errorf("m2 after Reload err = %v, want ErrTampered", err)
	}
}

func TestFileMasterRotateRefusesWhenFileLostKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.json")
	m, err := OpenMasterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Someone replaces the file with an unrelated keyset.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMasterFile(path); err != nil {
		t.Fatal(err)
	}
	replaced, _ := os.ReadFile(path)
	if err := m.Rotate(); err == nil || !strings.Contains(err.Error(), "no longer contains key") {
		t.Errorf("Rotate err = %v, want refusal", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, replaced) {
		t.Error("refused Rotate modified the file")
	}
	// Rotate also enforces permissions.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Rotate on 0644 file err = %v, want chmod 600 refusal", err)
	}
}

// checkVersions compares Versions output with want.
func checkVersions(t *testing.T, got []KeyVersion, want map[uint32]KeyStatus) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Versions = %v, want %v", got, want)
	}
	for _, v := range got {
		if want[v.ID] != v.Status {
			t.Errorf("key %d status = %s, want %s", v.ID, v.Status, want[v.ID])
		}
	}
}

// A server sharing the key file with `sotto keys rotate` follows the
// rotation without a restart: it opens keys the command re-wrapped under
// the new primary, and wraps new keys under it.
func TestFileMasterFollowsRotationByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.json")
	server, err := OpenMasterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := OpenMasterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("org_keys", "keyset", "org-1")
	if err := cli.Rotate(); err != nil {
		t.Fatal(err)
	}
	newID := cli.PrimaryKeyID()
	if server.PrimaryKeyID() == newID {
		t.Fatal("the server saw the rotation before it needed to")
	}
	rewrapped, err := cli.Encrypt([]byte("org keyset"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := server.Decrypt(rewrapped, ad); err != nil || string(pt) != "org keyset" {
		t.Fatalf("server Decrypt of a key wrapped under the new primary = %q, %v", pt, err)
	}
	if server.PrimaryKeyID() != newID {
		t.Errorf("server primary = %d after following the rotation, want %d", server.PrimaryKeyID(), newID)
	}

	// A second rotation: the server's next Encrypt notices the file changed.
	if err := cli.Rotate(); err != nil {
		t.Fatal(err)
	}
	ct, err := server.Encrypt([]byte("new org"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(ct); id != cli.PrimaryKeyID() {
		t.Errorf("server wrapped a new key under %d, want the new primary %d", id, cli.PrimaryKeyID())
	}

	// A tampered ciphertext is still ErrTampered, and a broken file on disk
	// leaves the server's keys in place.
	bad := append([]byte(nil), rewrapped...)
	bad[len(bad)-1] ^= 1
	if _, err := server.Decrypt(bad, ad); !errors.Is(err, ErrTampered) {
		t.Errorf("tampered Decrypt err = %v, want ErrTampered", err)
	}
	if err := os.WriteFile(path, []byte("{not a keyset"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pt, err := server.Decrypt(rewrapped, ad); err != nil || string(pt) != "org keyset" {
		t.Errorf("Decrypt with a corrupt file on disk = %q, %v; want the in-memory keys to keep working", pt, err)
	}
}
