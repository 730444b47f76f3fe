package notify

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParseTemplate(f *testing.F) {
	for _, lang := range Languages() {
		for i, k := range Kinds() {
			tpl, _ := Defaults(k, lang)
			f.Add(uint8(i), lang, tpl.Text())
		}
	}
	f.Add(uint8(0), "en", "{{{link}}}")
	f.Add(uint8(0), "es-MX", "{{ link }}{{")
	f.Add(uint8(2), "en", "{{date}}}}{{time}}")
	f.Add(uint8(3), "x", "{{code}} \u202e")
	f.Add(uint8(9), "en", "{{link}}")
	f.Fuzz(func(t *testing.T, k uint8, lang, text string) {
		kind := Kind("unknown")
		if int(k) < len(Kinds()) {
			kind = Kinds()[k]
		}
		tpl, err := ParseTemplate(kind, lang, text)
		if err != nil {
			if tpl != nil {
				t.Fatal("template and error")
			}
			return
		}
		if n := utf8.RuneCountInString(tpl.Text()); n == 0 || n > MaxTemplateLen || !utf8.ValidString(tpl.Text()) {
			t.Fatalf("accepted %d characters, valid UTF-8 %v", n, utf8.ValidString(tpl.Text()))
		}
		var src strings.Builder
		for _, p := range tpl.parts {
			if p.name == "" {
				if strings.ContainsAny(p.lit, "{}") {
					t.Fatalf("a brace in literal %q", p.lit)
				}
				src.WriteString(p.lit)
				continue
			}
			if !kind.allows(p.name) {
				t.Fatalf("accepted variable %q for %s", p.name, kind)
			}
			src.WriteString("{{" + p.name + "}}")
		}
		again, err := ParseTemplate(kind, tpl.Lang(), tpl.Text())
		if err != nil || again.NeedsBAA() != tpl.NeedsBAA() || len(again.parts) != len(tpl.parts) {
			t.Fatalf("reparse of %q: %v", tpl.Text(), err)
		}
		canon, err := ParseTemplate(kind, tpl.Lang(), src.String())
		if err != nil || strings.Join(canon.Vars(), ",") != strings.Join(tpl.Vars(), ",") {
			t.Fatalf("canonical form %q: %v", src.String(), err)
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add(uint8(0), "{{practice_name}}: {{link}}", "Lakeside Clinic", "https://x.example/m/1", "", "")
	f.Add(uint8(1), "{{practice_name}} {{expires_days}} {{link}}", "Clínica", "http://localhost:8080/i/x?a=1", "7", "")
	f.Add(uint8(2), "{{date}} {{time}} {{link}}{{practice_name}}", "A", "https://x.example/", "mar. 3", "10:30")
	f.Add(uint8(3), "{{code}}/{{minutes}}/{{practice_name}}", "B", "", "0123456789", "1440")
	f.Add(uint8(0), "{{link}}", "x", "https://x.example/?p=5551234567", "", "")
	f.Add(uint8(2), "{{time}}", "x", "", "", "\u202e10:30")
	f.Fuzz(func(t *testing.T, k uint8, text, a, b, c, d string) {
		kind := Kinds()[int(k)%len(Kinds())]
		tpl, err := ParseTemplate(kind, "en", text)
		if err != nil {
			return
		}
		// a is always practice_name; b, c, d go to the kind's other
		// variables in order.
		vars := map[string]string{VarPracticeName: a}
		rest := []string{b, c, d}
		for _, v := range kind.Vars()[1:] {
			vars[v], rest = rest[0], rest[1:]
		}
		out, err := tpl.Render(vars)
		if err != nil {
			return
		}
		// The output is exactly the template's literals and the provided
		// values (trimmed), in order: nothing else is ever inserted.
		rem := out
		for _, p := range tpl.parts {
			want := p.lit
			if p.name != "" {
				want = strings.TrimSpace(vars[p.name])
				if want == "" || !strings.Contains(vars[p.name], want) {
					t.Fatalf("%s: inserted %q for a value of %q", p.name, want, vars[p.name])
				}
				for _, r := range want {
					if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
						t.Fatalf("%s: control or format character %U accepted", p.name, r)
					}
				}
				if p.name == VarLink && !strings.HasPrefix(want, "https://") && !strings.HasPrefix(want, "http://") {
					t.Fatalf("link %q accepted", want)
				}
				if p.name != VarLink && strings.Contains(want, "://") {
					t.Fatalf("%s: URL %q accepted", p.name, want)
				}
			}
			if !strings.HasPrefix(rem, want) {
				t.Fatalf("output %q does not continue with %q", rem, want)
			}
			rem = rem[len(want):]
		}
		if rem != "" {
			t.Fatalf("output has %q left over", rem)
		}
	})
}
