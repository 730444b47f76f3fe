package server

import (
	"testing"

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
