package server

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// codeWorld is the world served with the demo log channel, which stands in
// for SMS and e-mail (no runner: the test reads the sealed code).
func codeWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	return newWorld(t, db).withNotifier(jobs.Channels{Log: &jobs.Outbox{}}, "")
}

// sentCodes returns the codes sent to userID, oldest first.
func (w *world) sentCodes(userID string) []string {
	w.t.Helper()
	ctx := context.Background()
	list, err := w.db.Notifications(ctx, w.orgA, store.NotificationFilter{Limit: 500})
	if err != nil {
		w.t.Fatal(err)
	}
	var codes []string
	for i := len(list) - 1; i >= 0; i-- {
		if n := list[i]; n.Kind == sotto.NotifyOneTimeCode && n.UserID == userID {
			code, err := w.db.NotificationPayload(ctx, w.orgA, n.ID)
			if err != nil {
				w.t.Fatal(err)
			}
			codes = append(codes, string(code))
		}
	}
	return codes
}

// TestSignInWithACode: a patient asks for a code by e-mail or phone and
// signs in with it, once; staff accounts and unknown addresses get the
// same answer and no code; wrong codes fail; requests are throttled.
func TestSignInWithACode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := codeWorld(t, db)
		patient := w.users["patient"]
		start := func(body map[string]string, want int) result {
			t.Helper()
			return w.must("anonymous", jsonReq("POST", "/api/v1/auth/code/start", body), want)
		}
		verify := func(body map[string]string, want int) result {
			t.Helper()
			return w.must("anonymous", jsonReq("POST", "/api/v1/auth/code/verify", body), want)
		}
		start(map[string]string{"email": patient.Email}, 202)
		codes := w.sentCodes(patient.ID)
		if len(codes) != 1 || len(codes[0]) != 6 {
			t.Fatalf("codes sent = %v", codes)
		}
		wrong := "000000"
		if codes[0] == wrong {
			wrong = "111111"
		}
		verify(map[string]string{"email": patient.Email, "code": wrong}, 401)
		res := verify(map[string]string{"email": patient.Email, "code": codes[0]}, 200)
		tok, _ := res.body["token"].(string)
		if tok == "" {
			t.Fatalf("no session token: %s", res.raw)
		}
		me := w.must("patient", req{method: "GET", path: "/api/v1/me", token: tok}, 200)
		if me.body["id"] != patient.ID {
			t.Fatalf("signed in as %v", me.body["id"])
		}
		verify(map[string]string{"email": patient.Email, "code": codes[0]}, 401) // used

		// By phone: the patient record's number.
		start(map[string]string{"phone": "+1 555 555 0123"}, 202)
		codes = w.sentCodes(patient.ID)
		if len(codes) != 2 {
			t.Fatalf("codes after a phone request = %d", len(codes))
		}
		verify(map[string]string{"phone": "+15555550123", "code": codes[1]}, 200)

		// Staff and unknown addresses: the same answer, nothing sent.
		before := len(w.sentCodes(w.users["nurse"].ID))
		start(map[string]string{"email": w.users["nurse"].Email}, 202)
		start(map[string]string{"email": "nobody@example.test"}, 202)
		if len(w.sentCodes(w.users["nurse"].ID)) != before {
			t.Fatal("a staff account was sent a sign-in code")
		}
		verify(map[string]string{"email": w.users["nurse"].Email, "code": "123456"}, 401)
		start(map[string]string{"email": patient.Email, "phone": "+15555550123"}, 400)
		start(map[string]string{}, 400)

		// Throttled per named address.
		limited := false
		for range 10 {
			if r := w.do("anonymous", jsonReq("POST", "/api/v1/auth/code/start", map[string]string{"email": "limit@example.test"})); r.status == 429 {
				limited = r.header.Get("Retry-After") != ""
				break
			}
		}
		if !limited {
			t.Fatal("code requests were never throttled")
		}
		if w.countAudit(w.orgA, sotto.AuditSignInCode) != 2 {
			t.Fatalf("sign_in_code audit entries = %d, want 2", w.countAudit(w.orgA, sotto.AuditSignInCode))
		}
	})
}

// TestSignInWithACodePage: the sign-in page offers codes; a patient asks
// for one, mistypes it, then signs in and lands in the portal.
func TestSignInWithACodePage(t *testing.T) {
	w := codeWorld(t, storetest.SQLite(t, store.Options{}))
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	b := newBrowserClient(t, ts.URL)
	if p := b.get("/login"); !strings.Contains(p.body, `href="/login/code"`) {
		t.Fatal("the sign-in page does not offer a code")
	}
	p := b.get("/login/code")
	if p.status != 200 || !strings.Contains(p.body, `action="/login/code"`) || p.header.Get("Content-Security-Policy") != pageCSP {
		t.Fatalf("code page: %d", p.status)
	}
	if p = b.post("/login/code", url.Values{"to": {"not an address"}}); p.status != 400 || !strings.Contains(p.body, "Enter a mobile phone") {
		t.Fatalf("a bad address: %d", p.status)
	}
	patient := w.users["patient"]
	p = b.post("/login/code", url.Values{"to": {patient.Email}})
	if p.status != 200 || !strings.Contains(p.body, "we sent you a code") || !strings.Contains(p.body, `action="/login/code/verify"`) {
		t.Fatalf("send: %d %s", p.status, p.body)
	}
	codes := w.sentCodes(patient.ID)
	if len(codes) != 1 {
		t.Fatalf("codes sent = %d", len(codes))
	}
	wrong := "000000"
	if codes[0] == wrong {
		wrong = "111111"
	}
	if p = b.post("/login/code/verify", url.Values{"to": {patient.Email}, "code": {wrong}}); p.status != 401 || !strings.Contains(p.body, "not right") {
		t.Fatalf("a wrong code: %d", p.status)
	}
	p = b.post("/login/code/verify", url.Values{"to": {patient.Email}, "code": {codes[0][:3] + " " + codes[0][3:]}})
	if p.status != 303 || p.header.Get("Location") != "/portal" {
		t.Fatalf("verify: %d %q", p.status, p.header.Get("Location"))
	}
	if p = b.get("/portal"); p.status != 200 {
		t.Fatalf("portal after a code: %d", p.status)
	}
}
