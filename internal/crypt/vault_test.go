package crypt

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testVaultToken = "s.test-token-do-not-log"

func newTestVault(t *testing.T) (*fakeVault, *VaultTransit) {
	t.Helper()
	f := newFakeVault(t, testVaultToken)
	return f, NewVaultTransit(f.srv.URL+"/", testVaultToken, "sotto", &http.Client{Timeout: 5 * time.Second})
}

func TestVaultTransitRoundTrip(t *testing.T) {
	_, v := newTestVault(t)
	tests := []struct {
		name   string
		pt, ad []byte
	}{
		{"simple", []byte("org keyset bytes"), AD("org_keys", "keyset", "org-1")},
		{"empty plaintext", nil, AD("org_keys", "keyset", "org-1")},
		{"empty ad", []byte("x"), nil},
		{"binary", []byte{0, 1, 2, 255, 254}, []byte{0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := v.Encrypt(tc.pt, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(ct), "vault:v1:") {
				t.Errorf("ciphertext %q lacks vault:v1: prefix", ct)
			}
			if n, ok := v.KeyVersionOf(ct); !ok || n != 1 {
				t.Errorf("KeyVersionOf = %d, %v", n, ok)
			}
			pt, err := v.Decrypt(ct, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != string(tc.pt) {
				t.Errorf("Decrypt = %q, want %q", pt, tc.pt)
			}
		})
	}
}

func TestVaultTransitTampered(t *testing.T) {
	f, v := newTestVault(t)
	ad := AD("org_keys", "keyset", "org-1")
	ct, err := v.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a bit inside the base64 body without breaking the encoding.
	body := strings.TrimPrefix(string(ct), "vault:v1:")
	raw, _ := base64.StdEncoding.DecodeString(body)
	raw[len(raw)-1] ^= 1
	flipped := []byte("vault:v1:" + base64.StdEncoding.EncodeToString(raw))

	tests := []struct {
		name      string
		ct, ad    []byte
		noRequest bool
	}{
		{"wrong ad", ct, AD("org_keys", "keyset", "org-2"), false},
		{"nil ad", ct, nil, false},
		{"flipped byte", flipped, ad, false},
		{"not vault", []byte("hello"), ad, true},
		{"tink ciphertext", []byte{1, 2, 3, 4, 5, 6}, ad, true},
		{"invalid utf8", []byte("vault:v1:\xff"), ad, true},
		{"bad base64", []byte("vault:v1:!!!"), ad, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.requests.Load()
			_, err := v.Decrypt(tc.ct, tc.ad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
			if sent := f.requests.Load() != before; sent == tc.noRequest {
				t.Errorf("request sent = %v, want %v", sent, !tc.noRequest)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Error("error contains plaintext")
			}
		})
	}
}

func TestVaultTransitErrors(t *testing.T) {
	f, good := newTestVault(t)
	ad := AD("t", "c", "r")
	ct, err := good.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	wrongToken := NewVaultTransit(f.srv.URL, "s.wrong-token", "sotto", nil)
	missingKey := NewVaultTransit(f.srv.URL, testVaultToken, "nope", nil)

	t.Run("wrong token", func(t *testing.T) {
		for op, call := range map[string]func() error{
			"encrypt": func() error { _, err := wrongToken.Encrypt([]byte("secret"), ad); return err },
			"decrypt": func() error { _, err := wrongToken.Decrypt(ct, ad); return err },
		} {
			err := call()
			var ve *VaultError
			if !errors.As(err, &ve) || ve.StatusCode != http.StatusForbidden || ve.Op != op {
				t.Fatalf("%s err = %v, want 403 VaultError", op, err)
			}
			if !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "403") {
				t.Errorf("%s error %q lacks status and Vault's message", op, err)
			}
			if errors.Is(err, ErrTampered) {
				t.Errorf("%s: auth failure must not look like tampering", op)
			}
			if strings.Contains(err.Error(), "wrong-token") || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s error leaks token or plaintext: %q", op, err)
			}
		}
	})
	t.Run("missing key", func(t *testing.T) {
		_, err := missingKey.Encrypt([]byte("x"), ad)
		var ve *VaultError
		if !errors.As(err, &ve) || ve.StatusCode != 400 || len(ve.Errors) != 1 {
			t.Errorf("err = %v, want 400 VaultError", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		f.mode.Store("500")
		defer f.mode.Store("")
		_, encErr := good.Encrypt([]byte("secret"), ad)
		_, decErr := good.Decrypt(ct, ad)
		for _, err := range []error{encErr, decErr} {
			var ve *VaultError
			if !errors.As(err, &ve) || ve.StatusCode != 500 || !strings.Contains(err.Error(), "internal error") {
				t.Errorf("err = %v, want 500 VaultError with Vault's errors", err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("secret"))) {
				t.Error("error leaks plaintext")
			}
		}
	})
	t.Run("garbage response", func(t *testing.T) {
		f.mode.Store("garbage")
		defer f.mode.Store("")
		if _, err := good.Encrypt([]byte("x"), ad); err == nil || !strings.Contains(err.Error(), "malformed response") {
			t.Errorf("err = %v, want malformed response", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		v := NewVaultTransit(dead.URL, testVaultToken, "sotto", &http.Client{Timeout: time.Second})
		if _, err := v.Encrypt([]byte("x"), ad); err == nil || errors.Is(err, ErrTampered) {
			t.Errorf("err = %v, want transport error", err)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		v := NewVaultTransit("://bad", testVaultToken, "sotto", nil)
		if _, err := v.Encrypt([]byte("x"), ad); err == nil {
			t.Error("want error for bad URL")
		}
	})
}

func TestVaultTransitKeyring(t *testing.T) {
	f, v := newTestVault(t)
	kr := NewKeyring(v, 8)
	wrapped, err := kr.NewOrgKey("org-1")
	if err != nil {
		t.Fatal(err)
	}
	o, err := kr.Org("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	before := f.requests.Load()
	if _, err := kr.Org("org-1", wrapped); err != nil {
		t.Fatal(err)
	}
	if f.requests.Load() != before {
		t.Error("cached org key still called Vault")
	}
	d, _ := testData(t, kr, o, "pat-1")
	ad := AD("messages", "body", "m-1")
	ct, err := d.Seal([]byte("hi"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Org("org-2", wrapped); !errors.Is(err, ErrTampered) {
		t.Errorf("org key under other org id err = %v, want ErrTampered", err)
	}

	// Rotate the Vault key, re-wrap, then forbid v1.
	f.rotate("sotto")
	rewrapped, err := kr.RewrapOrgKey("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := v.KeyVersionOf(rewrapped); n != 2 {
		t.Errorf("rewrapped version = %d, want 2", n)
	}
	f.setMinDecryptionVersion("sotto", 2)
	kr2 := NewKeyring(v, 8)
	if _, err := kr2.Org("org-1", wrapped); err == nil {
		t.Error("v1 wrap still unwraps after min_decryption_version=2")
	}
	o2, err := kr2.Org("org-1", rewrapped)
	if err != nil {
		t.Fatal(err)
	}
	testData(t, kr2, o2, "pat-x") // the re-wrapped org key works
	if pt, err := d.Open(ct, ad); err != nil || string(pt) != "hi" {
		t.Errorf("Open = %q, %v", pt, err)
	}
}

func TestVaultKeyVersionOf(t *testing.T) {
	v := NewVaultTransit("http://x", "t", "k", nil)
	tests := []struct {
		in string
		n  uint32
		ok bool
	}{
		{"vault:v1:abc", 1, true},
		{"vault:v42:abc", 42, true},
		{"vault:v0:abc", 0, false},
		{"vault:v:abc", 0, false},
		{"vault:vx:abc", 0, false},
		{"vault:v1", 0, false},
		{"vault:v99999999999:a", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		n, ok := v.KeyVersionOf([]byte(tc.in))
		if n != tc.n || ok != tc.ok {
			t.Errorf("KeyVersionOf(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}
