package server

import (
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestSSOInBrowser drives single sign-on in headless Chromium, with the
// provider on another site (localhost against sotto's 127.0.0.1): from the
// sign-in page's link, through the organization's sign-in name, the
// provider and sotto's own code, to the inbox; then, once the practice
// trusts its provider's second factor, straight to the inbox. No CSP
// violation on the way (the hop to the provider is not a form redirect).
func TestSSOInBrowser(t *testing.T) {
	ctx := browserTab(t)
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	idp := newFakeIdP(t, ssoTestClientID, ssoTestSecret, w.clock.Now)
	idp.asLocalhost()
	configure := func(trust bool) {
		w.must("admin", jsonReq("PUT", "/api/v1/sso", map[string]any{"sign_in_name": ssoTestName, "issuer": idp.issuer(),
			"client_id": ssoTestClientID, "client_secret": ssoTestSecret, "trust_idp_mfa": trust}), 200)
	}
	configure(false)
	sl := addStaffLogin(t, w, "sso_browser", sotto.RoleNurse, "Nursing")
	idp.signIn(sl.email)
	checkPage := watchPage(t, ctx)

	toProvider := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(ts.URL + "/login"),
		chromedp.WaitVisible(chromedp.ID("sso-link")),
		chromedp.Click(chromedp.ID("sso-link")),
		chromedp.WaitVisible(chromedp.ID("org")),
		chromedp.SendKeys(chromedp.ID("org"), ssoTestName),
		chromedp.Click(chromedp.CSS(`#sso-form button[type="submit"]`)),
	}
	err := chromedp.Do(ctx, append(toProvider,
		chromedp.WaitVisible(chromedp.ID("sso-mfa-form")),
		chromedp.SendKeys(chromedp.ID("code"), auth.TOTPCode(sl.secret, w.clock.Now())),
		chromedp.Click(chromedp.CSS(`#sso-mfa-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("inbox")),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the signed-in header", `document.getElementById('logout-form') !== null`)

	// Sign out; the practice now trusts its provider's second factor.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#logout-form button`)), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
		t.Fatal(err)
	}
	configure(true)
	if err := chromedp.Do(ctx, append(toProvider, chromedp.WaitVisible(chromedp.ID("inbox")))...); err != nil {
		t.Fatal(err)
	}
	if n := w.countAudit(w.orgA, sotto.AuditSignIn); n != 2 {
		t.Fatalf("sign-ins audited: %d, want 2", n)
	}
	checkPage()
	w.assertNoPHILogged()
}
