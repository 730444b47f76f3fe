// Package web holds sotto's pages: html/template templates and
// hand-written CSS and JavaScript, embedded in the binary, a renderer that
// parses them once at start-up, and the English and Spanish message
// catalogs every visible string goes through. The server package owns
// the handlers; this package owns how pages look and read.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"time"
	_ "time/tzdata" // viewers' time zones on hosts without a zoneinfo database
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the pages; each is parsed with layout.html.
var pageNames = []string{"setup", "setup-done", "message", "error", "login", "login-code", "mfa-enroll", "mfa-codes", "login-sso", "login-sso-mfa", "account-security", "inbox", "patients", "patient", "welcome", "reauth"}

// compliancePageNames are the compliance pages (the audit trail, its
// verification and the break-glass review), parsed like pageNames.
var compliancePageNames = []string{"compliance-audit", "compliance-verify", "compliance-break-glass"}

// adminPageNames are the admin console's pages (staff accounts,
// departments, the permission matrix, notifications), parsed like
// pageNames: with layout.html, under the staff header.
var adminPageNames = []string{"admin-home", "admin-users", "admin-departments", "admin-permissions", "admin-notifications", "admin-sso"}

// portalPageNames are the patient portal's pages; each is parsed with
// layout.html and portal-parts.html, which redefines the layout's "top"
// block (the header and the logoff warning) for patients.
var portalPageNames = []string{"invite", "portal-home", "portal-new", "portal-thread", "portal-settings", "portal-error"}

// Page is what every template receives: the viewer's locale, the title
// (a message id), the signed-in user (nil on signed-out pages) and the
// page's own data.
type Page struct {
	L     *Locale
	Title string // message id of the page title
	// TitleArgs fill a title message that is a format.
	TitleArgs []any
	User      *User
	// IdleSeconds is the idle timeout of the viewer's session: the page
	// warns a minute before and signs out at zero. 0 disables it.
	IdleSeconds int
	Nav         string // the active navigation item: "inbox", "patients"
	// Brand is the practice's name, at the top of the portal's pages.
	Brand string
	Data  any
}

// User is the signed-in user as the page header shows them.
type User struct {
	Name string
	Role string // message id of the role's name
}

// Renderer renders the embedded pages. It is safe for concurrent use.
type Renderer struct {
	pages map[string]*template.Template
}

// funcs are the template functions. Every one takes the viewer's Locale
// first, so that templates parsed once serve every language and zone.
var funcs = template.FuncMap{
	"t":     func(l *Locale, id string, args ...any) string { return l.T(id, args...) },
	"ago":   func(l *Locale, t time.Time) string { return l.Ago(t) },
	"exact": func(l *Locale, t time.Time) string { return l.Exact(t) },
	"date":  func(l *Locale, t time.Time) string { return l.Date(t) },
	"day":   func(l *Locale, t time.Time) string { return l.Day(t) },
	"clock": func(l *Locale, t time.Time) string { return l.Clock(t) },
	"iso":   ISO,
	// threadArgs passes the page along with a sub-view to a sub-template.
	"threadArgs": func(p *Page, t any) threadArgs { return threadArgs{P: p, T: t} },
}

// threadArgs is what the "thread" sub-template receives.
type threadArgs struct {
	P *Page
	T any
}

// NewRenderer parses every page with the shared layout.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, name := range slices.Concat(pageNames, portalPageNames, compliancePageNames, adminPageNames) {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		if slices.Contains(portalPageNames, name) {
			files = append(files, "templates/portal-parts.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("web: parse page %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// Render writes page name with p. The page is rendered to memory first,
// so that a template error never leaves half a page behind.
func (r *Renderer) Render(w io.Writer, name string, p *Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	if p.L == nil {
		p.L = NewLocale("", nil, time.Now())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Static serves the embedded CSS and JavaScript under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// StaticFS is the embedded static tree, for tests.
func StaticFS() fs.FS {
	sub, _ := fs.Sub(staticFiles, "static")
	return sub
}

// TemplateFS is the embedded template tree, for tests.
func TemplateFS() fs.FS {
	sub, _ := fs.Sub(templateFiles, "templates")
	return sub
}

// PageTitle is the page's title in the viewer's language.
func (p *Page) PageTitle() string { return p.L.T(p.Title, p.TitleArgs...) }
