// Package server is sotto's HTTP surface: routes.go lists every route;
// handlers return errors and respond.go turns them into JSON answers.
package server

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"sotto/internal/auth"
	"sotto/internal/realtime"
	"sotto/internal/store"
	"sotto/internal/web"
)

// Version is reported by GET /version; cmd/sotto sets it from build info.
type Version struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit,omitempty"`
}

// Config holds what the server needs beyond its dependencies.
type Config struct {
	PublicURL string // base URL for links in notifications and setup
	TLS       bool   // serving TLS directly, or behind a TLS proxy: sends HSTS and Secure cookies
	Version   Version
	// PasswordParams are the argon2id parameters for new passwords.
	PasswordParams auth.Params
	// Now is the clock for sessions and throttling; nil means time.Now.
	Now func() time.Time
	// Notify configures notifications and their webhooks; the zero value
	// queues notification jobs but accepts no webhooks.
	Notify NotifyConfig
}

// loginFreeAttempts is how many failed sign-ins an account or address may
// have before each further failure locks it (1 s, doubling up to 15 min).
const loginFreeAttempts = 4

// Server serves sotto's HTTP API and pages.
type Server struct {
	db           *store.DB
	log          *slog.Logger
	cfg          Config
	tls          bool
	mux          *http.ServeMux
	pages        *web.Renderer // the embedded HTML pages, parsed once
	csrf         *http.CrossOriginProtection
	started      time.Time
	patterns     []string
	now          func() time.Time
	throttle     *auth.Throttle               // sign-in attempts, per account and per client address
	codeRequests *auth.Throttle               // sign-in code requests per client address (a front-desk kiosk makes many)
	hub          *realtime.Hub                // live events to WebSocket sessions
	perms        permCache                    // each organization's permission matrix
	idle         orgCache[store.IdleTimeouts] // each organization's automatic logoff
	delivered    *recentSet                   // message/user pairs whose delivery is already being recorded

	dummyOnce sync.Once
	dummy     string // password hash verified when the account does not exist
}

// New builds a Server over db. log receives access and error lines; it must
// never be handed PHI.
func New(db *store.DB, log *slog.Logger, cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{db: db, log: log, cfg: cfg, tls: cfg.TLS, mux: http.NewServeMux(), pages: parsePages(), csrf: http.NewCrossOriginProtection(), started: time.Now(), now: cfg.Now}
	// Four free failures: the fifth locks the key, so a sixth attempt
	// within the lockout is refused.
	s.hub = realtime.NewHub(realtime.Options{Buffer: patientStreamBuffer})
	s.delivered = newRecentSet(recentDeliveries)
	s.throttle = auth.NewThrottle(auth.ThrottleConfig{FreeAttempts: loginFreeAttempts}, s.now)
	s.codeRequests = auth.NewThrottle(auth.ThrottleConfig{FreeAttempts: codeRequestsPerAddress}, s.now)
	s.routes()
	return s
}

// handle registers h for pattern, adapting the error-returning handler.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.serveError(w, r, err)
		}
	})
}

// Patterns lists every registered route pattern, for route-coverage tests.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }

// Close ends every live events stream (WebSocket close 1001, going away),
// so that clients reconnect elsewhere and resume. Call it when the server
// starts shutting down, before http.Server.Shutdown: hijacked WebSocket
// connections are not tracked by Shutdown.
func (s *Server) Close() { s.hub.Close() }
