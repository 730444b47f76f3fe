package server

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// staleAfter is how far the tests move the clock to make a session older
// than freshAuthWindow (but well inside every idle timeout).
const staleAfter = freshAuthWindow + time.Minute

// countDenied counts denied audit entries of action by actor.
func countDenied(t *testing.T, db *store.DB, action, actor string) int {
	t.Helper()
	var n int
	err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND actor_id = $2 AND outcome = 'denied'`,
		action, actor).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFreshAuthPasswordChange: POST /api/v1/me/password. Staff always
// give the current password: without it, reauth_required (audited as a
// denied password change), even just after signing in; a wrong one is
// invalid_credentials. A patient (who may sign in with a one-time code)
// needs it only once the sign-in is more than five minutes old. Both
// databases.
func TestFreshAuthPasswordChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		nurse := addStaffLogin(t, w, "nurse_fa", sotto.RoleNurse, "Nursing")
		w.tokens["nurse_fa"] = w.newToken("nurse_fa")
		const patientPw, next, later = "copper meadow signal 44", "saffron harbor pixel 83", "velvet compass quarry 29"
		setPassword(t, w, "patient", patientPw)
		w.tokens["patient"] = w.newToken("patient")
		change := func(key, cur, next string) result {
			body := map[string]string{"new_password": next}
			if cur != "" {
				body["current_password"] = cur
			}
			return w.do(key, jsonReq("POST", "/api/v1/me/password", body))
		}

		// Staff, fresh session: the password is still required.
		wantErr(t, "staff without the password", change("nurse_fa", "", next), 403, "reauth_required")
		if countDenied(t, db, sotto.AuditPasswordChange, nurse.user.ID) != 1 {
			t.Fatal("the refusal was not audited")
		}
		wantErr(t, "staff with a wrong password", change("nurse_fa", "not the password at all", next), 401, "invalid_credentials")
		w.clock.Add(staleAfter)
		wantErr(t, "staff, stale, without the password", change("nurse_fa", "", next), 403, "reauth_required")
		w.must("nurse_fa", jsonReq("POST", "/api/v1/me/password", map[string]string{"current_password": nurse.password, "new_password": next}), 204)

		// A patient, stale session: the password is required...
		wantErr(t, "a patient, stale, without the password", change("patient", "", next), 403, "reauth_required")
		if countDenied(t, db, sotto.AuditPasswordChange, w.users["patient"].ID) != 1 {
			t.Fatal("the patient's refusal was not audited")
		}
		w.must("patient", jsonReq("POST", "/api/v1/me/password", map[string]string{"current_password": patientPw, "new_password": next}), 204)
		// ...but not within five minutes of a sign-in (by code, say).
		w.tokens["patient"] = w.newToken("patient")
		w.must("patient", jsonReq("POST", "/api/v1/me/password", map[string]string{"new_password": later}), 204)
		w.must("anonymous", jsonReq("POST", "/api/v1/auth/login", map[string]string{"email": "patient@example.test", "password": later}), 200)
	})
}

// addPasskey stores a passkey for world user key (directly in the store:
// the ceremonies are passkey_test.go's) and returns its id.
func addPasskey(t *testing.T, w *world, key string) string {
	t.Helper()
	u := w.users[key]
	k := &store.Passkey{OrgID: u.OrgID, UserID: u.ID, CredentialID: []byte("test-credential-" + store.NewID()), PublicKey: []byte("test-cose-key"),
		AttestationType: "none", AAGUID: make([]byte, 16), Name: "Test key"}
	if err := w.db.Write(context.Background(), func(tx *store.Tx) error { return tx.InsertPasskey(k) }); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// passkeyCount counts user key's passkeys.
func passkeyCount(t *testing.T, w *world, key string) int {
	t.Helper()
	keys, err := w.db.Passkeys(context.Background(), w.users[key].OrgID, w.users[key].ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// TestFreshAuthPasskeyRemovalAPI: DELETE /api/v1/me/passkeys/{id} with a
// stale session and no password is reauth_required (audited), with a
// wrong one invalid_credentials; with the password, or within five
// minutes of a sign-in, it works. Both databases.
func TestFreshAuthPasskeyRemovalAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		nurse := addStaffLogin(t, w, "nurse_fa", sotto.RoleNurse, "Nursing")
		w.tokens["nurse_fa"] = w.newToken("nurse_fa")
		first, second := addPasskey(t, w, "nurse_fa"), addPasskey(t, w, "nurse_fa")
		del := func(id string, body map[string]string) result {
			r := req{method: "DELETE", path: "/api/v1/me/passkeys/" + id}
			if body != nil {
				r = jsonReq("DELETE", r.path, body)
			}
			return w.do("nurse_fa", r)
		}
		w.clock.Add(staleAfter)
		wantErr(t, "stale, no proof", del(first, nil), 403, "reauth_required")
		wantErr(t, "stale, empty proof", del(first, map[string]string{}), 403, "reauth_required")
		if countDenied(t, db, sotto.AuditMFAReset, nurse.user.ID) != 2 {
			t.Fatal("the refusals were not audited")
		}
		wantErr(t, "a wrong password", del(first, map[string]string{"current_password": "not the password at all"}), 401, "invalid_credentials")
		wantErr(t, "an unknown field", del(first, map[string]string{"password": nurse.password}), 400, "invalid")
		if passkeyCount(t, w, "nurse_fa") != 2 {
			t.Fatal("a refused removal removed a passkey")
		}
		if res := del(first, map[string]string{"current_password": nurse.password}); res.status != 204 {
			t.Fatalf("with the password: %d %s", res.status, res.raw)
		}
		// Within five minutes of signing in, no password is needed.
		w.tokens["nurse_fa"] = w.newToken("nurse_fa")
		if res := del(second, nil); res.status != 204 {
			t.Fatalf("fresh sign-in: %d %s", res.status, res.raw)
		}
		if passkeyCount(t, w, "nurse_fa") != 0 {
			t.Fatal("the passkeys were not removed")
		}
	})
}

// TestFreshAuthPasskeyRemovalPage: the security page's remove button
// with a stale session answers a confirmation page (403) that asks for
// the current password and posts the same form again; a wrong password is
// said so (401); the right one removes the passkey.
func TestFreshAuthPasskeyRemovalPage(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_fa", sotto.RoleNurse, "Nursing")
	w.tokens["nurse_fa"] = w.newToken("nurse_fa")
	id := addPasskey(t, w, "nurse_fa")
	path := "/account/security/passkeys/" + id + "/delete"
	w.clock.Add(staleAfter)

	ask := w.must("nurse_fa", formReq(path, ""), 403)
	mustContain(t, "confirmation page", ask.raw, "Confirm it is you", `<form method="post" action="`+path+`" id="reauth-form">`,
		`name="current_password" type="password"`)
	if ask.header.Get("Content-Security-Policy") != pageCSP || ask.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirmation page headers %v", ask.header)
	}
	if countDenied(t, w.db, sotto.AuditMFAReset, nurse.user.ID) != 1 {
		t.Fatal("the refusal was not audited")
	}
	wrong := w.must("nurse_fa", formReq(path, url.Values{reauthField: {"not the password at all"}}.Encode()), 401)
	mustContain(t, "wrong password", wrong.raw, `id="reauth-error"`, "That password is not right")
	if passkeyCount(t, w, "nurse_fa") != 1 {
		t.Fatal("a refused removal removed the passkey")
	}
	done := w.must("nurse_fa", formReq(path, url.Values{reauthField: {nurse.password}}.Encode()), 303)
	if done.header.Get("Location") != "/account/security?done=removed" || passkeyCount(t, w, "nurse_fa") != 0 {
		t.Fatalf("with the password: %v, %d passkeys left", done.header, passkeyCount(t, w, "nurse_fa"))
	}
	// Other fields of the form travel along, hidden, and never the password.
	carried := w.must("nurse_fa", formReq("/account/security/passkeys/"+store.NewID()+"/delete", "keep=a%26b"), 403)
	mustContain(t, "carried fields", carried.raw, `<input type="hidden" name="keep" value="a&amp;b">`)
	// A fresh sign-in removes without asking.
	w.tokens["nurse_fa"] = w.newToken("nurse_fa")
	again := addPasskey(t, w, "nurse_fa")
	w.must("nurse_fa", formReq("/account/security/passkeys/"+again+"/delete", ""), 303)
	w.assertNoPHILogged()
	if strings.Contains(w.log.String(), nurse.password) {
		t.Fatal("the password was logged")
	}
}

// TestFreshAuthFactorRoutes checks the other routes that change a sign-in
// factor. Adding a passkey (begin) and setting up an authenticator app
// need the password in the request: without it, invalid_credentials;
// with it, they work. An authenticator already set up cannot be replaced
// with the password alone (mfa_already_enrolled): that takes an
// administrator's reset, an audited admin action that works from any
// live administrator session but never on oneself.
func TestFreshAuthFactorRoutes(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{})).withNotifier(jobs.Channels{}, "") // a public URL: passkeys are available
	nurse := addStaffLogin(t, w, "nurse_fa", sotto.RoleNurse, "Nursing")
	w.tokens["nurse_fa"] = w.newToken("nurse_fa")
	w.clock.Add(staleAfter)

	begin := "/api/v1/me/passkeys/register/begin"
	wantErr(t, "passkey without the password", w.do("nurse_fa", jsonReq("POST", begin, map[string]string{})), 401, "invalid_credentials")
	if res := w.do("nurse_fa", jsonReq("POST", begin, map[string]string{"password": nurse.password})); res.status != 200 || res.body["ceremony_id"] == nil {
		t.Fatalf("passkey with the password: %d %s", res.status, res.raw)
	}

	// A staff member without an authenticator enrolls with the password.
	newbie := addStaffLogin(t, w, "newbie_fa", sotto.RoleFrontDesk, "Front Desk")
	if err := w.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ResetMFA(w.orgA, newbie.user.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	enroll := "/api/v1/auth/mfa/enroll"
	wantErr(t, "enrolling without the password", w.do("anonymous", jsonReq("POST", enroll, map[string]string{"email": newbie.email})), 401, "invalid_credentials")
	if res := w.do("anonymous", jsonReq("POST", enroll, map[string]string{"email": newbie.email, "password": newbie.password})); res.status != 200 || res.body["secret"] == nil {
		t.Fatalf("enrolling with the password: %d %s", res.status, res.raw)
	}
	wantErr(t, "replacing an enrolled authenticator", w.do("anonymous", jsonReq("POST", enroll, map[string]string{"email": nurse.email, "password": nurse.password})),
		409, "mfa_already_enrolled")

	// The administrator's reset of someone else: an admin action, audited.
	w.must("admin", req{method: "POST", path: "/api/v1/users/" + nurse.user.ID + "/mfa/reset"}, 200)
	if countAudits(t, w.db, sotto.AuditMFAReset, w.users["admin"].ID, nurse.user.ID) != 1 {
		t.Fatal("the reset was not audited as the administrator's")
	}
	wantErr(t, "resetting oneself", w.do("admin", req{method: "POST", path: "/api/v1/users/" + w.users["admin"].ID + "/mfa/reset"}), 400, "invalid")
}
