package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != TokenLen || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token has length %d or non-URL characters", len(tok))
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token decodes to %d bytes, %v; want 32", len(raw), err)
		}
		sum := sha256.Sum256(raw)
		if !bytes.Equal(hash, sum[:]) {
			t.Fatal("hash is not SHA-256 of the token bytes")
		}
		again, err := HashToken(tok)
		if err != nil || !bytes.Equal(again, hash) {
			t.Fatalf("HashToken(token) = %x, %v; want the NewToken hash", again, err)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
	}
}

func TestHashTokenMalformed(t *testing.T) {
	good, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	// The last character carries 2 unused bits; setting one gives a
	// second spelling of the same bytes, which strict decoding refuses.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[TokenLen-1])
	alias := good[:TokenLen-1] + string(alphabet[last^1])
	if raw, err := base64.RawURLEncoding.DecodeString(alias); err != nil || len(raw) != 32 {
		t.Fatalf("fixture: alias does not decode leniently: %v", err)
	}
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"short", good[:TokenLen-1]},
		{"long", good + "A"},
		{"padded", good + "="},
		{"std alphabet", good[:TokenLen-1] + "+"},
		{"space", good[:TokenLen-1] + " "},
		{"non-canonical tail", alias},
		{"oversized", strings.Repeat("A", 1<<20)},
		{"newline", good[:20] + "\n" + good[21:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashToken(tt.token)
			if !errors.Is(err, ErrMalformedToken) || h != nil {
				t.Fatalf("HashToken = %x, %v; want nil, ErrMalformedToken", h, err)
			}
			if len(tt.token) > 4 && strings.Contains(err.Error(), tt.token[:TokenLen/2]) {
				t.Fatal("error echoes the token")
			}
		})
	}
}

func FuzzHashToken(f *testing.F) {
	good, _, err := NewToken()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good + "=")
	f.Add(strings.Repeat("_", TokenLen))
	f.Fuzz(func(t *testing.T, token string) {
		h, err := HashToken(token)
		if err != nil {
			if h != nil || !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("HashToken = %x, %v", h, err)
			}
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatal("error echoes the token")
			}
			return
		}
		// Accepted tokens are canonical: they round-trip exactly.
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		if derr != nil || len(raw) != 32 || base64.RawURLEncoding.EncodeToString(raw) != token {
			t.Fatalf("accepted non-canonical token %q", token)
		}
		sum := sha256.Sum256(raw)
		if !bytes.Equal(h, sum[:]) {
			t.Fatal("hash mismatch")
		}
	})
}
