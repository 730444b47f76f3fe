package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"sotto"
)

// Password length limits, in characters (Unicode code points), following
// NIST SP 800-63B §5.1.1.2: at least 12, and a generous maximum so that
// passphrases fit.
const (
	MinPasswordRunes = 12
	MaxPasswordRunes = 256
)

// Codes set on the *sotto.Error values returned by CheckPasswordPolicy, so
// that a client can tell the cases apart. All have Kind sotto.KindInvalid.
const (
	CodePasswordTooShort    = "password_too_short"
	CodePasswordTooLong     = "password_too_long"
	CodePasswordInvalid     = "password_invalid"
	CodePasswordPersonal    = "password_personal"
	CodePasswordCommon      = "password_common"
	CodePasswordPredictable = "password_predictable"
)

// minPersonalRunes is the shortest personal string CheckPasswordPolicy
// looks for; shorter ones ("Li", "Al") would reject too much.
const minPersonalRunes = 3

// CheckPasswordPolicy reports whether pw may be set as a new password,
// under NIST SP 800-63B rules and without composition rules:
//
//   - it must be valid UTF-8 and 12 to 256 characters (runes) long;
//   - it must not contain, case-insensitively, any of personal that is at
//     least 3 characters long (pass the user's name parts and e-mail
//     local part, e.g. from PersonalStrings);
//   - it must not be on the embedded list of common passwords, nor such a
//     password followed only by digits and punctuation;
//   - it must not be one short pattern repeated ("abcabcabcabc") or a run
//     of consecutive characters ("abcdefghijkl", "123456789012").
//
// The sign-up, password-change and password-reset handlers call it before
// HashPassword; login does not (existing passwords stay valid). It
// returns nil or a *sotto.Error of kind sotto.KindInvalid with one of the
// CodePassword* codes and a message telling the user what to choose
// instead. The message never contains pw or the personal strings.
func CheckPasswordPolicy(pw string, personal ...string) error {
	if !utf8.ValidString(pw) {
		return policyError(CodePasswordInvalid, "The password contains characters that are not valid text. Please type it again.")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordRunes {
		return policyError(CodePasswordTooShort, "Choose a password of at least 12 characters. A few unrelated words make a long password that is easy to remember.")
	}
	if n > MaxPasswordRunes {
		return policyError(CodePasswordTooLong, "Choose a password of at most 256 characters.")
	}
	lower := strings.ToLower(pw)
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if utf8.RuneCountInString(p) >= minPersonalRunes && strings.Contains(lower, p) {
			return policyError(CodePasswordPersonal, "Choose a password that does not contain your name or e-mail address.")
		}
	}
	if isCommonPassword(lower) {
		return policyError(CodePasswordCommon, "This password is too common and easy to guess. Choose a different one, such as a few unrelated words.")
	}
	if isPredictable([]rune(lower)) {
		return policyError(CodePasswordPredictable, "This password is a repeated or sequential pattern and easy to guess. Choose a different one, such as a few unrelated words.")
	}
	return nil
}

// policyError returns a client-safe invalid-input error with code.
func policyError(code, msg string) error {
	e := sotto.Errorf(sotto.KindInvalid, "%s", msg)
	e.Op = "auth.CheckPasswordPolicy"
	e.Code = code
	return e
}

// maxRepeatUnit is the longest unit isPredictable looks for repeats of.
// With at least 12 runes, a unit of 4 or fewer repeats three times or more.
const maxRepeatUnit = 4

// isPredictable reports whether r is a unit of at most maxRepeatUnit runes
// repeated ("aaaaaaaaaaaa", "abababababab", "1231231231231") or a run of
// consecutive code points in one direction ("abcdefghijkl", "zyxwvutsrqpo"),
// digits wrapping from 9 to 0 ("123456789012") and back.
func isPredictable(r []rune) bool {
	if len(r) < 2 {
		return true
	}
	for u := 1; u <= maxRepeatUnit && u < len(r); u++ {
		repeated := true
		for i := u; i < len(r); i++ {
			if r[i] != r[i-u] {
				repeated = false
				break
			}
		}
		if repeated {
			return true
		}
	}
	for _, step := range []rune{1, -1} {
		run := true
		for i := 1; i < len(r); i++ {
			if !consecutive(r[i-1], r[i], step) {
				run = false
				break
			}
		}
		if run {
			return true
		}
	}
	return false
}

// consecutive reports whether b follows a by step, with digits wrapping.
func consecutive(a, b, step rune) bool {
	if b-a == step {
		return true
	}
	switch {
	case step == 1 && a == '9' && b == '0':
		return true
	case step == -1 && a == '0' && b == '9':
		return true
	}
	return false
}

// PersonalStrings returns the parts of a user's name and e-mail address
// that CheckPasswordPolicy should refuse inside a password: each word of
// name and the e-mail local part, plus the pieces of that local part split
// at dots, dashes, underscores and plus signs. Only strings of at least 3
// characters are returned, lower-cased and deduplicated, in order.
//
// Handlers call it with the values the user is signing up or known with
// and pass the result to CheckPasswordPolicy. It never fails: an address
// it cannot parse contributes its text before the last "@", if any. The result is
// personal data and must not be logged.
func PersonalStrings(name, email string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if utf8.RuneCountInString(s) >= minPersonalRunes && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || (unicode.IsPunct(r) && r != '\'')
	}) {
		add(w)
	}
	addr := strings.TrimSpace(email)
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local := addr[:at]
		add(local)
		for _, p := range strings.FieldsFunc(local, func(r rune) bool {
			return r == '.' || r == '-' || r == '_' || r == '+'
		}) {
			add(p)
		}
	}
	return out
}
