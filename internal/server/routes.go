package server

// routes registers the whole HTTP surface. Every route is listed here.
func (s *Server) routes() {
	s.route("GET /healthz", s.healthz)
	s.route("GET /readyz", s.readyz)
	s.route("GET /version", s.version)
	s.route("GET /setup/{token}", s.setupForm)
	s.route("POST /setup/{token}", s.setupSubmit)
	s.route("POST /api/v1/auth/login", s.login)
	s.route("POST /api/v1/auth/mfa/enroll", s.mfaEnroll)
	s.route("POST /api/v1/auth/mfa/confirm", s.mfaConfirm)
	s.route("POST /api/v1/auth/logout", s.logout)
	s.route("POST /api/v1/auth/logout-everywhere", s.authed(s.logoutEverywhere))
	s.route("GET /api/v1/me", s.me)
	s.route("PATCH /api/v1/users/{id}", s.authed(s.patchUser))
	s.route("DELETE /api/v1/users/{id}/sessions", s.authed(s.endUserSessions))
	s.route("POST /api/v1/patients", s.authed(s.createPatient))
	s.route("GET /api/v1/patients", s.authed(s.searchPatients))
	s.route("GET /api/v1/patients/{id}", s.authed(s.getPatient))
	s.route("POST /api/v1/patients/{id}/break-glass", s.authed(s.breakGlass))
	s.route("POST /api/v1/patients/{id}/invite", s.authed(s.invitePatient))
	s.route("POST /api/v1/invites/{token}/accept", s.acceptInvite)
	s.route("POST /api/v1/conversations", s.authed(s.createConversation))
	s.route("GET /api/v1/conversations", s.authed(s.listConversations))
	s.route("GET /api/v1/conversations/{id}", s.authed(s.getConversation))
	s.route("PATCH /api/v1/conversations/{id}", s.authed(s.patchConversation))
	s.route("POST /api/v1/conversations/{id}/messages", s.authed(s.sendMessage))
	s.route("GET /api/v1/conversations/{id}/messages", s.authed(s.listMessages))
	s.route("POST /api/v1/messages/{id}/read", s.authed(s.readMessage))
	s.route("POST /api/v1/messages/{id}/retract", s.authed(s.retractMessage))
	s.route("POST /api/v1/attachments", s.authed(s.uploadAttachment))
	s.route("GET /api/v1/attachments/{id}", s.authed(s.downloadAttachment))
	s.route("GET /api/v1/permissions", s.authed(s.getPermissions))
	s.route("PUT /api/v1/permissions", s.authed(s.putPermissions))
	s.route("GET /api/v1/audit", s.authed(s.listAudit))
	s.route("GET /api/v1/audit/verify", s.authed(s.verifyAudit))
	s.route("GET /api/v1/break-glass", s.authed(s.listBreakGlass))
	s.route("GET /api/v1/events", s.events)
	s.route("GET /api/openapi.json", s.openAPI)
	s.patterns = append(s.patterns, "GET /static/")
	s.mux.Handle("GET /static/", s.static())
}

// route registers a pattern and remembers it for Patterns.
func (s *Server) route(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.handle(pattern, h)
}
