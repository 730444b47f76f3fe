package server

import (
	"context"
	"encoding/base32"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
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

// staffLogin is a world staff member who signs in with a real password
// and authenticator.
type staffLogin struct {
	user            *sotto.User
	email, password string
	secret          []byte
}

// addStaffLogin adds a signed-up staff member of role to org A's dept.
func addStaffLogin(t testing.TB, w *world, key string, role sotto.Role, dept string) *staffLogin {
	t.Helper()
	sl := &staffLogin{email: key + "@example.test", password: "lilac tractor umbrella 93"}
	en, err := auth.Enroll("Test Practice A", "Test "+key, sl.email, sl.password, true, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	sl.secret = en.TOTPSecret
	sl.user = &sotto.User{OrgID: w.orgA, Role: role, Email: sl.email, Name: "Test " + key}
	err = w.db.Write(context.Background(), func(tx *store.Tx) error {
		if err := tx.InsertUser(sl.user, store.Credentials{PasswordHash: en.PasswordHash, TOTPSecret: en.TOTPSecret}); err != nil {
			return err
		}
		return tx.AddDepartmentMember(w.depts[dept], sl.user.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	w.users[key] = sl.user
	return sl
}

// browserClient is a cookie-keeping HTTP client that does not follow
// redirects, like a browser without JavaScript whose steps a test checks.
type browserClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserClient(t *testing.T, base string) *browserClient {
	jar, _ := cookiejar.New(nil)
	return &browserClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// pageAnswer is one answer as the client saw it.
type pageAnswer struct {
	status int
	header http.Header
	body   string
}

func (b *browserClient) do(method, path string, form url.Values, header map[string]string) pageAnswer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (b *browserClient) get(path string) pageAnswer { b.t.Helper(); return b.do("GET", path, nil, nil) }
func (b *browserClient) post(path string, form url.Values) pageAnswer {
	b.t.Helper()
	return b.do("POST", path, form, nil)
}

// unreadCount reads the unread count shown for queue key.
func unreadCount(t *testing.T, body, key string) string {
	t.Helper()
	m := regexp.MustCompile(`id="count-` + regexp.QuoteMeta(key) + `"[^>]*>(\d+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no unread count for queue %s in:\n%s", key, body)
	}
	return m[1]
}

// formKey reads the idempotency key of the rendered send form.
func formKey(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no send form in:\n%s", body)
	}
	return m[1]
}

// auditActions counts the audit entries of each action by user.
func auditActions(t *testing.T, db *store.DB, userID string) map[string]int {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT action, COUNT(*) FROM audit_events WHERE actor_id = $1 GROUP BY action`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		if err := rows.Scan(&a, &n); err != nil {
			t.Fatal(err)
		}
		out[a] = n
	}
	return out
}

// TestStaffPagesWithoutJavaScript walks the staff pages as a browser
// without JavaScript: sign in with password and code, read the inbox and a
// conversation (audited, unread counts falling), send through the form
// (once, however often it is submitted), add an internal note the patient
// never sees, search patients, and sign out.
func TestStaffPagesWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		nurse := addStaffLogin(t, w, "nurse_two", sotto.RoleNurse, "Nursing")
		ts := httptest.NewServer(w.srv)
		defer ts.Close()
		b := newBrowserClient(t, ts.URL)
		conv := "/inbox/c/" + w.conv1.ID

		if p := b.get("/inbox"); p.status != 303 || p.header.Get("Location") != "/login" {
			t.Fatalf("signed-out inbox: %d %q", p.status, p.header.Get("Location"))
		}
		p := b.get("/login")
		if p.status != 200 || p.header.Get("Content-Security-Policy") != pageCSP || p.header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(p.body, `action="/login"`) {
			t.Fatalf("sign-in page: %d %v", p.status, p.header)
		}
		p = b.post("/login", url.Values{"email": {nurse.email}, "password": {"wrong password 12345"}, "code": {"000000"}})
		if p.status != 401 || !strings.Contains(p.body, "is not right") {
			t.Fatalf("wrong password: %d %s", p.status, p.body)
		}
		p = b.post("/login", url.Values{"email": {nurse.email}, "password": {nurse.password}})
		if p.status != 401 || !strings.Contains(p.body, "6-digit code") {
			t.Fatalf("missing code: %d %s", p.status, p.body)
		}
		p = b.post("/login", url.Values{"email": {nurse.email}, "password": {nurse.password}, "code": {auth.TOTPCode(nurse.secret, w.clock.Now())}})
		if p.status != 303 || p.header.Get("Location") != "/inbox" {
			t.Fatalf("sign-in: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		if c := p.header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
			t.Fatalf("session cookie %q", c)
		}

		p = b.get("/inbox")
		nursing := w.depts["Nursing"]
		if p.status != 200 || !strings.Contains(p.body, "Testy McTestface") || !strings.Contains(p.body, `data-conv="`+w.conv1.ID+`"`) {
			t.Fatalf("inbox: %d %s", p.status, p.body)
		}
		if n := unreadCount(t, p.body, nursing); n != "1" {
			t.Fatalf("Nursing unread = %s, want 1", n)
		}
		if !strings.Contains(p.body, `class="conv unread"`) {
			t.Fatalf("the unread conversation is not marked unread:\n%s", p.body)
		}

		before := auditActions(t, db, nurse.user.ID)
		p = b.get(conv)
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("thread: %d", p.status)
		}
		for _, want := range []string{"Test body canary", "Test internal note", "Internal - not visible to patient", "1980-04-02", "TEST-0001", "Test provider"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("thread page lacks %q", want)
			}
		}
		after := auditActions(t, db, nurse.user.ID)
		for _, a := range []string{sotto.AuditConversationView, sotto.AuditPatientView, sotto.AuditMessageRead} {
			if after[a] <= before[a] {
				t.Errorf("opening the thread wrote no %s audit entry (%v → %v)", a, before, after)
			}
		}
		if n := unreadCount(t, p.body, nursing); n != "0" {
			t.Fatalf("Nursing unread after opening = %s, want 0", n)
		}

		// Send through the form; a second submit of the same form sends nothing.
		key := formKey(t, p.body)
		form := url.Values{"body": {"Test reply from the form"}, "idempotency_key": {key}}
		for range 2 {
			p = b.post(conv+"/messages", form)
			if p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), conv+"?queue=") {
				t.Fatalf("send: %d %q %s", p.status, p.header.Get("Location"), p.body)
			}
		}
		msgs := w.must("patient", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if n := strings.Count(msgs.raw, "Test reply from the form"); n != 1 {
			t.Fatalf("the patient sees the form reply %d times, want once", n)
		}
		if p = b.get(conv); !strings.Contains(p.body, "Test reply from the form") || formKey(t, p.body) == key {
			t.Fatal("the sent reply is not shown, or the form key was reused")
		}

		// An internal note stays internal.
		p = b.post(conv+"/messages", url.Values{"body": {"Test form internal note"}, "internal": {"1"}, "idempotency_key": {formKey(t, p.body)}})
		if p.status != 303 {
			t.Fatalf("note: %d %s", p.status, p.body)
		}
		msgs = w.must("patient", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if strings.Contains(msgs.raw, "Test form internal note") {
			t.Fatal("the patient sees an internal note")
		}

		// A form posted from another site is refused and changes nothing.
		p = b.do("POST", conv+"/messages", url.Values{"body": {"Test forged message"}, "idempotency_key": {"forged-1"}},
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"})
		if p.status != 403 {
			t.Fatalf("cross-origin form: %d %s", p.status, p.body)
		}
		msgs = w.must("nurse", req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID + "/messages"}, 200)
		if strings.Contains(msgs.raw, "Test forged message") {
			t.Fatal("a cross-origin form post was sent")
		}

		// Close and reopen, assign.
		if p = b.post(conv+"/status", url.Values{"status": {"closed"}}); p.status != 303 {
			t.Fatalf("close: %d", p.status)
		}
		if p = b.get(conv); !strings.Contains(p.body, `id="reopen-btn"`) {
			t.Fatal("closed conversation offers no reopen")
		}
		if p = b.post(conv+"/status", url.Values{"status": {"open"}}); p.status != 303 {
			t.Fatalf("reopen: %d", p.status)
		}
		if p = b.post(conv+"/assign", nil); p.status != 303 {
			t.Fatalf("assign: %d", p.status)
		}
		if p = b.get("/inbox?queue=mine"); !strings.Contains(p.body, `data-conv="`+w.conv1.ID+`"`) {
			t.Fatal("assigned conversation is not in Mine")
		}

		// Unknown and malformed ids are not found.
		for _, path := range []string{"/inbox/c/" + store.NewID(), "/inbox/c/not-an-id", "/patients/" + store.NewID()} {
			if p = b.get(path); p.status != 404 || !strings.Contains(p.body, "does not exist") {
				t.Errorf("%s: %d", path, p.status)
			}
		}

		// Patient search: the terms travel in the body, never the URL.
		p = b.post("/patients", url.Values{"query": {"McTestface"}})
		if p.status != 200 || !strings.Contains(p.body, `href="/patients/`+w.p1.ID+`"`) {
			t.Fatalf("search: %d %s", p.status, p.body)
		}
		if p = b.get("/patients/" + w.p1.ID); p.status != 200 || !strings.Contains(p.body, "Test subject canary") {
			t.Fatalf("patient record: %d %s", p.status, p.body)
		}

		if p = b.post("/logout", nil); p.status != 303 || p.header.Get("Location") != "/login" {
			t.Fatalf("sign-out: %d", p.status)
		}
		if p = b.get("/inbox"); p.status != 303 {
			t.Fatalf("inbox after sign-out: %d", p.status)
		}
		w.assertNoPHILogged()
	})
}

// TestMFAEnrollmentPages enrolls an authenticator through the pages.
func TestMFAEnrollmentPages(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	en, err := auth.Enroll("Test Practice A", "Test newcomer", "newcomer@example.test", "", false, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	u := &sotto.User{OrgID: w.orgA, Role: sotto.RoleFrontDesk, Email: "newcomer@example.test", Name: "Test newcomer"}
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		return tx.InsertUser(u, store.Credentials{PasswordHash: en.PasswordHash})
	}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	p := b.post("/login", url.Values{"email": {u.Email}, "password": {en.Password}})
	m := regexp.MustCompile(`id="mfa-secret">([A-Z2-7 ]+)<`).FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || !strings.Contains(p.body, "otpauth://totp/") {
		t.Fatalf("enrollment-required sign-in: %d %s", p.status, p.body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	p = b.post("/mfa/enroll", url.Values{"step": {"confirm"}, "email": {u.Email}, "password": {en.Password}, "code": {"000000"}})
	if p.status != 401 || !strings.Contains(p.body, m[1]) {
		t.Fatalf("wrong code: %d, want the same secret shown again", p.status)
	}
	w.clock.Add(30 * time.Second)
	p = b.post("/mfa/enroll", url.Values{"step": {"confirm"}, "email": {u.Email}, "password": {en.Password},
		"code": {auth.TOTPCode(secret, w.clock.Now())}})
	if p.status != 200 || strings.Count(p.body, "<li><code>") != recoveryCodeCount {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	if p = b.get("/inbox"); p.status != 200 {
		t.Fatalf("inbox after enrollment: %d", p.status)
	}
}
