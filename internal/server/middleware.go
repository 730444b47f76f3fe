package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"sotto"
)

type ctxKey int

const requestIDKey ctxKey = iota

// requestID returns the id of the request being served, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// WebSocket hijacking and flushing).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ServeHTTP is the outermost handler: request id, security headers, panic
// recovery, JSON answers for unknown routes and wrong methods, and one
// access-log line per request that records the route pattern (never the
// path, query string, body or header values, which may hold PHI).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
	rec := &statusRecorder{ResponseWriter: w}
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.tls {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	pattern := ""
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			// The panic value and stack may hold request data: log only
			// where it happened, by route and stack frames.
			s.log.Error("panic serving request", "request_id", id, "route", pattern, "panic_type", typeName(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				s.serveError(rec, r, &sotto.Error{Kind: sotto.KindInternal, Op: "server.panic"})
			}
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method),
			slog.String("route", pattern),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", id))
	}()
	handler, pat := s.mux.Handler(r)
	pattern = pat
	if pat == "" {
		s.unmatched(rec, r, handler)
		return
	}
	if err := s.csrf.Check(r); err != nil {
		s.serveError(rec, r, &sotto.Error{Kind: sotto.KindForbidden, Code: "cross_origin", Msg: "Cross-origin requests are not allowed.", Err: err})
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// unmatched answers a request no route matched with a JSON 404 or 405
// (keeping the mux's Allow header).
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		s.serveError(w, r, &sotto.Error{Kind: sotto.KindInvalid, Code: "method_not_allowed", Msg: "This method is not allowed here."})
		return
	}
	s.serveError(w, r, &sotto.Error{Kind: sotto.KindNotFound, Msg: "No such route."})
}

// headerProbe captures what the mux's own not-found or not-allowed handler
// would write, so that it can be answered as JSON instead.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

func typeName(v any) string {
	switch v.(type) {
	case error:
		return "error"
	case string:
		return "string"
	}
	return "other"
}
