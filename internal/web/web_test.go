package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTranslateFallback(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	es := NewLocale("es", nil, now)
	if got := es.T("nav.inbox"); got != "Bandeja" {
		t.Errorf("es nav.inbox = %q", got)
	}
	catalogEN["test.only_en"] = "Only in English %d"
	defer delete(catalogEN, "test.only_en")
	if got := es.T("test.only_en", 3); got != "Only in English 3" {
		t.Errorf("es falls back to English: got %q", got)
	}
	if got := es.T("test.nowhere"); got != "test.nowhere" {
		t.Errorf("unknown id = %q, want the id", got)
	}
	if got := NewLocale("fr", nil, now).T("nav.inbox"); got != "Inbox" {
		t.Errorf("unknown language = %q, want English", got)
	}
}

func TestPickLanguage(t *testing.T) {
	for _, c := range []struct{ pref, accept, want string }{
		{"", "", "en"},
		{"", "es-MX,es;q=0.9,en;q=0.8", "es"},
		{"", "fr-FR, de;q=0.7", "en"},
		{"", "fr, es;q=0.5", "es"},
		{"", "es;q=0, en", "en"},
		{"en", "es", "en"},
		{"xx", "es", "es"},
	} {
		if got := PickLanguage(c.pref, c.accept); got != c.want {
			t.Errorf("PickLanguage(%q, %q) = %q, want %q", c.pref, c.accept, got, c.want)
		}
	}
}

func TestTimesInViewersZone(t *testing.T) {
	chicago := LoadZone("America/Chicago")
	if chicago == time.UTC {
		t.Fatal("America/Chicago did not load")
	}
	if LoadZone("Not/AZone") != time.UTC || LoadZone("") != time.UTC || LoadZone("../etc/passwd") != time.UTC {
		t.Error("bad zone names must fall back to UTC")
	}
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // 09:00 in Chicago (CST)
	en := NewLocale("en", chicago, now)
	es := NewLocale("es", chicago, now)
	for _, c := range []struct {
		l    *Locale
		at   time.Time
		want string
	}{
		{en, now.Add(-20 * time.Second), "just now"},
		{en, now.Add(-12 * time.Minute), "12 min ago"},
		{es, now.Add(-12 * time.Minute), "hace 12 min"},
		{en, now.Add(-3 * time.Hour), "3 h ago"},
		// 10 h before is 23:00 the day before in Chicago: yesterday there,
		// though still the same day in UTC.
		{en, now.Add(-10 * time.Hour), "yesterday"},
		{NewLocale("en", time.UTC, now), now.Add(-10 * time.Hour), "10 h ago"},
		{en, now.Add(-72 * time.Hour), "3 days ago"},
		{en, now.Add(-30 * 24 * time.Hour), "Sat 31 Jan 2026"},
		{es, now.Add(-30 * 24 * time.Hour), "sáb 31 ene 2026"},
	} {
		if got := c.l.Ago(c.at); got != c.want {
			t.Errorf("%s Ago(%v) = %q, want %q", c.l.Lang, c.at, got, c.want)
		}
	}
	if got := en.Exact(now); got != "Mon 2 Mar 2026, 09:00 CST" {
		t.Errorf("Exact = %q", got)
	}
	if got := NewLocale("en", LoadZone("Asia/Tokyo"), now).Exact(now); got != "Tue 3 Mar 2026, 00:00 JST" {
		t.Errorf("Exact in Tokyo = %q", got)
	}
	if got := en.Day(now.Add(-10 * time.Hour)); got != "Yesterday" {
		t.Errorf("Day = %q", got)
	}
	if !en.SameDay(now, now.Add(-8*time.Hour)) || en.SameDay(now, now.Add(-10*time.Hour)) {
		t.Error("SameDay does not follow the viewer's zone")
	}
}

// templateIDs finds every literal message id the templates translate.
var templateIDs = regexp.MustCompile(`\bt (?:\$?\.L|\$L|\$\.L) "([a-z_.0-9]+)"`)

func TestCatalogsCoverEveryString(t *testing.T) {
	n := 0
	err := fs.WalkDir(TemplateFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(TemplateFS(), path)
		if err != nil {
			return err
		}
		for _, m := range templateIDs.FindAllStringSubmatch(string(b), -1) {
			n++
			for lang, cat := range catalogs {
				if _, ok := cat[m[1]]; !ok {
					t.Errorf("%s uses %q, missing from the %s catalog", path, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("found only %d translated strings in the templates: the pattern is stale", n)
	}
	for id := range catalogES {
		if _, ok := catalogEN[id]; !ok {
			t.Errorf("es has %q, which English lacks", id)
		}
	}
	for id, msg := range catalogEN {
		if es, ok := catalogES[id]; ok && strings.Count(es, "%") != strings.Count(msg, "%") {
			t.Errorf("%q: es and en take different arguments", id)
		}
	}
}

// TestNoInlineScriptOrStyle keeps the templates compatible with the
// Content-Security-Policy: no inline script, style or event handlers.
func TestNoInlineScriptOrStyle(t *testing.T) {
	bad := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|<script(?:[^>]*)>[^<]|javascript:|https?://`)
	err := fs.WalkDir(TemplateFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(TemplateFS(), path)
		if m := bad.FindString(string(b)); m != "" {
			t.Errorf("%s holds %q: inline script or style, or an external resource", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStaticBudget(t *testing.T) {
	total := 0
	for _, name := range []string{"app.css", "app.js"} {
		b, err := fs.ReadFile(StaticFS(), name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	if total >= 50<<10 {
		t.Fatalf("CSS and JavaScript weigh %d bytes per page, over the 50 KB budget", total)
	}
}

func TestRenderEscapesAndTranslates(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := &Page{L: NewLocale("es", nil, time.Now()), Title: "title.login", Data: map[string]string{"Email": `"><script>x</script>`, "Error": "login.err_credentials"}}
	if err := r.Render(&b, "login", p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>x") || !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("input not escaped:\n%s", out)
	}
	if !strings.Contains(out, `<html lang="es">`) || !strings.Contains(out, "Iniciar sesión") || !strings.Contains(out, "no son correctos") {
		t.Errorf("page not in Spanish:\n%s", out)
	}
	if err := r.Render(&b, "nope", p); err == nil {
		t.Error("unknown page rendered")
	}
}
