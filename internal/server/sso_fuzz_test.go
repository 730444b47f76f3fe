package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// FuzzSSOCallback sends arbitrary query strings (and state cookies) to the
// single sign-on callback, and the same query to its start page: the
// answer is always an HTML page below 500, never a 5xx or a panic. Some
// seeds carry states the server really issued, so the fuzzer also reaches
// the token exchange with a live provider on loopback.
func FuzzSSOCallback(f *testing.F) {
	w := newWorld(f, storetest.SQLite(f, store.Options{}))
	idp := newFakeIdP(f, ssoTestClientID, ssoTestSecret, w.clock.Now)
	w.must("admin", jsonReq("PUT", "/api/v1/sso", map[string]any{"sign_in_name": ssoTestName, "issuer": idp.issuer(),
		"client_id": ssoTestClientID, "client_secret": ssoTestSecret}), 200)
	idp.signIn(w.users["nurse"].Email)
	// issuedState starts a sign-on and returns the state the server issued.
	issuedState := func() string {
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/login/sso?org="+ssoTestName, nil))
		for _, c := range rec.Result().Cookies() {
			if c.Name == ssoStateCookie {
				return c.Value
			}
		}
		f.Fatalf("start answered %d without a state cookie", rec.Code)
		return ""
	}
	for _, st := range []string{issuedState(), issuedState(), issuedState()} {
		f.Add("state="+st+"&code=not-a-code", st)
		f.Add("state="+st+"&error=access_denied&error_description=no", st)
		f.Add("state="+url.QueryEscape(st+"x")+"&code=x", st)
	}
	for _, q := range []string{"", "state=&code=", "code=abc", "state=a&state=b&code=c&code=d", "state=%zz&code=%", "error=server_error",
		"state=" + strings.Repeat("A", 5000) + "&code=" + strings.Repeat("B", 5000), "org=" + ssoTestName, "org=%00", "org=" + w.orgA,
		"org=" + strings.Repeat("x", 300), ";;;&&&==", "code=\x00\xff"} {
		f.Add(q, "")
		f.Add(q, "forged")
	}
	f.Fuzz(func(t *testing.T, query, cookie string) {
		w.t = t
		for _, path := range []string{ssoCallbackPath, "/login/sso"} {
			r := httptest.NewRequest("GET", path, nil)
			r.URL.RawQuery = query
			if cookie != "" {
				r.Header.Set("Cookie", ssoStateCookie+"="+cookie)
			}
			rec := httptest.NewRecorder()
			w.srv.ServeHTTP(rec, r)
			if rec.Code >= 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s?%q: status %d, Content-Type %q", path, query, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	})
}
