package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// phoneTab starts a headless Chromium whose tab is a 390×844 phone screen.
func phoneTab(t *testing.T) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 844))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelGuard := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelGuard(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestPortalInBrowser drives the patient portal in headless Chromium on a
// phone-sized screen: sign in, find the big "New message" button (a real
// touch target, no sideways scrolling), pick a reason (only its questions
// show), send a question with a photo, see it in the thread; the nurse's
// reply then appears live, without a reload, and is announced; the nurse
// reading the question turns its mark to "Read". All under the strict CSP
// with no violation.
func TestPortalInBrowser(t *testing.T) {
	ctx := phoneTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	const pw = "meadow copper violin 72"
	setPassword(t, w, "patient", pw)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	photo := filepath.Join(t.TempDir(), "IMG_0001.jpg")
	if err := os.WriteFile(photo, phonePhoto(t), 0o600); err != nil {
		t.Fatal(err)
	}

	checkPage := watchPage(t, ctx)
	var err error
	check := func(what, expr string) {
		t.Helper()
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`)); err != nil || !ok {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			t.Fatalf("%s (%v)\npage:\n%s", what, err, html)
		}
	}

	// Sign in: a patient lands on the portal.
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), w.users["patient"].Email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("new-message")),
	)
	if err != nil {
		t.Fatal(err)
	}
	check("the page is not phone-sized", `window.innerWidth === 390`)
	check("the portal scrolls sideways on a phone", `document.documentElement.scrollWidth <= window.innerWidth`)
	check("the New message button is not a big touch target",
		`document.getElementById('new-message').getBoundingClientRect().height >= 44 && document.getElementById('new-message').getBoundingClientRect().width >= 300`)
	check("text smaller than 16 px", `parseFloat(getComputedStyle(document.body).fontSize) >= 16`)

	// New message: the reason picker asks only what the reason needs.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("new-message")), chromedp.WaitVisible(chromedp.ID("new-form")))
	if err != nil {
		t.Fatal(err)
	}
	check("refill questions shown for a question", `getComputedStyle(document.querySelector('.extra-refill')).display === 'none'`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`label[for="reason-refill"]`)), chromedp.WaitVisible(chromedp.ID("medication"))); err != nil {
		t.Fatal(err)
	}
	check("appointment questions shown for a refill", `getComputedStyle(document.querySelector('.extra-appointment')).display === 'none'`)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`label[for="reason-general"]`)),
		chromedp.WaitNotVisible(chromedp.ID("medication")),
		chromedp.SendKeys(chromedp.ID("body"), "Test question from the phone"),
		chromedp.SetUploadFiles(chromedp.ID("attachment"), []string{photo}),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.ID("pthread")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the sent question in the thread",
		`[...document.querySelectorAll('#pmessages .msg.out .body')].some(e => e.textContent === 'Test question from the phone')`)
	check("the photo is not attached", `document.querySelector('#pmessages .msg.out .files a').getAttribute('href').indexOf('/api/v1/attachments/') === 0`)
	check("the thread scrolls sideways on a phone", `document.documentElement.scrollWidth <= window.innerWidth`)
	convID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('pthread').getAttribute('data-conv')`))
	if err != nil {
		t.Fatal(err)
	}
	msgID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#pmessages .msg.out').getAttribute('data-id')`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the live connection", `document.body.getAttribute('data-live') === 'on'`)

	// The nurse replies (JSON API): it appears live and is announced.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__stay = true`)); err != nil {
		t.Fatal(err)
	}
	w.must("nurse", jsonReq("POST", "/api/v1/conversations/"+convID+"/messages",
		map[string]string{"body": "Test reply from the nurse", "idempotency_key": "portal-browser-1"}), 201)
	waitFor(t, ctx, "the nurse's reply to appear live",
		`[...document.querySelectorAll('#pmessages .msg.in .body')].some(e => e.textContent === 'Test reply from the nurse')`)
	waitFor(t, ctx, "the aria-live announcement", `document.getElementById('live').textContent.indexOf('New message from') === 0`)

	// The nurse reads the question: its mark turns to Read.
	w.must("nurse", req{method: "POST", path: "/api/v1/messages/" + msgID + "/read"}, 204)
	waitFor(t, ctx, "the read mark", `document.querySelector('#m-`+msgID+` .receipt .read') !== null`)
	if stayed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__stay === true`)); err != nil || !stayed {
		t.Fatalf("the page reloaded to show the live updates (%v)", err)
	}
	msgs := w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + convID + "/messages"}, 200)
	if !strings.Contains(msgs.raw, "Test question from the phone") || !strings.Contains(msgs.raw, `"attachment_ids":["`) {
		t.Fatalf("the practice's view of the question: %s", msgs.raw)
	}

	checkPage()
	w.assertNoPHILogged()
}
