package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Token format: 32 random bytes (256 bits), base64url without padding,
// which is always 43 characters.
const (
	tokenBytes = 32
	// TokenLen is the length of every token NewToken returns.
	TokenLen = 43
)

// ErrMalformedToken means HashToken was given a string that NewToken
// cannot have produced (wrong length, characters or encoding). Handlers
// should answer it exactly as they answer an unknown token.
var ErrMalformedToken = errors.New("auth: malformed token")

// tokenEncoding is strict base64url without padding: strictness rejects
// non-zero trailing bits, so each token has exactly one valid spelling
// and one hash.
func tokenEncoding() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// NewToken returns a fresh opaque bearer token and its hash. The token
// (256 random bits, base64url without padding, URL- and header-safe) goes
// to the client once: in a session cookie, an invite link or a setup
// link. The hash, SHA-256 of the token's 32 decoded bytes, is all the
// store keeps, so a database leak yields no usable token. Look a
// presented token up with HashToken.
//
// Session, invite and setup handlers call it. The only error is a failure
// to read crypto/rand, wrapped. Never log the token.
func NewToken() (token string, hash []byte, err error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	sum := sha256.Sum256(raw)
	return tokenEncoding().EncodeToString(raw), sum[:], nil
}

// HashToken returns the hash under which the store keeps token, the same
// value NewToken returned for it. Handlers call it on every presented
// cookie or link before the store lookup; a lookup by hash needs no
// constant-time compare, since an attacker cannot choose hash prefixes.
//
// It returns an error wrapping ErrMalformedToken, without the token's
// text, unless token is exactly TokenLen characters of strict base64url.
// Oversized input is rejected before any decoding.
func HashToken(token string) ([]byte, error) {
	if len(token) != TokenLen {
		return nil, fmt.Errorf("hash token: %w: length %d, want %d", ErrMalformedToken, len(token), TokenLen)
	}
	raw, err := tokenEncoding().DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, fmt.Errorf("hash token: %w: not base64url", ErrMalformedToken)
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}
