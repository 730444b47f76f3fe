package notify

import "strings"

// DefaultLang is the language Defaults falls back to.
const DefaultLang = "en"

// defaultTexts are the shipped templates, by language then kind. None
// needs a BAA: the default reminder leaves out date and time, so it may go
// through any channel; a practice with a BAA on file may write its own.
// The Spanish wording avoids letters outside the GSM 7-bit alphabet (á,
// í, ó, ú) where a natural phrasing allows, since one such letter turns a
// whole SMS into UCS-2 and cuts a segment from 160 characters to 70.
var defaultTexts = map[string]map[Kind]string{
	"en": {
		KindNewMessage:          "You have a new secure message from {{practice_name}}. Read it here: {{link}}",
		KindInvitation:          "{{practice_name}} invites you to message them securely. Join within {{expires_days}} days: {{link}}",
		KindAppointmentReminder: "Reminder: you have an upcoming appointment with {{practice_name}}. Details: {{link}}",
		KindOneTimeCode:         "Your {{practice_name}} sign-in code is {{code}}. It expires in {{minutes}} minutes. Do not share it.",
		KindStaffItem:           "A new item waits in your {{practice_name}} inbox: {{link}}",
		KindStaffUrgent:         "URGENT: an urgent item waits in the {{practice_name}} inbox: {{link}}",
		KindStaffInvitation:     "{{practice_name}} made you a sotto staff account. Choose your password within {{expires_days}} days: {{link}}",
	},
	"es": {
		KindNewMessage:          "Tiene un nuevo mensaje seguro de {{practice_name}}. Léalo en: {{link}}",
		KindInvitation:          "{{practice_name}} le invita a enviarle mensajes seguros. Únase en {{expires_days}} días: {{link}}",
		KindAppointmentReminder: "Recordatorio: tiene una cita con {{practice_name}}. Detalles: {{link}}",
		KindOneTimeCode:         "Su clave de acceso de {{practice_name}} es {{code}}. Vence en {{minutes}} minutos. No la comparta.",
		KindStaffItem:           "Hay un nuevo asunto en su bandeja de {{practice_name}}: {{link}}",
		KindStaffUrgent:         "URGENTE: hay un asunto urgente en la bandeja de {{practice_name}}: {{link}}",
		KindStaffInvitation:     "{{practice_name}} le creó una cuenta de personal en sotto. Elija su contraseña en {{expires_days}} días: {{link}}",
	},
}

// defaults holds defaultTexts parsed once; parsing them is checked by the
// tests, so a failure here is a programming error.
var defaults = func() map[string]map[Kind]*Template {
	m := make(map[string]map[Kind]*Template, len(defaultTexts))
	for lang, texts := range defaultTexts {
		m[lang] = make(map[Kind]*Template, len(texts))
		for kind, text := range texts {
			t, err := ParseTemplate(kind, lang, text)
			if err != nil {
				panic("notify: shipped template " + lang + "/" + string(kind) + ": " + err.Error())
			}
			m[lang][kind] = t
		}
	}
	return m
}()

// Languages returns the languages with shipped templates, sorted.
func Languages() []string { return []string{"en", "es"} }

// Defaults returns the shipped template of kind in lang, for organizations
// that have not written their own. lang may carry a region ("es-MX" and
// "es_US" give Spanish); any language without shipped templates gets
// English, so the result's Lang tells which one was used. The notifier
// calls it when an organization has no template for kind and the
// recipient's language. It errs only for an unknown kind (KindInvalid).
func Defaults(kind Kind, lang string) (*Template, error) {
	if !kind.Valid() {
		return nil, invalid("notify.Defaults", "Unknown notification kind.")
	}
	base, _, _ := strings.Cut(strings.ReplaceAll(strings.ToLower(lang), "_", "-"), "-")
	if byKind, ok := defaults[base]; ok {
		return byKind[kind], nil
	}
	return defaults[DefaultLang][kind], nil
}
