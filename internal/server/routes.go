package server

// routes registers the whole HTTP surface. Every route is listed here.
func (s *Server) routes() {
	s.route("GET /healthz", s.healthz)
	s.route("GET /readyz", s.readyz)
	s.route("GET /version", s.version)
	s.route("GET /setup/{token}", s.setupForm)
	s.route("POST /setup/{token}", s.setupSubmit)
	s.route("POST /api/v1/auth/login", s.login)
	s.route("POST /api/v1/auth/logout", s.logout)
	s.route("GET /api/v1/me", s.me)
	s.patterns = append(s.patterns, "GET /static/")
	s.mux.Handle("GET /static/", s.static())
}

// route registers a pattern and remembers it for Patterns.
func (s *Server) route(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.handle(pattern, h)
}
