package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPasskeysInBrowser drives passkeys in headless Chromium with the
// DevTools virtual authenticator (CTAP2, built in, resident keys, user
// verification): a nurse signs in with password and code, adds a passkey
// on the security page, signs out and signs in with the passkey alone;
// then, at the code step of a password sign-in, uses the passkey instead
// of the code; finally removes it (a plain form, no script needed). All
// under the strict CSP, with no violation. WebAuthn needs a secure
// context, so the pages are served as http://localhost (RP ID
// "localhost").
func TestPasskeysInBrowser(t *testing.T) {
	ctx := browserTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	nurse := addStaffLogin(t, w, "nurse_pk", sotto.RoleNurse, "Nursing")
	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := strings.Cut(ts.Listener.Addr().String(), ":")
	base := "http://localhost:" + port
	w.srv = New(db, slog.New(slog.NewJSONHandler(&w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Config{PublicURL: base, Now: w.clock.Now, PasswordParams: auth.TestParams})
	t.Cleanup(w.srv.Close)
	ts.Config.Handler = w.srv
	ts.Start()
	defer ts.Close()
	checkPage := watchPage(t, ctx)

	var authenticator webauthn.AuthenticatorID
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		authenticator = res.AuthenticatorID
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	credentials := func() []*webauthn.Credential {
		t.Helper()
		var out []*webauthn.Credential
		err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
			out = res.Credentials
			return err
		}))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	signOut := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#logout-form button`)), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
			t.Fatal(err)
		}
	}

	// Sign in with password and code; open the security page from the header.
	err = chromedp.Do(ctx,
		staffSignIn(base, nurse, w.clock.Now()),
		chromedp.WaitVisible(chromedp.ID("inbox")),
		chromedp.Click(chromedp.ID("nav-security")),
		chromedp.WaitVisible(chromedp.ID("passkey-add")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the no-passkey state", `document.getElementById('passkey-empty') && document.getElementById('passkey-unsupported').hidden`)

	// Add a passkey: name, password again, the authenticator creates it.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Test laptop"),
		chromedp.SendKeys(chromedp.ID("passkey-password"), nurse.password),
		chromedp.Click(chromedp.ID("passkey-add-button")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the new passkey on the page",
		`document.getElementById('security-notice') && [...document.querySelectorAll('#passkey-list .pk-name')].map(e => e.textContent).join() === 'Test laptop'`)
	creds := credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || string(creds[0].UserHandle) != string(userHandle(nurse.user.ID)) {
		t.Fatalf("the virtual authenticator holds %+v, want one resident credential for localhost", creds)
	}
	keys, err := db.Passkeys(context.Background(), nurse.user.OrgID, nurse.user.ID)
	if err != nil || len(keys) != 1 || string(keys[0].CredentialID) != string(creds[0].CredentialID) {
		t.Fatalf("stored passkeys %v (%v)", keys, err)
	}

	// Sign out, then sign in with the passkey alone.
	signOut()
	err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("passkey-signin")), chromedp.WaitVisible(chromedp.ID("inbox")))
	if err != nil {
		t.Fatal(err)
	}
	if n := passkeyAudits(t, db, sotto.AuditMFAVerify, "passkey", keys[0].ID, sotto.AuditSuccess); n != 1 {
		t.Fatalf("%d passkey sign-ins audited, want 1", n)
	}

	// The code step of a password sign-in offers the passkey instead; it
	// asks for the password first.
	signOut()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), nurse.email),
		chromedp.SendKeys(chromedp.ID("password"), nurse.password),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-second")),
		chromedp.Click(chromedp.ID("passkey-second")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the request for the password", `document.getElementById('passkey-error').textContent.indexOf('Enter your password first') === 0`)
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), nurse.password),
		chromedp.Click(chromedp.ID("passkey-second")),
		chromedp.WaitVisible(chromedp.ID("inbox")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := passkeyAudits(t, db, sotto.AuditMFAVerify, "passkey", keys[0].ID, sotto.AuditSuccess); n != 2 {
		t.Fatalf("%d passkey sign-ins audited, want 2", n)
	}

	// Remove it with the page's plain form.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("nav-security")),
		chromedp.WaitVisible(chromedp.CSS(`#passkey-list li[data-passkey="`+keys[0].ID+`"] button`)),
		chromedp.Click(chromedp.CSS(`#passkey-list li[data-passkey="`+keys[0].ID+`"] button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the passkey to be gone", `document.getElementById('security-notice') && document.getElementById('passkey-empty')`)
	if keys, err := db.Passkeys(context.Background(), nurse.user.OrgID, nurse.user.ID); err != nil || len(keys) != 0 {
		t.Fatalf("after removal %d passkeys remain (%v)", len(keys), err)
	}

	checkPage()
	w.assertNoPHILogged()
}
