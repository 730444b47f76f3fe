package server

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestInviteLandingWithoutJavaScript walks the invitation link of patient
// 2 (who reads Spanish, and has no e-mail on file) as a browser without
// JavaScript: a wrong date of birth is answered on the form in plain words
// and counted; the right one with a password and an e-mail opens the
// account, signed in, at the portal, in Spanish; the used link, an unknown
// one and the link after too many wrong dates answer a clear page.
func TestInviteLandingWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		tok := inviteToken(t, w, w.p2.ID)
		link := "/invite/" + tok
		const pw = "harbor lantern quiet 47"

		for _, bad := range []string{"/invite/not-a-token", "/invite/" + strings.Repeat("A", 43)} {
			p := b.get(bad)
			if p.status != 404 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
				t.Fatalf("%s: %d %v", bad, p.status, p.header)
			}
			mustContain(t, "the unknown link's page", p.body, `id="invite-invalid"`, "Ask the practice to send you a new one")
		}

		p := b.get(link)
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("invitation page: %d %v", p.status, p.header)
		}
		// Patient 2 reads Spanish; the practice has no e-mail for them.
		mustContain(t, "the invitation page", p.body, `<html lang="es">`, "Su fecha de nacimiento", `name="email"`, `type="date"`,
			`action="/invite/`+tok+`"`, "Test Practice A")
		mustNotContain(t, "the invitation page", p.body, `name="name"`, "1975-01-31", "Fakey")

		// A wrong date of birth: refused in plain words, counted and audited.
		failedBefore := auditCountOf(t, db, sotto.AuditInviteFailed, w.p2.ID)
		p = b.post(link, url.Values{"birth_date": {"1975-01-30"}, "password": {pw}, "email": {"carla.demo@example.test"}})
		if p.status != 401 {
			t.Fatalf("wrong date of birth: %d\n%s", p.status, p.body)
		}
		mustContain(t, "the wrong-date answer", p.body, `id="invite-error"`, "no coincide con nuestros registros", "carla.demo@example.test")
		mustNotContain(t, "the wrong-date answer", p.body, "1975-01-30", pw)
		if n := auditCountOf(t, db, sotto.AuditInviteFailed, w.p2.ID); n != failedBefore+1 {
			t.Fatalf("wrong date audited %d times, want once", n-failedBefore)
		}
		if c := p.header.Get("Set-Cookie"); c != "" {
			t.Fatalf("a wrong date set a cookie: %q", c)
		}

		// A short password is named before anything is tried.
		p = b.post(link, url.Values{"birth_date": {"1975-01-31"}, "password": {"short"}, "email": {"carla.demo@example.test"}})
		if p.status != 400 || !strings.Contains(p.body, "al menos 12 caracteres") {
			t.Fatalf("short password: %d\n%s", p.status, p.body)
		}

		// The right date: signed in, at the portal.
		p = b.post(link, url.Values{"birth_date": {"1975-01-31"}, "password": {pw}, "email": {"Carla.Demo@example.test"}})
		if p.status != 303 || p.header.Get("Location") != "/portal" {
			t.Fatalf("accept: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if c := p.header.Get("Set-Cookie"); !strings.Contains(c, SessionCookie+"=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
			t.Fatalf("session cookie %q", c)
		}
		if n := auditCountOf(t, db, sotto.AuditInviteAccept, w.p2.ID); n != 1 {
			t.Fatalf("acceptance audited %d times", n)
		}
		p = b.get("/portal")
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || p.header.Get("Content-Security-Policy") != pageCSP {
			t.Fatalf("portal after accepting: %d %v", p.status, p.header)
		}
		mustContain(t, "the Spanish portal", p.body, `<html lang="es">`, "Sus mensajes", "Mensaje nuevo", "Test Practice A",
			`id="logout-form"`, `data-idle="1800"`, "Para proteger su privacidad")
		if p = b.get("/"); p.status != 303 || p.header.Get("Location") != "/portal" {
			t.Fatalf("home for a patient: %d %q", p.status, p.header.Get("Location"))
		}

		// The link works once.
		if p = b.get(link); p.status != 404 || !strings.Contains(p.body, "ya no funciona") && !strings.Contains(p.body, "does not work") {
			t.Fatalf("used link: %d\n%s", p.status, p.body)
		}

		// Later, the patient signs in with the password and lands on the portal.
		b2 := newBrowserClient(t, ts.URL)
		p = b2.post("/login", url.Values{"email": {"carla.demo@example.test"}, "password": {pw}})
		if p.status != 303 || p.header.Get("Location") != "/portal" {
			t.Fatalf("patient sign-in: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
		}

		// A proxy invitation asks for the proxy's own name and e-mail; five
		// wrong dates end the link, the fifth answer already says so.
		res := w.must("nurse", jsonReq("POST", "/api/v1/patients/"+w.p1.ID+"/proxies", map[string]string{"relationship": "parent"}), 201)
		proxyLink := "/invite/" + res.body["token"].(string)
		b3 := newBrowserClient(t, ts.URL)
		p = b3.do("GET", proxyLink, nil, map[string]string{"Accept-Language": "en-US"})
		mustContain(t, "the proxy invitation", p.body, `<html lang="en">`, `name="name"`, `name="email"`, "for someone you care for")
		form := url.Values{"birth_date": {"2000-01-01"}, "password": {pw}, "name": {"Test Proxy Parent"}, "email": {"proxy.parent@example.test"}}
		for i := range store.MaxInviteAttempts - 1 {
			if p = b3.post(proxyLink, form); p.status != 401 || !strings.Contains(p.body, "does not match our records") {
				t.Fatalf("wrong date %d: %d\n%s", i, p.status, p.body)
			}
		}
		if p = b3.post(proxyLink, form); p.status != 404 || !strings.Contains(p.body, `id="invite-invalid"`) {
			t.Fatalf("the last allowed wrong date: %d\n%s", p.status, p.body)
		}
		form.Set("birth_date", w.p1.BirthDate)
		if p = b3.post(proxyLink, form); p.status != 404 {
			t.Fatalf("the right date after the limit: %d\n%s", p.status, p.body)
		}
		if _, err := db.Patient(context.Background(), w.orgA, w.p2.ID); err != nil {
			t.Fatal(err)
		}
		w.assertNoPHILogged()
	})
}
