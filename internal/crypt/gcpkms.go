package crypt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// GCPKMS is a [Master].
var _ Master = (*GCPKMS)(nil)

// GCPKMSScope is the OAuth 2.0 scope Cloud KMS calls need.
const GCPKMSScope = "https://www.googleapis.com/auth/cloudkms"

// GCPKMSEndpoint is Cloud KMS's public REST endpoint.
const GCPKMSEndpoint = "https://cloudkms.googleapis.com"

// gcpEnvelopeVersion is the first byte of the plaintext sent to Cloud KMS.
// It keeps that plaintext non-empty (Cloud KMS refuses empty plaintext) and
// leaves room for another format.
const gcpEnvelopeVersion = 0x01

// gcpMaxPlaintext is Cloud KMS's plaintext limit for software keys (HSM
// keys allow 8 KiB of plaintext and associated data together).
const gcpMaxPlaintext = 64 << 10

// gcpMaxResponse bounds the size of a Cloud KMS response body.
const gcpMaxResponse = 1 << 20

// gcpDefaultTimeout bounds one Encrypt or Decrypt, retries included.
const gcpDefaultTimeout = 30 * time.Second

// gcpAttempts is how many times a transient failure is tried in all;
// gcpBackoff is the first pause between attempts, doubled each time.
const (
	gcpAttempts = 3
	gcpBackoff  = 200 * time.Millisecond
)

// gcpKeyName matches a CryptoKey resource name.
var gcpKeyName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

// crc32c computes the CRC32C (Castagnoli) checksum Cloud KMS uses.
func crc32c(b []byte) int64 {
	return int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// GCPKMS is a [Master] backed by a Google Cloud KMS symmetric CryptoKey,
// through its REST API (cryptoKeys.encrypt and cryptoKeys.decrypt): the
// key never leaves Cloud KMS, and Cloud Audit Logs can record each use.
//
// ad is sent as Cloud KMS's additionalAuthenticatedData, which Cloud KMS
// authenticates; the plaintext sent is 0x01 || plaintext, and the stored
// ciphertext is Cloud KMS's ciphertext unchanged. Every request carries
// the CRC32C checksums of its data and every response is checked as
// Google's data-integrity guidance says (verified* flags, response
// checksums, key name); a mismatch is retried, then reported.
//
// A GCPKMS is safe for concurrent use. Each call, retries included, is
// bounded by a 30s deadline; the *http.Client's Timeout bounds an attempt.
type GCPKMS struct {
	endpoint string
	key      string
	tokens   oauth2.TokenSource
	client   *http.Client
	timeout  time.Duration
	attempts int
	backoff  time.Duration
}

// NewGCPKMS returns a Master using the CryptoKey keyName
// ("projects/P/locations/L/keyRings/R/cryptoKeys/K") at endpoint (empty for
// [GCPKMSEndpoint]; e.g. a Private Service Connect address otherwise).
// tokens supplies OAuth 2.0 access tokens with [GCPKMSScope]: in
// production [NewGCPTokenSource]; tests may pass a static source. client
// should have a Timeout; if nil, one with a 30s timeout is used. It
// performs no I/O.
//
// Intended caller: server start-up when the deployment configures Cloud
// KMS. Errors: a malformed keyName or endpoint, or a nil tokens.
func NewGCPKMS(keyName, endpoint string, tokens oauth2.TokenSource, client *http.Client) (*GCPKMS, error) {
	if !gcpKeyName.MatchString(keyName) {
		return nil, fmt.Errorf("crypt: gcp kms: key %q is not a CryptoKey name (projects/P/locations/L/keyRings/R/cryptoKeys/K)", keyName)
	}
	if endpoint == "" {
		endpoint = GCPKMSEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("crypt: gcp kms: endpoint %q is not an http(s) URL", endpoint)
	}
	if tokens == nil {
		return nil, errors.New("crypt: gcp kms: no token source")
	}
	if client == nil {
		client = &http.Client{Timeout: gcpDefaultTimeout}
	}
	return &GCPKMS{
		endpoint: strings.TrimRight(endpoint, "/"), key: keyName, tokens: tokens, client: client,
		timeout: gcpDefaultTimeout, attempts: gcpAttempts, backoff: gcpBackoff,
	}, nil
}

// NewGCPTokenSource returns Application Default Credentials for
// [GCPKMSScope]: the key file named by GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's application-default login, workload identity, or the metadata
// server on Google Cloud. Tokens are cached and refreshed before they
// expire. ctx's values (not its cancellation) serve later token requests.
//
// Intended caller: server start-up, before [NewGCPKMS]. Errors: no
// credentials found, or an unreadable credentials file.
func NewGCPTokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	ts, err := google.DefaultTokenSource(context.WithoutCancel(ctx), GCPKMSScope)
	if err != nil {
		return nil, fmt.Errorf("crypt: gcp kms: application default credentials: %w", err)
	}
	return ts, nil
}

// String describes the master without credentials, so it is safe to log.
func (g *GCPKMS) String() string { return "crypt.GCPKMS(" + g.endpoint + ", key=" + g.key + ")" }

// GoString is String for %#v, which would otherwise print the token source.
func (g *GCPKMS) GoString() string { return g.String() }

// Encrypt sends 0x01 || plaintext and ad to
// POST {endpoint}/v1/{key}:encrypt and returns Cloud KMS's ciphertext.
// Intended caller: the [Keyring]. Errors: plaintext over 64 KiB, a token
// error, a transport error, a *[GCPKMSError] for a non-2xx answer, or a
// failed integrity check (after retries); none contain plaintext or the
// token.
func (g *GCPKMS) Encrypt(plaintext, ad []byte) ([]byte, error) {
	if len(plaintext)+1 > gcpMaxPlaintext {
		return nil, fmt.Errorf("crypt: gcp kms encrypt: plaintext of %d bytes exceeds Cloud KMS's 64 KiB limit", len(plaintext))
	}
	env := make([]byte, 0, 1+len(plaintext))
	env = append(env, gcpEnvelopeVersion)
	env = append(env, plaintext...)
	defer clear(env)
	req := gcpEncryptRequest{
		Plaintext: env, PlaintextCRC32C: crcString(env),
		AAD: ad, AADCRC32C: crcString(ad),
	}
	resp, err := gcpCall(g, "encrypt", &req, func(r *gcpEncryptResponse) error {
		switch {
		case !r.VerifiedPlaintextCRC32C:
			return errors.New("plaintext checksum not verified by Cloud KMS (request corrupted in transit)")
		case !r.VerifiedAADCRC32C:
			return errors.New("associated data checksum not verified by Cloud KMS (request corrupted in transit)")
		case len(r.Ciphertext) == 0:
			return errors.New("response has no ciphertext")
		case !r.CiphertextCRC32C.set || r.CiphertextCRC32C.v != crc32c(r.Ciphertext):
			return errors.New("ciphertext checksum mismatch (response corrupted in transit)")
		case !strings.HasPrefix(r.Name, g.key+"/cryptoKeyVersions/"):
			return errors.New("response names another key")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Ciphertext, nil
}

// Decrypt sends ciphertext and ad to POST {endpoint}/v1/{key}:decrypt and
// returns the plaintext. Intended caller: the [Keyring]. It returns an
// error wrapping [ErrTampered] if ciphertext is empty, Cloud KMS answers
// 400 INVALID_ARGUMENT (the ciphertext was modified, made under another
// key, or ad differs), or the decrypted envelope is not one of ours; other
// failures are as for Encrypt.
func (g *GCPKMS) Decrypt(ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("crypt: gcp kms decrypt: empty ciphertext: %w", ErrTampered)
	}
	req := gcpDecryptRequest{
		Ciphertext: ciphertext, CiphertextCRC32C: crcString(ciphertext),
		AAD: ad, AADCRC32C: crcString(ad),
	}
	resp, err := gcpCall(g, "decrypt", &req, func(r *gcpDecryptResponse) error {
		if !r.PlaintextCRC32C.set || r.PlaintextCRC32C.v != crc32c(r.Plaintext) {
			clear(r.Plaintext)
			return errors.New("plaintext checksum mismatch (response corrupted in transit)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	env := resp.Plaintext
	if len(env) == 0 || env[0] != gcpEnvelopeVersion {
		clear(env)
		return nil, fmt.Errorf("crypt: gcp kms decrypt: bad envelope: %w", ErrTampered)
	}
	return env[1:], nil
}

// GCPKMSError is a non-2xx answer from Cloud KMS. It carries the HTTP
// status and Google's error status and message, never request data.
type GCPKMSError struct {
	Op         string // "encrypt" or "decrypt"
	StatusCode int    // HTTP status code
	Status     string // Google's canonical code, e.g. "PERMISSION_DENIED"; may be empty
	Message    string // Google's message, shortened; may be empty
}

// Error implements error.
func (e *GCPKMSError) Error() string {
	msg := fmt.Sprintf("crypt: gcp kms %s: HTTP %d", e.Op, e.StatusCode)
	if e.Status != "" {
		msg += " " + e.Status
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// tampered reports whether e means the ciphertext does not open under this
// key and associated data. A checksum complaint means the request was
// damaged in transit instead.
func (e *GCPKMSError) tampered() bool {
	return e.Op == "decrypt" && e.StatusCode == http.StatusBadRequest &&
		!strings.Contains(strings.ToLower(e.Message), "crc32c")
}

// retryable reports whether another attempt may succeed.
func (e *GCPKMSError) retryable() bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusBadRequest:
		return strings.Contains(strings.ToLower(e.Message), "crc32c")
	}
	return false
}

// gcpCall POSTs body to g's key with op, decodes the answer as T and runs
// check on it, retrying transient failures (429, 5xx, transport errors,
// failed integrity checks) with jittered exponential backoff.
func gcpCall[T any](g *GCPKMS, op string, body any, check func(*T) error) (*T, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("crypt: gcp kms %s: encode request: %w", op, err)
	}
	defer clear(payload)
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	var last error
	for attempt := range g.attempts {
		if attempt > 0 {
			d := g.backoff << (attempt - 1)
			d += rand.N(d/2 + 1)
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("crypt: gcp kms %s: %w (after %w)", op, ctx.Err(), last)
			case <-time.After(d):
			}
		}
		raw, retry, err := g.attempt(ctx, op, payload)
		if err == nil {
			out := new(T)
			err = json.Unmarshal(raw, out)
			clear(raw)
			if err != nil {
				return nil, fmt.Errorf("crypt: gcp kms %s: malformed response", op)
			}
			if err = check(out); err == nil {
				return out, nil
			}
			err, retry = fmt.Errorf("crypt: gcp kms %s: integrity check failed: %w", op, err), true
		}
		last = err
		if !retry {
			break
		}
	}
	var ge *GCPKMSError
	if errors.As(last, &ge) && ge.tampered() {
		return nil, fmt.Errorf("%w: %w", ErrTampered, last)
	}
	return nil, last
}

// attempt makes one request and returns the body of a 2xx answer. It
// reports whether a failure is transient.
func (g *GCPKMS) attempt(ctx context.Context, op string, payload []byte) (raw []byte, retry bool, err error) {
	tok, err := g.tokens.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		transient := !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500
		return nil, transient, fmt.Errorf("crypt: gcp kms %s: access token: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.endpoint+"/v1/"+g.key+":"+op, bytes.NewReader(payload))
	if err != nil {
		return nil, false, fmt.Errorf("crypt: gcp kms %s: build request: %w", op, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("crypt: gcp kms %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, gcpMaxResponse))
	if err != nil {
		clear(raw)
		return nil, true, fmt.Errorf("crypt: gcp kms %s: read response: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ge := gcpStatusError(op, resp.StatusCode, raw)
		clear(raw)
		return nil, ge.retryable(), ge
	}
	return raw, false, nil
}

// gcpStatusError builds the error for a non-2xx answer from Google's
// {"error": {"code", "message", "status"}} body (best effort: a proxy may
// answer otherwise).
func gcpStatusError(op string, status int, raw []byte) *GCPKMSError {
	var body struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &body)
	msg := body.Error.Message
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return &GCPKMSError{Op: op, StatusCode: status, Status: body.Error.Status, Message: msg}
}

// crcString is a CRC32C as proto3 JSON encodes an Int64Value: a string.
func crcString(b []byte) string { return strconv.FormatInt(crc32c(b), 10) }

// gcpInt64 decodes a proto3 JSON int64 (a string, or a number).
type gcpInt64 struct {
	v   int64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *gcpInt64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	i.v, i.set = v, true
	return nil
}

type gcpEncryptRequest struct {
	Plaintext       []byte `json:"plaintext"`
	PlaintextCRC32C string `json:"plaintextCrc32c"`
	AAD             []byte `json:"additionalAuthenticatedData,omitempty"`
	AADCRC32C       string `json:"additionalAuthenticatedDataCrc32c"`
}

type gcpEncryptResponse struct {
	Name                    string   `json:"name"`
	Ciphertext              []byte   `json:"ciphertext"`
	CiphertextCRC32C        gcpInt64 `json:"ciphertextCrc32c"`
	VerifiedPlaintextCRC32C bool     `json:"verifiedPlaintextCrc32c"`
	VerifiedAADCRC32C       bool     `json:"verifiedAdditionalAuthenticatedDataCrc32c"`
}

type gcpDecryptRequest struct {
	Ciphertext       []byte `json:"ciphertext"`
	CiphertextCRC32C string `json:"ciphertextCrc32c"`
	AAD              []byte `json:"additionalAuthenticatedData,omitempty"`
	AADCRC32C        string `json:"additionalAuthenticatedDataCrc32c"`
}

type gcpDecryptResponse struct {
	Plaintext       []byte   `json:"plaintext"`
	PlaintextCRC32C gcpInt64 `json:"plaintextCrc32c"`
}
