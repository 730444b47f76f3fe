package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// Single sign-on test fixtures: the world, served over loopback HTTP,
// with a fake identity provider (sso_idp_test.go) configured for
// practice A through the admin API.
const (
	ssoTestClientID = "sotto-test-client"
	ssoTestSecret   = "test-client-secret-canary-41c9"
	ssoTestName     = "practice-a"
)

type ssoEnv struct {
	t   *testing.T
	w   *world
	idp *fakeIdP
	ts  *httptest.Server
}

// newSSOEnv builds the world over db with single sign-on for practice A;
// trust says whether the provider's sign-in stands for sotto's code.
func newSSOEnv(t *testing.T, db *store.DB, trust bool) *ssoEnv {
	t.Helper()
	w := newWorld(t, db)
	e := &ssoEnv{t: t, w: w, idp: newFakeIdP(t, ssoTestClientID, ssoTestSecret, w.clock.Now)}
	e.ts = httptest.NewServer(w.srv)
	t.Cleanup(e.ts.Close)
	e.configure("admin", ssoTestName, e.idp.issuer(), ssoTestSecret, trust)
	return e
}

// configure sets the single sign-on of role's practice through the API.
func (e *ssoEnv) configure(role, name, issuer, secret string, trust bool) result {
	e.t.Helper()
	return e.w.must(role, jsonReq("PUT", "/api/v1/sso", map[string]any{"sign_in_name": name, "issuer": issuer,
		"client_id": ssoTestClientID, "client_secret": secret, "trust_idp_mfa": trust}), 200)
}

// auditCount counts orgID's audit entries of action with target type tt.
func (e *ssoEnv) auditCount(orgID, action, tt string) int {
	e.t.Helper()
	var n int
	err := e.w.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND action = $2 AND target_type = $3`,
		orgID, action, tt).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// ssoBrowser is a cookie-keeping HTTP client that follows redirects and
// Refresh headers, like a browser.
type ssoBrowser struct {
	t *testing.T
	c *http.Client
}

// ssoAnswer is the last answer a browser step saw, and where.
type ssoAnswer struct {
	status int
	header http.Header
	body   string
	url    *url.URL
}

func newSSOBrowser(t *testing.T) *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	return &ssoBrowser{t: t, c: &http.Client{Jar: jar}}
}

// do sends one request (following redirects), then follows Refresh headers.
func (b *ssoBrowser) do(req *http.Request) ssoAnswer {
	b.t.Helper()
	for hop := 0; ; hop++ {
		res, err := b.c.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		a := ssoAnswer{status: res.StatusCode, header: res.Header, body: string(raw), url: res.Request.URL}
		refresh := res.Header.Get("Refresh")
		if refresh == "" || hop == 5 {
			return a
		}
		_, target, ok := strings.Cut(refresh, "url=")
		if !ok {
			b.t.Fatalf("Refresh header %q has no url", refresh)
		}
		next, err := a.url.Parse(target)
		if err != nil {
			b.t.Fatal(err)
		}
		req, _ = http.NewRequest("GET", next.String(), nil)
	}
}

func (b *ssoBrowser) get(u string) ssoAnswer {
	b.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *ssoBrowser) post(u string, form url.Values) ssoAnswer {
	b.t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// me is the user id the browser's session belongs to ("" without one).
func (b *ssoBrowser) me(base string) string {
	b.t.Helper()
	a := b.get(base + "/api/v1/me")
	if a.status != 200 {
		return ""
	}
	var m meResponse
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		b.t.Fatal(err)
	}
	return m.ID
}

// signOn runs single sign-on for practice name as whoever the provider
// signs in, in a fresh browser, and returns the browser and the last page.
func (e *ssoEnv) signOn(name string) (*ssoBrowser, ssoAnswer) {
	e.t.Helper()
	b := newSSOBrowser(e.t)
	return b, b.get(e.ts.URL + "/login/sso?org=" + url.QueryEscape(name))
}

// TestSSOSignIn: a staff member whose verified e-mail the provider
// asserts lands in the inbox with a session, audited as a sign-in through
// single sign-on; every bad token, refused person or other practice's
// account gets the same failure page, no session and an audited failure.
func TestSSOSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSSOEnv(t, db, true)
		w, nurse := e.w, e.w.users["nurse"]

		e.idp.signIn(nurse.Email)
		b, a := e.signOn(ssoTestName)
		if a.status != 200 || a.url.Path != "/inbox" || !strings.Contains(a.body, `id="inbox"`) {
			t.Fatalf("sign-on ended at %s with %d:\n%s", a.url, a.status, a.body)
		}
		if got := b.me(e.ts.URL); got != nurse.ID {
			t.Fatalf("the session belongs to %q, want the nurse", got)
		}
		if n := e.auditCount(w.orgA, sotto.AuditSignIn, "sso"); n != 1 {
			t.Fatalf("sign-ins through single sign-on audited: %d, want 1", n)
		}
		// The organization's id works as the sign-in name too.
		if b, a := e.signOn(w.orgA); a.url.Path != "/inbox" || b.me(e.ts.URL) != nurse.ID {
			t.Fatalf("sign-on by organization id ended at %s (%d)", a.url, a.status)
		}

		now := w.clock.Now()
		for _, c := range []struct {
			name, reason string
			email        string
			change       func(p *fakeIdP)
		}{
			{"wrong nonce", "nonce_mismatch", nurse.Email, func(p *fakeIdP) { p.tamper = func(c map[string]any) { c["nonce"] = "forged-nonce" } }},
			{"wrong audience", "id_token_invalid", nurse.Email, func(p *fakeIdP) { p.tamper = func(c map[string]any) { c["aud"] = "another-client" } }},
			{"several audiences without azp", "id_token_invalid", nurse.Email, func(p *fakeIdP) {
				p.tamper = func(c map[string]any) { c["aud"] = []string{ssoTestClientID, "another-client"} }
			}},
			{"wrong issuer", "id_token_invalid", nurse.Email, func(p *fakeIdP) { p.tamper = func(c map[string]any) { c["iss"] = "https://idp.example.test" } }},
			{"expired token", "id_token_invalid", nurse.Email, func(p *fakeIdP) {
				p.tamper = func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }
			}},
			{"email not verified", "email_unverified", nurse.Email, func(p *fakeIdP) { p.user.Verified = false }},
			{"email_verified missing", "email_unverified", nurse.Email, func(p *fakeIdP) { p.user.Verified = nil }},
			{"email_verified a word", "email_unverified", nurse.Email, func(p *fakeIdP) { p.user.Verified = "yes" }},
			{"no email", "no_email", "", nil},
			{"unknown e-mail", "no_account", "nobody-here@example.test", nil},
			{"a patient", "no_account", w.users["patient"].Email, nil},
			{"another practice's admin", "no_account", w.users["other_admin"].Email, nil},
			{"the person cancelled", "provider_error", nurse.Email, func(p *fakeIdP) { p.denied = true }},
		} {
			e.idp.set(func() {
				e.idp.user, e.idp.tamper, e.idp.denied = fakeIdPUser{Email: c.email, Verified: true}, nil, false
				if c.change != nil {
					c.change(e.idp)
				}
			})
			failedBefore, inBefore := e.auditCount(w.orgA, sotto.AuditSignInFailed, "sso"), e.auditCount(w.orgA, sotto.AuditSignIn, "sso")
			b, a := e.signOn(ssoTestName)
			if a.status != 401 || a.url.Path != ssoCallbackPath || !strings.Contains(a.body, `id="sso-error"`) {
				t.Errorf("%s: ended at %s with %d, want the failure page", c.name, a.url.Path, a.status)
			}
			if got := b.me(e.ts.URL); got != "" {
				t.Errorf("%s: signed in as %s", c.name, got)
			}
			if got := lastSSOReason(t, w); got != c.reason {
				t.Errorf("%s: failed for %q, want %q", c.name, got, c.reason)
			}
			if e.auditCount(w.orgA, sotto.AuditSignInFailed, "sso") != failedBefore+1 || e.auditCount(w.orgA, sotto.AuditSignIn, "sso") != inBefore {
				t.Errorf("%s: the failure is not audited once in the practice's trail", c.name)
			}
		}
		e.idp.set(func() { e.idp.tamper, e.idp.denied = nil, false })

		// Another practice's user fails through practice A even when
		// practice B uses the same provider and client, and signs in
		// through B. A's trail never names B's user.
		e.configure("other_admin", "practice-b", e.idp.issuer(), ssoTestSecret, true)
		other := w.users["other_admin"]
		e.idp.signIn(other.Email)
		if b, a := e.signOn(ssoTestName); a.status != 401 || b.me(e.ts.URL) != "" {
			t.Fatalf("B's admin through A: %d at %s", a.status, a.url.Path)
		}
		if b, a := e.signOn("practice-b"); a.url.Path != "/inbox" || b.me(e.ts.URL) != other.ID {
			t.Fatalf("B's admin through B: %d at %s", a.status, a.url.Path)
		}
		var n int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND (actor_id = $2 OR target_id = $2)`,
			w.orgA, other.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("practice A's trail names B's user %d times (%v)", n, err)
		}

		// A disabled account fails.
		if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.SetUserDisabled(w.orgA, nurse.ID, true) }); err != nil {
			t.Fatal(err)
		}
		e.idp.signIn(nurse.Email)
		if b, a := e.signOn(ssoTestName); a.status != 401 || b.me(e.ts.URL) != "" {
			t.Fatalf("a disabled account: %d at %s", a.status, a.url.Path)
		}

		// An unknown sign-in name, and a disabled or removed setting.
		if _, a := e.signOn("no-such-practice"); a.status != 404 || !strings.Contains(a.body, `id="sso-error"`) {
			t.Fatalf("an unknown name: %d", a.status)
		}
		w.must("admin", jsonReq("PUT", "/api/v1/sso", map[string]any{"sign_in_name": ssoTestName, "issuer": e.idp.issuer(),
			"client_id": ssoTestClientID, "enabled": false}), 200)
		if _, a := e.signOn(ssoTestName); a.status != 404 {
			t.Fatalf("a disabled setting: %d", a.status)
		}
		w.must("admin", req{method: "DELETE", path: "/api/v1/sso"}, 204)
		if _, a := e.signOn(ssoTestName); a.status != 404 {
			t.Fatalf("a removed setting: %d", a.status)
		}
		w.assertNoPHILogged()
		if strings.Contains(w.log.String(), ssoTestSecret) {
			t.Fatal("the client secret was logged")
		}
	})
}

// lastSSOReason is the reason of the server's last logged single sign-on
// failure.
func lastSSOReason(t *testing.T, w *world) string {
	t.Helper()
	reason := ""
	for _, line := range strings.Split(w.log.String(), "\n") {
		var m struct{ Msg, Reason string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "sso sign-in failed" {
			reason = m.Reason
		}
	}
	return reason
}
