package server

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// toProvider runs the first half of a sign-on in browser b without
// following the provider's redirect, and returns the callback URL the
// provider sent the browser back to (with its code and state).
func (e *ssoEnv) toProvider(b *ssoBrowser) *url.URL {
	e.t.Helper()
	nf := &http.Client{Jar: b.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := nf.Get(e.ts.URL + "/login/sso?org=" + ssoTestName)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	_, authz, ok := strings.Cut(res.Header.Get("Refresh"), "url=")
	if res.StatusCode != 200 || !ok || !strings.HasPrefix(authz, e.idp.issuer()+"/authorize?") {
		e.t.Fatalf("start: %d, Refresh %q", res.StatusCode, res.Header.Get("Refresh"))
	}
	res, err = nf.Get(authz)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || back.Path != ssoCallbackPath {
		e.t.Fatalf("provider: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	return back
}

// issued is how many ID tokens the provider has issued.
func (p *fakeIdP) issuedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued
}

// TestSSOStateChecks: a state works once, only in the browser that
// started it, only for ten minutes; a forged or missing state, a tampered
// code and a client the provider refuses all fail before any session.
func TestSSOStateChecks(t *testing.T) {
	e := newSSOEnv(t, storetest.SQLite(t, store.Options{}), true)
	w, nurse := e.w, e.w.users["nurse"]
	e.idp.signIn(nurse.Email)
	fails := func(what string, a ssoAnswer, b *ssoBrowser, reason string) {
		t.Helper()
		if a.status != 401 || !strings.Contains(a.body, `id="sso-error"`) || (b != nil && b.me(e.ts.URL) != "") {
			t.Fatalf("%s: %d at %s, want the failure page and no session", what, a.status, a.url.Path)
		}
		if got := lastSSOReason(t, w); got != reason {
			t.Fatalf("%s: failed for %q, want %q", what, got, reason)
		}
	}

	// Used once: the replay (even with the cookie) is refused and never
	// reaches the provider.
	b := newSSOBrowser(t)
	back := e.toProvider(b)
	if a := b.get(back.String()); a.url.Path != "/inbox" || b.me(e.ts.URL) != nurse.ID {
		t.Fatalf("the first use: %d at %s", a.status, a.url.Path)
	}
	issued := e.idp.issuedCount()
	replay := newSSOBrowser(t)
	r, _ := http.NewRequest("GET", back.String(), nil)
	r.AddCookie(&http.Cookie{Name: ssoStateCookie, Value: back.Query().Get("state")})
	fails("a replayed state", replay.do(r), replay, "state")
	if e.idp.issuedCount() != issued {
		t.Fatal("a replayed state reached the provider")
	}

	// Another browser (no state cookie) cannot finish it, and that uses it up.
	b = newSSOBrowser(t)
	back = e.toProvider(b)
	thief := newSSOBrowser(t)
	fails("a state from another browser", thief.get(back.String()), thief, "state")
	fails("the state after another browser tried it", b.get(back.String()), b, "state")

	// Missing and forged states.
	anon := newSSOBrowser(t)
	fails("no state", anon.get(e.ts.URL+ssoCallbackPath+"?code=abc"), anon, "state")
	r, _ = http.NewRequest("GET", e.ts.URL+ssoCallbackPath+"?state=forged-state&code=abc", nil)
	r.AddCookie(&http.Cookie{Name: ssoStateCookie, Value: "forged-state"})
	fails("a forged state", anon.do(r), anon, "state")

	// Expired after ten minutes.
	b = newSSOBrowser(t)
	back = e.toProvider(b)
	w.clock.Add(ssoStateTTL + time.Second)
	fails("an expired state", b.get(back.String()), b, "state")

	// A tampered code: the provider refuses it.
	b = newSSOBrowser(t)
	back = e.toProvider(b)
	q := back.Query()
	q.Set("code", "tampered-code")
	back.RawQuery = q.Encode()
	fails("a tampered code", b.get(back.String()), b, "token_exchange")
	if e.idp.lastRefusal() != "code" {
		t.Fatalf("the provider refused for %q, want code", e.idp.lastRefusal())
	}

	// A wrong client secret: the provider refuses the client.
	e.configure("admin", ssoTestName, e.idp.issuer(), "not-the-secret", true)
	b, a := e.signOn(ssoTestName)
	fails("a wrong client secret", a, b, "token_exchange")
	if e.idp.lastRefusal() != "client" {
		t.Fatalf("the provider refused for %q, want client", e.idp.lastRefusal())
	}
	// States sotto no longer holds (replayed, used up, missing, forged,
	// expired) name no practice: the system trail. The one taken by the
	// wrong browser is in the practice's.
	if n := e.auditCount(sotto.SystemOrgID, sotto.AuditSignInFailed, "sso"); n != 5 {
		t.Fatalf("failures of no known practice audited in the system trail: %d, want 5", n)
	}
	if n := e.auditCount(w.orgA, sotto.AuditSignInFailed, "sso"); n != 3 {
		t.Fatalf("failures audited in the practice's trail: %d, want 3 (other browser, tampered code, wrong secret)", n)
	}
	w.assertNoPHILogged()
}

// mfaSecret reads the new authenticator secret shown on the code step.
func mfaSecret(t *testing.T, body string) []byte {
	t.Helper()
	m := regexp.MustCompile(`id="mfa-secret">([A-Z2-7 ]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// otherCode is a 6-digit code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestSSOWithSottoCode: when the practice does not let its provider's
// sign-in stand for the second factor, sotto asks for its own code after
// the provider, exactly as after a password: wrong and replayed codes are
// refused and counted, the right one signs in; staff without an
// authenticator set one up there and get their recovery codes; too many
// wrong codes end the sign-on.
func TestSSOWithSottoCode(t *testing.T) {
	e := newSSOEnv(t, storetest.SQLite(t, store.Options{}), false)
	w := e.w
	sl := addStaffLogin(t, w, "sso_nurse", sotto.RoleNurse, "Nursing")
	mfaURL := e.ts.URL + "/login/sso/mfa"

	e.idp.signIn(sl.email)
	b, a := e.signOn(ssoTestName)
	if a.status != 200 || !strings.Contains(a.body, `id="sso-mfa-form"`) || strings.Contains(a.body, `id="mfa-secret"`) {
		t.Fatalf("the code step: %d at %s:\n%s", a.status, a.url.Path, a.body)
	}
	if b.me(e.ts.URL) != "" {
		t.Fatal("signed in before the code")
	}
	code := auth.TOTPCode(sl.secret, w.clock.Now())
	if a := b.post(mfaURL, url.Values{"code": {""}}); a.status != 400 {
		t.Fatalf("no code: %d", a.status)
	}
	if a := b.post(mfaURL, url.Values{"code": {otherCode(code)}}); a.status != 401 || !strings.Contains(a.body, `id="sso-mfa-error"`) {
		t.Fatalf("a wrong code: %d", a.status)
	}
	if a := b.post(mfaURL, url.Values{"code": {code}}); a.url.Path != "/inbox" || b.me(e.ts.URL) != sl.user.ID {
		t.Fatalf("the right code: %d at %s", a.status, a.url.Path)
	}
	if a := b.post(mfaURL, url.Values{"code": {code}}); a.status != 401 {
		t.Fatalf("the used sign-on again: %d", a.status)
	}
	if n := e.auditCount(w.orgA, sotto.AuditSignIn, "sso"); n != 1 {
		t.Fatalf("sign-ins through single sign-on audited: %d", n)
	}
	if n := e.auditCount(w.orgA, sotto.AuditSignInFailed, "user"); n != 1 {
		t.Fatalf("wrong codes audited: %d, want 1", n)
	}
	// The same code in a second sign-on is a replay.
	b, _ = e.signOn(ssoTestName)
	if a := b.post(mfaURL, url.Values{"code": {code}}); a.status != 401 || b.me(e.ts.URL) != "" {
		t.Fatalf("a replayed code: %d", a.status)
	}

	// Without an authenticator: set one up, then the recovery codes.
	nurse := w.users["nurse"]
	e.idp.signIn(nurse.Email)
	b, a = e.signOn(ssoTestName)
	secret := mfaSecret(t, a.body)
	if a := b.post(mfaURL, url.Values{"code": {otherCode(auth.TOTPCode(secret, w.clock.Now()))}}); a.status != 401 ||
		!strings.Contains(a.body, `id="mfa-secret"`) {
		t.Fatalf("a wrong code while setting up: %d", a.status)
	}
	a = b.post(mfaURL, url.Values{"code": {auth.TOTPCode(secret, w.clock.Now())}})
	if a.status != 200 || !strings.Contains(a.body, `id="recovery-codes"`) || b.me(e.ts.URL) != nurse.ID {
		t.Fatalf("setting up: %d at %s", a.status, a.url.Path)
	}
	var enrolled bool
	if err := w.db.QueryRow(context.Background(), `SELECT totp_enrolled FROM users WHERE id = $1`, nurse.ID).Scan(&enrolled); err != nil || !enrolled {
		t.Fatalf("the authenticator is not enrolled (%v)", err)
	}

	// Too many wrong codes end the sign-on. (The clock moves past the
	// throttle's window first: this address has failed before.)
	w.clock.Add(2 * time.Hour)
	pl := addStaffLogin(t, w, "sso_provider", sotto.RoleProvider, "Nursing")
	e.idp.signIn(pl.email)
	b, _ = e.signOn(ssoTestName)
	wrong := otherCode(auth.TOTPCode(pl.secret, w.clock.Now()))
	for i := 1; i <= ssoMFAAttempts; i++ {
		a := b.post(mfaURL, url.Values{"code": {wrong}})
		if i < ssoMFAAttempts && !strings.Contains(a.body, `id="sso-mfa-form"`) {
			t.Fatalf("wrong code %d: the code step is gone (%d)", i, a.status)
		}
		if i == ssoMFAAttempts && (a.status != 401 || !strings.Contains(a.body, `id="sso-error"`)) {
			t.Fatalf("wrong code %d: %d, want the sign-on ended", i, a.status)
		}
	}
	w.clock.Add(time.Hour)
	if a := b.post(mfaURL, url.Values{"code": {auth.TOTPCode(pl.secret, w.clock.Now())}}); a.status != 401 || b.me(e.ts.URL) != "" {
		t.Fatalf("the right code after the sign-on ended: %d", a.status)
	}
	w.assertNoPHILogged()
}
