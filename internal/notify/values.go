package notify

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Value limits.
const (
	maxPracticeName = 80  // characters
	maxLinkLen      = 512 // bytes
	maxDateTimeLen  = 40  // characters
	maxDigitRun     = 6   // longest run of digits outside code and numbers: 7 could be a phone number
)

// checkValue validates the value of variable name and returns it as it
// will be inserted (surrounding space trimmed). Its error text is a
// fixed phrase that completes "Variable "name" ...", never the value:
//
//   - practice_name: at most 80 characters, nothing URL- or e-mail-like
//     (no "://", "www.", "@" or host-like word such as "example.com") and
//     no run of 7 or more digits (a phone number);
//   - link: an absolute https URL (http only for localhost, 127.0.0.1 or
//     [::1]) of at most 512 bytes, without user info, '@' anywhere, or a
//     run of 7 or more digits in its query or fragment: a link must not
//     smuggle a phone number or an e-mail address;
//   - code: 4 to 10 ASCII digits;
//   - expires_days: a whole number from 1 to 365; minutes: 1 to 1440;
//   - date, time: at most 40 letters, digits, spaces and . , : / - '
//     characters, nothing URL-like, no run of 7 or more digits.
//
// Every value must be valid UTF-8 without control or invisible formatting
// characters, so none can break a line or reorder the text around it.
func checkValue(name, v string) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		return "", errors.New("is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", errors.New("holds a control or invisible character")
		}
	}
	switch name {
	case VarPracticeName:
		if utf8.RuneCountInString(v) > maxPracticeName {
			return "", errors.New("is longer than 80 characters")
		}
		if urlLike(v) || digitRun(v) > maxDigitRun {
			return "", errors.New("must not look like a link, an e-mail address or a phone number")
		}
	case VarLink:
		if err := checkLink(v); err != nil {
			return "", err
		}
	case VarCode:
		if len(v) < 4 || len(v) > 10 || !allDigits(v) {
			return "", errors.New("must be 4 to 10 digits")
		}
	case VarExpiresDays:
		if !number(v, 365) {
			return "", errors.New("must be a whole number from 1 to 365")
		}
	case VarMinutes:
		if !number(v, 1440) {
			return "", errors.New("must be a whole number from 1 to 1440")
		}
	case VarDate, VarTime:
		if utf8.RuneCountInString(v) > maxDateTimeLen {
			return "", errors.New("is longer than 40 characters")
		}
		for _, r := range v {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" .,:/-'", r) {
				return "", errors.New("may hold only letters, digits, spaces and . , : / - '")
			}
		}
		if urlLike(v) || digitRun(v) > maxDigitRun {
			return "", errors.New("must not look like a link or a phone number")
		}
	default:
		return "", errors.New("is unknown")
	}
	return v, nil
}

// checkLink validates a link value; see checkValue.
func checkLink(v string) error {
	if len(v) > maxLinkLen {
		return errors.New("is longer than 512 bytes")
	}
	if strings.ContainsAny(v, " \\") {
		return errors.New("must not hold spaces or backslashes")
	}
	u, err := url.Parse(v)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return errors.New("must be an absolute https link")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1"):
	default:
		return errors.New("must be an https link")
	}
	if u.User != nil {
		return errors.New("must not hold user information")
	}
	query, err := url.QueryUnescape(u.RawQuery)
	if err != nil {
		return errors.New("has a malformed query")
	}
	if strings.Contains(u.Host, "@") || strings.Contains(u.Path, "@") || strings.Contains(query, "@") || strings.Contains(u.Fragment, "@") {
		return errors.New("must not hold an '@'")
	}
	if digitRun(query) > maxDigitRun || digitRun(u.Fragment) > maxDigitRun {
		return errors.New("must not hold 7 or more digits in a row in its query or fragment")
	}
	return nil
}

// urlLike reports whether s holds something a phone would show as a link
// or an e-mail address: "://", "www.", '@', or a host-like word (labels of
// letters, digits and hyphens joined by dots, the last one 2 or more
// letters, as in "example.com" or "Dr.Smith").
func urlLike(s string) bool {
	l := strings.ToLower(s)
	if strings.Contains(l, "://") || strings.Contains(l, "www.") || strings.Contains(l, "@") {
		return true
	}
	words := strings.FieldsFunc(l, func(r rune) bool {
		return !(r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
	for _, w := range words {
		labels := strings.Split(strings.Trim(w, ".-"), ".")
		if len(labels) < 2 || labels[0] == "" {
			continue
		}
		last := labels[len(labels)-1]
		if utf8.RuneCountInString(last) >= 2 && strings.IndexFunc(last, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			return true
		}
	}
	return false
}

// digitRun returns the length of the longest run of ASCII digits in s.
func digitRun(s string) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// number reports whether s is a decimal integer from 1 to hi without
// sign or leading zero.
func number(s string, hi int) bool {
	if !allDigits(s) || s[0] == '0' || len(s) > 6 {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= hi
}
