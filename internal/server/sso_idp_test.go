package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeIdP is a faithful OpenID Connect provider on loopback for the single
// sign-on tests: discovery, a JWKS, an authorization endpoint that "signs
// in" whoever the test says and redirects back with a code, and a token
// endpoint that checks the code (once), the client's secret, the
// redirect_uri and the PKCE verifier before it returns an RS256 ID token.
// Tests bend its answers through the fields under mu.
type fakeIdP struct {
	t            testing.TB
	srv          *httptest.Server
	base         string // the issuer URL: srv.URL, or the same server under another loopback name
	key          *rsa.PrivateKey
	clientID     string
	clientSecret string
	now          func() time.Time

	mu       sync.Mutex
	user     fakeIdPUser                 // who signs in at /authorize next
	denied   bool                        // /authorize answers error=access_denied
	tamper   func(claims map[string]any) // changes the next ID tokens' claims
	codes    map[string]*fakeGrant
	refusals []string // why /token refused, in order
	issued   int      // ID tokens issued
}

// fakeIdPUser is a person signed in at the provider.
type fakeIdPUser struct {
	Email    string
	Verified any // the email_verified claim as sent (nil leaves it out)
}

// fakeGrant is an authorization code and what it was issued for.
type fakeGrant struct {
	clientID, redirectURI, challenge, nonce string
	user                                    fakeIdPUser
	used                                    bool
}

// newFakeIdP starts a provider for client id/secret whose clock is now.
func newFakeIdP(t testing.TB, clientID, clientSecret string, now func() time.Time) *fakeIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeIdP{t: t, key: key, clientID: clientID, clientSecret: clientSecret, now: now, codes: map[string]*fakeGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.base = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// issuer is the provider's issuer URL.
func (p *fakeIdP) issuer() string { return p.base }

// asLocalhost makes the provider's issuer http://localhost:PORT: for a
// browser, another site than sotto's http://127.0.0.1:PORT, as a real
// provider is. Call it before configuring the provider anywhere.
func (p *fakeIdP) asLocalhost() { p.base = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1) }

// signIn sets who signs in next, with email_verified true.
func (p *fakeIdP) signIn(email string) {
	p.set(func() { p.user = fakeIdPUser{Email: email, Verified: true} })
}

// set changes the provider's behaviour under its lock.
func (p *fakeIdP) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": p.issuer(), "authorization_endpoint": p.issuer() + "/authorize", "token_endpoint": p.issuer() + "/token",
		"jwks_uri": p.issuer() + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (p *fakeIdP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "test-key-1", Algorithm: "RS256", Use: "sig"}}})
}

// authorize checks the authorization request as a provider would and
// sends the browser back to redirect_uri with a code (or an error).
func (p *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != p.clientID, q.Get("state") == "", q.Get("nonce") == "",
		q.Get("code_challenge_method") != "S256", len(q.Get("code_challenge")) != 43, !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	if p.denied {
		back.Set("error", "access_denied")
	} else {
		code := newTicketKey()
		p.codes[code] = &fakeGrant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), user: p.user}
		back.Set("code", code)
	}
	p.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token exchanges a code for tokens after checking the client, the code,
// the redirect_uri and the PKCE verifier.
func (p *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.refuse(w, "form")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.clientSecret)) != 1 {
		p.refuse(w, "client")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		p.refuse(w, "grant_type")
		return
	}
	p.mu.Lock()
	g := p.codes[f.Get("code")]
	reason := ""
	switch {
	case g == nil:
		reason = "code"
	case g.used:
		reason = "code_reused"
	case g.redirectURI != f.Get("redirect_uri"):
		reason = "redirect_uri"
	case g.clientID != id:
		reason = "code_client"
	}
	if reason == "" {
		g.used = true
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			reason = "pkce"
		}
	}
	tamper := p.tamper
	p.mu.Unlock()
	if reason != "" {
		p.refuse(w, reason)
		return
	}
	now := p.now()
	claims := map[string]any{"iss": p.issuer(), "sub": "idp-subject-" + g.user.Email, "aud": p.clientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce, "email": g.user.Email}
	if g.user.Verified != nil {
		claims["email_verified"] = g.user.Verified
	}
	if tamper != nil {
		tamper(claims)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "test-access-" + newTicketKey(), "token_type": "Bearer",
		"expires_in": 300, "id_token": p.sign(claims)})
}

// refuse answers a token request with invalid_grant and remembers why.
func (p *fakeIdP) refuse(w http.ResponseWriter, why string) {
	p.mu.Lock()
	p.refusals = append(p.refusals, why)
	p.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
}

// sign makes an RS256 JWT of claims with the provider's key.
func (p *fakeIdP) sign(claims map[string]any) string {
	p.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test-key-1"))
	if err != nil {
		p.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		p.t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.issued++
	p.mu.Unlock()
	return out
}

// lastRefusal is why /token last refused ("" if it never did).
func (p *fakeIdP) lastRefusal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refusals) == 0 {
		return ""
	}
	return p.refusals[len(p.refusals)-1]
}
