package crypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"sotto/internal/crypt/kmstest"
)

const (
	testGCPToken = "ya29.test-token-do-not-log"
	testGCPKey   = "projects/sotto-test/locations/europe-west3/keyRings/sotto/cryptoKeys/master"
	testGCPKey2  = "projects/sotto-test/locations/europe-west3/keyRings/sotto/cryptoKeys/other"
)

// newGCPMaster returns a master for key on f authenticating with token,
// with a short retry backoff.
func newGCPMaster(t *testing.T, f *kmstest.GCP, key, token string) *GCPKMS {
	t.Helper()
	g, err := NewGCPKMS(key, f.URL+"/", oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g.backoff = time.Millisecond
	return g
}

func newTestGCP(t *testing.T) (*kmstest.GCP, *GCPKMS) {
	t.Helper()
	f := kmstest.NewGCP(t, testGCPToken)
	f.CreateKey(testGCPKey)
	return f, newGCPMaster(t, f, testGCPKey, testGCPToken)
}

func TestGCPKMSRoundTrip(t *testing.T) {
	f, g := newTestGCP(t)
	tests := []struct {
		name   string
		pt, ad []byte
	}{
		{"simple", []byte("org keyset bytes"), AD("org_keys", "keyset", "org-1")},
		{"empty plaintext", nil, AD("org_keys", "keyset", "org-1")},
		{"empty ad", []byte("x"), nil},
		{"binary", []byte{0, 1, 2, 255, 254}, []byte{0, 0, 0, 0}},
		{"60 KiB", bytes.Repeat([]byte("k"), 60<<10), AD("org_keys", "keyset", "org-2")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Requests()
			ct, err := g.Encrypt(tc.pt, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.pt) > 4 && bytes.Contains(ct, tc.pt) {
				t.Error("ciphertext contains the plaintext")
			}
			pt, err := g.Decrypt(ct, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, tc.pt) {
				t.Errorf("Decrypt = %q, want %q", pt, tc.pt)
			}
			if n := f.Requests() - before; n != 2 {
				t.Errorf("%d KMS requests for a round trip, want 2", n)
			}
		})
	}
	if n := f.MissingChecksums(); n != 0 {
		t.Errorf("%d requests lacked CRC32C checksums", n)
	}
	t.Run("over 64 KiB", func(t *testing.T) {
		before := f.Requests()
		if _, err := g.Encrypt(make([]byte, 64<<10), nil); err == nil || !strings.Contains(err.Error(), "64 KiB") {
			t.Errorf("err = %v, want size error", err)
		}
		if f.Requests() != before {
			t.Error("oversized plaintext was sent")
		}
	})
}

func TestGCPKMSTampered(t *testing.T) {
	f, g := newTestGCP(t)
	f.CreateKey(testGCPKey2)
	other := newGCPMaster(t, f, testGCPKey2, testGCPToken)
	ad := AD("org_keys", "keyset", "org-1")
	ct, err := g.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		m         *GCPKMS
		ct, ad    []byte
		noRequest bool
	}{
		{"wrong ad", g, ct, AD("org_keys", "keyset", "org-2"), false},
		{"nil ad", g, ct, nil, false},
		{"flipped first byte", g, flip(ct, 0), ad, false},
		{"flipped middle byte", g, flip(ct, len(ct)/2), ad, false},
		{"flipped last byte", g, flip(ct, len(ct)-1), ad, false},
		{"truncated", g, ct[:len(ct)-1], ad, false},
		{"other key", other, ct, ad, false},
		{"empty", g, nil, ad, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Requests()
			_, err := tc.m.Decrypt(tc.ct, tc.ad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
			sent := f.Requests() - before
			if tc.noRequest && sent != 0 || !tc.noRequest && sent != 1 {
				t.Errorf("%d requests, want %d (tampering is not retried)", sent, map[bool]int{true: 0, false: 1}[tc.noRequest])
			}
			if strings.Contains(err.Error(), "secret") {
				t.Error("error contains plaintext")
			}
		})
	}
}

func TestGCPKMSErrors(t *testing.T) {
	f, good := newTestGCP(t)
	ad := AD("t", "c", "r")
	ct, err := good.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	f.CreateKey(testGCPKey2)
	f.Deny(testGCPKey2)
	leaks := func(t *testing.T, err error) {
		t.Helper()
		for _, s := range []string{"secret", base64.StdEncoding.EncodeToString([]byte("\x01secret")), testGCPToken, "wrong-token"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks %q: %v", s, err)
			}
		}
	}
	both := func(m *GCPKMS) []error {
		_, encErr := m.Encrypt([]byte("secret"), ad)
		_, decErr := m.Decrypt(ct, ad)
		return []error{encErr, decErr}
	}
	statuses := []struct {
		name   string
		m      *GCPKMS
		status int
		code   string
	}{
		{"wrong token", newGCPMaster(t, f, testGCPKey, "ya29.wrong-token"), 401, "UNAUTHENTICATED"},
		{"permission denied", newGCPMaster(t, f, testGCPKey2, testGCPToken), 403, "PERMISSION_DENIED"},
		{"unknown key", newGCPMaster(t, f, strings.Replace(testGCPKey, "master", "nope", 1), testGCPToken), 404, "NOT_FOUND"},
	}
	for _, tc := range statuses {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Requests()
			for _, err := range both(tc.m) {
				var ge *GCPKMSError
				if !errors.As(err, &ge) || ge.StatusCode != tc.status || ge.Status != tc.code || !strings.Contains(err.Error(), tc.code) {
					t.Fatalf("err = %v, want HTTP %d %s", err, tc.status, tc.code)
				}
				if errors.Is(err, ErrTampered) {
					t.Errorf("%v must not look like tampering", err)
				}
				leaks(t, err)
			}
			if n := f.Requests() - before; n != 2 {
				t.Errorf("%d requests, want 2 (client errors are not retried)", n)
			}
		})
	}
	t.Run("server 500", func(t *testing.T) {
		f.SetFault("500")
		defer f.SetFault("")
		before := f.Requests()
		for _, err := range both(good) {
			var ge *GCPKMSError
			if !errors.As(err, &ge) || ge.StatusCode != 500 || errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want non-tampering HTTP 500", err)
			}
			leaks(t, err)
		}
		if n := f.Requests() - before; n != 2*gcpAttempts {
			t.Errorf("%d requests, want %d (retried)", n, 2*gcpAttempts)
		}
	})
	t.Run("transient 503 then success", func(t *testing.T) {
		f.FailNext(2)
		before := f.Requests()
		pt, err := good.Decrypt(ct, ad)
		if err != nil || string(pt) != "secret" {
			t.Fatalf("Decrypt = %q, %v", pt, err)
		}
		if n := f.Requests() - before; n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	for _, mode := range []string{"corrupt", "unverified"} {
		t.Run("integrity "+mode, func(t *testing.T) {
			f.SetFault(mode)
			defer f.SetFault("")
			before := f.Requests()
			_, encErr := good.Encrypt([]byte("secret"), ad)
			errs := []error{encErr}
			if mode == "corrupt" {
				pt, decErr := good.Decrypt(ct, ad)
				if pt != nil {
					t.Error("Decrypt returned a corrupted plaintext")
				}
				errs = append(errs, decErr)
			}
			for _, err := range errs {
				if err == nil || !strings.Contains(err.Error(), "integrity check failed") || errors.Is(err, ErrTampered) {
					t.Fatalf("err = %v, want integrity failure", err)
				}
				leaks(t, err)
			}
			if n := f.Requests() - before; n != int64(len(errs)*gcpAttempts) {
				t.Errorf("%d requests, want %d (integrity failures are retried)", n, len(errs)*gcpAttempts)
			}
		})
	}
	t.Run("token source error", func(t *testing.T) {
		g, _ := NewGCPKMS(testGCPKey, f.URL, failingTokens{}, nil)
		g.backoff = time.Millisecond
		if _, err := g.Encrypt([]byte("secret"), ad); err == nil || !strings.Contains(err.Error(), "access token") {
			t.Errorf("err = %v, want access token error", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		g, _ := NewGCPKMS(testGCPKey, dead.URL, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testGCPToken}), nil)
		g.backoff = time.Millisecond
		if _, err := g.Encrypt([]byte("x"), ad); err == nil || errors.Is(err, ErrTampered) {
			t.Errorf("err = %v, want transport error", err)
		}
	})
	t.Run("constructor", func(t *testing.T) {
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
		for _, bad := range []struct{ key, endpoint string }{
			{"projects/p/locations/l/keyRings/r", ""},
			{"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1", ""},
			{"master", ""},
			{testGCPKey, "cloudkms.googleapis.com"},
		} {
			if _, err := NewGCPKMS(bad.key, bad.endpoint, ts, nil); err == nil {
				t.Errorf("NewGCPKMS(%q, %q) accepted", bad.key, bad.endpoint)
			}
		}
		if _, err := NewGCPKMS(testGCPKey, "", nil, nil); err == nil {
			t.Error("nil token source accepted")
		}
		g, err := NewGCPKMS(testGCPKey, "", ts, nil)
		if err != nil || g.endpoint != GCPKMSEndpoint || g.client.Timeout != gcpDefaultTimeout {
			t.Errorf("defaults: %v, %v", g, err)
		}
		g, _ = NewGCPKMS(testGCPKey, "", oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testGCPToken}), nil)
		for _, s := range []string{g.String(), fmt.Sprintf("%v %+v %#v", g, g, g)} {
			if strings.Contains(s, testGCPToken) || !strings.Contains(s, testGCPKey) {
				t.Errorf("formatted master = %q", s)
			}
		}
	})
}

type failingTokens struct{}

func (failingTokens) Token() (*oauth2.Token, error) {
	return nil, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant"}
}

func TestGCPKMSKeyring(t *testing.T) {
	f, g := newTestGCP(t)
	kr := NewKeyring(g, 8)
	o, wrapped := testOrg(t, kr, "org-1")
	before := f.Requests()
	if _, err := kr.Org("org-1", wrapped); err != nil {
		t.Fatal(err)
	}
	if f.Requests() != before {
		t.Error("cached org key still called KMS")
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
	// A new primary CryptoKeyVersion: old wraps open, re-wraps use it.
	f.RotateKey(testGCPKey)
	rewrapped, err := kr.RewrapOrgKey("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	kr2 := NewKeyring(g, 8)
	for _, w := range [][]byte{wrapped, rewrapped} {
		if _, err := kr2.Org("org-1", w); err != nil {
			t.Fatal(err)
		}
	}
	if pt, err := d.Open(ct, ad); err != nil || string(pt) != "hi" {
		t.Errorf("Open = %q, %v", pt, err)
	}
}

// TestGCPKMSApplicationDefaultCredentials runs the production token path:
// a service-account key file exchanged for an access token at its
// token_uri (the fake's), then cached across calls.
func TestGCPKMSApplicationDefaultCredentials(t *testing.T) {
	f := kmstest.NewGCP(t, testGCPToken)
	f.CreateKey(testGCPKey)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", f.ServiceAccountFile(t))
	ts, err := NewGCPTokenSource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGCPKMS(testGCPKey, f.URL, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	kr := NewKeyring(g, 0)
	for i := range 3 {
		wrapped, err := kr.NewOrgKey("org-1")
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, err := kr.Org("org-1", wrapped); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if n := f.TokenRequests(); n != 1 {
		t.Errorf("%d token grants, want 1 (cached)", n)
	}

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", t.TempDir()+"/missing.json")
	if _, err := NewGCPTokenSource(context.Background()); err == nil {
		t.Error("missing credentials file accepted")
	}
}
