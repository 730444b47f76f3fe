package push

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

const redacted = "[redacted]"

// Keys is this server's VAPID key pair (RFC 8292). Formatting Keys with
// fmt or slog shows the public key only.
type Keys struct {
	// Public is the uncompressed P-256 point (65 bytes) in unpadded
	// base64url: the applicationServerKey a page passes to
	// PushManager.subscribe. It is not secret.
	Public string
	// Private signs the VAPID tokens. It never prints.
	Private PrivateKey
}

// PrivateKey is a VAPID signing key. Every fmt verb, slog and
// encoding.TextMarshaler see "[redacted]" or an error, never the key.
// The zero value holds no key.
type PrivateKey struct {
	k *ecdh.PrivateKey
}

// String implements fmt.Stringer without revealing the key.
func (PrivateKey) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the key.
func (PrivateKey) GoString() string { return "push.PrivateKey(" + redacted + ")" }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer without revealing the key.
func (PrivateKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText refuses to serialize the key, so that it cannot slip into a
// JSON document or a log line through encoding/json.
func (PrivateKey) MarshalText() ([]byte, error) {
	return nil, errors.New("push: a VAPID private key is never marshalled")
}

// encode returns the key as webpush-go takes it: the 32-byte scalar in
// unpadded base64url.
func (p PrivateKey) encode() string { return base64.RawURLEncoding.EncodeToString(p.k.Bytes()) }

// Format implements fmt.Formatter: Keys print as
// {Public:<key> Private:[redacted]} whatever the verb.
func (k Keys) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "{Public:%s Private:%s}", k.Public, redacted)
}

// LogValue implements slog.LogValuer: the public key and a redacted
// private key.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public", k.Public), slog.String("private", redacted))
}

// Equal reports whether k and o hold the same key pair, comparing the
// private keys in constant time.
func (k Keys) Equal(o Keys) bool {
	if k.Private.k == nil || o.Private.k == nil {
		return k.Private.k == o.Private.k && k.Public == o.Public
	}
	return k.Public == o.Public && subtle.ConstantTimeCompare(k.Private.k.Bytes(), o.Private.k.Bytes()) == 1
}

// check reports whether k holds a private key whose public half is
// k.Public.
func (k Keys) check() error {
	if k.Private.k == nil {
		return errors.New("push: VAPID private key is missing")
	}
	if k.Public != base64.RawURLEncoding.EncodeToString(k.Private.k.PublicKey().Bytes()) {
		return errors.New("push: VAPID public key does not match the private key")
	}
	return nil
}

// GenerateVAPID makes a new P-256 VAPID key pair. LoadOrCreateVAPID calls
// it on first run; `sotto keys` may call it to rotate. It fails only if
// the system's random source does.
func GenerateVAPID() (Keys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, fmt.Errorf("push: generate VAPID key: %w", err)
	}
	return Keys{Public: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), Private: PrivateKey{k}}, nil
}

// ParseVAPID builds Keys from their base64url forms (padded or not): the
// 65-byte uncompressed public point and the 32-byte private scalar, as
// GenerateVAPID, LoadOrCreateVAPID and most Web Push libraries write them.
// It returns an error, naming neither key, if either does not decode or
// the public key is not the private key's.
func ParseVAPID(public, private string) (Keys, error) {
	pb, err := decodeBase64URL(public)
	if err != nil || len(pb) != 65 {
		return Keys{}, errors.New("push: VAPID public key is not a base64url uncompressed P-256 point")
	}
	sb, err := decodeBase64URL(private)
	if err != nil {
		return Keys{}, errors.New("push: VAPID private key is not base64url")
	}
	k, err := ecdh.P256().NewPrivateKey(sb)
	if err != nil {
		return Keys{}, errors.New("push: VAPID private key is not a P-256 private key")
	}
	keys := Keys{Public: base64.RawURLEncoding.EncodeToString(pb), Private: PrivateKey{k}}
	if err := keys.check(); err != nil {
		return Keys{}, err
	}
	return keys, nil
}

// decodeBase64URL decodes base64url with or without padding. It refuses
// the standard alphabet, embedded newlines and non-canonical trailing
// bits, so each byte string has exactly two accepted spellings.
func decodeBase64URL(s string) ([]byte, error) {
	trimmed := strings.TrimRight(s, "=")
	if pad := len(s) - len(trimmed); pad > 0 && (pad > 2 || len(s)%4 != 0) {
		return nil, errors.New("bad base64url padding")
	}
	for i := 0; i < len(trimmed); i++ {
		c := trimmed[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, errors.New("not base64url")
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(trimmed)
}
