package crypt

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// vaultEnvelopeVersion is the first byte of the plaintext sent to Vault.
const vaultEnvelopeVersion = 0x01

// maxVaultResponse bounds the size of a Vault response body.
const maxVaultResponse = 16 << 20

// vaultDefaultTimeout applies when NewVaultTransit is given a nil client.
const vaultDefaultTimeout = 30 * time.Second

// VaultTransit is a [Master] backed by a HashiCorp Vault Transit key: the
// key never leaves Vault, which makes it a stronger choice than a key file.
//
// Vault's own "associated_data" parameter only works for some key types, so
// ad is bound by an envelope instead: the plaintext sent to Vault is
//
//	0x01 || uint32be(len(ad)) || ad || plaintext
//
// and Decrypt checks, in constant time, that the ad inside the decrypted
// envelope equals the ad supplied. Vault's AES-GCM authenticates the whole
// envelope, so this binds ad exactly as an AEAD would.
//
// A VaultTransit is safe for concurrent use. Requests carry no context, so
// the *http.Client's Timeout bounds each call.
type VaultTransit struct {
	base   string
	token  string
	key    string
	client *http.Client
}

// NewVaultTransit returns a client for the Transit key keyName (mounted at
// "transit") of the Vault server at baseURL (e.g. "https://vault:8200"),
// authenticating with token. client should have a Timeout; if nil, a client
// with a 30s timeout is used. It performs no I/O and never fails: a bad URL,
// token or key name surfaces as an error from the first Encrypt or Decrypt.
//
// Intended caller: server start-up when the deployment configures Vault.
func NewVaultTransit(baseURL, token, keyName string, client *http.Client) *VaultTransit {
	if client == nil {
		client = &http.Client{Timeout: vaultDefaultTimeout}
	}
	return &VaultTransit{base: strings.TrimRight(baseURL, "/"), token: token, key: keyName, client: client}
}

// String describes the client without the token, so it is safe to log.
func (v *VaultTransit) String() string {
	return "crypt.VaultTransit(" + v.base + ", key=" + v.key + ")"
}

// GoString is String for %#v, which would otherwise print the token.
func (v *VaultTransit) GoString() string { return v.String() }

// Encrypt sends the ad envelope around plaintext to
// POST {base}/v1/transit/encrypt/{key} and returns Vault's "vault:vN:..."
// ciphertext as bytes. Intended caller: the [Keyring]. Errors: transport
// errors, or a non-2xx status reported as a *[VaultError] carrying Vault's
// "errors" array; errors never contain plaintext or the token.
func (v *VaultTransit) Encrypt(plaintext, ad []byte) ([]byte, error) {
	env := make([]byte, 0, 5+len(ad)+len(plaintext))
	env = append(env, vaultEnvelopeVersion)
	env = appendLP(env, ad)
	env = append(env, plaintext...)
	req := struct {
		Plaintext string `json:"plaintext"`
	}{base64.StdEncoding.EncodeToString(env)}
	clear(env)
	var resp struct {
		Data struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"data"`
	}
	if err := v.call("encrypt", req, &resp); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(resp.Data.Ciphertext, "vault:v") {
		return nil, errors.New("crypt: vault transit encrypt: response has no vault ciphertext")
	}
	return []byte(resp.Data.Ciphertext), nil
}

// Decrypt sends ciphertext to POST {base}/v1/transit/decrypt/{key}, then
// checks the ad envelope. Intended caller: the [Keyring]. It returns an
// error wrapping [ErrTampered] if the ciphertext is malformed, Vault reports
// an authentication failure, or the envelope's ad differs from ad; other
// failures are transport errors or a *[VaultError].
func (v *VaultTransit) Decrypt(ciphertext, ad []byte) ([]byte, error) {
	if !utf8.Valid(ciphertext) || !bytes.HasPrefix(ciphertext, []byte("vault:v")) {
		return nil, fmt.Errorf("crypt: vault transit decrypt: not a vault ciphertext: %w", ErrTampered)
	}
	req := struct {
		Ciphertext string `json:"ciphertext"`
	}{string(ciphertext)}
	var resp struct {
		Data struct {
			Plaintext string `json:"plaintext"`
		} `json:"data"`
	}
	if err := v.call("decrypt", req, &resp); err != nil {
		return nil, err
	}
	env, err := base64.StdEncoding.DecodeString(resp.Data.Plaintext)
	if err != nil || len(env) == 0 || env[0] != vaultEnvelopeVersion {
		clear(env)
		return nil, fmt.Errorf("crypt: vault transit decrypt: bad envelope: %w", ErrTampered)
	}
	gotAD, pt, err := readLP(env[1:])
	if err != nil || subtle.ConstantTimeCompare(gotAD, ad) != 1 {
		clear(env)
		return nil, fmt.Errorf("crypt: vault transit decrypt: associated data mismatch: %w", ErrTampered)
	}
	return pt, nil
}

// KeyVersionOf reports the Vault key version ("vault:vN:") that produced
// ciphertext, or false if it is not a Vault ciphertext. It does not
// authenticate anything. Useful to find blobs to re-wrap after rotating the
// Transit key in Vault.
func (v *VaultTransit) KeyVersionOf(ciphertext []byte) (uint32, bool) {
	rest, ok := bytes.CutPrefix(ciphertext, []byte("vault:v"))
	if !ok {
		return 0, false
	}
	num, _, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(num), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// VaultError is a non-2xx response from Vault. It carries the HTTP status
// and Vault's "errors" array, never request data.
type VaultError struct {
	Op         string   // "encrypt" or "decrypt"
	StatusCode int      // HTTP status code
	Errors     []string // Vault's "errors" array, possibly empty
}

// Error implements error.
func (e *VaultError) Error() string {
	msg := fmt.Sprintf("crypt: vault transit %s: HTTP %d", e.Op, e.StatusCode)
	if len(e.Errors) > 0 {
		msg += ": " + strings.Join(e.Errors, "; ")
	}
	return msg
}

// call POSTs body to the transit op endpoint and decodes the JSON response.
func (v *VaultTransit) call(op string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("crypt: vault transit %s: encode request: %w", op, err)
	}
	defer clear(payload)
	u := v.base + "/v1/transit/" + op + "/" + url.PathEscape(v.key)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("crypt: vault transit %s: build request: %w", op, err)
	}
	req.Header.Set("X-Vault-Token", v.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("crypt: vault transit %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultResponse))
	if err != nil {
		return fmt.Errorf("crypt: vault transit %s: read response: %w", op, err)
	}
	defer clear(raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return vaultStatusError(op, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("crypt: vault transit %s: malformed response (HTTP %d)", op, resp.StatusCode)
	}
	return nil
}

// vaultStatusError builds the error for a non-2xx response. A decrypt
// authentication failure additionally wraps ErrTampered.
func vaultStatusError(op string, status int, raw []byte) error {
	var body struct {
		Errors []string `json:"errors"`
	}
	_ = json.Unmarshal(raw, &body) // best effort: Vault may send non-JSON from a proxy
	ve := &VaultError{Op: op, StatusCode: status}
	for _, e := range body.Errors {
		if len(e) > 200 {
			e = e[:200] + "..."
		}
		ve.Errors = append(ve.Errors, e)
	}
	if op == "decrypt" && status == http.StatusBadRequest {
		for _, e := range ve.Errors {
			if strings.Contains(e, "message authentication failed") || strings.Contains(e, "invalid ciphertext") {
				return fmt.Errorf("%w: %w", ErrTampered, ve)
			}
		}
	}
	return ve
}
