package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestAdminConsoleInBrowser drives the admin console in headless Chromium
// on a phone-sized screen: sign in with password and TOTP, open the
// console from the header's Admin entry, and on the notifications page
// try a wording with a variable the kind does not allow (refused on the
// form, in plain words) and then save a valid one (the API shows it). No
// console page scrolls sideways; there is no CSP violation anywhere.
func TestAdminConsoleInBrowser(t *testing.T) {
	ctx := phoneTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	admin := addStaffLogin(t, w, "admin_two", sotto.RoleAdmin, "Front Desk")
	ts := httptest.NewServer(w.srv)
	defer ts.Close()

	checkPage := watchPage(t, ctx)
	var err error

	// Sign in, then open the console from the header.
	err = chromedp.Do(ctx,
		staffSignIn(ts.URL, admin, w.clock.Now()),
		chromedp.WaitVisible(chromedp.ID("inbox")),
		chromedp.Click(chromedp.ID("nav-admin")),
		chromedp.WaitVisible(chromedp.ID("tile-users")),
		chromedp.Click(chromedp.ID("tile-users")),
		chromedp.WaitVisible(chromedp.ID("users")),
	)
	if err != nil {
		t.Fatal(err)
	}
	noSideways := func(what string) {
		t.Helper()
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= document.documentElement.clientWidth && window.innerWidth <= 390`)); err != nil || !ok {
			t.Errorf("the %s page scrolls sideways on a phone (%v)", what, err)
		}
	}
	noSideways("staff")

	// A forbidden variable is refused on the form, the text kept.
	textarea := chromedp.ID("tpl-new_message-en-text")
	clear := func() {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById('tpl-new_message-en-text').value = '') === ''`)); err != nil {
			t.Fatal(err)
		}
	}
	save := chromedp.CSS(`#tpl-new_message-en button[value="save"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/admin/notifications"), chromedp.WaitVisible(textarea)); err != nil {
		t.Fatal(err)
	}
	clear()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(textarea, "Hi {{patient_name}}, read it here: {{link}}"),
		chromedp.Click(save),
		chromedp.WaitVisible(chromedp.ID("tpl-new_message-en-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("tpl-new_message-en-error")))
	if err != nil || !strings.Contains(msg, "{{patient_name}} cannot be used") || !strings.Contains(msg, "{{practice_name}}, {{link}}") {
		t.Fatalf("refusal = %q (%v)", msg, err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('tpl-new_message-en-text').value`)); err != nil || !strings.Contains(v, "{{patient_name}}") {
		t.Fatalf("the refused text was not kept: %q (%v)", v, err)
	}

	// A valid wording is saved.
	const wording = "Test Practice A has a secure message for you: {{link}}"
	clear()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(textarea, wording),
		chromedp.Click(save),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the saved wording on the page", `document.getElementById('notice').textContent === 'Your wording is saved.' && `+
		`document.getElementById('tpl-new_message-en-text').value === `+jsString(wording))
	if v := templateOf(t, w, "new_message", "en"); !v.Custom || v.Text != wording {
		t.Fatalf("the API shows %+v", v)
	}
	noSideways("notifications")
	for _, name := range []string{"permissions", "departments"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/admin/"+name), chromedp.WaitVisible(chromedp.CSS(`.admin-nav a[aria-current="page"]`))); err != nil {
			t.Fatal(err)
		}
		noSideways(name)
	}

	checkPage()
	w.assertNoPHILogged()
}
