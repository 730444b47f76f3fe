package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// EnvChromium names the Chromium binary for browser tests;
// scripts/test-env.sh sets it.
const EnvChromium = "SOTTO_TEST_CHROMIUM"

// chromium returns the browser to test with. Without one the test fails
// under CI=true (CI must never skip the browser tests) and skips loudly
// elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv(EnvChromium)
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the browser tests (run them through scripts/test-env.sh)", EnvChromium)
		}
		t.Skipf("################ %s is not set: the browser tests are SKIPPED. Run `bash scripts/test-env.sh go test ./internal/server/` to include them. ################", EnvChromium)
	}
	return p
}

// browserTab starts a headless Chromium and returns a tab's context. The
// deadline only guards against a hung browser; no assertion depends on
// time.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelGuard := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelGuard(); cancelTab(); cancelAlloc() })
	return ctx
}

// cspProbe records, in every document the tab opens, the CSP violations
// the page reports (the script is injected by the DevTools protocol, which
// the policy does not govern).
const cspProbe = `window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective); });`

// waitFor evaluates the JavaScript condition expr until it holds,
// through navigations (an evaluation during one fails and is retried).
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			html, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			t.Fatalf("waiting for %s: %v (last error %v)\npage:\n%s", what, ctx.Err(), err, html)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestStaffInboxInBrowser drives the staff inbox in headless Chromium: sign
// in with password and TOTP, see the unread conversation, open it (the
// count drops), reply with Ctrl+Enter, receive the patient's message live
// (announced, without a reload), and send an internal note the patient
// never sees; all under the strict CSP with no violation.
func TestStaffInboxInBrowser(t *testing.T) {
	ctx := browserTab(t)
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	nursing := w.depts["Nursing"]
	convSel := fmt.Sprintf(`a[data-conv="%s"]`, w.conv1.ID)

	res, err := http.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Content-Security-Policy"); got != pageCSP {
		t.Fatalf("sign-in page CSP = %q", got)
	}

	checkPage := watchPage(t, ctx)

	// Sign in with password and code.
	err = chromedp.Do(ctx,
		staffSignIn(ts.URL, nurse, w.clock.Now()),
		chromedp.WaitVisible(chromedp.ID("inbox")),
		chromedp.WaitVisible(chromedp.CSS(convSel)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("count-"+nursing))); err != nil || strings.TrimSpace(n) != "1" {
		t.Fatalf("Nursing unread count = %q (%v), want 1", n, err)
	}
	if bold, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+convSel+`').parentElement.classList.contains('unread')`)); err != nil || !bold {
		t.Fatalf("the conversation is not shown unread (%v)", err)
	}

	// Open it: the count drops.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(convSel)), chromedp.WaitVisible(chromedp.ID("body")))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the unread count to drop", `document.getElementById('count-`+nursing+`').textContent.trim() === '0'`)
	waitFor(t, ctx, "the live connection", `document.body.getAttribute('data-live') === 'on'`)

	// Reply with Ctrl+Enter: the form posts, the page comes back with it.
	send := func(text string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__before = true`))
		if err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("body"), text),
			chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the sent message on the reloaded thread", `!window.__before && document.body.getAttribute('data-live') === 'on' && `+
			`[...document.querySelectorAll('#messages .body')].some(e => e.textContent === `+jsString(text)+`)`)
	}
	send("Test reply from the browser")

	// The patient writes (second session, JSON API): it appears live, with
	// no reload, and is announced.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__stay = true`)); err != nil {
		t.Fatal(err)
	}
	w.must("patient", jsonReq("POST", "/api/v1/conversations/"+w.conv1.ID+"/messages",
		map[string]string{"body": "Test live message from the patient", "idempotency_key": "browser-live-1"}), 201)
	waitFor(t, ctx, "the patient's message to appear live",
		`[...document.querySelectorAll('#messages .msg.in .body')].some(e => e.textContent === 'Test live message from the patient')`)
	waitFor(t, ctx, "the aria-live announcement", `document.getElementById('live').textContent.indexOf('New message from') === 0`)
	if stayed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__stay === true`)); err != nil || !stayed {
		t.Fatalf("the page reloaded to show the live message (%v)", err)
	}

	// The internal-note switch restyles and relabels the box; the note is
	// never shown to the patient.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("internal")))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the compose box to turn internal",
		`document.getElementById('compose').classList.contains('internal') && document.getElementById('compose-label').textContent === 'Internal - not visible to patient'`)
	send("Test browser internal note")
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('#messages .msg.note .body')].some(e => e.textContent === 'Test browser internal note')`)); err != nil || !ok {
		t.Fatalf("the note is not shown as an internal note (%v)", err)
	}
	msgs := w.must("patient", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
	if strings.Contains(msgs.raw, "Test browser internal note") || !strings.Contains(msgs.raw, "Test reply from the browser") {
		t.Fatalf("the patient's view of the thread is wrong: %s", msgs.raw)
	}

	checkPage()
	w.assertNoPHILogged()
}

// watchPage records ctx's console and, on every page it opens, CSP
// violations; the function it returns fails the test if there were any
// (or a script threw). Callers: the browser tests, once at the end.
func watchPage(t *testing.T, ctx context.Context) func() {
	t.Helper()
	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String())
			mu.Unlock()
		}
	}()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__csp.length`)); err != nil || n != 0 {
			v, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
			t.Fatalf("CSP violations on the page: %v (%v)", v, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range console {
			if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
				t.Errorf("console: %s", m)
			}
		}
	}
}

// staffSignIn fills and submits the sign-in form as staff member l, with
// the authenticator code of now.
func staffSignIn(base string, l *staffLogin, now time.Time) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), l.email),
		chromedp.SendKeys(chromedp.ID("password"), l.password),
		chromedp.SendKeys(chromedp.ID("code"), auth.TOTPCode(l.secret, now)),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	}
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, step := range steps {
			if _, err := step(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}
