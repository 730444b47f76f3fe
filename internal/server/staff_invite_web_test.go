package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestStaffInviteAdminPage: the staff page offers "Add a staff member"
// (roles and departments); a refused form keeps what was typed and says
// why; a good one creates the account, which shows as invited with a
// "Resend invitation" button that sends a new link; the welcome page
// speaks Spanish to a Spanish browser. HTTP level, no browser.
func TestStaffInviteAdminPage(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	mail := withInviteMail(t, w, testPublicURL)

	page := w.must("admin", req{method: "GET", path: "/admin/users"}, 200)
	mustContain(t, "staff page", page.raw, `id="add-staff-form"`, "Add a staff member", `<option value="front_desk">Front desk</option>`,
		`value="`+w.depts["Nursing"]+`"`, ">Nursing</span>")
	if strings.Contains(page.raw, `id="resend-`) || strings.Contains(page.raw, ">Invited<") {
		t.Fatal("the world's accounts show as invited")
	}
	w.must("nurse", formReq("/admin/users", "name=Test+X&email=x%40example.test&role=nurse"), 403)

	// Refused: a bad address, kept on the form.
	form := url.Values{"name": {"Test Newnurse"}, "email": {"new.nurse@"}, "role": {"nurse"}, "department_ids": {w.depts["Nursing"]}}
	bad := w.must("admin", formReq("/admin/users", form.Encode()), 400)
	mustContain(t, "refused form", bad.raw, `id="add-staff-error"`, "Enter a valid e-mail address", `value="Test Newnurse"`,
		`<option value="nurse" selected>`)
	if _, box, _ := strings.Cut(bad.raw, `value="`+w.depts["Nursing"]+`"`); !strings.HasPrefix(box[strings.Index(box, " "):], ` id="staff-dept-`) ||
		!strings.Contains(box[:strings.Index(box, ">")], "checked") {
		t.Fatalf("the picked department is not kept checked:\n%s", bad.raw)
	}
	form.Set("role", "patient")
	form.Set("email", inviteEmail)
	mustContain(t, "a patient role", w.must("admin", formReq("/admin/users", form.Encode()), 400).raw, "Choose the staff member")
	form.Set("email", "patient@example.test")
	form.Set("role", "nurse")
	mustContain(t, "a taken address", w.must("admin", formReq("/admin/users", form.Encode()), 409).raw, "already exists")

	// Accepted: the account shows as invited, and a new link can be sent.
	form.Set("email", inviteEmail)
	added := w.must("admin", formReq("/admin/users", form.Encode()), 303)
	loc := added.header.Get("Location")
	if !strings.HasPrefix(loc, "/admin/users?done=invited#user-") {
		t.Fatalf("redirect to %q", loc)
	}
	id := strings.TrimPrefix(loc, "/admin/users?done=invited#user-")
	first := linkPath(t, mail.next().Text)
	page = w.must("admin", req{method: "GET", path: "/admin/users?done=invited"}, 200)
	mustContain(t, "staff page after adding", page.raw, "their invitation is on its way", `id="status-`+id+`">Invited<`,
		`action="/admin/users/`+id+`/invite"`, "Resend invitation")
	w.must("other_admin", formReq("/admin/users/"+id+"/invite", ""), 404)
	resent := w.must("admin", formReq("/admin/users/"+id+"/invite", ""), 303)
	if resent.header.Get("Location") != "/admin/users?done=invite_sent#user-"+id {
		t.Fatalf("resend redirect to %q", resent.header.Get("Location"))
	}
	second := linkPath(t, mail.next().Text)
	w.must("anonymous", req{method: "GET", path: first}, 404)

	// The welcome page in Spanish.
	hr := httptest.NewRequest("GET", second, nil)
	hr.Header.Set("Accept-Language", "es-MX,es;q=0.9")
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, hr)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<html lang="es">`) || !strings.Contains(rec.Body.String(), "Elija su contraseña") {
		t.Fatalf("Spanish welcome page: %d\n%s", rec.Code, rec.Body)
	}
}

// TestStaffInviteInBrowser drives the whole invitation in headless
// Chromium: the administrator adds a staff member on the admin page; the
// test reads the e-mail from the local SMTP peer; the new member opens
// the link, chooses a password, goes to sign in and reaches the
// authenticator set-up. No CSP violation anywhere.
func TestStaffInviteInBrowser(t *testing.T) {
	ctx := browserTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	admin := addStaffLogin(t, w, "admin_two", sotto.RoleAdmin, "Front Desk")
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	mail := withInviteMail(t, w, base)
	ts.Config.Handler = w.srv
	ts.Start()
	defer ts.Close()
	checkPage := watchPage(t, ctx)

	// The administrator adds a nurse in Nursing.
	err := chromedp.Do(ctx,
		staffSignIn(base, admin, w.clock.Now()),
		chromedp.WaitVisible(chromedp.ID("inbox")),
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("add-staff-form")),
		chromedp.SendKeys(chromedp.ID("staff-name"), "Test Newnurse"),
		chromedp.SendKeys(chromedp.ID("staff-email"), inviteEmail),
		chromedp.SetValue(chromedp.ID("staff-role"), "nurse"),
		chromedp.Click(chromedp.CSS(`input[name="department_ids"][value="`+w.depts["Nursing"]+`"]`)),
		chromedp.Click(chromedp.ID("add-staff-submit")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the new account marked invited", `[...document.querySelectorAll('#users tr')].some(r => r.textContent.includes(`+
		jsString(inviteEmail)+`) && r.textContent.includes('Invited') && r.querySelector('button[id^="resend-"]'))`)

	// The e-mail reaches the local SMTP peer.
	m := mail.next()
	if m.To != inviteEmail {
		t.Fatalf("the invitation went to %s", m.To)
	}
	link := linkPath(t, m.Text)

	// Signed out, the new member opens the link and chooses a password.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#logout-form button`)),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Navigate(base+link),
		chromedp.WaitVisible(chromedp.ID("welcome-form")),
		chromedp.SendKeys(chromedp.ID("password"), invitePassword),
		chromedp.SendKeys(chromedp.ID("password_again"), invitePassword),
		chromedp.Click(chromedp.ID("welcome-submit")),
		chromedp.WaitVisible(chromedp.ID("welcome-done")),
		chromedp.Click(chromedp.ID("welcome-sign-in")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), inviteEmail),
		chromedp.SendKeys(chromedp.ID("password"), invitePassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("mfa-secret")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("mfa-secret"))); err != nil || len(strings.ReplaceAll(secret, " ", "")) < 16 {
		t.Fatalf("authenticator secret %q (%v)", secret, err)
	}
	// The link works no more.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+link), chromedp.WaitVisible(chromedp.ID("welcome-invalid"))); err != nil {
		t.Fatal(err)
	}
	checkPage()
	w.assertNoPHILogged()
}
