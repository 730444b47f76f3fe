package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// testPasskeyOrigin is the public URL of the passkey tests' server: RP ID
// sotto.example.test.
const testPasskeyOrigin = "https://sotto.example.test"

// newPasskeyWorld is the world served by a Server whose public URL can
// be a WebAuthn relying party.
func newPasskeyWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	w := newWorld(t, db)
	w.srv = New(db, slog.New(slog.NewJSONHandler(&w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Config{PublicURL: testPasskeyOrigin, Now: w.clock.Now, PasswordParams: auth.TestParams})
	t.Cleanup(w.srv.Close)
	return w
}

// doFrom serves r as role (a world user key, or "anonymous") from client
// address ip, so that throttling by address is under the test's control.
func (w *world) doFrom(ip, role string, r req) result {
	w.t.Helper()
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	hr.RemoteAddr = ip + ":40000"
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if tok := w.tokens[role]; tok != "" {
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, hr)
	res := result{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			w.t.Fatalf("%s %s: body is not JSON: %q", r.method, r.path, rec.Body.String())
		}
	}
	return res
}

// registerPasskey adds a passkey named name for staff member key (whose
// password is password) with a new software authenticator, through the
// API, and returns the authenticator and the passkey's id.
func registerPasskey(t testing.TB, w *world, key, password, name string) (*softAuthenticator, string) {
	t.Helper()
	begin := w.doFrom("198.51.100.1", key, jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": password}))
	if begin.status != 200 {
		t.Fatalf("register begin: %d %s", begin.status, begin.raw)
	}
	a := newSoftAuthenticator(t, testPasskeyOrigin)
	fin := w.doFrom("198.51.100.1", key, jsonReq("POST", "/api/v1/me/passkeys/register/finish",
		map[string]any{"ceremony_id": begin.body["ceremony_id"], "name": name, "credential": a.create(publicKeyOptions(t, begin.body))}))
	if fin.status != 201 {
		t.Fatalf("register finish: %d %s", fin.status, fin.raw)
	}
	id, _ := fin.body["id"].(string)
	return a, id
}

// passkeySignIn begins a passkey sign-in from ip with body (empty for
// passwordless), lets a answer, and returns the finish's result.
func passkeySignIn(t testing.TB, w *world, ip string, body map[string]string, a *softAuthenticator) result {
	t.Helper()
	begin := w.doFrom(ip, "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", body))
	if begin.status != 200 {
		t.Fatalf("sign-in begin: %d %s", begin.status, begin.raw)
	}
	return w.doFrom(ip, "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish",
		map[string]any{"ceremony_id": begin.body["ceremony_id"], "credential": a.get(publicKeyOptions(t, begin.body))}))
}

// signedInAs asserts that res is a successful sign-in of user u: the
// token works and names u, and the cookie is set.
func signedInAs(t testing.TB, w *world, what string, res result, u *sotto.User) {
	t.Helper()
	if res.status != 200 {
		t.Fatalf("%s: %d %s, want 200", what, res.status, res.raw)
	}
	tok, _ := res.body["token"].(string)
	if len(tok) != auth.TokenLen || res.body["expires_at"] == nil || !strings.Contains(res.header.Get("Set-Cookie"), SessionCookie+"=") {
		t.Fatalf("%s: answer %s, cookie %q", what, res.raw, res.header.Get("Set-Cookie"))
	}
	me := w.must("anonymous", req{method: "GET", path: "/api/v1/me", token: tok}, 200)
	if me.body["id"] != u.ID {
		t.Fatalf("%s: signed in as %v, want %s", what, me.body["id"], u.ID)
	}
}

// passkeyAudits counts audit entries of action on target with outcome.
func passkeyAudits(t testing.TB, db *store.DB, action, targetType, targetID, outcome string) int {
	t.Helper()
	var n int
	err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_type = $2 AND target_id = $3 AND outcome = $4`,
		action, targetType, targetID, outcome).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPasskeyRegistration: adding a passkey needs the current password
// (wrong: refused and audited), verifies the browser's answer against a
// single-use ceremony bound to the user, stores it with the name given,
// lists it to its owner only, and refuses patients.
func TestPasskeyRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newPasskeyWorld(t, db)
		nurse := addStaffLogin(t, w, "nurse_pk", sotto.RoleNurse, "Nursing")
		w.tokens["nurse_pk"] = w.newToken("nurse_pk")
		const ip = "198.51.100.7"

		wrong := w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": "not the password at all"}))
		wantErr(t, "begin with a wrong password", wrong, 401, "invalid_credentials")
		if passkeyAudits(t, db, sotto.AuditSignInFailed, "user", nurse.user.ID, sotto.AuditFailure) != 1 {
			t.Fatal("the wrong password was not audited")
		}
		wantErr(t, "a patient", w.doFrom(ip, "patient", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": "x"})), 403, "forbidden")

		begin := w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
		if begin.status != 200 || begin.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("register begin: %d %s", begin.status, begin.raw)
		}
		pk := publicKeyOptions(t, begin.body)
		rp, _ := pk["rp"].(map[string]any)
		user, _ := pk["user"].(map[string]any)
		sel, _ := pk["authenticatorSelection"].(map[string]any)
		if rp["id"] != "sotto.example.test" || rp["name"] != "Test Practice A" || user["name"] != nurse.email ||
			user["id"] != b64u(userHandle(nurse.user.ID)) || sel["residentKey"] != "preferred" || pk["attestation"] != "none" {
			t.Fatalf("creation options: %s", begin.raw)
		}
		a := newSoftAuthenticator(t, testPasskeyOrigin)
		cred := a.create(pk)
		finish := func(ceremony any, name string, cred any) result {
			return w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/finish",
				map[string]any{"ceremony_id": ceremony, "name": name, "credential": cred}))
		}
		wantErr(t, "a blank name", finish(begin.body["ceremony_id"], "   ", cred), 400, "invalid")
		wantErr(t, "another user's ceremony", w.doFrom(ip, "admin", jsonReq("POST", "/api/v1/me/passkeys/register/finish",
			map[string]any{"ceremony_id": begin.body["ceremony_id"], "name": "Test", "credential": cred})), 400, "ceremony_invalid")
		// Taking the ceremony for the wrong user used it up: start again.
		begin = w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
		cred = a.create(publicKeyOptions(t, begin.body))
		res := finish(begin.body["ceremony_id"], "  Test work laptop ", cred)
		if res.status != 201 || res.body["name"] != "Test work laptop" || res.body["last_used_at"] != nil {
			t.Fatalf("register finish: %d %s", res.status, res.raw)
		}
		id, _ := res.body["id"].(string)
		if tr, _ := res.body["transports"].([]any); len(tr) != 1 || tr[0] != "internal" {
			t.Fatalf("transports %v: unknown hints must be dropped", res.body["transports"])
		}
		if passkeyAudits(t, db, sotto.AuditMFAEnroll, "passkey", id, sotto.AuditSuccess) != 1 {
			t.Fatal("the new passkey was not audited")
		}
		wantErr(t, "the same ceremony again", finish(begin.body["ceremony_id"], "Test again", cred), 400, "ceremony_invalid")

		// The same credential again, in a new ceremony: the browser is told
		// to exclude it, and the server refuses it anyway.
		begin = w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
		pk = publicKeyOptions(t, begin.body)
		if ex, _ := pk["excludeCredentials"].([]any); len(ex) != 1 || ex[0].(map[string]any)["id"] != b64u(a.credID) {
			t.Fatalf("the existing passkey is not excluded: %v", pk["excludeCredentials"])
		}
		wantErr(t, "a credential registered twice", finish(begin.body["ceremony_id"], "Test copy", a.create(pk)), 409, "passkey_exists")

		// An answer made for another site does not verify (and is audited).
		begin = w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
		evil := newSoftAuthenticator(t, "https://sotto.example.test.evil.example")
		wantErr(t, "a phished registration", finish(begin.body["ceremony_id"], "Test evil", evil.create(publicKeyOptions(t, begin.body))), 400, "passkey_invalid")
		if passkeyAudits(t, db, sotto.AuditMFAEnroll, "user", nurse.user.ID, sotto.AuditFailure) != 1 {
			t.Fatal("the failed registration was not audited")
		}

		list := w.doFrom(ip, "nurse_pk", req{method: "GET", path: "/api/v1/me/passkeys"})
		keys, _ := list.body["passkeys"].([]any)
		if list.status != 200 || len(keys) != 1 || keys[0].(map[string]any)["id"] != id || strings.Contains(list.raw, "public") {
			t.Fatalf("own list: %d %s", list.status, list.raw)
		}
		if other := w.doFrom(ip, "nurse", req{method: "GET", path: "/api/v1/me/passkeys"}); other.status != 200 || strings.Contains(other.raw, id) {
			t.Fatalf("another user lists the passkey: %s", other.raw)
		}
		w.assertNoPHILogged()
	})
}

// TestPasskeySignIn: passwordless and second-factor sign-in start a
// session like the password does (audited); a wrong origin, a replayed
// challenge or ceremony, an unknown credential, a missing user
// verification, a counter that went backwards, a disabled user and
// another account's passkey all get the same refusal (audited); the
// owner alone removes a passkey, and an administrator's MFA reset removes
// them all.
func TestPasskeySignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newPasskeyWorld(t, db)
		nurse := addStaffLogin(t, w, "nurse_pk", sotto.RoleNurse, "Nursing")
		other := addStaffLogin(t, w, "other_pk", sotto.RoleProvider, "Nursing")
		w.tokens["nurse_pk"], w.tokens["other_pk"] = w.newToken("nurse_pk"), w.newToken("other_pk")
		a, id := registerPasskey(t, w, "nurse_pk", nurse.password, "Test laptop")
		b, _ := registerPasskey(t, w, "other_pk", other.password, "Test key")
		refused := func(what string, res result) {
			t.Helper()
			wantErr(t, what, res, 401, "invalid_credentials")
		}

		// Passwordless: user verification required, any discoverable passkey.
		begin := w.doFrom("203.0.113.1", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
		pk := publicKeyOptions(t, begin.body)
		if begin.status != 200 || pk["userVerification"] != "required" || pk["allowCredentials"] != nil || pk["rpId"] != "sotto.example.test" {
			t.Fatalf("passwordless options: %d %s", begin.status, begin.raw)
		}
		assertion := a.get(pk)
		finish := func(ceremony any, cred any) result {
			return w.doFrom("203.0.113.1", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony_id": ceremony, "credential": cred}))
		}
		signedInAs(t, w, "passwordless sign-in", finish(begin.body["ceremony_id"], assertion), nurse.user)
		if passkeyAudits(t, db, sotto.AuditMFAVerify, "passkey", id, sotto.AuditSuccess) != 1 || auditActions(t, db, nurse.user.ID)[sotto.AuditSignIn] != 1 {
			t.Fatal("the passkey sign-in was not audited")
		}
		// Replays: the same ceremony again, and the old assertion (its
		// challenge) against a new ceremony.
		wantErr(t, "a replayed ceremony", finish(begin.body["ceremony_id"], assertion), 400, "ceremony_invalid")
		fresh := w.doFrom("203.0.113.2", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
		refused("a replayed challenge", w.doFrom("203.0.113.2", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish",
			map[string]any{"ceremony_id": fresh.body["ceremony_id"], "credential": assertion})))

		// A page of another origin (phishing), a credential never
		// registered, and an authenticator that did not verify its user.
		a.origin = "https://sotto.example.test.evil.example"
		refused("a wrong origin", passkeySignIn(t, w, "203.0.113.3", map[string]string{}, a))
		a.origin = testPasskeyOrigin
		stranger := newSoftAuthenticator(t, testPasskeyOrigin)
		stranger.handle = userHandle(nurse.user.ID)
		refused("an unknown credential", passkeySignIn(t, w, "203.0.113.4", map[string]string{}, stranger))
		a.uv = false
		refused("no user verification", passkeySignIn(t, w, "203.0.113.5", map[string]string{}, a))
		a.uv = true
		signedInAs(t, w, "passwordless again", passkeySignIn(t, w, "203.0.113.6", map[string]string{}, a), nurse.user)

		// A cloned authenticator: its counter is behind the stored one.
		clone := *a
		clone.count = 1
		refused("a counter that went backwards", passkeySignIn(t, w, "203.0.113.7", map[string]string{}, &clone))
		if passkeyAudits(t, db, sotto.AuditMFAVerify, "passkey", id, sotto.AuditDenied) != 1 {
			t.Fatal("the cloned authenticator was not audited")
		}
		signedInAs(t, w, "the genuine authenticator still works", passkeySignIn(t, w, "203.0.113.8", map[string]string{}, a), nurse.user)

		// The second factor: the password first, then this account's passkeys only.
		second := map[string]string{"email": nurse.email, "password": nurse.password}
		begin = w.doFrom("203.0.113.9", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", second))
		pk = publicKeyOptions(t, begin.body)
		if allow, _ := pk["allowCredentials"].([]any); begin.status != 200 || len(allow) != 1 || allow[0].(map[string]any)["id"] != b64u(a.credID) {
			t.Fatalf("second-factor options: %d %s", begin.status, begin.raw)
		}
		signedInAs(t, w, "second-factor sign-in", w.doFrom("203.0.113.9", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish",
			map[string]any{"ceremony_id": begin.body["ceremony_id"], "credential": a.get(pk)})), nurse.user)
		refused("another account's passkey as the second factor", passkeySignIn(t, w, "203.0.113.10", second, b))
		wantErr(t, "second factor with a wrong password", w.doFrom("203.0.113.11", "anonymous",
			jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{"email": nurse.email, "password": "wrong wrong wrong"})), 401, "invalid_credentials")
		nurse2 := addStaffLogin(t, w, "nurse_nokey", sotto.RoleNurse, "Nursing")
		wantErr(t, "an account without passkeys", w.doFrom("203.0.113.12", "anonymous",
			jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{"email": nurse2.email, "password": nurse2.password})), 409, "passkey_not_registered")

		// A disabled account's passkey no longer signs in.
		w.must("admin", jsonReq("PATCH", "/api/v1/users/"+nurse.user.ID, map[string]bool{"disabled": true}), 200)
		refused("a disabled user", passkeySignIn(t, w, "203.0.113.13", map[string]string{}, a))
		w.must("admin", jsonReq("PATCH", "/api/v1/users/"+nurse.user.ID, map[string]bool{"disabled": false}), 200)
		w.tokens["nurse_pk"] = w.newToken("nurse_pk")

		// Failed sign-ins are audited (without the e-mail address).
		if n := passkeyAudits(t, db, sotto.AuditSignInFailed, "user", nurse.user.ID, sotto.AuditFailure); n < 6 {
			t.Fatalf("%d failed passkey sign-ins of the nurse audited, want at least 6", n)
		}
		var unknown int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND org_id = $2`,
			sotto.AuditSignInFailed, sotto.SystemOrgID).Scan(&unknown); err != nil || unknown < 2 {
			t.Fatalf("unknown-credential and replay failures audited %d times (%v), want at least 2", unknown, err)
		}

		// Only the owner removes a passkey; then it signs in no more.
		wantErr(t, "someone else's passkey", w.doFrom("198.51.100.2", "other_pk", req{method: "DELETE", path: "/api/v1/me/passkeys/" + id}), 404, "not_found")
		wantErr(t, "another practice's admin", w.doFrom("198.51.100.2", "other_admin", req{method: "DELETE", path: "/api/v1/me/passkeys/" + id}), 404, "not_found")
		if res := w.doFrom("198.51.100.2", "nurse_pk", req{method: "DELETE", path: "/api/v1/me/passkeys/" + id}); res.status != 204 {
			t.Fatalf("owner's delete: %d %s", res.status, res.raw)
		}
		if passkeyAudits(t, db, sotto.AuditMFAReset, "passkey", id, sotto.AuditSuccess) != 1 {
			t.Fatal("the removal was not audited")
		}
		refused("a removed passkey", passkeySignIn(t, w, "203.0.113.14", map[string]string{}, a))

		// An administrator's MFA reset removes the other member's factors,
		// passkeys included, and ends their sessions.
		wantErr(t, "a reset by a non-admin", w.doFrom("198.51.100.3", "nurse", req{method: "POST", path: "/api/v1/users/" + other.user.ID + "/mfa/reset"}), 403, "forbidden")
		wantErr(t, "another practice's reset", w.doFrom("198.51.100.3", "other_admin", req{method: "POST", path: "/api/v1/users/" + other.user.ID + "/mfa/reset"}), 404, "not_found")
		wantErr(t, "resetting oneself", w.doFrom("198.51.100.3", "admin", req{method: "POST", path: "/api/v1/users/" + w.users["admin"].ID + "/mfa/reset"}), 400, "invalid")
		reset := w.doFrom("198.51.100.3", "admin", req{method: "POST", path: "/api/v1/users/" + other.user.ID + "/mfa/reset"})
		if reset.status != 200 || reset.body["passkeys_removed"] != float64(1) || reset.body["sessions_revoked"] != float64(1) {
			t.Fatalf("reset: %d %s", reset.status, reset.raw)
		}
		if passkeyAudits(t, db, sotto.AuditMFAReset, "user", other.user.ID, sotto.AuditSuccess) != 1 {
			t.Fatal("the reset was not audited")
		}
		refused("a passkey removed by the reset", passkeySignIn(t, w, "203.0.113.15", map[string]string{}, b))
		login := w.doFrom("203.0.113.16", "anonymous", jsonReq("POST", "/api/v1/auth/login", map[string]string{"email": other.email, "password": other.password}))
		wantErr(t, "signing in after the reset", login, 401, "mfa_enrollment_required")
		w.assertNoPHILogged()
	})
}

// TestPasskeysUnavailableWithoutADomain: a server whose public URL is an
// IP address (or unset) cannot be a relying party: the API says so and
// the pages offer no passkey.
func TestPasskeysUnavailableWithoutADomain(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:8080", "not a url", "ftp://sotto.example.test"} {
		if _, err := newRelyingParty(u); sotto.ErrorCode(err) != "passkeys_unavailable" {
			t.Errorf("public URL %q: %v, want passkeys_unavailable", u, err)
		}
	}
	rp, err := newRelyingParty("https://Sotto.Example.Test:8443/base")
	if err != nil || rp.Config.RPID != "sotto.example.test" || len(rp.Config.RPOrigins) != 1 || rp.Config.RPOrigins[0] != "https://sotto.example.test:8443" {
		t.Fatalf("relying party %+v (%v)", rp, err)
	}
	w := newWorld(t, storetest.SQLite(t, store.Options{})) // no public URL
	wantErr(t, "begin without a domain", w.do("anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{})), 503, "passkeys_unavailable")
	if page := w.do("anonymous", req{method: "GET", path: "/login"}); strings.Contains(page.raw, "passkey") {
		t.Fatal("the sign-in page offers passkeys on a server that cannot have them")
	}
}

// TestPasskeySignInThrottled: failed passkey sign-ins count against the
// client address like wrong passwords, and an account locked out by wrong
// passwords cannot sign in with its passkey either until the lockout
// ends; both refusals are audited.
func TestPasskeySignInThrottled(t *testing.T) {
	w := newPasskeyWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_pk", sotto.RoleNurse, "Nursing")
	w.tokens["nurse_pk"] = w.newToken("nurse_pk")
	a, _ := registerPasskey(t, w, "nurse_pk", nurse.password, "Test laptop")

	stranger := newSoftAuthenticator(t, testPasskeyOrigin)
	for i := range loginFreeAttempts + 1 {
		wantErr(t, fmt.Sprintf("unknown credential %d", i), passkeySignIn(t, w, "203.0.113.20", map[string]string{}, stranger), 401, "invalid_credentials")
	}
	locked := w.doFrom("203.0.113.20", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
	wantErr(t, "a locked-out address", locked, 429, "rate_limited")
	if locked.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the lockout")
	}

	for i := range loginFreeAttempts + 1 {
		ip := fmt.Sprintf("203.0.113.%d", 30+i)
		wantErr(t, "a wrong password", w.doFrom(ip, "anonymous", jsonReq("POST", "/api/v1/auth/login",
			map[string]string{"email": nurse.email, "password": "wrong wrong wrong"})), 401, "invalid_credentials")
	}
	before := passkeyAudits(t, w.db, sotto.AuditSignInFailed, "user", nurse.user.ID, sotto.AuditFailure)
	wantErr(t, "a passkey of a locked-out account", passkeySignIn(t, w, "203.0.113.40", map[string]string{}, a), 429, "rate_limited")
	if passkeyAudits(t, w.db, sotto.AuditSignInFailed, "user", nurse.user.ID, sotto.AuditFailure) != before+1 {
		t.Fatal("the refused passkey sign-in was not audited")
	}
	w.clock.Add(16 * time.Minute)
	signedInAs(t, w, "after the lockout", passkeySignIn(t, w, "203.0.113.41", map[string]string{}, a), nurse.user)
}
