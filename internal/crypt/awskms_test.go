package crypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"sotto/internal/crypt/kmstest"
)

const (
	testAWSRegion = "eu-central-1"
	testAWSKeyID  = "AKIDTESTSOTTO"
	testAWSSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// awsDoer lets a test alter a signed request before it is sent.
type awsDoer func(*http.Request) (*http.Response, error)

func (d awsDoer) Do(r *http.Request) (*http.Response, error) { return d(r) }

// newAWSClient builds a real SDK client for f, signing with secret, with a
// fast retryer. doer may be nil.
func newAWSClient(f *kmstest.AWS, secret string, doer kms.HTTPClient) *kms.Client {
	if doer == nil {
		doer = &http.Client{Timeout: 5 * time.Second}
	}
	return kms.New(kms.Options{
		Region:       f.Region,
		BaseEndpoint: aws.String(f.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(f.AccessKeyID, secret, ""),
		HTTPClient:   doer,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 5 * time.Millisecond
		}),
	})
}

// newTestAWS starts a fake AWS KMS with one key, alias/sotto, and returns
// a master using that alias.
func newTestAWS(t *testing.T) (*kmstest.AWS, *AWSKMS) {
	t.Helper()
	f := kmstest.NewAWS(t, testAWSRegion, testAWSKeyID, testAWSSecret)
	f.CreateKey("alias/sotto")
	m, err := NewAWSKMS(newAWSClient(f, testAWSSecret, nil), "alias/sotto", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func TestAWSKMSRoundTrip(t *testing.T) {
	f, m := newTestAWS(t)
	big := bytes.Repeat([]byte("keyset"), 2000) // > 4096 bytes: beyond KMS's own Encrypt limit
	tests := []struct {
		name   string
		pt, ad []byte
	}{
		{"simple", []byte("org keyset bytes"), AD("org_keys", "keyset", "org-1")},
		{"empty plaintext", nil, AD("org_keys", "keyset", "org-1")},
		{"empty ad", []byte("x"), nil},
		{"binary", []byte{0, 1, 2, 255, 254}, []byte{0, 0, 0, 0}},
		{"larger than 4 KiB", big, AD("org_keys", "keyset", "org-2")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Requests()
			ct, err := m.Encrypt(tc.pt, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.pt) > 4 && bytes.Contains(ct, tc.pt) {
				t.Error("ciphertext contains the plaintext")
			}
			pt, err := m.Decrypt(ct, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, tc.pt) {
				t.Errorf("Decrypt = %q, want %q", pt, tc.pt)
			}
			if n := f.Requests() - before; n != 2 {
				t.Errorf("%d KMS requests for a round trip, want 2", n)
			}
			ctxs := f.Contexts()
			want := base64.RawURLEncoding.EncodeToString(tc.ad)
			if got := ctxs[len(ctxs)-1]; len(got) != 1 || got["sotto_ad"] != want {
				t.Errorf("encryption context = %v, want sotto_ad=%s", got, want)
			}
		})
	}
	t.Run("fresh ciphertext each time", func(t *testing.T) {
		ad := AD("t", "c", "r")
		a, _ := m.Encrypt([]byte("same"), ad)
		b, _ := m.Encrypt([]byte("same"), ad)
		if bytes.Equal(a, b) {
			t.Error("two encryptions are identical")
		}
	})
}

func TestAWSKMSTampered(t *testing.T) {
	f, m := newTestAWS(t)
	f.CreateKey("alias/other")
	other, err := NewAWSKMS(newAWSClient(f, testAWSSecret, nil), "alias/other", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("org_keys", "keyset", "org-1")
	ct, err := m.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	blob, _, _ := parseAWSEnvelope(ct)
	tests := []struct {
		name      string
		m         *AWSKMS
		ct, ad    []byte
		noRequest bool
	}{
		{"wrong ad", m, ct, AD("org_keys", "keyset", "org-2"), false},
		{"nil ad", m, ct, nil, false},
		{"flipped blob byte", m, flip(ct, 5+len(blob)/2), ad, false},
		{"flipped payload byte", m, flip(ct, len(ct)-1), ad, false},
		{"truncated payload", m, ct[:len(ct)-1], ad, false},
		{"other key", other, ct, ad, false},
		{"empty", m, nil, ad, true},
		{"bad version", m, flip(ct, 0), ad, true},
		{"blob length past end", m, append([]byte{1, 0, 0, 0xff, 0}, ct[5:9]...), ad, true},
		{"zero blob length", m, append([]byte{1, 0, 0, 0, 0}, ct[5:]...), ad, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Requests()
			_, err := tc.m.Decrypt(tc.ct, tc.ad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
			if sent := f.Requests() != before; sent == tc.noRequest {
				t.Errorf("request sent = %v, want %v", sent, !tc.noRequest)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Error("error contains plaintext")
			}
		})
	}
}

func TestAWSKMSErrors(t *testing.T) {
	f, good := newTestAWS(t)
	ad := AD("t", "c", "r")
	ct, err := good.Encrypt([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	f.CreateKey("alias/denied")
	f.Deny("alias/denied")
	mk := func(secret, key string) *AWSKMS {
		m, err := NewAWSKMS(newAWSClient(f, secret, nil), key, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	leaks := func(t *testing.T, err error) {
		t.Helper()
		for _, s := range []string{"secret", base64.StdEncoding.EncodeToString([]byte("secret")), testAWSSecret} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks %q: %v", s, err)
			}
		}
	}
	cases := []struct {
		name string
		m    *AWSKMS
		want string // in the error of both calls
	}{
		{"unknown key", mk(testAWSSecret, "alias/nope"), "NotFoundException"},
		{"access denied", mk(testAWSSecret, "alias/denied"), "AccessDeniedException"},
		{"wrong secret key", mk("wrong"+testAWSSecret, "alias/sotto"), "InvalidSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, encErr := tc.m.Encrypt([]byte("secret"), ad)
			_, decErr := tc.m.Decrypt(ct, ad)
			for _, err := range []error{encErr, decErr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %s", err, tc.want)
				}
				if errors.Is(err, ErrTampered) {
					t.Errorf("%v must not look like tampering", err)
				}
				leaks(t, err)
			}
		})
	}
	t.Run("unknown access key", func(t *testing.T) {
		c := kms.New(kms.Options{Region: f.Region, BaseEndpoint: aws.String(f.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDNOBODY", testAWSSecret, "")})
		m, _ := NewAWSKMS(c, "alias/sotto", 5*time.Second)
		_, err := m.Decrypt(ct, ad)
		if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") || errors.Is(err, ErrTampered) {
			t.Fatalf("err = %v, want UnrecognizedClientException", err)
		}
		leaks(t, err)
	})
	for _, fault := range []struct{ mode, want string }{
		{"500", "KMSInternalException"},
		{"403", "StatusCode: 403"},
		{"garbage", "deserialization failed"},
	} {
		t.Run("server "+fault.mode, func(t *testing.T) {
			f.SetFault(fault.mode)
			defer f.SetFault("")
			before := f.Requests()
			_, encErr := good.Encrypt([]byte("secret"), ad)
			attempts := f.Requests() - before
			_, decErr := good.Decrypt(ct, ad)
			for _, err := range []error{encErr, decErr} {
				if err == nil || !strings.Contains(err.Error(), fault.want) || errors.Is(err, ErrTampered) {
					t.Fatalf("err = %v, want a non-tampering %s error", err, fault.want)
				}
				leaks(t, err)
			}
			if fault.mode == "500" && attempts != 3 {
				t.Errorf("%d attempts on HTTP 500, want 3 (retried)", attempts)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		c := kms.New(kms.Options{Region: f.Region, BaseEndpoint: aws.String(dead.URL),
			Credentials: credentials.NewStaticCredentialsProvider(testAWSKeyID, testAWSSecret, ""),
			Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })})
		m, _ := NewAWSKMS(c, "alias/sotto", 5*time.Second)
		if _, err := m.Encrypt([]byte("x"), ad); err == nil || errors.Is(err, ErrTampered) {
			t.Errorf("err = %v, want transport error", err)
		}
	})
	t.Run("constructor", func(t *testing.T) {
		if _, err := NewAWSKMS(nil, "k", 0); err == nil {
			t.Error("nil client accepted")
		}
		if _, err := NewAWSKMS(newAWSClient(f, testAWSSecret, nil), "", 0); err == nil {
			t.Error("empty key id accepted")
		}
		m, _ := NewAWSKMS(newAWSClient(f, testAWSSecret, nil), "alias/sotto", 0)
		if m.timeout != awsDefaultTimeout {
			t.Errorf("default timeout = %v", m.timeout)
		}
		if s := fmt.Sprintf("%v %+v %#v", m, m, m); strings.Contains(s, testAWSSecret) || !strings.Contains(s, "alias/sotto") {
			t.Errorf("formatted master = %q", s)
		}
	})
}

// TestFakeAWSVerifiesSignature shows the fake rejects a request whose body
// changed after signing, so passing requests really are SigV4-signed.
func TestFakeAWSVerifiesSignature(t *testing.T) {
	f, _ := newTestAWS(t)
	alter := awsDoer(func(r *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(r.Body)
		body = bytes.Replace(body, []byte(`"alias/sotto"`), []byte(`"alias/sotta"`), 1)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return http.DefaultClient.Do(r)
	})
	m, _ := NewAWSKMS(newAWSClient(f, testAWSSecret, alter), "alias/sotto", 5*time.Second)
	_, err := m.Encrypt([]byte("x"), nil)
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("altered request: err = %v, want InvalidSignatureException", err)
	}
}

func TestAWSKMSKeyring(t *testing.T) {
	f, m := newTestAWS(t)
	kr := NewKeyring(m, 8)
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

	// KMS rotates the backing key: old wraps still open, re-wrapping under
	// the same key id moves them to the new backing key.
	f.RotateKey("alias/sotto")
	rewrapped, err := kr.RewrapOrgKey("org-1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	kr2 := NewKeyring(m, 8)
	for _, w := range [][]byte{wrapped, rewrapped} {
		o2, err := kr2.Org("org-1", w)
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := testData(t, kr2, o2, "pat-x")
		if _, err := d2.Seal([]byte("x"), ad); err != nil {
			t.Fatal(err)
		}
	}
	if pt, err := d.Open(ct, ad); err != nil || string(pt) != "hi" {
		t.Errorf("Open = %q, %v", pt, err)
	}

	// An org keyset rotated many times outgrows KMS's 4 KiB Encrypt limit;
	// the envelope still wraps it.
	w := wrapped
	for range 40 {
		if w, err = kr.RotateOrgKey("org-1", w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewKeyring(m, 0).Org("org-1", w); err != nil {
		t.Fatalf("org key after 40 rotations: %v", err)
	}
}

func TestNewAWSKMSClient(t *testing.T) {
	f := kmstest.NewAWS(t, testAWSRegion, testAWSKeyID, testAWSSecret)
	f.CreateKey("alias/sotto")
	dir := t.TempDir()
	noFile := filepath.Join(dir, "none")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", noFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", noFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	roundTrip := func(t *testing.T, region string) {
		t.Helper()
		c, err := NewAWSKMSClient(ctx, region, f.URL, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewAWSKMS(c, "alias/sotto", 5*time.Second)
		ad := AD("org_keys", "keyset", "org-1")
		ct, err := m.Encrypt([]byte("k"), ad)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := m.Decrypt(ct, ad); err != nil || string(pt) != "k" {
			t.Fatalf("Decrypt = %q, %v", pt, err)
		}
	}

	t.Run("no region", func(t *testing.T) {
		if _, err := NewAWSKMSClient(ctx, "", f.URL, 0); err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("err = %v, want no region", err)
		}
	})
	t.Run("bad endpoint", func(t *testing.T) {
		if _, err := NewAWSKMSClient(ctx, testAWSRegion, "kms.example", 0); err == nil {
			t.Error("endpoint without scheme accepted")
		}
	})
	t.Run("environment credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", testAWSKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", testAWSSecret)
		t.Setenv("AWS_REGION", testAWSRegion)
		roundTrip(t, "") // region from AWS_REGION
	})
	t.Run("shared credentials profile", func(t *testing.T) {
		creds := filepath.Join(dir, "credentials")
		body := "[sotto]\naws_access_key_id = " + testAWSKeyID + "\naws_secret_access_key = " + testAWSSecret + "\n"
		if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
		t.Setenv("AWS_PROFILE", "sotto")
		roundTrip(t, testAWSRegion)
	})
}
