package server

import (
	"log/slog"
	"net/http"

	"sotto"
	"sotto/internal/web"
)

// Pages answer in HTML: this file is to pages what respond.go is to the
// JSON API. Page handlers return errors like API handlers; servePageError
// is the one place that turns them into HTML answers.

// page registers a page route; its errors are answered as HTML pages.
func (s *Server) page(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.servePageError(w, r, err)
		}
	})
}

// staffPage adapts h to run only for signed-in staff: an anonymous or
// expired visitor is sent to the sign-in page, a patient or proxy gets the
// staff-only answer. Pages for signed-in users are never cached.
func (s *Server) staffPage(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.caller(r)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		if !c.user.Role.IsStaff() {
			return errStaffOnly
		}
		return h(w, r, c)
	}
}

// staffView builds the Page of a signed-in staff member: the header shows
// who they are, and the idle countdown follows their session policy.
func (s *Server) staffView(r *http.Request, c *caller, title, nav string, data any) *web.Page {
	return &web.Page{L: s.locale(r), Title: title, Nav: nav, Data: data,
		User:        &web.User{Name: c.user.Name, Role: "role." + string(c.user.Role)},
		IdleSeconds: int(c.idle.Seconds())}
}

// errorPage is the data of the error page.
type errorPage struct {
	Message   string
	RequestID string
}

// servePageError answers err as an HTML page. Signed-out visitors (and
// expired sessions) are redirected to the sign-in page with 303. Internal
// errors are logged with their cause (ids and kinds only, never PHI) and
// answered with a generic message and the request id.
func (s *Server) servePageError(w http.ResponseWriter, r *http.Request, err error) {
	kind := sotto.ErrorKind(err)
	if kind == sotto.KindUnauthenticated {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	status := statusOf(kind)
	l := s.locale(r)
	data := errorPage{Message: sotto.ErrorMessage(err)}
	title := "title.error"
	switch {
	case status >= 500:
		s.log.LogAttrs(r.Context(), slog.LevelError, "page failed",
			slog.String("request_id", requestID(r.Context())),
			slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
		data.Message, data.RequestID = l.T("error.internal"), requestID(r.Context())
		if kind == sotto.KindUnavailable {
			title = "title.unavailable"
		}
	case kind == sotto.KindNotFound:
		title, data.Message = "title.not_found", l.T("error.not_found")
	case kind == sotto.KindForbidden:
		title = "title.forbidden"
	case kind == sotto.KindRateLimited:
		title = "title.rate_limited"
	case kind == sotto.KindInvalid:
		title = "title.invalid"
	}
	if rerr := s.renderPage(w, status, "error", &web.Page{L: l, Title: title, Data: data}); rerr != nil {
		s.log.Error("error page failed", "request_id", requestID(r.Context()), "error", rerr.Error())
	}
}

// parseForm reads a urlencoded page form of at most 64 KiB.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return sotto.Errorf(sotto.KindInvalid, "The form could not be read. Reload the page and try again.")
	}
	return nil
}

// newFormKey returns a fresh idempotency key for one rendered send form.
func newFormKey() string { return "web-" + newRequestID() }
