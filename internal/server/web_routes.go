package server

import (
	"strings"

	"sotto"
)

// webRoutes registers every page of the web application: the staff sign-in,
// inbox and patient pages, and the patient portal with its invitation
// landing. Page errors are answered in HTML (web_respond.go);
// the JSON API lives in routes.go.
func (s *Server) webRoutes(sso *ssoFlows) {
	s.page("GET /{$}", s.home)
	s.page("GET /login", s.loginForm)
	s.page("POST /login", s.loginSubmit)
	s.page("GET /login/code", s.codeForm)
	s.page("POST /login/code", s.codeSubmit)
	s.page("POST /login/code/verify", s.codeVerifySubmit)
	s.page("GET /login/sso", sso.start)
	s.page("GET /login/sso/callback", sso.callback)
	s.page("POST /login/sso/mfa", sso.mfaSubmit)
	s.page("POST /logout", s.logoutSubmit)
	s.page("GET /mfa/enroll", s.enrollForm)
	s.page("POST /mfa/enroll", s.enrollSubmit)
	s.page("GET /account/security", s.staffPage(s.securityForm))
	s.page("POST /account/security", s.staffPage(s.securitySubmit))
	s.page("POST /account/security/passkeys/{id}/delete", s.staffPage(s.freshPage(sotto.AuditMFAReset, s.securityRemove)))
	s.page("GET /inbox", s.staffPage(s.inboxPage))
	s.page("GET /inbox/c/{id}", s.staffPage(s.threadPage))
	s.page("POST /inbox/c/{id}/messages", s.staffPage(s.sendForm))
	s.page("POST /inbox/c/{id}/status", s.staffPage(s.statusForm))
	s.page("POST /inbox/c/{id}/assign", s.staffPage(s.assignForm))
	s.page("POST /inbox/c/{id}/read", s.staffPage(s.readForm))
	s.page("GET /patients", s.staffPage(s.patientsPage))
	s.page("POST /patients", s.staffPage(s.patientsSearch))
	s.page("GET /patients/{id}", s.staffPage(s.patientPage))
	s.page("GET /compliance", s.staffPage(s.complianceAudit))
	s.page("POST /compliance", s.staffPage(s.complianceFindPatient))
	s.page("GET /compliance/patients/{id}", s.staffPage(s.compliancePatient))
	s.page("GET /compliance/verify", s.staffPage(s.complianceVerifyForm))
	s.page("POST /compliance/verify", s.staffPage(s.complianceVerify))
	s.page("GET /compliance/break-glass", s.staffPage(s.complianceBreakGlass))
	s.page("GET /invite/{token}", s.inviteForm)
	s.page("POST /invite/{token}", s.inviteSubmit)
	s.page("GET /portal", s.portalPage(s.portalHome))
	s.page("GET /portal/new", s.portalPage(s.portalNew))
	s.page("POST /portal/new", s.portalPage(s.portalNewSubmit))
	s.page("GET /portal/c/{id}", s.portalPage(s.portalThread))
	s.page("POST /portal/c/{id}/messages", s.portalPage(s.portalReply))
	s.page("GET /portal/settings", s.portalPage(s.portalSettings))
	s.page("POST /portal/settings", s.portalPage(s.portalSettingsSubmit))
	s.adminRoutes()
	s.page("POST /admin/users", s.adminPage(sotto.AuditUserCreate, s.adminAddStaff))
	s.page("POST /admin/users/{id}/invite", s.adminPage(sotto.AuditUserInvite, s.adminResendInvite))
	welcome := newStaffWelcome(s) // staff invitation links, with their own throttle
	s.page("GET /welcome/{token}", welcome.form)
	s.page("POST /welcome/{token}", welcome.submit)
	s.page("GET /admin/sso", s.adminPage(sotto.AuditConfigChange, sso.adminSSO))
	s.page("POST /admin/sso", s.adminPage(sotto.AuditConfigChange, sso.adminSSOForm))
}

// isWebPage reports whether route pattern is one of the web application's
// pages (registered by webRoutes), which the OpenAPI document does not
// describe.
func isWebPage(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	for _, p := range []string{"/{$}", "/login", "/logout", "/mfa/", "/inbox", "/patients", "/portal", "/invite", "/compliance", "/admin", "/account", "/welcome"} {
		if path == p || strings.HasPrefix(path, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}
