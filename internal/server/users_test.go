package server

import (
	"context"
	"testing"

	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestDisableUserEndsSessions: disabling a user ends their sessions at
// once; re-enabling does not revive them; "sign out everywhere" ends all of
// one's own sessions.
func TestDisableUserEndsSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		nurse := w.users["nurse"].ID
		second := w.newToken("nurse")
		w.must("nurse", req{method: "GET", path: "/api/v1/me"}, 200)
		if r := w.do("admin", jsonReq("PATCH", "/api/v1/users/"+w.users["admin"].ID, map[string]bool{"disabled": true})); r.status != 400 {
			t.Fatalf("admin disabling self: %d %s", r.status, r.raw)
		}
		res := w.must("admin", jsonReq("PATCH", "/api/v1/users/"+nurse, map[string]bool{"disabled": true}), 200)
		if res.body["disabled"] != true {
			t.Fatalf("patch answer: %s", res.raw)
		}
		for _, tok := range []string{w.tokens["nurse"], second} {
			w.must("", req{method: "GET", path: "/api/v1/me", token: tok}, 401)
		}
		w.must("admin", jsonReq("PATCH", "/api/v1/users/"+nurse, map[string]bool{"disabled": false}), 200)
		w.must("", req{method: "GET", path: "/api/v1/me", token: second}, 401)
		fresh := w.newToken("nurse")
		w.must("", req{method: "GET", path: "/api/v1/me", token: fresh}, 200)

		other := w.newToken("nurse")
		res = w.must("", req{method: "POST", path: "/api/v1/auth/logout-everywhere", token: fresh}, 200)
		if res.body["revoked"].(float64) != 2 {
			t.Fatalf("logout everywhere: %s", res.raw)
		}
		w.must("", req{method: "GET", path: "/api/v1/me", token: other}, 401)
	})
}

// TestChangePasswordNeedsFreshProof: changing one's password needs the
// current one, refuses weak ones, ends every other session, and the new
// password signs in.
func TestChangePasswordNeedsFreshProof(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const old, fresh = "copper meadow signal 44", "saffron harbor pixel 83"
		hash, err := auth.HashPassword(old, auth.TestParams)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			return tx.SetPassword(w.orgA, w.users["patient"].ID, hash, nil)
		}); err != nil {
			t.Fatal(err)
		}
		w.tokens["patient"] = w.newToken("patient")
		other := w.newToken("patient")
		change := func(cur, next string) result {
			return w.do("patient", jsonReq("POST", "/api/v1/me/password", map[string]string{"current_password": cur, "new_password": next}))
		}
		if r := change("wrong password entirely", fresh); r.status != 401 {
			t.Fatalf("wrong current password: %d %s", r.status, r.raw)
		}
		if r := change(old, "password1234"); r.status != 400 {
			t.Fatalf("common password accepted: %d %s", r.status, r.raw)
		}
		w.must("patient", jsonReq("POST", "/api/v1/me/password", map[string]string{"current_password": old, "new_password": fresh}), 204)
		w.must("patient", req{method: "GET", path: "/api/v1/me"}, 200)
		w.must("", req{method: "GET", path: "/api/v1/me", token: other}, 401)
		w.must("anonymous", jsonReq("POST", "/api/v1/auth/login", map[string]string{"email": "patient@example.test", "password": fresh}), 200)
	})
}
