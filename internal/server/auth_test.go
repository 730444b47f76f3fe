package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// fakeClock is a goroutine-safe settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testEmail    = "Canary.Signin@Example.TEST"
	testEmailLow = "canary.signin@example.test"
	testPassword = "lilac tractor umbrella 93"
)

type authEnv struct {
	t      *testing.T
	db     *store.DB
	clock  *fakeClock
	srv    *Server
	user   *sotto.User
	secret []byte
	tokens []string // every token issued
}

func newAuthEnv(t *testing.T, db *store.DB) *authEnv {
	t.Helper()
	ctx := context.Background()
	org := &sotto.Org{Name: "Sign-in Practice"}
	u := &sotto.User{Role: sotto.RoleNurse, Email: testEmail, Name: "Canary Signin"}
	en, err := auth.Enroll(org.Name, u.Name, testEmailLow, testPassword, true, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertOrg(org); err != nil {
			return err
		}
		u.OrgID = org.ID
		return tx.InsertUser(u, store.Credentials{PasswordHash: en.PasswordHash, TOTPSecret: en.TOTPSecret})
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &authEnv{t: t, db: db, clock: &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, user: u, secret: en.TOTPSecret}
	e.restart()
	return e
}

// restart builds a fresh Server (and so a fresh throttle) over the same DB.
func (e *authEnv) restart() {
	e.srv = New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Now: e.clock.Now, PasswordParams: auth.TestParams})
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r result) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r result) message() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	return ""
}

func (e *authEnv) do(method, path, body, token, remote string) result {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return res
}

func loginBody(email, password, code string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "totp_code": code})
	return string(b)
}

func (e *authEnv) login(email, password, code, remote string) result {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/login", loginBody(email, password, code), "", remote)
}

// signIn logs in successfully and returns the token; it first moves the
// clock to a fresh TOTP step so that codes are never replays.
func (e *authEnv) signIn() string {
	e.t.Helper()
	e.clock.Add(30 * time.Second)
	r := e.login(testEmail, testPassword, auth.TOTPCode(e.secret, e.clock.Now()), "")
	if r.status != 200 {
		e.t.Fatalf("login: %d %s", r.status, r.raw)
	}
	tok, _ := r.body["token"].(string)
	if len(tok) != auth.TokenLen || r.body["expires_at"] == nil {
		e.t.Fatalf("login body: %s", r.raw)
	}
	e.tokens = append(e.tokens, tok)
	return tok
}

func wantErr(t *testing.T, what string, r result, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.raw, status, code)
	}
}

func TestLoginAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAuthEnv(t, db)

		// Password right, no code: mfa_required. Wrong code, wrong password,
		// unknown account: all the same invalid_credentials answer.
		wantErr(t, "no code", e.login(testEmail, testPassword, "", "192.0.2.10:1"), 401, "mfa_required")
		wrongCode := e.login(testEmail, testPassword, "000000", "192.0.2.11:1")
		if auth.TOTPCode(e.secret, e.clock.Now()) == "000000" {
			t.Skip("unlucky TOTP code")
		}
		wantErr(t, "wrong code", wrongCode, 401, "invalid_credentials")
		wrongPw := e.login(testEmail, "wrong password 12345", auth.TOTPCode(e.secret, e.clock.Now()), "192.0.2.12:1")
		wantErr(t, "wrong password", wrongPw, 401, "invalid_credentials")
		unknown := e.login("nobody@example.test", testPassword, "", "192.0.2.13:1")
		wantErr(t, "unknown email", unknown, 401, "invalid_credentials")
		if unknown.message() != wrongPw.message() || wrongCode.message() != wrongPw.message() {
			t.Fatalf("messages differ: %q / %q / %q", unknown.message(), wrongPw.message(), wrongCode.message())
		}
		wantErr(t, "malformed JSON", e.do("POST", "/api/v1/auth/login", `{"email":`, "", ""), 400, "invalid")

		// Success, then a replay of the same code fails.
		code := auth.TOTPCode(e.secret, e.clock.Now())
		ok := e.login(testEmail, testPassword, code, "192.0.2.14:1")
		if ok.status != 200 {
			t.Fatalf("login: %d %s", ok.status, ok.raw)
		}
		token := ok.body["token"].(string)
		e.tokens = append(e.tokens, token)
		wantErr(t, "replayed code", e.login(testEmail, testPassword, code, "192.0.2.15:1"), 401, "invalid_credentials")

		// me works with the token, over the header or the cookie.
		me := e.do("GET", "/api/v1/me", "", token, "")
		if me.status != 200 || me.body["id"] != e.user.ID || me.body["email"] != testEmailLow ||
			me.body["role"] != "nurse" || me.body["org_id"] != e.user.OrgID || me.body["name"] != "Canary Signin" {
			t.Fatalf("me: %d %s", me.status, me.raw)
		}
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("me by cookie: %d %s", rec.Code, rec.Body.String())
		}
		wantErr(t, "me without token", e.do("GET", "/api/v1/me", "", "", ""), 401, "unauthenticated")
		wantErr(t, "me with junk token", e.do("GET", "/api/v1/me", "", "junk", ""), 401, "unauthenticated")
		other, _, _ := auth.NewToken()
		wantErr(t, "me with unknown token", e.do("GET", "/api/v1/me", "", other, ""), 401, "unauthenticated")

		// Logout revokes the session.
		if r := e.do("POST", "/api/v1/auth/logout", "", token, ""); r.status != 204 {
			t.Fatalf("logout: %d %s", r.status, r.raw)
		}
		wantErr(t, "me after logout", e.do("GET", "/api/v1/me", "", token, ""), 401, "unauthenticated")
		wantErr(t, "second logout", e.do("POST", "/api/v1/auth/logout", "", token, ""), 401, "unauthenticated")

		// Idle expiry: activity within 15 minutes keeps it alive.
		token = e.signIn()
		e.clock.Add(14 * time.Minute)
		if r := e.do("GET", "/api/v1/me", "", token, ""); r.status != 200 {
			t.Fatalf("me after 14 min: %d %s", r.status, r.raw)
		}
		e.clock.Add(14 * time.Minute)
		if r := e.do("GET", "/api/v1/me", "", token, ""); r.status != 200 {
			t.Fatalf("me 14 min after activity: %d %s", r.status, r.raw)
		}
		e.clock.Add(15 * time.Minute)
		wantErr(t, "me after 15 idle min", e.do("GET", "/api/v1/me", "", token, ""), 401, "unauthenticated")

		// Absolute expiry after 12 hours despite constant activity.
		token = e.signIn()
		for range 12 * 6 {
			if r := e.do("GET", "/api/v1/me", "", token, ""); r.status != 200 {
				t.Fatalf("me during shift at %v: %d %s", e.clock.Now(), r.status, r.raw)
			}
			e.clock.Add(10 * time.Minute)
		}
		wantErr(t, "me after 12 h", e.do("GET", "/api/v1/me", "", token, ""), 401, "unauthenticated")

		// A disabled user's session stops working, and the user cannot sign in.
		token = e.signIn()
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE users SET disabled = TRUE WHERE id = $1`, e.user.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "me when disabled", e.do("GET", "/api/v1/me", "", token, ""), 401, "unauthenticated")
		e.clock.Add(30 * time.Second)
		disabled := e.login(testEmail, testPassword, auth.TOTPCode(e.secret, e.clock.Now()), "192.0.2.16:1")
		wantErr(t, "login when disabled", disabled, 401, "invalid_credentials")
		if disabled.message() != wrongPw.message() {
			t.Fatalf("disabled message %q differs", disabled.message())
		}

		// The sessions table holds hashes only.
		rows, err := db.Query(context.Background(), `SELECT token_hash FROM sessions`)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			stored[string(h)] = true
			for _, tok := range e.tokens {
				if string(h) == tok || bytes.Contains(h, []byte(tok)) {
					t.Fatal("sessions table holds a raw token")
				}
			}
		}
		rows.Close()
		for _, tok := range e.tokens {
			if h, _ := auth.HashToken(tok); !stored[string(h)] {
				t.Fatal("a session is not stored under its token's hash")
			}
		}
		if len(stored) != len(e.tokens) || len(e.tokens) != 4 {
			t.Fatalf("%d sessions stored for %d tokens", len(stored), len(e.tokens))
		}

		// Audit trail: sign-ins and failures recorded, never the e-mail.
		for action, min := range map[string]int{sotto.AuditSignIn: 4, sotto.AuditSignInFailed: 6, sotto.AuditSignOut: 1} {
			var c int
			if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1`, action).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c < min {
				t.Errorf("%s: %d audit events, want at least %d", action, c, min)
			}
		}
		var sysFail int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND org_id = $2 AND actor_role = 'anonymous' AND outcome = 'failure'`,
			sotto.AuditSignInFailed, sotto.SystemOrgID).Scan(&sysFail); err != nil || sysFail != 1 {
			t.Errorf("unknown-account failures in the system org: %d, %v", sysFail, err)
		}
		rows, err = db.Query(context.Background(), `SELECT org_id, actor_id, actor_role, action, target_type, target_id, outcome, source_ip, user_agent, request_id FROM audit_events`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var f [10]string
			if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]); err != nil {
				t.Fatal(err)
			}
			for _, v := range f {
				if strings.Contains(strings.ToLower(v), "canary") || strings.Contains(v, "nobody@") {
					t.Fatalf("audit event holds the e-mail: %v", f)
				}
			}
		}
		rows.Close()
	})
}

func TestLoginThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAuthEnv(t, db)
		// Per account: five failures from different addresses, then even
		// the right password is refused.
		for i := range 5 {
			wantErr(t, "wrong password", e.login(testEmail, "wrong password 12345", "", "198.51.100."+string(rune('1'+i))+":1"), 401, "invalid_credentials")
		}
		r := e.login(testEmail, testPassword, auth.TOTPCode(e.secret, e.clock.Now()), "198.51.100.99:1")
		wantErr(t, "6th attempt", r, 429, "rate_limited")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		// The lockout ends; the right credentials work again.
		e.clock.Add(2 * time.Second)
		if r := e.login(testEmail, testPassword, auth.TOTPCode(e.secret, e.clock.Now()), "198.51.100.99:1"); r.status != 200 {
			t.Fatalf("after lockout: %d %s", r.status, r.raw)
		}

		// Per address: five failures for unknown accounts from one address
		// lock that address, also for a real account.
		e.restart()
		for i := range 5 {
			wantErr(t, "unknown", e.login("nobody"+string(rune('a'+i))+"@example.test", "whatever password", "", "203.0.113.7:1"), 401, "invalid_credentials")
		}
		wantErr(t, "locked address", e.login(testEmail, testPassword, auth.TOTPCode(e.secret, e.clock.Now()), "203.0.113.7:1"), 429, "rate_limited")
	})
}
