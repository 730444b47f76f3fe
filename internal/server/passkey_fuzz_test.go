package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// FuzzPasskeyFinish sends arbitrary credentials (inside a freshly begun
// ceremony, so that they reach the WebAuthn parser and verifier) and
// arbitrary whole bodies to both finish routes: the answer is always a
// 2xx or a 4xx JSON error, never a 5xx or a panic.
func FuzzPasskeyFinish(f *testing.F) {
	w := newPasskeyWorld(f, storetest.SQLite(f, store.Options{}))
	nurse := addStaffLogin(f, w, "nurse_pk", sotto.RoleNurse, "Nursing")
	w.tokens["nurse_pk"] = w.newToken("nurse_pk")
	a, _ := registerPasskey(f, w, "nurse_pk", nurse.password, "Test laptop")

	// Seeds: a real assertion and a real new credential (for other
	// challenges), pieces of them, and junk.
	begin := w.doFrom("192.0.2.1", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
	assertion, _ := json.Marshal(a.get(publicKeyOptions(f, begin.body)))
	reg := w.doFrom("192.0.2.1", "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
	created, _ := json.Marshal(newSoftAuthenticator(f, testPasskeyOrigin).create(publicKeyOptions(f, reg.body)))
	for _, c := range []string{string(assertion), string(created), `{}`, `null`, `"x"`, `[]`, `{"id":"AA","rawId":"AA","type":"public-key"}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`, "\xff"} {
		f.Add([]byte(c), `{"ceremony_id":"x","credential":`+c+`}`)
	}
	f.Add([]byte(`{`), `{"ceremony_id":1}`)
	f.Add([]byte(``), `{"ceremony_id":"x","name":"Test","credential":{},"extra":true}`)

	n := 0
	f.Fuzz(func(t *testing.T, credential []byte, body string) {
		w.t = t
		n++
		ip := fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255) // a fresh address: the throttle never hides the parser
		var cred any = string(credential)
		if json.Valid(credential) {
			cred = json.RawMessage(credential)
		}
		check := func(what string, res result) {
			t.Helper()
			if res.status >= 500 {
				t.Fatalf("%s: status %d for %q: %s", what, res.status, credential, res.raw)
			}
			if res.status >= 400 && res.code() == "" {
				t.Fatalf("%s: error without a JSON code: %s", what, res.raw)
			}
		}
		begin := w.doFrom(ip, "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
		check("sign-in begin", begin)
		check("sign-in finish", w.doFrom(ip, "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish",
			map[string]any{"ceremony_id": begin.body["ceremony_id"], "credential": cred})))
		reg := w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/begin", map[string]string{"password": nurse.password}))
		check("register begin", reg)
		check("register finish", w.doFrom(ip, "nurse_pk", jsonReq("POST", "/api/v1/me/passkeys/register/finish",
			map[string]any{"ceremony_id": reg.body["ceremony_id"], "name": "Test fuzz", "credential": cred})))
		for _, path := range []string{"/api/v1/auth/passkey/finish", "/api/v1/me/passkeys/register/finish"} {
			check(path, w.doFrom(ip, "nurse_pk", req{method: "POST", path: path, body: body, contentType: "application/json"}))
		}
	})
}
