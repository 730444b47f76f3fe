package server

import (
	"bytes"
	"net/http"

	"sotto"
	"sotto/internal/web"
)

// pageCSP is the Content-Security-Policy of every HTML page: only sotto's
// own script, style, connections and form targets; no inline script or
// style, no framing, no <base>.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// tzCookie carries the viewer's IANA time zone, set by app.js.
const tzCookie = "sotto_tz"

// parsePages parses the embedded pages once; they are part of the binary and
// covered by tests, so a failure is a build defect.
func parsePages() *web.Renderer {
	r, err := web.NewRenderer()
	if err != nil {
		panic(err)
	}
	return r
}

// pageHeaders sets the headers every HTML page carries: the strict CSP
// and no caching (pages may hold patient data).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

// locale is how the viewer of r reads pages: the browser's language
// (English or Spanish) and the time zone app.js reported.
func (s *Server) locale(r *http.Request) *web.Locale {
	zone := ""
	if c, err := r.Cookie(tzCookie); err == nil {
		zone = c.Value
	}
	return web.NewLocale(web.PickLanguage("", r.Header.Get("Accept-Language")), web.LoadZone(zone), s.now())
}

// render writes page name with status for a signed-out viewer: title is
// a message id, data the page's own data.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	return s.renderPage(w, status, name, &web.Page{L: s.locale(r), Title: title, Data: data})
}

// renderPage writes p as page name with status. The page is rendered
// before the status is sent, so a template failure becomes the error page
// rather than an empty 200.
func (s *Server) renderPage(w http.ResponseWriter, status int, name string, p *web.Page) error {
	var buf bytes.Buffer
	if err := s.pages.Render(&buf, name, p); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.renderPage", Err: err}
	}
	pageHeaders(w)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// static serves the embedded CSS and JavaScript.
func (s *Server) static() http.Handler { return web.Static() }
