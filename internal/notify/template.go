package notify

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sotto"
)

// Kind is the kind of a notification. It fixes which variables a template
// may use.
type Kind string

// The notification kinds.
const (
	KindNewMessage          Kind = "new_message"          // a new secure message waits
	KindInvitation          Kind = "invitation"           // a patient or proxy is invited to join
	KindAppointmentReminder Kind = "appointment_reminder" // an appointment is coming up
	KindOneTimeCode         Kind = "one_time_code"        // a sign-in code
	KindStaffItem           Kind = "staff_item"           // a new item in a staff member's queue
	KindStaffUrgent         Kind = "staff_urgent"         // an urgent item waits (push, and SMS to the on-call person)
	KindStaffInvitation     Kind = "staff_invitation"     // a new staff member is asked to set a password
)

// Template variables. Each kind allows a fixed subset (see Vars).
const (
	VarPracticeName = "practice_name" // the organization's display name
	VarLink         = "link"          // an https link into sotto
	VarExpiresDays  = "expires_days"  // days until an invitation expires
	VarDate         = "date"          // an appointment's date, preformatted for the language
	VarTime         = "time"          // an appointment's time, preformatted for the language
	VarCode         = "code"          // a one-time code
	VarMinutes      = "minutes"       // minutes until a one-time code expires
)

// MaxTemplateLen is the longest template text, in characters, that
// ParseTemplate accepts: two 160-character SMS segments.
const MaxTemplateLen = 320

// kindVars lists the variables each kind allows, in display order.
var kindVars = map[Kind][]string{
	KindNewMessage:          {VarPracticeName, VarLink},
	KindInvitation:          {VarPracticeName, VarLink, VarExpiresDays},
	KindAppointmentReminder: {VarPracticeName, VarLink, VarDate, VarTime},
	KindOneTimeCode:         {VarPracticeName, VarCode, VarMinutes},
	KindStaffItem:           {VarPracticeName, VarLink},
	KindStaffUrgent:         {VarPracticeName, VarLink},
	KindStaffInvitation:     {VarPracticeName, VarLink, VarExpiresDays},
}

// requiredVar is the variable without which a kind's notification is
// useless: the link to follow or the code to type.
var requiredVar = map[Kind]string{
	KindNewMessage:      VarLink,
	KindInvitation:      VarLink,
	KindOneTimeCode:     VarCode,
	KindStaffItem:       VarLink,
	KindStaffUrgent:     VarLink,
	KindStaffInvitation: VarLink,
}

// Kinds returns every notification kind.
func Kinds() []Kind {
	return []Kind{KindNewMessage, KindInvitation, KindAppointmentReminder, KindOneTimeCode, KindStaffItem, KindStaffUrgent, KindStaffInvitation}
}

// Valid reports whether k is one of the notification kinds.
func (k Kind) Valid() bool { _, ok := kindVars[k]; return ok }

// Vars returns the variables a template of kind k may use, or nil for an
// unknown kind. The caller may modify the slice.
func (k Kind) Vars() []string { return append([]string(nil), kindVars[k]...) }

func (k Kind) allows(name string) bool {
	for _, v := range kindVars[k] {
		if v == name {
			return true
		}
	}
	return false
}

// Template is a parsed notification template: literal text and {{name}}
// placeholders. It is immutable and safe for concurrent use. Build one
// with ParseTemplate or Defaults.
type Template struct {
	kind  Kind
	lang  string
	text  string
	parts []part
	used  []string // distinct variables, in order of first use
}

// part is a literal (name == "") or a placeholder.
type part struct{ lit, name string }

// Kind returns the template's notification kind.
func (t *Template) Kind() Kind { return t.kind }

// Lang returns the template's language tag, lower-cased, e.g. "en", "es-mx".
func (t *Template) Lang() string { return t.lang }

// Text returns the template's source text, surrounding space trimmed; it is
// what the store keeps and what ParseTemplate accepts again.
func (t *Template) Text() string { return t.text }

// Vars returns the distinct variables the template uses, in order of
// first use. The caller may modify the slice.
func (t *Template) Vars() []string { return append([]string(nil), t.used...) }

// Uses reports whether the template uses variable name.
func (t *Template) Uses(name string) bool {
	for _, v := range t.used {
		if v == name {
			return true
		}
	}
	return false
}

// NeedsBAA reports whether the template may carry protected health
// information and so may only go through a channel with a business
// associate agreement on file: true when it uses {{date}} or {{time}} (an
// appointment's date and time are not PHI-free in every jurisdiction).
func (t *Template) NeedsBAA() bool { return t.Uses(VarDate) || t.Uses(VarTime) }

// ParseTemplate parses text as a template of kind in language lang (a
// BCP 47 tag such as "en" or "es-MX"). The admin API calls it before
// storing an organization's template, and the notifier on each stored
// template it loads.
//
// Text is literal characters and {{name}} placeholders (spaces inside the
// braces are allowed). It errs, with a KindInvalid *sotto.Error whose
// message names the problem and, for a placeholder, the variable, when:
// kind is unknown; lang is not a language tag; text is empty, longer than
// MaxTemplateLen characters, not UTF-8, or holds control or invisible
// formatting characters other than newline; a brace is unbalanced or a
// placeholder malformed; a variable is not allowed for kind (Code
// "template_variable_not_allowed"); or the kind's essential variable
// (link for new_message and invitation, code for one_time_code) is
// missing.
func ParseTemplate(kind Kind, lang, text string) (*Template, error) {
	const op = "notify.ParseTemplate"
	if !kind.Valid() {
		return nil, invalid(op, "Unknown notification kind.")
	}
	lang, ok := normalizeLang(lang)
	if !ok {
		return nil, invalid(op, "The template language must be a language tag such as \"en\" or \"es\".")
	}
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, invalid(op, "The template text is empty.")
	case !utf8.ValidString(text):
		return nil, invalid(op, "The template text is not valid UTF-8.")
	case utf8.RuneCountInString(text) > MaxTemplateLen:
		return nil, invalid(op, "The template text is longer than "+strconv.Itoa(MaxTemplateLen)+" characters.")
	}
	for i, r := range []rune(text) {
		if (r != '\n' && unicode.IsControl(r)) || unicode.Is(unicode.Cf, r) {
			return nil, invalid(op, "The template text holds a control or invisible character at position "+strconv.Itoa(i+1)+".")
		}
	}
	t := &Template{kind: kind, lang: lang, text: text}
	rest := text
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		pos := strconv.Itoa(utf8.RuneCountInString(text[:len(text)-len(rest)+i]) + 1)
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		if !strings.HasPrefix(rest[i:], "{{") {
			return nil, invalid(op, "Unbalanced brace at position "+pos+": placeholders are written {{name}}.")
		}
		end := strings.Index(rest[i+2:], "}}")
		if end < 0 {
			return nil, invalid(op, "Unclosed placeholder at position "+pos+".")
		}
		inner := rest[i+2 : i+2+end]
		name := strings.Trim(inner, " ")
		if strings.ContainsAny(inner, "{}") || !isName(name) {
			return nil, invalid(op, "Malformed placeholder at position "+pos+": placeholders are written {{name}}.")
		}
		if !kind.allows(name) {
			return nil, &sotto.Error{Kind: sotto.KindInvalid, Code: "template_variable_not_allowed", Op: op,
				Msg: "Template variable \"" + name + "\" is not allowed in a " + string(kind) +
					" notification; allowed: " + strings.Join(kindVars[kind], ", ") + "."}
		}
		t.parts = append(t.parts, part{name: name})
		if !t.Uses(name) {
			t.used = append(t.used, name)
		}
		rest = rest[i+2+end+2:]
	}
	if req := requiredVar[kind]; req != "" && !t.Uses(req) {
		return nil, invalid(op, "A "+string(kind)+" template must use {{"+req+"}}.")
	}
	return t, nil
}

// Render returns the template with each placeholder replaced by its value
// from vars. The notifier calls it once per recipient, just before
// sending. Every variable the template uses must be present and valid
// (see the Var constants and checkValue); variables of the template's
// kind that it does not use are ignored, so a caller may always pass
// date and time to a reminder template that omits them; a variable not
// allowed for the kind at all is refused. Errors are KindInvalid
// *sotto.Errors naming the variable, never its value. The result holds
// links and codes: never log it.
func (t *Template) Render(vars map[string]string) (string, error) {
	const op = "notify.Template.Render"
	for name := range vars {
		if !t.kind.allows(name) {
			if !isName(name) {
				return "", invalid(op, "A variable with a malformed name was given.")
			}
			return "", invalid(op, "Variable \""+name+"\" is not allowed in a "+string(t.kind)+" notification.")
		}
	}
	clean := make(map[string]string, len(t.used))
	for _, name := range t.used {
		v, ok := vars[name]
		if !ok || strings.TrimSpace(v) == "" {
			return "", invalid(op, "Variable \""+name+"\" is required by the template.")
		}
		v, err := checkValue(name, v)
		if err != nil {
			return "", invalid(op, "Variable \""+name+"\" "+err.Error()+".")
		}
		clean[name] = v
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
		} else {
			b.WriteString(clean[p.name])
		}
	}
	return b.String(), nil
}

// isName reports whether s has the shape of a variable name: a letter or
// underscore, then up to 31 letters, digits or underscores (ASCII). Only
// such strings are ever echoed in an error message.
func isName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// normalizeLang lower-cases a BCP 47-shaped tag: a 2-3 letter language and
// up to three subtags of 1-8 letters or digits, separated by '-' or '_'
// (normalized to '-').
func normalizeLang(s string) (string, bool) {
	s = strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	subtags := strings.Split(s, "-")
	if len(subtags) > 4 || len(subtags[0]) < 2 || len(subtags[0]) > 3 {
		return "", false
	}
	for i, st := range subtags {
		if st == "" || len(st) > 8 {
			return "", false
		}
		for j := 0; j < len(st); j++ {
			c := st[j]
			if !('a' <= c && c <= 'z') && (i == 0 || c < '0' || c > '9') {
				return "", false
			}
		}
	}
	return s, true
}

// invalid returns a KindInvalid *sotto.Error with a client-safe message.
func invalid(op, msg string) error {
	return &sotto.Error{Kind: sotto.KindInvalid, Op: op, Msg: msg}
}
