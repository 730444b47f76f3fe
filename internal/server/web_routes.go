package server

import "strings"

// webRoutes registers every page of the web application: the staff sign-in,
// inbox and patient pages. Page errors are answered in HTML (web_respond.go);
// the JSON API lives in routes.go.
func (s *Server) webRoutes() {
	s.page("GET /{$}", s.home)
	s.page("GET /login", s.loginForm)
	s.page("POST /login", s.loginSubmit)
	s.page("POST /logout", s.logoutSubmit)
	s.page("GET /mfa/enroll", s.enrollForm)
	s.page("POST /mfa/enroll", s.enrollSubmit)
	s.page("GET /inbox", s.staffPage(s.inboxPage))
	s.page("GET /inbox/c/{id}", s.staffPage(s.threadPage))
	s.page("POST /inbox/c/{id}/messages", s.staffPage(s.sendForm))
	s.page("POST /inbox/c/{id}/status", s.staffPage(s.statusForm))
	s.page("POST /inbox/c/{id}/assign", s.staffPage(s.assignForm))
	s.page("POST /inbox/c/{id}/read", s.staffPage(s.readForm))
	s.page("GET /patients", s.staffPage(s.patientsPage))
	s.page("POST /patients", s.staffPage(s.patientsSearch))
	s.page("GET /patients/{id}", s.staffPage(s.patientPage))
}

// isWebPage reports whether route pattern is one of the web application's
// pages (registered by webRoutes), which the OpenAPI document does not
// describe.
func isWebPage(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	for _, p := range []string{"/{$}", "/login", "/logout", "/mfa/", "/inbox", "/patients"} {
		if path == p || strings.HasPrefix(path, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}
