package sotto

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Patient is a person whose care the practice records. Every field except
// the ids, the care team and the timestamps is PHI: the store encrypts it
// under the patient's own data key and finds patients by phone, e-mail, MRN
// and birth date only through keyed blind indexes.
type Patient struct {
	ID              string    `json:"id"`
	OrgID           string    `json:"org_id"`
	GivenName       string    `json:"given_name"`
	FamilyName      string    `json:"family_name"`
	BirthDate       string    `json:"birth_date"` // YYYY-MM-DD
	Sex             Sex       `json:"sex"`
	MRN             string    `json:"mrn"`
	Phone           string    `json:"phone,omitempty"` // E.164
	Email           string    `json:"email,omitempty"`
	Language        string    `json:"language"`  // "en" or "es"
	TimeZone        string    `json:"time_zone"` // IANA name
	CareTeamUserIDs []string  `json:"care_team_user_ids"`
	DepartmentIDs   []string  `json:"department_ids"`
	UserID          string    `json:"user_id,omitempty"` // portal account, once the patient accepted an invitation
	CreatedAt       time.Time `json:"created_at"`
}

// Sex is the administrative sex recorded for a patient (FHIR
// AdministrativeGender).
type Sex string

// Administrative sexes.
const (
	SexFemale  Sex = "female"
	SexMale    Sex = "male"
	SexOther   Sex = "other"
	SexUnknown Sex = "unknown"
)

// Languages lists the languages sotto ships, in order.
var Languages = []string{"en", "es"}

// Field limits of a Patient.
const (
	MaxPersonNameLen = 100
	MaxMRNLen        = 64
	MaxCareTeam      = 50
)

// Normalize trims and canonicalizes p's fields in place (e-mail lower case,
// phone E.164 when it can be parsed, language lower case, defaults for
// language "en" and sex "unknown"). Validate must follow.
func (p *Patient) Normalize() {
	p.GivenName = strings.TrimSpace(p.GivenName)
	p.FamilyName = strings.TrimSpace(p.FamilyName)
	p.BirthDate = strings.TrimSpace(p.BirthDate)
	p.MRN = NormalizeMRN(p.MRN)
	p.Email = NormalizeEmail(p.Email)
	if n, err := NormalizePhone(p.Phone); err == nil {
		p.Phone = n
	}
	p.Language = strings.ToLower(strings.TrimSpace(p.Language))
	if p.Language == "" {
		p.Language = "en"
	}
	if p.Sex == "" {
		p.Sex = SexUnknown
	}
	p.TimeZone = strings.TrimSpace(p.TimeZone)
	if p.CareTeamUserIDs == nil {
		p.CareTeamUserIDs = []string{}
	}
	if p.DepartmentIDs == nil {
		p.DepartmentIDs = []string{}
	}
}

// Validate checks a normalized p. It returns a KindInvalid *Error naming
// the first bad field; the message never repeats the value. now bounds the
// birth date.
func (p *Patient) Validate(now time.Time) error {
	if err := validatePersonName("given_name", p.GivenName); err != nil {
		return err
	}
	if err := validatePersonName("family_name", p.FamilyName); err != nil {
		return err
	}
	if err := ValidateBirthDate(p.BirthDate, now); err != nil {
		return err
	}
	switch p.Sex {
	case SexFemale, SexMale, SexOther, SexUnknown:
	default:
		return Errorf(KindInvalid, "sex must be one of female, male, other, unknown.")
	}
	if p.MRN == "" {
		return Errorf(KindInvalid, "mrn is required.")
	}
	if len(p.MRN) > MaxMRNLen || strings.ContainsFunc(p.MRN, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return Errorf(KindInvalid, "mrn must be at most %d visible ASCII characters.", MaxMRNLen)
	}
	if p.Phone != "" {
		if _, err := NormalizePhone(p.Phone); err != nil {
			return err
		}
	}
	if p.Email != "" {
		if err := ValidateEmail(p.Email); err != nil {
			return err
		}
	}
	if !ValidLanguage(p.Language) {
		return Errorf(KindInvalid, "language must be one of en, es.")
	}
	if p.TimeZone == "" {
		return Errorf(KindInvalid, "time_zone is required.")
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" || len(p.TimeZone) > 64 {
		return Errorf(KindInvalid, "time_zone must be an IANA time zone such as America/Chicago.")
	}
	if len(p.CareTeamUserIDs) > MaxCareTeam || len(p.DepartmentIDs) > MaxCareTeam {
		return Errorf(KindInvalid, "care_team_user_ids and department_ids hold at most %d ids each.", MaxCareTeam)
	}
	return nil
}

// ValidLanguage reports whether lang is a language sotto ships.
func ValidLanguage(lang string) bool {
	for _, l := range Languages {
		if lang == l {
			return true
		}
	}
	return false
}

// validatePersonName checks a given or family name.
func validatePersonName(field, s string) error {
	switch {
	case s == "":
		return Errorf(KindInvalid, "%s is required.", field)
	case !utf8.ValidString(s):
		return Errorf(KindInvalid, "%s must be valid UTF-8 text.", field)
	case utf8.RuneCountInString(s) > MaxPersonNameLen:
		return Errorf(KindInvalid, "%s must be at most %d characters.", field, MaxPersonNameLen)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) }):
		return Errorf(KindInvalid, "%s must not contain control characters.", field)
	}
	return nil
}

// ValidateBirthDate checks that s is a YYYY-MM-DD calendar date, not after
// now and not more than 130 years before it.
func ValidateBirthDate(s string, now time.Time) error {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s {
		return Errorf(KindInvalid, "birth_date must be a date written YYYY-MM-DD.")
	}
	if d.After(now) || d.Before(now.AddDate(-130, 0, 0)) {
		return Errorf(KindInvalid, "birth_date must be a past date within the last 130 years.")
	}
	return nil
}

// NormalizeMRN trims a medical record number and upper-cases its letters,
// so that lookups ignore case.
func NormalizeMRN(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// NormalizePhone returns s as E.164 ("+" and 8 to 15 digits, the first not
// 0). Spaces, dots, dashes and parentheses are ignored; a leading "00" is
// read as "+". A number without a country code is refused rather than
// guessed. The error never repeats the number.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", Errorf(KindInvalid, "phone must be in international format, starting with + and the country code.")
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", Errorf(KindInvalid, "phone must contain only digits after the +.")
		}
	}
	n := b.String()
	if len(n) < 9 || len(n) > 16 || n[1] == '0' {
		return "", Errorf(KindInvalid, "phone must have 8 to 15 digits after the +, starting with the country code.")
	}
	return n, nil
}

// SearchTokens splits a name or query into lower-case, accent-folded words
// for blind-index search. Only letters and digits count; words shorter than
// two characters are dropped.
func SearchTokens(s string) []string {
	var out []string
	// Apostrophes join ("O'Brien" is one word); combining marks (a
	// decomposed "ñ") are dropped so that both spellings fold alike.
	s = strings.Map(func(r rune) rune {
		if r == '\'' || r == '’' || unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		w = foldAccents(strings.ToLower(w))
		if utf8.RuneCountInString(w) >= 2 {
			out = append(out, w)
		}
	}
	return out
}

// foldAccents maps common Latin letters with diacritics to their base
// letter, so "Peña" and "Pena" find each other.
func foldAccents(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 {
			return r
		}
		if b, ok := accentBase[r]; ok {
			return b
		}
		return r
	}, s)
}

var accentBase = func() map[rune]rune {
	m := map[rune]rune{}
	for base, set := range map[rune]string{
		'a': "àáâãäåāăą", 'c': "çćĉċč", 'e': "èéêëēĕėęě", 'i': "ìíîïĩīĭįı", 'n': "ñńņňŉ",
		'o': "òóôõöøōŏő", 'u': "ùúûüũūŭůűų", 'y': "ýÿŷ", 's': "śŝşš", 'z': "źżž", 'g': "ĝğġģ",
		'l': "ĺļľŀł", 'r': "ŕŗř", 't': "ţťŧ", 'd': "ďđ",
	} {
		for _, r := range set {
			m[r] = base
		}
	}
	return m
}()
