package server

import (
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestInviteFlow: staff invite a patient; the patient proves their birth
// date (wrong answers are counted and finally revoke the invitation), sets
// a password, is signed in, and later signs in with the password alone.
func TestInviteFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		invite := func() string {
			res := w.must("front_desk", req{method: "POST", path: "/api/v1/patients/" + w.p2.ID + "/invite"}, 201)
			tok, _ := res.body["token"].(string)
			if tok == "" || res.body["expires_at"] == nil {
				t.Fatalf("invite answer: %s", res.raw)
			}
			return tok
		}
		accept := func(tok, birth, password, email string) result {
			return w.do("anonymous", jsonReq("POST", "/api/v1/invites/"+tok+"/accept", map[string]string{"birth_date": birth, "password": password, "email": email}))
		}
		const pw = "willow kettle canyon 58"

		// Five wrong birth dates revoke the invitation.
		tok := invite()
		for i := range 5 {
			if r := accept(tok, "1975-01-30", pw, "fakey@example.test"); r.status != 401 || r.code() != "verification_failed" {
				t.Fatalf("wrong date %d: %d %s", i, r.status, r.raw)
			}
		}
		if r := accept(tok, "1975-01-31", pw, "fakey@example.test"); r.status != 404 || r.code() != "invite_invalid" {
			t.Fatalf("after five failures: %d %s", r.status, r.raw)
		}

		// A new invitation revokes the previous one; the right date, a
		// good password and an e-mail (none on file) open the account.
		old := invite()
		tok = invite()
		if r := accept(old, "1975-01-31", pw, "fakey@example.test"); r.status != 404 {
			t.Fatalf("superseded invitation: %d %s", r.status, r.raw)
		}
		if r := accept(tok, "1975-01-31", "password", "fakey@example.test"); r.status != 400 {
			t.Fatalf("weak password: %d %s", r.status, r.raw)
		}
		if r := accept(tok, "1975-01-31", pw, ""); r.status != 400 {
			t.Fatalf("missing e-mail: %d %s", r.status, r.raw)
		}
		r := accept(tok, "1975-01-31", pw, "Fakey@Example.test")
		if r.status != 201 {
			t.Fatalf("accept: %d %s", r.status, r.raw)
		}
		session, _ := r.body["token"].(string)
		me := w.must("", req{method: "GET", path: "/api/v1/me", token: session}, 200)
		if me.body["role"] != "patient" || me.body["email"] != "fakey@example.test" {
			t.Fatalf("me: %s", me.raw)
		}
		if r := accept(tok, "1975-01-31", pw, "fakey@example.test"); r.status != 404 {
			t.Fatalf("reused invitation: %d %s", r.status, r.raw)
		}
		if r := accept(invite(), "1975-01-31", pw, "other@example.test"); r.status != 409 || r.code() != "already_registered" {
			t.Fatalf("second account: %d %s", r.status, r.raw)
		}

		// The patient signs in with the password alone and reaches their
		// record, not another patient's.
		login := w.must("anonymous", jsonReq("POST", "/api/v1/auth/login", map[string]string{"email": "fakey@example.test", "password": pw}), 200)
		tok2, _ := login.body["token"].(string)
		w.must("", req{method: "GET", path: "/api/v1/patients/" + w.p2.ID, token: tok2}, 200)
		w.must("", req{method: "GET", path: "/api/v1/patients/" + w.p1.ID, token: tok2}, 404)
	})
}

// TestProxyInvitation: staff invite a caregiver for a patient; the
// caregiver proves the patient's birth date, signs up as themselves, and
// then writes on the patient's behalf (recorded as such).
func TestProxyInvitation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if r := w.do("nurse", jsonReq("POST", "/api/v1/patients/"+w.p2.ID+"/proxies", map[string]string{"relationship": "neighbour"})); r.status != 400 {
			t.Fatalf("unknown relationship: %d %s", r.status, r.raw)
		}
		inv := w.must("nurse", jsonReq("POST", "/api/v1/patients/"+w.p2.ID+"/proxies", map[string]string{"relationship": "parent"}), 201)
		tok := inv.body["token"].(string)
		accept := func(body map[string]string) result {
			return w.do("anonymous", jsonReq("POST", "/api/v1/invites/"+tok+"/accept", body))
		}
		if r := accept(map[string]string{"birth_date": "1975-01-30", "password": "marble cactus violin 61", "name": "Test Parent", "email": "parent@example.test"}); r.status != 401 {
			t.Fatalf("wrong birth date: %d %s", r.status, r.raw)
		}
		if r := accept(map[string]string{"birth_date": "1975-01-31", "password": "marble cactus violin 61", "email": "parent@example.test"}); r.status != 400 {
			t.Fatalf("proxy without a name: %d %s", r.status, r.raw)
		}
		res := accept(map[string]string{"birth_date": "1975-01-31", "password": "marble cactus violin 61", "name": "Test Parent", "email": "parent@example.test"})
		if res.status != 201 {
			t.Fatalf("accept: %d %s", res.status, res.raw)
		}
		session := res.body["token"].(string)
		me := w.must("", req{method: "GET", path: "/api/v1/me", token: session}, 200)
		if me.body["role"] != "proxy" || me.body["name"] != "Test Parent" {
			t.Fatalf("proxy me: %s", me.raw)
		}
		w.must("", req{method: "GET", path: "/api/v1/patients/" + w.p2.ID, token: session}, 200)
		w.must("", req{method: "GET", path: "/api/v1/patients/" + w.p1.ID, token: session}, 404)
		conv := w.must("", req{method: "POST", path: "/api/v1/conversations", token: session, contentType: "application/json",
			body: `{"subject":"Question from a parent","category":"general","department_id":"` + w.depts["Nursing"] + `"}`}, 201)
		msg := w.must("", req{method: "POST", path: "/api/v1/conversations/" + conv.body["id"].(string) + "/messages", token: session,
			contentType: "application/json", body: `{"body":"Test question from a parent","idempotency_key":"px-1"}`}, 201)
		if msg.body["on_behalf_of"] != w.p2.ID || msg.body["sender_role"] != "proxy" {
			t.Fatalf("proxy message not recorded on the patient's behalf: %s", msg.raw)
		}
	})
}
