package server

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed pages/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

// parsePages parses every page template with the shared layout.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"setup", "setup-done", "message"} {
		out[name] = template.Must(template.ParseFS(pageFiles, "pages/layout.html", "pages/"+name+".html"))
	}
	return out
}

// pageHeaders sets the headers every HTML page carries: a strict CSP (no
// inline script or style), and no caching.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

// render writes page name with data and status.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) error {
	pageHeaders(w)
	w.WriteHeader(status)
	return s.pages[name].ExecuteTemplate(w, name+".html", data)
}

// static serves the embedded CSS and JavaScript.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
