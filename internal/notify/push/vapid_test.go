package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func mustKeys(tb testing.TB) Keys {
	tb.Helper()
	k, err := GenerateVAPID()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestGenerateVAPID(t *testing.T) {
	k := mustKeys(t)
	pub, err := base64.RawURLEncoding.DecodeString(k.Public)
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		t.Fatalf("public key is not an unpadded base64url uncompressed point: %d bytes, %v", len(pub), err)
	}
	if err := k.check(); err != nil {
		t.Fatal(err)
	}
	again, err := ParseVAPID(k.Public, k.Private.encode())
	if err != nil || !again.Equal(k) {
		t.Fatalf("ParseVAPID(own output) = %v, equal %v", err, again.Equal(k))
	}
	// Padded forms, as other libraries write them, are accepted too.
	padded, err := ParseVAPID(base64.URLEncoding.EncodeToString(pub), base64.URLEncoding.EncodeToString(k.Private.k.Bytes()))
	if err != nil || !padded.Equal(k) {
		t.Fatalf("ParseVAPID(padded) = %v", err)
	}
	if other := mustKeys(t); other.Equal(k) {
		t.Fatal("two generated key pairs are equal")
	}
}

func TestParseVAPIDRefuses(t *testing.T) {
	a, b := mustKeys(t), mustKeys(t)
	for name, in := range map[string][2]string{
		"mismatched":      {a.Public, b.Private.encode()},
		"empty":           {"", ""},
		"public not b64":  {"!!" + a.Public[2:], a.Private.encode()},
		"public short":    {a.Public[:40], a.Private.encode()},
		"private not b64": {a.Public, "*" + a.Private.encode()[1:]},
		"private zero":    {a.Public, base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
	} {
		_, err := ParseVAPID(in[0], in[1])
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), in[1]) && in[1] != "" {
			t.Errorf("%s: error shows the private key: %v", name, err)
		}
	}
}

// TestKeysNeverPrintPrivate formats keys every way a log line might.
func TestKeysNeverPrintPrivate(t *testing.T) {
	k := mustKeys(t)
	secret := k.Private.encode()
	raw := string(k.Private.k.Bytes())
	s, err := NewSender(k, "mailto:ops@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := struct {
		K Keys
		P *PrivateKey
	}{k, &k.Private}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		for _, v := range []any{k, &k, k.Private, wrapped, s, *s} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("keys", "keys", k, "private", k.Private, "sender", s)
	slog.New(slog.NewTextHandler(&out, nil)).Info("keys", "keys", k, "private", k.Private)
	if _, err := json.Marshal(k); err == nil {
		t.Error("json.Marshal(Keys) succeeded; want an error")
	}
	got := out.String()
	if strings.Contains(got, secret) || strings.Contains(got, raw) || strings.Contains(got, fmt.Sprintf("%x", raw)) {
		t.Fatalf("private key printed:\n%s", got)
	}
	if !strings.Contains(got, k.Public) || !strings.Contains(got, redacted) {
		t.Fatalf("want the public key and %q in:\n%s", redacted, got)
	}
}

func TestLoadOrCreateVAPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vapid.json")
	k, err := LoadOrCreateVAPID(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temp file left?)", len(entries))
	}
	before, _ := os.ReadFile(path)
	again, err := LoadOrCreateVAPID(path)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(k) {
		t.Fatal("reloaded keys differ from the created ones")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("reload rewrote the file")
	}
	if _, err := NewSender(again, "mailto:ops@example.org", nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateVAPIDRefusesWideMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	path := filepath.Join(t.TempDir(), "vapid.json")
	if _, err := LoadOrCreateVAPID(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o700} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateVAPID(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %#o: err = %v, want one naming the path and chmod 600", mode, err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused file was rewritten")
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateVAPID(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestLoadOrCreateVAPIDRefusesBadFiles(t *testing.T) {
	a, b := mustKeys(t), mustKeys(t)
	mismatched, _ := json.Marshal(keyFile{Public: a.Public, Private: b.Private.encode()})
	for name, content := range map[string][]byte{
		"empty":      {},
		"not json":   []byte("private_key=" + a.Private.encode()),
		"no keys":    []byte(`{}`),
		"mismatched": mismatched,
		"huge":       bytes.Repeat([]byte(" "), maxKeyFile+1),
	} {
		path := filepath.Join(t.TempDir(), "vapid.json")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateVAPID(path)
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case strings.Contains(err.Error(), a.Private.encode()) || strings.Contains(err.Error(), b.Private.encode()):
			t.Errorf("%s: error shows a private key: %v", name, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
			t.Errorf("%s: the refused file was overwritten", name)
		}
	}

	dir := filepath.Join(t.TempDir(), "dir.json")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateVAPID(dir); err == nil {
		t.Error("a directory was accepted as the key file")
	}
	if _, err := LoadOrCreateVAPID(filepath.Join(t.TempDir(), "missing", "vapid.json")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: err = %v, want fs.ErrNotExist", err)
	}
}

func TestCreateFileNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := createFile(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := createFile(path, []byte("two")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one" {
		t.Fatalf("file holds %q", got)
	}
}
