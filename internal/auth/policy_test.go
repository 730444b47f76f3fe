package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"sotto"
)

func TestCheckPasswordPolicy(t *testing.T) {
	personal := []string{"Margaret", "Oyelaran", "mo.oyelaran", "Li", ""}
	tests := []struct {
		name     string
		pw       string
		personal []string
		code     string // "" means accepted
	}{
		{"passphrase", "violet tractor anchors soup", nil, ""},
		{"exactly 12", "k7#vR2m!xQ9z", nil, ""},
		{"11 chars", "k7#vR2m!xQ9", nil, CodePasswordTooShort},
		{"empty", "", nil, CodePasswordTooShort},
		{"24 bytes but 8 runes", "日本語パスワード", nil, CodePasswordTooShort},
		{"12 runes multibyte", "日本語の長いパスワードです", nil, ""},
		{"256 runes", strings.Repeat("violet-tractor-9", 16), nil, ""},
		{"257 runes", strings.Repeat("violet-tractor-9", 16) + "q", nil, CodePasswordTooLong},
		{"invalid utf8", "valid prefix \xff\xfe more text", nil, CodePasswordInvalid},
		{"common listed", "password1234", nil, CodePasswordCommon},
		{"common upper case", "PASSWORD1234", nil, CodePasswordCommon},
		{"common mixed case", "QwertyUiopAs", nil, CodePasswordCommon},
		{"common digits", "123456789012", nil, CodePasswordCommon},
		{"common iloveyou", "iloveyou1234", nil, CodePasswordCommon},
		{"common with suffix", "monkey2024!!!!", nil, CodePasswordCommon},
		{"common with spaces", "Correct Horse Battery Staple", nil, CodePasswordCommon},
		{"common with dashes", "i-love-you-forever", nil, CodePasswordCommon},
		{"common prefix only is fine", "monkeybusiness at the zoo", nil, ""},
		{"repeated char", "zzzzzzzzzzzzzz", nil, CodePasswordPredictable},
		{"repeated pair", "k9k9k9k9k9k9k9", nil, CodePasswordPredictable},
		{"repeated 4 partial", "wxq7wxq7wxq7wx", nil, CodePasswordPredictable},
		{"ascending letters", "lmnopqrstuvw", nil, CodePasswordPredictable},
		{"descending letters", "wvutsrqponml", nil, CodePasswordPredictable},
		{"ascending digits wrap", "567890123456", nil, CodePasswordPredictable},
		{"descending digits wrap", "321098765432", nil, CodePasswordPredictable},
		{"name part", "purple margaret sunrise", personal, CodePasswordPersonal},
		{"name part upper", "purple MARGARET sunrise", personal, CodePasswordPersonal},
		{"surname", "xoyelaranx-rides-bikes", personal, CodePasswordPersonal},
		{"email local", "MO.OYELARAN-and-friends", personal, CodePasswordPersonal},
		{"short personal ignored", "lilies bloom in spring", personal, ""},
		{"empty personal ignored", "lilies bloom in spring", []string{"", "  "}, ""},
		{"personal with spaces trimmed", "purple margaret sunrise", []string{"  Margaret  "}, CodePasswordPersonal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordPolicy(tt.pw, tt.personal...)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var e *sotto.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T); want *sotto.Error", err, err)
			}
			if e.Kind != sotto.KindInvalid || e.Code != tt.code {
				t.Fatalf("kind, code = %q, %q; want %q, %q", e.Kind, e.Code, sotto.KindInvalid, tt.code)
			}
			msg := sotto.ErrorMessage(err)
			if msg == "" || !strings.HasSuffix(msg, ".") {
				t.Fatalf("client message %q is not a sentence", msg)
			}
			for _, secret := range append([]string{tt.pw}, tt.personal...) {
				if utf8.RuneCountInString(secret) >= 3 && (strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret))) {
					t.Fatalf("error %q echoes %q", err, secret)
				}
			}
		})
	}
}

func TestIsPredictable(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"a", true},
		{"aaaaaaaaaaaa", true},
		{"abcdabcdabcd", true},
		{"abcdeabcdeabcde", false}, // unit of 5 is beyond maxRepeatUnit
		{"abcdefghijkl", true},
		{"abcdefghijkm", false},
		{"123456789012", true},
		{"1234567890ab", false},
		{"098765432109", true},
		{"aaaaaaaaaaab", false},
	}
	for _, tt := range tests {
		if got := isPredictable([]rune(tt.in)); got != tt.want {
			t.Errorf("isPredictable(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestPersonalStrings(t *testing.T) {
	tests := []struct {
		name, fullName, email string
		want                  []string
	}{
		{"typical", "Margaret O'Brien-Smith", "Maggie.OBrien+sotto@Example.org",
			[]string{"margaret", "o'brien", "smith", "maggie.obrien+sotto", "maggie", "obrien", "sotto"}},
		{"short parts dropped", "Li Wu", "li@example.org", nil},
		{"display-name address", "", "Ann Lee <ann.lee@example.org>",
			[]string{"ann.lee", "ann", "lee"}},
		{"unparsable address", "Zoë Ñúñez", "zoe@@bad",
			[]string{"zoë", "ñúñez", "zoe@"}},
		{"duplicates removed", "Jordan Jordan", "jordan@example.org", []string{"jordan"}},
		{"no email", "Sam Okafor", "", []string{"sam", "okafor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PersonalStrings(tt.fullName, tt.email)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PersonalStrings = %q; want %q", got, tt.want)
			}
		})
	}
	// The output feeds CheckPasswordPolicy.
	if err := CheckPasswordPolicy("the maggie and her bicycle", PersonalStrings("Margaret Smith", "maggie.s@example.org")...); err == nil {
		t.Fatal("password containing e-mail part accepted")
	}
}

func TestCommonPasswordsFile(t *testing.T) {
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("file does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 1000 {
		t.Fatalf("%d entries; want at least 1000", len(lines))
	}
	long := 0
	for i, l := range lines {
		switch {
		case l == "":
			t.Fatalf("line %d is empty", i+1)
		case l != strings.TrimSpace(l):
			t.Fatalf("line %d has surrounding space", i+1)
		case l != strings.ToLower(l):
			t.Fatalf("line %d is not lower case", i+1)
		case i > 0 && lines[i-1] >= l:
			t.Fatalf("line %d is not sorted or is a duplicate", i+1)
		}
		if utf8.RuneCountInString(l) >= MinPasswordRunes {
			long++
		}
		if !listed(l) {
			t.Fatalf("listed(line %d) = false", i+1)
		}
	}
	if long < 500 {
		t.Errorf("%d entries of %d+ characters; want at least 500", long, MinPasswordRunes)
	}
	for _, s := range []string{"password", "123456789012", "qwertyuiopas", "iloveyou1234"} {
		if !listed(s) {
			t.Errorf("%q is not listed", s)
		}
	}
	for _, s := range []string{"", "passwor", "assword", "password\n123456"} {
		if listed(s) {
			t.Errorf("listed(%q) = true", s)
		}
	}
}
