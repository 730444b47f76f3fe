package notify

import (
	"errors"
	"strings"
	"testing"

	"sotto"
)

// wantInvalid fails unless err is a KindInvalid *sotto.Error whose message
// holds each of want.
func wantInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	var e *sotto.Error
	if !errors.As(err, &e) || e.Kind != sotto.KindInvalid {
		t.Fatalf("err = %v; want a KindInvalid *sotto.Error", err)
	}
	for _, w := range want {
		if !strings.Contains(e.Msg, w) {
			t.Errorf("message %q does not mention %q", e.Msg, w)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	tpl, err := ParseTemplate(KindNewMessage, "en-US", "  {{ practice_name }}: new message.\n{{link}} {{link}}  ")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Kind() != KindNewMessage || tpl.Lang() != "en-us" {
		t.Errorf("kind, lang = %q, %q", tpl.Kind(), tpl.Lang())
	}
	if got := strings.Join(tpl.Vars(), ","); got != "practice_name,link" {
		t.Errorf("Vars = %s", got)
	}
	if tpl.Text() != "{{ practice_name }}: new message.\n{{link}} {{link}}" {
		t.Errorf("Text = %q: want surrounding space trimmed", tpl.Text())
	}
	out, err := tpl.Render(map[string]string{VarPracticeName: "Lakeside Clinic", VarLink: "https://sotto.example.org/m/1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Lakeside Clinic: new message.\nhttps://sotto.example.org/m/1 https://sotto.example.org/m/1"; out != want {
		t.Errorf("Render = %q; want %q", out, want)
	}
	if _, err := ParseTemplate(KindNewMessage, "en", strings.Repeat("é", MaxTemplateLen-8)+"{{link}}"); err != nil {
		t.Errorf("a template of exactly %d characters: %v", MaxTemplateLen, err)
	}
}

func TestParseTemplateRefuses(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		lang string
		text string
		want []string
	}{
		{"unknown kind", "lab_result", "en", "{{link}}", []string{"kind"}},
		{"empty lang", KindNewMessage, "", "{{link}}", []string{"language"}},
		{"bad lang", KindNewMessage, "english!", "{{link}}", []string{"language"}},
		{"empty", KindNewMessage, "en", "", []string{"empty"}},
		{"blank", KindNewMessage, "en", " \n\t ", []string{"empty"}},
		{"too long", KindNewMessage, "en", strings.Repeat("a", MaxTemplateLen-7) + "{{link}}", []string{"320"}},
		{"not utf-8", KindNewMessage, "en", "{{link}} \xff", []string{"UTF-8"}},
		{"control", KindNewMessage, "en", "{{link}}\x1b[2J", []string{"control", "position 9"}},
		{"bidi override", KindNewMessage, "en", "{{link}} \u202emoc.live", []string{"invisible"}},
		{"zero width", KindNewMessage, "en", "{{li\u200bnk}}", []string{"invisible"}},
		{"single open", KindNewMessage, "en", "Hi {name} {{link}}", []string{"brace", "position 4"}},
		{"single close", KindNewMessage, "en", "{{link}} done}", []string{"brace", "position 14"}},
		{"triple", KindNewMessage, "en", "{{{link}}}", []string{"Malformed"}},
		{"unclosed", KindNewMessage, "en", "Read: {{link", []string{"Unclosed", "position 7"}},
		{"empty placeholder", KindNewMessage, "en", "{{}} {{link}}", []string{"Malformed"}},
		{"spaced name", KindNewMessage, "en", "{{li nk}}", []string{"Malformed"}},
		{"expression", KindNewMessage, "en", "{{.Patient.Name}} {{link}}", []string{"Malformed"}},
		{"unknown variable", KindNewMessage, "en", "Hi {{patient_name}}: {{link}}", []string{`"patient_name"`, "practice_name, link"}},
		{"other kind's variable", KindNewMessage, "en", "{{code}} {{link}}", []string{`"code"`}},
		{"date in invitation", KindInvitation, "en", "{{link}} {{date}}", []string{`"date"`}},
		{"case matters", KindNewMessage, "en", "{{Link}}", []string{`"Link"`}},
		{"no link", KindNewMessage, "en", "{{practice_name}} has news.", []string{"{{link}}"}},
		{"no code", KindOneTimeCode, "es", "Su clave vence en {{minutes}} minutos.", []string{"{{code}}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tt.kind, tt.lang, tt.text)
			if tpl != nil {
				t.Errorf("got a template for %q", tt.text)
			}
			wantInvalid(t, err, tt.want...)
		})
	}
}

func TestUnknownVariableCode(t *testing.T) {
	_, err := ParseTemplate(KindAppointmentReminder, "es", "{{diagnosis}} {{date}}")
	if got := sotto.ErrorCode(err); got != "template_variable_not_allowed" {
		t.Errorf("code = %q", got)
	}
	if msg := sotto.ErrorMessage(err); !strings.Contains(msg, `"diagnosis"`) {
		t.Errorf("client message %q does not name the variable", msg)
	}
}

// appointmentTemplate uses every appointment_reminder variable.
const appointmentTemplate = "{{practice_name}}: appointment {{date}} at {{time}}. {{link}}"

func TestRender(t *testing.T) {
	tpl, err := ParseTemplate(KindAppointmentReminder, "en", "Reminder from {{practice_name}}: {{link}}")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{VarPracticeName: " Lakeside Clinic ", VarLink: "https://sotto.example.org/a/7", VarDate: "March 3", VarTime: "10:30 AM"}
	out, err := tpl.Render(vars)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Reminder from Lakeside Clinic: https://sotto.example.org/a/7"; out != want {
		t.Errorf("Render = %q; want %q (date and time unused, name trimmed)", out, want)
	}

	delete(vars, VarLink)
	_, err = tpl.Render(vars)
	wantInvalid(t, err, `"link"`, "required")

	vars[VarLink] = "https://sotto.example.org/a/7"
	vars["patient_name"] = "Jane Canary"
	_, err = tpl.Render(vars)
	wantInvalid(t, err, `"patient_name"`, "not allowed")
	if strings.Contains(err.Error(), "Jane") {
		t.Errorf("error %q echoes a value", err)
	}

	_, err = tpl.Render(map[string]string{VarPracticeName: "Lakeside", VarLink: "https://x.example/", "$(rm -rf)": "x"})
	wantInvalid(t, err, "malformed name")

	full, err := ParseTemplate(KindAppointmentReminder, "en", appointmentTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.Render(map[string]string{VarPracticeName: "Lakeside", VarLink: "https://x.example/", VarDate: "March 3", VarTime: "  "}); err == nil {
		t.Error("a blank time was accepted")
	}
}

func TestRenderValues(t *testing.T) {
	tpls := map[string]*Template{}
	for _, k := range Kinds() {
		text := map[Kind]string{
			KindNewMessage:          "{{practice_name}} {{link}}",
			KindInvitation:          "{{practice_name}} {{link}} {{expires_days}}",
			KindAppointmentReminder: appointmentTemplate,
			KindOneTimeCode:         "{{practice_name}} {{code}} {{minutes}}",
			KindStaffItem:           "{{practice_name}} {{link}}",
			KindStaffUrgent:         "{{practice_name}} {{link}}",
			KindStaffInvitation:     "{{practice_name}} {{link}} {{expires_days}}",
		}[k]
		tpl, err := ParseTemplate(k, "en", text)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tpl.Vars() {
			if tpls[v] == nil {
				tpls[v] = tpl
			}
		}
	}
	good := map[string]string{
		VarPracticeName: "Lakeside Clinic", VarLink: "https://sotto.example.org/m/1", VarExpiresDays: "7",
		VarDate: "March 3", VarTime: "10:30 AM", VarCode: "123456", VarMinutes: "10",
	}
	tests := []struct {
		name, value string
		ok          bool
	}{
		{VarPracticeName, "Dr. Testy McTestface re: diabetes", true}, // admin-set, not PHI by construction
		{VarPracticeName, "St. Mary's Family Practice, P.C.", true},
		{VarPracticeName, "Clínica Niños Sanos 24/7", true},
		{VarPracticeName, strings.Repeat("ñ", 80), true},
		{VarPracticeName, strings.Repeat("ñ", 81), false},
		{VarPracticeName, "Lakeside https://evil.example", false},
		{VarPracticeName, "Visit www.lakeside", false},
		{VarPracticeName, "Lakeside.com", false},
		{VarPracticeName, "mail canary@example.org", false},
		{VarPracticeName, "Lakeside 5551234567", false},
		{VarPracticeName, "Lakeside\nCall now", false},
		{VarPracticeName, "Lakeside \u202eevil", false},
		{VarLink, "https://sotto.example.org/i/AbC-_x9?lang=es#top", true},
		{VarLink, "http://localhost:8080/m/1", true},
		{VarLink, "http://127.0.0.1/m/1", true},
		{VarLink, "http://[::1]:8080/m/1", true},
		{VarLink, "http://sotto.example.org/m/1", false},
		{VarLink, "http://localhost.evil.example/m/1", false},
		{VarLink, "javascript:alert(1)", false},
		{VarLink, "/m/1", false},
		{VarLink, "https://user:pw@sotto.example.org/", false},
		{VarLink, "https://sotto.example.org/m/1?to=canary%40example.org", false},
		{VarLink, "https://sotto.example.org/m/1?to=5551234567", false},
		{VarLink, "https://sotto.example.org/m/1?to=%35%35%35%31%32%33%34", false},
		{VarLink, "https://sotto.example.org/m/1#555123456789", false},
		{VarLink, "https://sotto.example.org/jane@example.org", false},
		{VarLink, "https://sotto.example.org/m/1?q=%zz", false},
		{VarLink, "https://sotto.example.org/m 1", false},
		{VarLink, "https://sotto.example.org/" + strings.Repeat("a", 500), false},
		{VarCode, "0042", true},
		{VarCode, "123", false},
		{VarCode, "12345678901", false},
		{VarCode, "12a456", false},
		{VarCode, "١٢٣٤٥٦", false}, // Arabic-Indic digits
		{VarExpiresDays, "365", true},
		{VarExpiresDays, "0", false},
		{VarExpiresDays, "07", false},
		{VarExpiresDays, "366", false},
		{VarExpiresDays, "-1", false},
		{VarMinutes, "1440", true},
		{VarMinutes, "1441", false},
		{VarDate, "mié., 4 de mar. de 2026", true},
		{VarDate, "2026-03-04", true},
		{VarDate, "20260304", false},
		{VarDate, "March 3 <b>", false},
		{VarDate, "see evil.example", false},
		{VarTime, "10:30 a. m.", true},
		{VarTime, strings.Repeat("1", 3) + strings.Repeat(":", 38), false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			vars := make(map[string]string)
			for k, v := range good {
				if tpls[tt.name].kind.allows(k) {
					vars[k] = v
				}
			}
			vars[tt.name] = tt.value
			out, err := tpls[tt.name].Render(vars)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !strings.Contains(out, strings.TrimSpace(tt.value)) {
					t.Errorf("output %q lacks the value", out)
				}
				return
			}
			wantInvalid(t, err, `"`+tt.name+`"`)
			if len(tt.value) >= 4 && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q echoes the value", err)
			}
			for _, canary := range []string{"canary", "555123", "evil"} {
				if strings.Contains(err.Error(), canary) {
					t.Errorf("error %q holds %q from the value", err, canary)
				}
			}
		})
	}
}

func TestNeedsBAAAndAllowed(t *testing.T) {
	withDate, err := ParseTemplate(KindAppointmentReminder, "en", "{{practice_name}} on {{date}}: {{link}}")
	if err != nil {
		t.Fatal(err)
	}
	withTime, err := ParseTemplate(KindAppointmentReminder, "en", "{{practice_name}} at {{time}}")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Defaults(KindAppointmentReminder, "en")
	if err != nil {
		t.Fatal(err)
	}
	if !withDate.NeedsBAA() || !withTime.NeedsBAA() || plain.NeedsBAA() {
		t.Fatalf("NeedsBAA = %v, %v, %v; want true, true, false", withDate.NeedsBAA(), withTime.NeedsBAA(), plain.NeedsBAA())
	}
	for _, name := range []string{ChannelSMS, ChannelEmail, ChannelPush, ChannelLog} {
		if err := Allowed(plain, Channel{Name: name}); err != nil {
			t.Errorf("PHI-free template on %s without BAA: %v", name, err)
		}
		if err := Allowed(withDate, Channel{Name: name, BAAOnFile: true}); err != nil {
			t.Errorf("date template on %s with BAA: %v", name, err)
		}
		err := Allowed(withTime, Channel{Name: name})
		if sotto.ErrorKind(err) != sotto.KindForbidden || sotto.ErrorCode(err) != "baa_required" {
			t.Errorf("time template on %s without BAA: %v; want forbidden baa_required", name, err)
		}
	}
	wantInvalid(t, Allowed(plain, Channel{Name: "fax", BAAOnFile: true}), "channel")
	wantInvalid(t, Allowed(nil, Channel{Name: ChannelSMS}), "template")
}
