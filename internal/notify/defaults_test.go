package notify

import (
	"slices"
	"strings"
	"testing"
)

// realistic holds values of typical length: a 15-character practice name
// and a link that carries a 43-character invitation token.
var realistic = map[string]string{
	VarPracticeName: "Lakeside Clinic",
	VarLink:         "https://msg.lakesideclinic.org/i/" + strings.Repeat("Ab3_", 10) + "x9Z",
	VarExpiresDays:  "7",
	VarDate:         "March 3",
	VarTime:         "10:30 AM",
	VarCode:         "482913",
	VarMinutes:      "10",
}

func TestDefaults(t *testing.T) {
	for _, lang := range Languages() {
		for _, kind := range Kinds() {
			tpl, err := Defaults(kind, lang)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if tpl.Kind() != kind || tpl.Lang() != lang {
				t.Errorf("%s/%s: got %s/%s", lang, kind, tpl.Lang(), tpl.Kind())
			}
			if tpl.NeedsBAA() {
				t.Errorf("%s/%s: a shipped template needs a BAA", lang, kind)
			}
			if _, err := ParseTemplate(kind, lang, tpl.Text()); err != nil {
				t.Errorf("%s/%s: does not parse again: %v", lang, kind, err)
			}
			vars := map[string]string{}
			for _, v := range kind.Vars() {
				vars[v] = realistic[v]
			}
			out, err := tpl.Render(vars)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if strings.ContainsAny(out, "{}") {
				t.Errorf("%s/%s: a placeholder is left in %q", lang, kind, out)
			}
			for _, v := range tpl.Vars() {
				if !strings.Contains(out, realistic[v]) {
					t.Errorf("%s/%s: %s missing from %q", lang, kind, v, out)
				}
			}
			// The worst case: an 80-character practice name.
			vars[VarPracticeName] = strings.Repeat("W", maxPracticeName)
			long, err := tpl.Render(vars)
			if err != nil {
				t.Fatalf("%s/%s with a long name: %v", lang, kind, err)
			}
			segs, ucs2 := SMSSegments(out)
			longSegs, _ := SMSSegments(long)
			t.Logf("%s/%-20s %3d chars, %d segment(s), ucs2=%-5v (80-char name: %3d chars, %d segments): %s",
				lang, kind, len([]rune(out)), segs, ucs2, len([]rune(long)), longSegs, out)
			// A one-time code carries no link and must fit one segment; so
			// must every English message with a typical name and link.
			if (lang == "en" || kind == KindOneTimeCode) && segs != 1 {
				t.Errorf("%s/%s: %d segments with realistic values; want 1", lang, kind, segs)
			}
			// Spanish "días" makes the invitation UCS-2: 67 characters a
			// segment, so it takes three.
			limit := 2
			if ucs2 {
				limit = 3
			}
			if segs > limit || longSegs > limit+1 {
				t.Errorf("%s/%s: %d segments (%d with an 80-character name)", lang, kind, segs, longSegs)
			}
		}
	}
}

func TestDefaultsSpanish(t *testing.T) {
	for _, kind := range Kinds() {
		en, _ := Defaults(kind, "en")
		es, _ := Defaults(kind, "es")
		if en.Text() == es.Text() {
			t.Errorf("%s: Spanish template is the English one", kind)
		}
		enVars, esVars := en.Vars(), es.Vars()
		slices.Sort(enVars)
		slices.Sort(esVars)
		if !slices.Equal(enVars, esVars) {
			t.Errorf("%s: en uses %v, es uses %v", kind, en.Vars(), es.Vars())
		}
	}
	es, _ := Defaults(KindNewMessage, "es")
	out, err := es.Render(map[string]string{VarPracticeName: "Clínica Lago", VarLink: "https://x.example/m/1"})
	if err != nil || out != "Tiene un nuevo mensaje seguro de Clínica Lago. Léalo en: https://x.example/m/1" {
		t.Errorf("es new_message = %q, %v", out, err)
	}
}

func TestDefaultsFallback(t *testing.T) {
	tests := map[string]string{"": "en", "fr": "en", "en-GB": "en", "es-MX": "es", "ES_us": "es", "español": "en"}
	for in, want := range tests {
		tpl, err := Defaults(KindNewMessage, in)
		if err != nil || tpl.Lang() != want {
			t.Errorf("Defaults(new_message, %q) = %v, %v; want language %s", in, tpl, err, want)
		}
	}
	if _, err := Defaults("lab_result", "en"); err == nil {
		t.Error("Defaults accepted an unknown kind")
	}
}

func TestSMSSegments(t *testing.T) {
	tests := []struct {
		text string
		segs int
		ucs2 bool
	}{
		{"", 0, false},
		{strings.Repeat("a", 160), 1, false},
		{strings.Repeat("a", 161), 2, false},
		{strings.Repeat("a", 306), 2, false},
		{strings.Repeat("a", 307), 3, false},
		{strings.Repeat("€", 80), 1, false}, // extension: two septets each
		{strings.Repeat("€", 81), 2, false},
		{"Léalo ñ ü à", 1, false},
		{strings.Repeat("í", 70), 1, true},
		{strings.Repeat("í", 71), 2, true},
		{strings.Repeat("a", 150) + "í", 3, true},
		{strings.Repeat("😀", 35), 1, true}, // surrogate pairs: two units each
		{strings.Repeat("😀", 36), 2, true},
	}
	for _, tt := range tests {
		segs, ucs2 := SMSSegments(tt.text)
		if segs != tt.segs || ucs2 != tt.ucs2 {
			t.Errorf("SMSSegments(%d runes of %q) = %d, %v; want %d, %v", len([]rune(tt.text)), []rune(tt.text + " ")[0], segs, ucs2, tt.segs, tt.ucs2)
		}
	}
}
