package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Recovery code format: 12 symbols from a 32-symbol alphabet (60 bits),
// shown as three dash-separated groups of four, e.g. "7kq2-mx9d-0pwh".
const (
	// RecoveryCodeCount is how many codes a user is issued at a time.
	RecoveryCodeCount = 10
	// maxRecoveryCodes bounds NewRecoveryCodes(n).
	maxRecoveryCodes = 100

	recoverySymbols = 12
	recoveryGroup   = 4
	// recoveryAlphabet is Crockford's base-32 alphabet in lower case: the
	// digits and letters without i, l, o and u. NormalizeRecoveryCode maps
	// i and l to 1 and o to 0, so the look-alikes a user may type still
	// match; u is left out to avoid accidental words.
	recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
)

// NewRecoveryCodes returns n fresh recovery codes, formatted for display
// ("xxxx-xxxx-xxxx", 60 random bits each), and their hashes, index for
// index. Issue RecoveryCodeCount (ten) codes at a time.
//
// The MFA enrolment and "regenerate codes" handlers call it, show codes
// to the user once and store only hashes. Each hash is the lower-case hex
// SHA-256 of the normalized code. A fast unsalted hash is enough here,
// unlike for passwords, because the input is not chosen by a person: the
// 2^60 codes are equally likely, so a slow hash buys nothing that 60 bits
// do not already give, and dictionary attacks do not apply. Exhausting one
// code's space at 10^10 SHA-256 a second takes about 3.7 years. An
// attacker holding a stolen table of N unsalted hashes finds *some* code
// N times faster, so recovery codes must only ever stand in for the second
// factor (the password is still required), are single use, and are
// accepted only behind a Throttle.
//
// It returns an error if n is not between 1 and 100, or, wrapped, if
// crypto/rand fails.
func NewRecoveryCodes(n int) (codes []string, hashes []string, err error) {
	if n < 1 || n > maxRecoveryCodes {
		return nil, nil, fmt.Errorf("new recovery codes: count %d not in [1, %d]", n, maxRecoveryCodes)
	}
	codes = make([]string, n)
	hashes = make([]string, n)
	raw := make([]byte, recoverySymbols)
	for i := range codes {
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, fmt.Errorf("new recovery codes: %w", err)
		}
		var b strings.Builder
		for j, r := range raw {
			if j > 0 && j%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			// 256 is a multiple of 32, so masking keeps the draw uniform.
			b.WriteByte(recoveryAlphabet[r&31])
		}
		codes[i] = b.String()
		hashes[i] = HashRecoveryCode(codes[i])
	}
	return codes, hashes, nil
}

// NormalizeRecoveryCode returns the canonical form of a code as a user
// typed it: lower case, with spaces, tabs and dashes removed, and the
// look-alikes i and l read as 1 and o as 0. It does not validate; a
// normalized string that is not 12 alphabet symbols simply never matches.
// Anyone may call it; it cannot fail.
func NormalizeRecoveryCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-':
			return -1
		case 'i', 'I', 'l', 'L':
			return '1'
		case 'o', 'O':
			return '0'
		}
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// HashRecoveryCode returns the lower-case hex SHA-256 of the normalized
// code: the value NewRecoveryCodes returns as its hash and the store
// keeps. Anyone may call it; it cannot fail.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}

// validRecoveryCode reports whether norm is a normalized code: exactly
// recoverySymbols symbols of recoveryAlphabet.
func validRecoveryCode(norm string) bool {
	if len(norm) != recoverySymbols {
		return false
	}
	for i := 0; i < len(norm); i++ {
		if strings.IndexByte(recoveryAlphabet, norm[i]) < 0 {
			return false
		}
	}
	return true
}

// MatchRecoveryCode reports whether code, as the user typed it, matches
// one of hashes (as returned by NewRecoveryCodes), and which. The login
// handler calls it with the user's unused hashes, then deletes or marks
// the matched one used so that it works only once. Entries that are
// empty or not hashes never match, so a used code may be blanked in
// place.
//
// Every entry is compared in constant time and the loop never exits
// early, so timing reveals neither whether nor where a code matched.
// Input that cannot be a code (wrong length or symbols after
// normalization) returns (-1, false) at once, as does an empty hashes.
func MatchRecoveryCode(code string, hashes []string) (index int, ok bool) {
	norm := NormalizeRecoveryCode(code)
	if !validRecoveryCode(norm) {
		return -1, false
	}
	sum := sha256.Sum256([]byte(norm))
	want := []byte(hex.EncodeToString(sum[:]))
	index = -1
	found := 0
	for i, h := range hashes {
		eq := subtle.ConstantTimeCompare([]byte(h), want)
		// Record the first match only: take i when eq and not yet found.
		take := eq &^ found
		index = subtle.ConstantTimeSelect(take, i, index)
		found |= eq
	}
	return index, found == 1
}
