package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// outcomes maps a role of worldRoles to the status it must get.
type outcomes map[string]int

// all gives every role the same status.
func all(status int) outcomes {
	o := outcomes{}
	for _, r := range worldRoles {
		o[r] = status
	}
	return o
}

// signedIn gives every signed-in role status and anonymous 401.
func signedIn(status int) outcomes {
	o := all(status)
	o["anonymous"] = 401
	return o
}

// with overrides some roles.
func (o outcomes) with(status int, roles ...string) outcomes {
	for _, r := range roles {
		o[r] = status
	}
	return o
}

// conv1Access is who reaches patient 1's Nursing conversation: the
// provider (care team), the nurse (Nursing), the patient and the proxy.
// Admin and front desk are out of scope, billing and compliance lack the
// permission, the other practice cannot see it exists.
func conv1Access(ok int) outcomes {
	return signedIn(403).with(ok, "provider", "nurse", "patient", "proxy").with(404, "other_admin")
}

// routeCase declares one route's request and the outcome for each role.
type routeCase struct {
	req  func(w *world, role string) req
	want outcomes
}

// routeCleanup holds, for some routes, what to undo after each call.
var routeCleanup = map[string]func(w *world, role string){
	// Signing out everywhere ends the role's main token too.
	"POST /api/v1/auth/logout-everywhere": func(w *world, role string) {
		if role != "anonymous" {
			w.tokens[role] = w.newToken(role)
		}
	},
	// Ending the billing user's sessions ends its main token.
	"DELETE /api/v1/users/{id}/sessions": func(w *world, role string) { w.tokens["billing"] = w.newToken("billing") },
	// So does signing the billing user out everywhere from the admin console.
	"POST /admin/users/{id}/sessions": func(w *world, role string) { w.tokens["billing"] = w.newToken("billing") },
	// Resetting the billing user's sign-in factors ends its sessions too.
	"POST /api/v1/users/{id}/mfa/reset": func(w *world, role string) { w.tokens["billing"] = w.newToken("billing") },
}

// fixed is a request that does not depend on the role.
func fixed(r req) func(*world, string) req { return func(*world, string) req { return r } }

// routeMatrix declares every route. A route registered in the server but
// missing here fails TestRouteMatrix.
func routeMatrix(w *world) map[string]routeCase {
	conv := "/api/v1/conversations/" + w.conv1.ID
	return map[string]routeCase{
		"GET /healthz":                 {fixed(req{method: "GET", path: "/healthz"}), all(200)},
		"GET /readyz":                  {fixed(req{method: "GET", path: "/readyz"}), all(200)},
		"GET /version":                 {fixed(req{method: "GET", path: "/version"}), all(200)},
		"GET /setup/{token}":           {fixed(req{method: "GET", path: "/setup/not-a-real-token"}), all(404)},
		"POST /setup/{token}":          {fixed(req{method: "POST", path: "/setup/not-a-real-token", body: "password=x", contentType: "application/x-www-form-urlencoded"}), all(404)},
		"GET /static/":                 {fixed(req{method: "GET", path: "/static/app.css"}), all(200)},
		"GET /api/openapi.json":        {fixed(req{method: "GET", path: "/api/openapi.json"}), all(200)},
		"POST /api/v1/auth/login":      {fixed(req{method: "POST", path: "/api/v1/auth/login", body: "{", contentType: "application/json"}), all(400)},
		"POST /api/v1/auth/mfa/enroll": {fixed(req{method: "POST", path: "/api/v1/auth/mfa/enroll", body: "{", contentType: "application/json"}), all(400)},
		// Sign-in codes: the world has no notification channel.
		"POST /api/v1/auth/code/start":  {fixed(jsonReq("POST", "/api/v1/auth/code/start", map[string]string{"email": "testy@example.test"})), all(400)},
		"POST /api/v1/auth/code/verify": {fixed(jsonReq("POST", "/api/v1/auth/code/verify", map[string]string{"code": "000000"})), all(400)},
		"POST /api/v1/auth/mfa/confirm": {fixed(req{method: "POST", path: "/api/v1/auth/mfa/confirm", body: "{", contentType: "application/json"}), all(400)},
		"POST /api/v1/auth/logout": {func(w *world, role string) req {
			r := req{method: "POST", path: "/api/v1/auth/logout"}
			if role != "anonymous" {
				r.token = w.newToken(role)
			}
			return r
		}, signedIn(204)},
		"POST /api/v1/auth/logout-everywhere": {fixed(req{method: "POST", path: "/api/v1/auth/logout-everywhere"}), signedIn(200)},
		"PATCH /api/v1/users/{id}": {fixed(jsonReq("PATCH", "/api/v1/users/"+w.users["compliance"].ID, map[string]bool{"disabled": false})),
			signedIn(403).with(200, "admin").with(404, "other_admin")},
		"DELETE /api/v1/users/{id}/sessions": {fixed(req{method: "DELETE", path: "/api/v1/users/" + w.users["billing"].ID + "/sessions"}),
			signedIn(403).with(200, "admin").with(404, "other_admin")},
		// Passkeys (passkey*.go, mfareset.go). The world server has no public
		// URL, so no ceremony can begin; malformed bodies answer 400 first.
		"POST /api/v1/auth/passkey/begin":  {fixed(req{method: "POST", path: "/api/v1/auth/passkey/begin", body: "{", contentType: "application/json"}), all(400)},
		"POST /api/v1/auth/passkey/finish": {fixed(req{method: "POST", path: "/api/v1/auth/passkey/finish", body: "{", contentType: "application/json"}), all(400)},
		"GET /api/v1/me/passkeys":          {fixed(req{method: "GET", path: "/api/v1/me/passkeys"}), signedIn(200).with(403, "patient", "proxy")},
		"POST /api/v1/me/passkeys/register/begin": {fixed(req{method: "POST", path: "/api/v1/me/passkeys/register/begin", body: "{", contentType: "application/json"}),
			signedIn(400).with(403, "patient", "proxy")},
		"POST /api/v1/me/passkeys/register/finish": {fixed(req{method: "POST", path: "/api/v1/me/passkeys/register/finish", body: "{", contentType: "application/json"}),
			signedIn(400).with(403, "patient", "proxy")},
		"DELETE /api/v1/me/passkeys/{id}": {fixed(req{method: "DELETE", path: "/api/v1/me/passkeys/" + store.NewID()}), signedIn(404).with(403, "patient", "proxy")},
		"POST /api/v1/users/{id}/mfa/reset": {fixed(req{method: "POST", path: "/api/v1/users/" + w.users["billing"].ID + "/mfa/reset"}),
			signedIn(403).with(200, "admin").with(404, "other_admin")},
		// Staff invitations (staff_invite*.go): administrators only; the world
		// has no e-mail channel, so an invitation cannot be sent (400).
		"POST /api/v1/users": {func(w *world, role string) req {
			return jsonReq("POST", "/api/v1/users", map[string]string{"email": "matrix-" + role + "@example.test", "name": "Matrix Staff", "role": "nurse"})
		}, signedIn(403).with(400, "admin", "other_admin")},
		"POST /api/v1/users/{id}/invite": {fixed(req{method: "POST", path: "/api/v1/users/" + w.users["billing"].ID + "/invite"}),
			signedIn(403).with(400, "admin").with(404, "other_admin")},

		"GET /api/v1/users":        {fixed(req{method: "GET", path: "/api/v1/users"}), signedIn(403).with(200, "admin", "other_admin")},
		"POST /api/v1/me/password": {fixed(req{method: "POST", path: "/api/v1/me/password", body: "{", contentType: "application/json"}), signedIn(400)},
		"GET /api/v1/me":           {fixed(req{method: "GET", path: "/api/v1/me"}), signedIn(200)},
		"GET /api/v1/departments":  {fixed(req{method: "GET", path: "/api/v1/departments"}), signedIn(200).with(403, "patient", "proxy")},
		"POST /api/v1/departments": {func(w *world, role string) req {
			return jsonReq("POST", "/api/v1/departments", map[string]string{"name": "Matrix Department " + role})
		}, signedIn(403).with(201, "admin", "other_admin")},
		"GET /api/v1/locations": {fixed(req{method: "GET", path: "/api/v1/locations"}), signedIn(200).with(403, "patient", "proxy")},
		"POST /api/v1/locations": {func(w *world, role string) req {
			return jsonReq("POST", "/api/v1/locations", map[string]string{"name": "Matrix Location " + role})
		}, signedIn(403).with(201, "admin", "other_admin")},
		"POST /api/v1/patients": {func(w *world, role string) req {
			return jsonReq("POST", "/api/v1/patients", map[string]any{"given_name": "Matrix", "family_name": "Test-" + role,
				"birth_date": "1990-01-01", "mrn": "MATRIX-" + role, "time_zone": "UTC"})
		}, signedIn(201).with(403, "billing", "compliance", "patient", "proxy")},
		"GET /api/v1/patients": {fixed(req{method: "GET", path: "/api/v1/patients?query=testy"}),
			signedIn(200).with(403, "compliance", "patient", "proxy")},
		"GET /api/v1/patients/{id}": {fixed(req{method: "GET", path: "/api/v1/patients/" + w.p1.ID}),
			signedIn(200).with(403, "compliance").with(404, "other_admin")},
		"PATCH /api/v1/patients/{id}": {fixed(jsonReq("PATCH", "/api/v1/patients/"+w.p1.ID, map[string]string{"time_zone": "America/Chicago"})),
			signedIn(200).with(403, "billing", "compliance", "patient", "proxy").with(404, "other_admin")},
		"POST /api/v1/patients/{id}/break-glass": {fixed(jsonReq("POST", "/api/v1/patients/"+w.p2.ID+"/break-glass", map[string]string{"reason": "Matrix test emergency"})),
			signedIn(201).with(403, "compliance", "patient", "proxy").with(404, "other_admin")},
		"POST /api/v1/patients/{id}/invite": {fixed(req{method: "POST", path: "/api/v1/patients/" + w.p1.ID + "/invite"}),
			signedIn(201).with(403, "billing", "compliance", "patient", "proxy").with(404, "other_admin")},
		"POST /api/v1/patients/{id}/proxies": {fixed(jsonReq("POST", "/api/v1/patients/"+w.p1.ID+"/proxies", map[string]string{"relationship": "caregiver"})),
			signedIn(201).with(403, "billing", "compliance", "patient", "proxy").with(404, "other_admin")},
		"POST /api/v1/invites/{token}/accept": {fixed(jsonReq("POST", "/api/v1/invites/not-a-real-token/accept", map[string]string{"birth_date": "1980-04-02", "password": "x"})), all(404)},
		"POST /api/v1/conversations": {fixed(jsonReq("POST", "/api/v1/conversations", map[string]string{"patient_id": w.p1.ID, "subject": "Matrix",
			"category": "general", "department_id": w.depts["Nursing"]})), conv1Access(201)},
		"GET /api/v1/conversations":        {fixed(req{method: "GET", path: "/api/v1/conversations"}), signedIn(200)},
		"GET /api/v1/conversations/{id}":   {fixed(req{method: "GET", path: conv}), conv1Access(200)},
		"PATCH /api/v1/conversations/{id}": {fixed(jsonReq("PATCH", conv, map[string]string{"status": "open"})), conv1Access(200).with(403, "patient", "proxy")},
		"POST /api/v1/conversations/{id}/messages": {func(w *world, role string) req {
			return jsonReq("POST", conv+"/messages", map[string]string{"body": "Matrix message", "idempotency_key": "matrix-" + role})
		}, conv1Access(201)},
		"GET /api/v1/conversations/{id}/messages": {fixed(req{method: "GET", path: conv + "/messages"}), conv1Access(200)},
		"POST /api/v1/messages/{id}/read":         {fixed(req{method: "POST", path: "/api/v1/messages/" + w.msg1.ID + "/read"}), conv1Access(204)},
		"POST /api/v1/messages/{id}/retract": {func(w *world, role string) req {
			// Each role retracts a message of its own when it may write in
			// conv1; the others try the nurse's seeded message.
			id := w.msg1.ID
			if k, ok := w.users[role]; ok && role != "other_admin" {
				if m := w.seedMessage(k.ID, k.Role, "retract-"+role); m != nil {
					id = m.ID
				}
			}
			return req{method: "POST", path: "/api/v1/messages/" + id + "/retract"}
		}, conv1Access(200)},
		"POST /api/v1/attachments": {func(w *world, role string) req {
			return multipartReq(w.conv1.ID, "scan.pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"))
		}, conv1Access(201)},
		"GET /api/v1/attachments/{id}": {fixed(req{method: "GET", path: "/api/v1/attachments/" + w.att1.ID}), conv1Access(200)},
		"GET /api/v1/permissions": {fixed(req{method: "GET", path: "/api/v1/permissions"}),
			signedIn(403).with(200, "admin", "compliance", "other_admin")},
		"PUT /api/v1/permissions": {fixed(jsonReq("PUT", "/api/v1/permissions", map[string]any{"permissions": sotto.DefaultPermissions()})),
			signedIn(403).with(200, "admin", "other_admin")},
		"GET /api/v1/audit": {fixed(req{method: "GET", path: "/api/v1/audit?patient_id=" + w.p1.ID}),
			signedIn(403).with(200, "admin", "compliance", "other_admin")},
		"GET /api/v1/audit/verify": {fixed(req{method: "GET", path: "/api/v1/audit/verify"}),
			signedIn(403).with(200, "admin", "compliance", "other_admin")},
		"GET /api/v1/break-glass": {fixed(req{method: "GET", path: "/api/v1/break-glass"}),
			signedIn(403).with(200, "admin", "compliance", "other_admin")},
		"GET /api/v1/events": {fixed(req{method: "GET", path: "/api/v1/events"}), signedIn(426)},
		// Notifications (notifications.go, notifyprefs.go). The world server has
		// no SMS provider, push keys or log channel: those routes answer 404.
		"GET /api/v1/notifications": {fixed(req{method: "GET", path: "/api/v1/notifications?status=failed"}),
			signedIn(403).with(200, "admin", "other_admin")},
		"GET /api/v1/notifications/report": {fixed(req{method: "GET", path: "/api/v1/notifications/report?days=7"}),
			signedIn(403).with(200, "admin", "compliance", "other_admin")},
		"POST /api/v1/notifications/{id}/retry": {fixed(req{method: "POST", path: "/api/v1/notifications/" + store.NewID() + "/retry"}),
			signedIn(403).with(404, "admin", "other_admin")},
		"GET /api/v1/messages/{id}/notifications": {fixed(req{method: "GET", path: "/api/v1/messages/" + w.msg1.ID + "/notifications"}),
			conv1Access(200).with(403, "patient", "proxy")},
		"GET /api/v1/me/notification-preferences": {fixed(req{method: "GET", path: "/api/v1/me/notification-preferences"}), signedIn(200)},
		"PUT /api/v1/me/notification-preferences": {fixed(jsonReq("PUT", "/api/v1/me/notification-preferences", map[string]bool{"email": true})), signedIn(200)},
		"GET /api/v1/patients/{id}/notification-preferences": {fixed(req{method: "GET", path: "/api/v1/patients/" + w.p1.ID + "/notification-preferences"}),
			signedIn(200).with(403, "billing", "compliance", "patient", "proxy").with(404, "other_admin")},
		"PUT /api/v1/patients/{id}/notification-preferences": {fixed(jsonReq("PUT", "/api/v1/patients/"+w.p1.ID+"/notification-preferences",
			map[string]any{"sms": true, "sms_consent_source": "intake_form"})),
			signedIn(200).with(403, "billing", "compliance", "patient", "proxy").with(404, "other_admin")},
		"GET /api/v1/push/public-key":               {fixed(req{method: "GET", path: "/api/v1/push/public-key"}), all(404)},
		"POST /api/v1/me/push-subscriptions":        {fixed(jsonReq("POST", "/api/v1/me/push-subscriptions", map[string]string{"endpoint": "https://push.example.test/x"})), signedIn(404)},
		"DELETE /api/v1/me/push-subscriptions/{id}": {fixed(req{method: "DELETE", path: "/api/v1/me/push-subscriptions/" + store.NewID()}), signedIn(204)},
		"GET /api/v1/notification-templates": {fixed(req{method: "GET", path: "/api/v1/notification-templates"}),
			signedIn(403).with(200, "admin", "other_admin")},
		"PUT /api/v1/notification-templates/{kind}/{lang}": {fixed(jsonReq("PUT", "/api/v1/notification-templates/new_message/en",
			map[string]string{"text": "Test Clinic has a secure message for you: {{link}}"})),
			signedIn(403).with(200, "admin", "other_admin")},
		"DELETE /api/v1/notification-templates/{kind}/{lang}": {fixed(req{method: "DELETE", path: "/api/v1/notification-templates/staff_item/es"}),
			signedIn(403).with(404, "admin", "other_admin")},
		"GET /api/v1/session-policy": {fixed(req{method: "GET", path: "/api/v1/session-policy"}), signedIn(403).with(200, "admin", "other_admin")},
		"PUT /api/v1/session-policy": {fixed(jsonReq("PUT", "/api/v1/session-policy", map[string]int{"staff_idle_minutes": 15, "patient_idle_minutes": 30})),
			signedIn(403).with(200, "admin", "other_admin")},
		"GET /api/v1/on-call": {fixed(req{method: "GET", path: "/api/v1/on-call"}), signedIn(403).with(200, "admin", "other_admin")},
		"PUT /api/v1/on-call": {func(w *world, role string) req {
			return jsonReq("PUT", "/api/v1/on-call", map[string]string{"user_id": w.users["nurse"].ID, "phone": "+15005550123"})
		}, signedIn(403).with(200, "admin").with(400, "other_admin")},
		"DELETE /api/v1/on-call": {fixed(req{method: "DELETE", path: "/api/v1/on-call"}), signedIn(403).with(204, "admin", "other_admin")},
		// Single sign-on settings (sso_admin.go): administrators of either
		// practice; the world has no identity provider, and http:// is refused
		// for one that is not on loopback.
		"GET /api/v1/sso": {fixed(req{method: "GET", path: "/api/v1/sso"}), signedIn(403).with(200, "admin", "other_admin")},
		"PUT /api/v1/sso": {fixed(jsonReq("PUT", "/api/v1/sso", map[string]string{"sign_in_name": "matrix-sso", "issuer": "http://idp.example.test",
			"client_id": "matrix", "client_secret": "matrix-secret"})), signedIn(403).with(400, "admin", "other_admin")},
		"DELETE /api/v1/sso":         {fixed(req{method: "DELETE", path: "/api/v1/sso"}), signedIn(403).with(204, "admin", "other_admin")},
		"POST /webhooks/sms/status":  {fixed(formReq("/webhooks/sms/status", "MessageSid=SM1&MessageStatus=delivered")), all(404)},
		"POST /webhooks/sms/inbound": {fixed(formReq("/webhooks/sms/inbound", "From=%2B15005550006&Body=STOP")), all(404)},
		"GET /demo/notifications":    {fixed(req{method: "GET", path: "/demo/notifications"}), signedIn(404)},

		// Pages (web_routes.go). Signed-out visitors of staff pages are sent to
		// the sign-in page (303); portal users get the staff-only page (403).
		"GET /{$}":                {fixed(req{method: "GET", path: "/"}), all(303)},
		"GET /login":              {fixed(req{method: "GET", path: "/login"}), all(200)},
		"POST /login":             {fixed(formReq("/login", "email=%zz")), all(400)},
		"GET /login/code":         {fixed(req{method: "GET", path: "/login/code"}), all(200)},
		"POST /login/code":        {fixed(formReq("/login/code", "to=testy%40example.test")), all(400)},
		"POST /login/code/verify": {fixed(formReq("/login/code/verify", "to=&code=1")), all(401)},
		"GET /login/sso":          {fixed(req{method: "GET", path: "/login/sso"}), all(200)},
		"GET /login/sso/callback": {fixed(req{method: "GET", path: "/login/sso/callback?state=forged&code=forged"}), all(401)},
		"POST /login/sso/mfa":     {fixed(formReq("/login/sso/mfa", "code=123456")), all(401)},
		"GET /mfa/enroll":         {fixed(req{method: "GET", path: "/mfa/enroll"}), all(200)},
		"POST /mfa/enroll":        {fixed(formReq("/mfa/enroll", "email=%zz")), all(400)},
		"GET /account/security":   {fixed(req{method: "GET", path: "/account/security"}), staffPages(200)},
		"POST /account/security":  {fixed(formReq("/account/security", "name=Test+key")), staffPages(400)},
		"POST /account/security/passkeys/{id}/delete": {fixed(formReq("/account/security/passkeys/"+store.NewID()+"/delete", "")), staffPages(404)},
		"POST /logout": {func(w *world, role string) req {
			r := formReq("/logout", "")
			if role != "anonymous" {
				r.token = w.newToken(role)
			}
			return r
		}, all(303)},
		"GET /inbox":        {fixed(req{method: "GET", path: "/inbox"}), staffPages(200)},
		"GET /inbox/c/{id}": {fixed(req{method: "GET", path: "/inbox/c/" + w.conv1.ID}), conv1Pages(200)},
		"POST /inbox/c/{id}/messages": {func(w *world, role string) req {
			return formReq("/inbox/c/"+w.conv1.ID+"/messages", "body=Matrix+page+message&idempotency_key=matrix-page-"+role)
		}, conv1Pages(303)},
		"POST /inbox/c/{id}/status": {fixed(formReq("/inbox/c/"+w.conv1.ID+"/status", "status=open")), conv1Pages(303)},
		"POST /inbox/c/{id}/assign": {fixed(formReq("/inbox/c/"+w.conv1.ID+"/assign", "")), conv1Pages(303)},
		"POST /inbox/c/{id}/read":   {fixed(formReq("/inbox/c/"+w.conv1.ID+"/read", "")), conv1Pages(204)},
		"GET /patients":             {fixed(req{method: "GET", path: "/patients"}), staffPages(200).with(403, "compliance")},
		"POST /patients":            {fixed(formReq("/patients", "query=testy")), staffPages(200).with(403, "compliance")},
		"GET /patients/{id}": {fixed(req{method: "GET", path: "/patients/" + w.p1.ID}),
			staffPages(200).with(403, "compliance").with(404, "other_admin")},

		// The admin console (web_admin*.go): administrators, each of their own
		// practice (another practice's ids are not found); other staff get 403.
		"GET /admin":               {fixed(req{method: "GET", path: "/admin"}), adminPages(200)},
		"GET /admin/users":         {fixed(req{method: "GET", path: "/admin/users"}), adminPages(200)},
		"GET /admin/departments":   {fixed(req{method: "GET", path: "/admin/departments"}), adminPages(200)},
		"GET /admin/permissions":   {fixed(req{method: "GET", path: "/admin/permissions"}), adminPages(200)},
		"GET /admin/notifications": {fixed(req{method: "GET", path: "/admin/notifications"}), adminPages(200)},
		"GET /admin/sso":           {fixed(req{method: "GET", path: "/admin/sso"}), adminPages(200)},
		"POST /admin/sso":          {fixed(formReq("/admin/sso", "op=remove")), adminPages(303)},
		"POST /admin/users/{id}/status": {fixed(formReq("/admin/users/"+w.users["compliance"].ID+"/status", "disabled=0")),
			adminPages(303).with(404, "other_admin")},
		"POST /admin/users/{id}/sessions": {fixed(formReq("/admin/users/"+w.users["billing"].ID+"/sessions", "")),
			adminPages(303).with(404, "other_admin")},
		"POST /admin/departments": {func(w *world, role string) req {
			return formReq("/admin/departments", "name=Matrix+Page+Department+"+role)
		}, adminPages(303)},
		"POST /admin/departments/{id}/members": {fixed(formReq("/admin/departments/"+w.depts["Front Desk"]+"/members",
			"op=add&user_id="+w.users["admin"].ID)), adminPages(303).with(404, "other_admin")},
		"POST /admin/permissions": {fixed(formReq("/admin/permissions", matrixForm(sotto.DefaultPermissions()).Encode())), adminPages(303)},
		"POST /admin/notifications/templates": {fixed(formReq("/admin/notifications/templates",
			"kind=new_message&lang=en&op=save&text=Test+Practice+has+a+secure+message+for+you%3A+%7B%7Blink%7D%7D")), adminPages(303)},
		"POST /admin/notifications/on-call": {fixed(formReq("/admin/notifications/on-call", "op=set&phone=%2B15005550123&user_id="+w.users["nurse"].ID)),
			adminPages(303).with(400, "other_admin")},
		"POST /admin/notifications/{id}/retry": {fixed(formReq("/admin/notifications/"+store.NewID()+"/retry", "")), adminPages(404)},
		"POST /admin/users": {func(w *world, role string) req {
			return formReq("/admin/users", "name=Matrix+Staff&role=nurse&email=matrix-page-"+role+"%40example.test")
		}, adminPages(400)},
		"POST /admin/users/{id}/invite": {fixed(formReq("/admin/users/"+w.users["billing"].ID+"/invite", "")),
			adminPages(400).with(404, "other_admin")},
		// A staff invitation link that does not work answers its own page
		// (404) to everyone.
		"GET /welcome/{token}":  {fixed(req{method: "GET", path: "/welcome/not-a-token"}), all(404)},
		"POST /welcome/{token}": {fixed(formReq("/welcome/not-a-token", "password=x&password_again=x")), all(404)},
		// The compliance pages (web_compliance*.go): compliance officers and
		// administrators, each of their own practice.
		"GET /compliance":               {fixed(req{method: "GET", path: "/compliance?patient_id=" + w.p1.ID}), auditPages(200).with(404, "other_admin")},
		"POST /compliance":              {fixed(formReq("/compliance", "patient_query=testy")), auditPages(200)},
		"GET /compliance/patients/{id}": {fixed(req{method: "GET", path: "/compliance/patients/" + w.p1.ID}), auditPages(200).with(404, "other_admin")},
		"GET /compliance/verify":        {fixed(req{method: "GET", path: "/compliance/verify"}), auditPages(200)},
		"POST /compliance/verify":       {fixed(formReq("/compliance/verify", "")), auditPages(200)},
		"GET /compliance/break-glass":   {fixed(req{method: "GET", path: "/compliance/break-glass"}), auditPages(200)},

		// The patient portal (web_portal*.go): patients and proxies; staff are
		// sent to their inbox, signed-out visitors to the sign-in page (303).
		// An unknown invitation link answers its own page (404) to everyone.
		"GET /invite/{token}":  {fixed(req{method: "GET", path: "/invite/not-a-token"}), all(404)},
		"POST /invite/{token}": {fixed(formReq("/invite/not-a-token", "birth_date=1980-04-02")), all(404)},
		"GET /portal":          {fixed(req{method: "GET", path: "/portal"}), portalPages(200)},
		"GET /portal/new":      {fixed(req{method: "GET", path: "/portal/new"}), portalPages(200)},
		"POST /portal/new": {func(w *world, role string) req {
			return formReq("/portal/new", "reason=general&body=Matrix+portal+question&idempotency_key=matrix-portal-"+role)
		}, portalPages(303)},
		"GET /portal/c/{id}": {fixed(req{method: "GET", path: "/portal/c/" + w.conv1.ID}), portalPages(200)},
		"POST /portal/c/{id}/messages": {func(w *world, role string) req {
			return formReq("/portal/c/"+w.conv1.ID+"/messages", "body=Matrix+portal+reply&idempotency_key=matrix-preply-"+role)
		}, portalPages(303)},
		"GET /portal/settings":  {fixed(req{method: "GET", path: "/portal/settings"}), portalPages(200)},
		"POST /portal/settings": {fixed(formReq("/portal/settings", "email=1&push=1&language=en")), portalPages(303)},
	}
}

// portalPages gives patients and proxies status; staff of any practice are
// sent to their inbox and anonymous visitors to the sign-in page (303).
func portalPages(status int) outcomes { return all(303).with(status, "patient", "proxy") }

// formReq builds a page form post.
func formReq(path, body string) req {
	return req{method: "POST", path: path, body: body, contentType: "application/x-www-form-urlencoded"}
}

// staffPages gives every staff role status, portal users the staff-only
// page (403) and anonymous visitors the redirect to sign-in (303).
func staffPages(status int) outcomes {
	return all(status).with(403, "patient", "proxy").with(303, "anonymous")
}

// auditPages gives the roles that read the audit trail status, other
// staff and portal users 403 and anonymous visitors the sign-in redirect.
func auditPages(status int) outcomes {
	return staffPages(403).with(status, "admin", "compliance", "other_admin")
}

// adminPages gives administrators (of either practice) status, other
// staff and portal users 403 and anonymous visitors the sign-in redirect.
func adminPages(status int) outcomes { return staffPages(403).with(status, "admin", "other_admin") }

// conv1Pages is conv1Access for the staff pages.
func conv1Pages(ok int) outcomes {
	return staffPages(403).with(ok, "provider", "nurse").with(404, "other_admin")
}

// isPage reports whether route pattern answers in HTML.
func isPage(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return isWebPage(pattern) || strings.HasPrefix(path, "/setup/")
}

// checkPage asserts what every page answer carries: a redirect goes to a
// local path (signed-out visitors of staff pages to /login); anything else
// is HTML with the strict CSP, never cached, holding no PHI when the
// visitor may not see it.
func checkPage(t *testing.T, pattern, role string, want outcomes, res result) {
	t.Helper()
	if res.status == 303 {
		loc := res.header.Get("Location")
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Errorf("%s as %s: redirect to %q, want a local path", pattern, role, loc)
		}
		if role == "anonymous" && want["nurse"] != 303 && loc != "/login" {
			t.Errorf("%s as anonymous: redirect to %q, want /login", pattern, loc)
		}
		return
	}
	if ct := res.header.Get("Content-Type"); res.status != 204 && !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s as %s: Content-Type %q, want an HTML page", pattern, role, ct)
	}
	if res.status != 204 && res.header.Get("Content-Security-Policy") != pageCSP {
		t.Errorf("%s as %s: CSP %q", pattern, role, res.header.Get("Content-Security-Policy"))
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s as %s: Cache-Control %q, want no-store", pattern, role, cc)
	}
	if res.status >= 400 {
		for _, c := range phiCanaries {
			if strings.Contains(res.raw, c) {
				t.Errorf("%s as %s: the %d page shows personal data %q", pattern, role, res.status, c)
			}
		}
	}
}

// unaudited lists the routes whose successful calls need no audit entry:
// they touch no patient data and change nothing.
var unaudited = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /version": true, "GET /static/": true, "GET /api/openapi.json": true,
	"GET /setup/{token}": true, "GET /api/v1/me": true, "GET /api/v1/permissions": true,
	"GET /api/v1/events": true, // frames carry ids only; the reads they lead to are audited
	// One's own notification switches: no patient data.
	"GET /api/v1/me/notification-preferences": true,
	// Notification settings: the practice's wording and who is on call.
	"GET /api/v1/departments": true, "GET /api/v1/locations": true, // the practice's own names
	"GET /api/v1/notification-templates": true, "GET /api/v1/on-call": true, "GET /api/v1/session-policy": true,
	"GET /api/v1/sso": true, "GET /admin/sso": true, // single sign-on settings, never the secret
	// Pages that show no patient data: forms, and sign-in (audited itself
	// when it is tried).
	"GET /login": true, "GET /login/code": true, "GET /login/sso": true, "GET /mfa/enroll": true, "GET /patients": true,
	// One's own passkeys (names and dates, no patient data).
	"GET /api/v1/me/passkeys": true, "GET /account/security": true,
	// The portal's new-message form, and one's own notification switches.
	"GET /portal/new": true, "GET /portal/settings": true,
	// The compliance verification's form (running it is audited).
	"GET /compliance/verify": true,
	// The staff list (no patient data, like GET /api/v1/on-call), and the
	// admin console's pages over staff, departments and the permission
	// matrix; the console's changes are audited by the cores they share
	// with the API.
	"GET /api/v1/users": true, "GET /admin/users": true, "GET /admin/departments": true, "GET /admin/permissions": true,
}

// auditCount counts every audit entry in the store.
func auditCount(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRouteMatrix enumerates every registered route and asserts, for
// every staff role, patient, proxy, another practice's admin and an
// anonymous client, the declared outcome; and that every successful call
// of a route not listed in unaudited appended to the audit trail.
func TestRouteMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		matrix := routeMatrix(w)
		for _, p := range w.srv.Patterns() {
			rc, ok := matrix[p]
			if !ok {
				t.Errorf("route %q is not declared in routeMatrix: declare who may call it", p)
				continue
			}
			for _, role := range worldRoles {
				want, ok := rc.want[role]
				if !ok {
					t.Errorf("route %q: no outcome declared for %s", p, role)
					continue
				}
				r := rc.req(w, role)
				before := auditCount(t, db)
				res := w.do(role, r)
				if res.status < 300 && !unaudited[p] && auditCount(t, db) == before {
					t.Errorf("%s as %s succeeded (%d) without an audit entry", p, role, res.status)
				}
				if undo := routeCleanup[p]; undo != nil {
					undo(w, role)
				}
				if res.status != want {
					t.Errorf("%s as %s: got %d %s, want %d", p, role, res.status, truncate(res.raw), want)
				}
				switch {
				case isPage(p):
					checkPage(t, p, role, rc.want, res)
				case res.status >= 400 && res.status != 426 && res.body["error"] == nil:
					t.Errorf("%s as %s: error answer is not the JSON error shape: %s", p, role, truncate(res.raw))
				}
			}
		}
		w.assertNoPHILogged()
		for p := range matrix {
			found := false
			for _, q := range w.srv.Patterns() {
				found = found || q == p
			}
			if !found {
				t.Errorf("routeMatrix declares %q, which is not a registered route", p)
			}
		}
	})
}

func truncate(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s…(%d bytes)", s[:200], len(s))
	}
	return s
}
