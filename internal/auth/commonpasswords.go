package auth

import (
	_ "embed"
	"strings"
)

// commonPasswords is the embedded block list: one lower-case password per
// line, sorted, unique, newline-terminated. It holds passwords that top
// every published breach-frequency list ("123456", "password",
// "qwertyuiop", "iloveyou", sports teams, pet and first names, keyboard
// walks, "correcthorsebatterystaple"...), written down from well-known
// public knowledge rather than copied from any one corpus, plus their
// common 12-to-16-character variants (a year, "1234", "123!" and the like
// appended). Short entries still matter: isCommonPassword also matches a
// listed word followed only by digits and punctuation, the first thing
// guessing tools try. TestCommonPasswordsFile checks the format.
//
// It is a string, so it cannot be modified.
//
//go:embed common-passwords.txt
var commonPasswords string

// minCommonBase is the shortest listed word that, followed by digits or
// punctuation, makes a password count as common.
const minCommonBase = 4

// isCommonPassword reports whether lower (an already lower-cased
// password) is on the embedded list, or is a listed entry of at least
// minCommonBase bytes followed only by ASCII digits, punctuation and
// spaces (e.g. "monkey" + "2024!!!!"). Both tests are also applied with
// spaces, dashes, dots and underscores removed, so "correct horse battery
// staple" counts as the listed "correcthorsebatterystaple".
func isCommonPassword(lower string) bool {
	collapsed := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '.':
			return -1
		}
		return r
	}, lower)
	return commonOrSuffixed(lower) || (collapsed != lower && commonOrSuffixed(collapsed))
}

// commonOrSuffixed reports whether s is listed, or is a listed entry of at
// least minCommonBase bytes followed only by ASCII non-letters.
func commonOrSuffixed(s string) bool {
	if listed(s) {
		return true
	}
	base := strings.TrimRightFunc(s, func(r rune) bool {
		return r < 0x80 && (r < 'a' || r > 'z')
	})
	return len(base) >= minCommonBase && base != s && listed(base)
}

// listed reports whether s is exactly one line of commonPasswords.
func listed(s string) bool {
	if s == "" || strings.ContainsRune(s, '\n') {
		return false
	}
	return strings.HasPrefix(commonPasswords, s+"\n") ||
		strings.Contains(commonPasswords, "\n"+s+"\n")
}
