package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestNewRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes, %d hashes; want 10 each", len(codes), len(hashes))
	}
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %d has bad format", i)
		}
		if seen[c] {
			t.Errorf("code %d repeats", i)
		}
		seen[c] = true
		sum := sha256.Sum256([]byte(strings.ReplaceAll(c, "-", "")))
		if hashes[i] != hex.EncodeToString(sum[:]) {
			t.Errorf("hash %d is not SHA-256 hex of the normalized code", i)
		}
		if idx, ok := MatchRecoveryCode(c, hashes); !ok || idx != i {
			t.Errorf("MatchRecoveryCode(code %d) = %d, %v", i, idx, ok)
		}
	}
}

func TestRecoveryCodeEntropy(t *testing.T) {
	if len(recoveryAlphabet) != 32 {
		t.Fatalf("alphabet has %d symbols; want 32", len(recoveryAlphabet))
	}
	for _, c := range "ilou" {
		if strings.ContainsRune(recoveryAlphabet, c) {
			t.Errorf("alphabet contains ambiguous %q", c)
		}
	}
	bits := float64(recoverySymbols) * math.Log2(float64(len(recoveryAlphabet)))
	if bits < 60 {
		t.Fatalf("%.1f bits per code; want at least 60", bits)
	}
	// Every symbol shows up: the draw covers the whole alphabet.
	codes, _, err := NewRecoveryCodes(100)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(codes, "")
	for _, c := range recoveryAlphabet {
		if !strings.ContainsRune(all, c) {
			t.Errorf("symbol %q never drawn in 1200 symbols", c)
		}
	}
}

func TestNewRecoveryCodesCount(t *testing.T) {
	tests := []struct {
		n       int
		wantErr bool
	}{
		{-1, true}, {0, true}, {1, false}, {100, false}, {101, true},
	}
	for _, tt := range tests {
		codes, hashes, err := NewRecoveryCodes(tt.n)
		if (err != nil) != tt.wantErr {
			t.Errorf("NewRecoveryCodes(%d) err = %v; want error %v", tt.n, err, tt.wantErr)
		}
		if err == nil && (len(codes) != tt.n || len(hashes) != tt.n) {
			t.Errorf("NewRecoveryCodes(%d) returned %d codes, %d hashes", tt.n, len(codes), len(hashes))
		}
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abcd-efgh-jkmn", "abcdefghjkmn"},
		{"ABCD-EFGH-JKMN", "abcdefghjkmn"},
		{" abcd efgh\tjkmn ", "abcdefghjkmn"},
		{"a-b-c-d", "abcd"},
		{"oO0-iIlL1", "000" + "11111"},
		{"", ""},
		{"ünï", "ünï"}, // only ASCII look-alikes are mapped
	}
	for _, tt := range tests {
		if got := NormalizeRecoveryCode(tt.in); got != tt.want {
			t.Errorf("NormalizeRecoveryCode(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchRecoveryCode(t *testing.T) {
	codes := []string{"7kq2-mx9d-0pwh", "abcd-efgh-jkmn", "1111-2222-3333"}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = HashRecoveryCode(c)
	}
	withUsed := []string{"", hashes[1], "used", hashes[2]}
	dup := []string{hashes[0], hashes[0]}
	tests := []struct {
		name    string
		code    string
		hashes  []string
		wantIdx int
		wantOK  bool
	}{
		{"first", "7kq2-mx9d-0pwh", hashes, 0, true},
		{"middle", "abcd-efgh-jkmn", hashes, 1, true},
		{"last", "1111-2222-3333", hashes, 2, true},
		{"upper case and spaces", "7KQ2 MX9D 0PWH", hashes, 0, true},
		{"no dashes", "7kq2mx9d0pwh", hashes, 0, true},
		{"look-alikes", "7kq2-mx9d-OpWh", hashes, 0, true},
		{"i and l for 1", "iIlL-2222-3333", hashes, 2, true},
		{"wrong code", "7kq2-mx9d-0pwj", hashes, -1, false},
		{"too short", "7kq2-mx9d-0pw", hashes, -1, false},
		{"too long", "7kq2-mx9d-0pwhh", hashes, -1, false},
		{"bad symbol", "7kq2-mx9d-0pw!", hashes, -1, false},
		{"used entries skipped", "1111-2222-3333", withUsed, 3, true},
		{"empty entry never matches", "", withUsed, -1, false},
		{"duplicates give first", "7kq2-mx9d-0pwh", dup, 0, true},
		{"no hashes", "7kq2-mx9d-0pwh", nil, -1, false},
		{"upper-case stored hash", "7kq2-mx9d-0pwh", []string{strings.ToUpper(hashes[0])}, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, ok := MatchRecoveryCode(tt.code, tt.hashes)
			if idx != tt.wantIdx || ok != tt.wantOK {
				t.Fatalf("MatchRecoveryCode = %d, %v; want %d, %v", idx, ok, tt.wantIdx, tt.wantOK)
			}
		})
	}
}
