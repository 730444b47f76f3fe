package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestSSOAdminAPI: only administrators read and change their practice's
// single sign-on; the secret is write-only; the issuer must be https (or
// http on loopback) with a working discovery document; sign-in names are
// unique; every change is audited and takes effect at once.
func TestSSOAdminAPI(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	w := newWorld(t, db)
	idp := newFakeIdP(t, ssoTestClientID, ssoTestSecret, w.clock.Now)
	body := func(over map[string]any) map[string]any {
		b := map[string]any{"sign_in_name": ssoTestName, "issuer": idp.issuer(), "client_id": ssoTestClientID, "client_secret": ssoTestSecret}
		for k, v := range over {
			b[k] = v
		}
		return b
	}

	res := w.must("admin", req{method: "GET", path: "/api/v1/sso"}, 200)
	if res.body["sso"] != nil || !strings.HasSuffix(res.body["redirect_uri"].(string), ssoCallbackPath) {
		t.Fatalf("before any settings: %s", res.raw)
	}
	// Not an administrator: refused and audited; not signed in: 401.
	for _, role := range []string{"nurse", "compliance", "patient"} {
		for _, r := range []req{{method: "GET", path: "/api/v1/sso"}, jsonReq("PUT", "/api/v1/sso", body(nil)), {method: "DELETE", path: "/api/v1/sso"}} {
			if res := w.do(role, r); res.status != 403 || res.body["error"] == nil {
				t.Fatalf("%s %s as %s: %d", r.method, r.path, role, res.status)
			}
		}
	}
	if res := w.do("anonymous", jsonReq("PUT", "/api/v1/sso", body(nil))); res.status != 401 {
		t.Fatalf("PUT as anonymous: %d", res.status)
	}
	if n := w.countAudit(w.orgA, sotto.AuditConfigChange); n != 9 {
		t.Fatalf("refusals audited: %d, want 9", n)
	}

	// Refused settings, each with its code.
	for _, c := range []struct {
		name string
		over map[string]any
		code string
	}{
		{"http issuer off loopback", map[string]any{"issuer": "http://idp.example.test"}, "invalid"},
		{"issuer with a query", map[string]any{"issuer": idp.issuer() + "?tenant=1"}, "invalid"},
		{"issuer with user info", map[string]any{"issuer": "https://user:pw@idp.example.test"}, "invalid"},
		{"not a URL", map[string]any{"issuer": "idp.example.test"}, "invalid"},
		{"no discovery document", map[string]any{"issuer": idp.issuer() + "/nowhere"}, "sso_discovery_failed"},
		{"another issuer in the document", map[string]any{"issuer": idp.issuer() + "/"}, "sso_discovery_failed"},
		{"nothing listening", map[string]any{"issuer": "http://127.0.0.1:1"}, "sso_discovery_failed"},
		{"name with capitals only after trim is fine, spaces are not", map[string]any{"sign_in_name": "practice a"}, "invalid"},
		{"one-letter name", map[string]any{"sign_in_name": "a"}, "invalid"},
		{"a UUID as name", map[string]any{"sign_in_name": w.orgB}, "invalid"},
		{"no client id", map[string]any{"client_id": ""}, "invalid"},
		{"client id with a space", map[string]any{"client_id": "a b"}, "invalid"},
		{"no secret yet", map[string]any{"client_secret": nil}, "invalid"},
		{"a secret with a newline", map[string]any{"client_secret": "a\nb"}, "invalid"},
		{"unknown field", map[string]any{"client_secret_hash": "x"}, "invalid"},
	} {
		res := w.do("admin", jsonReq("PUT", "/api/v1/sso", body(c.over)))
		if res.status != 400 || res.body["error"].(map[string]any)["code"] != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.name, res.status, res.raw, c.code)
		}
	}

	// Saved: the answer and later reads never hold the secret.
	res = w.must("admin", jsonReq("PUT", "/api/v1/sso", body(map[string]any{"sign_in_name": " Practice-A "})), 200)
	sso, _ := res.body["sso"].(map[string]any)
	if sso["sign_in_name"] != ssoTestName || sso["client_secret_set"] != true || sso["enabled"] != true || sso["trust_idp_mfa"] != false ||
		!strings.HasSuffix(sso["sign_in_url"].(string), "/login/sso?org="+ssoTestName) {
		t.Fatalf("PUT answered %s", res.raw)
	}
	for _, raw := range []string{res.raw, w.must("admin", req{method: "GET", path: "/api/v1/sso"}, 200).raw} {
		if strings.Contains(raw, ssoTestSecret) || strings.Contains(raw, "client_secret\"") {
			t.Fatalf("the secret is returned: %s", raw)
		}
	}
	// Without a secret the stored one stays (the sign-on still works).
	w.must("admin", jsonReq("PUT", "/api/v1/sso", body(map[string]any{"client_secret": nil, "trust_idp_mfa": true})), 200)
	cfg, err := db.SSOConfig(t.Context(), w.orgA)
	if err != nil || cfg.ClientSecret != ssoTestSecret || !cfg.TrustIdPMFA {
		t.Fatalf("after a PUT without a secret: %v, %v", cfg, err)
	}
	// Another practice cannot take the name; its own settings are apart.
	if res := w.do("other_admin", jsonReq("PUT", "/api/v1/sso", body(nil))); res.status != 409 ||
		res.body["error"].(map[string]any)["code"] != "sso_name_taken" {
		t.Fatalf("a taken name: %d %s", res.status, res.raw)
	}
	if res := w.must("other_admin", req{method: "GET", path: "/api/v1/sso"}, 200); res.body["sso"] != nil {
		t.Fatalf("practice B sees %s", res.raw)
	}
	if n := w.countAudit(w.orgA, sotto.AuditConfigChange); n != 11 {
		t.Fatalf("config changes audited: %d, want 11", n)
	}

	// A new provider takes effect at once: the cached one is forgotten.
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	providerOf := func() string {
		t.Helper()
		res, err := nf.Get(ts.URL + "/login/sso?org=" + ssoTestName)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		_, authz, _ := strings.Cut(res.Header.Get("Refresh"), "url=")
		u, err := url.Parse(authz)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("start: %d %q", res.StatusCode, authz)
		}
		return u.Scheme + "://" + u.Host
	}
	if got := providerOf(); got != idp.issuer() {
		t.Fatalf("sign-on goes to %s, want %s", got, idp.issuer())
	}
	idp2 := newFakeIdP(t, ssoTestClientID, ssoTestSecret, w.clock.Now)
	w.must("admin", jsonReq("PUT", "/api/v1/sso", body(map[string]any{"issuer": idp2.issuer()})), 200)
	if got := providerOf(); got != idp2.issuer() {
		t.Fatalf("after the change sign-on goes to %s, want %s", got, idp2.issuer())
	}

	// Removed: staff sign in with passwords again.
	w.must("admin", req{method: "DELETE", path: "/api/v1/sso"}, 204)
	if res := w.must("admin", req{method: "GET", path: "/api/v1/sso"}, 200); res.body["sso"] != nil {
		t.Fatalf("after DELETE: %s", res.raw)
	}
	if strings.Contains(w.log.String(), ssoTestSecret) {
		t.Fatal("the client secret was logged")
	}
}

// TestSSOAdminPage: the console's single sign-on page shows the redirect
// URI to register, saves through the API's checks (mistakes shown on the
// form), never shows the secret, and removes the settings.
func TestSSOAdminPage(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t, store.Options{}))
	idp := newFakeIdP(t, ssoTestClientID, ssoTestSecret, w.clock.Now)
	b, _ := adminConsole(t, w)

	p := b.get("/admin/sso")
	if p.status != 200 || !strings.Contains(p.body, `id="sso-redirect-uri">`+b.base+ssoCallbackPath+`<`) || !strings.Contains(p.body, `id="sso-none"`) {
		t.Fatalf("the page: %d\n%s", p.status, p.body)
	}
	form := url.Values{"op": {"save"}, "sign_in_name": {ssoTestName}, "issuer": {"http://idp.example.test"}, "client_id": {ssoTestClientID},
		"client_secret": {ssoTestSecret}, "enabled": {"1"}}
	p = b.post("/admin/sso", form)
	if p.status != 400 || !strings.Contains(p.body, `id="sso-form-error"`) || !strings.Contains(p.body, `id="sso-issuer" name="issuer" type="url" required maxlength="512" value="http://idp.example.test"`) ||
		strings.Contains(p.body, ssoTestSecret) {
		t.Fatalf("a refused issuer: %d\n%s", p.status, p.body)
	}
	form.Set("issuer", idp.issuer())
	if p = b.post("/admin/sso", form); p.status != 303 || p.header.Get("Location") != "/admin/sso?done=sso_saved" {
		t.Fatalf("save: %d %q", p.status, p.header.Get("Location"))
	}
	p = b.get("/admin/sso?done=sso_saved")
	if p.status != 200 || !strings.Contains(p.body, `id="notice"`) || !strings.Contains(p.body, `value="`+idp.issuer()+`"`) ||
		!strings.Contains(p.body, `id="sso-sign-in-url">`+b.base+"/login/sso?org="+ssoTestName+`<`) || strings.Contains(p.body, ssoTestSecret) {
		t.Fatalf("after saving: %d\n%s", p.status, p.body)
	}
	// Saving again with the secret field empty keeps the secret.
	form.Set("client_secret", "")
	form.Del("enabled")
	if p = b.post("/admin/sso", form); p.status != 303 {
		t.Fatalf("save without a secret: %d\n%s", p.status, p.body)
	}
	if cfg, err := w.db.SSOConfig(t.Context(), w.orgA); err != nil || cfg.ClientSecret != ssoTestSecret || cfg.Enabled {
		t.Fatalf("after saving without a secret: %v, %v", cfg, err)
	}
	if p = b.post("/admin/sso", url.Values{"op": {"remove"}}); p.status != 303 || p.header.Get("Location") != "/admin/sso?done=sso_removed" {
		t.Fatalf("remove: %d %q", p.status, p.header.Get("Location"))
	}
	if _, err := w.db.SSOConfig(t.Context(), w.orgA); sotto.ErrorKind(err) != sotto.KindNotFound {
		t.Fatalf("after removing: %v", err)
	}
	if p = b.get("/admin"); !strings.Contains(p.body, `id="tile-sso"`) {
		t.Fatal("the overview has no single sign-on tile")
	}
	if p = b.get("/login"); !strings.Contains(p.body, `href="/login/sso"`) {
		t.Fatal("the sign-in page has no single sign-on link")
	}
}
