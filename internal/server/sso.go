package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"sotto"
)

// Staff single sign-on (OpenID Connect), configured per organization:
// sso_admin.go is the admin API, sso_admin_page.go its console page,
// sso_login.go the authorization-code flow (PKCE S256, state, nonce) and
// sso_mfa.go sotto's own second factor after it, for organizations that do
// not let the identity provider's sign-in stand for it.

// Single sign-on limits.
const (
	ssoStateTTL       = 10 * time.Minute // from leaving for the provider to coming back
	ssoMFATTL         = 10 * time.Minute // from coming back to entering sotto's code
	ssoMaxPending     = 10_000           // sign-ons in flight, all addresses together
	ssoPerAddress     = 200              // sign-ons in flight from one client address (a clinic shares one)
	ssoMFAAttempts    = 5                // wrong codes before the sign-on must start over
	ssoProviderTTL    = 15 * time.Minute // how long a provider's discovery document is trusted
	ssoHTTPTimeout    = 10 * time.Second // any one call to a provider
	ssoMaxResponse    = 1 << 20          // bytes of any one provider response
	ssoMaxIssuerLen   = 512
	ssoMaxClientIDLen = 256
	ssoMaxSecretLen   = 1024
)

// ssoFlows runs staff single sign-on: it holds the sign-ons in flight, the
// providers' discovery documents and the outbound HTTP client. routes()
// builds one per Server and registers its handlers.
type ssoFlows struct {
	s         *Server
	client    *http.Client
	providers *providerCache
	states    *ticketBox[ssoState]
	pending   *ticketBox[ssoPendingMFA]
}

// newSSO builds the single sign-on flows of s, calling providers through
// client (newSSOClient in production). Callers: routes.
func newSSO(s *Server, client *http.Client) *ssoFlows {
	return &ssoFlows{s: s, client: client,
		providers: &providerCache{client: client, ttl: ssoProviderTTL, m: map[string]cachedProvider{}},
		states:    newTicketBox[ssoState](ssoStateTTL, ssoMaxPending, ssoPerAddress, s.now),
		pending:   newTicketBox[ssoPendingMFA](ssoMFATTL, ssoMaxPending, ssoPerAddress, s.now)}
}

// newSSOClient returns the HTTP client for identity providers: bounded in
// time and response size, following at most three redirects and only to
// addresses an issuer could have (https, or http on loopback).
func newSSOClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.ResponseHeaderTimeout = ssoHTTPTimeout
	return &http.Client{
		Timeout:   ssoHTTPTimeout,
		Transport: limitedTransport{tr},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 3 || checkProviderURL(r.URL) != nil {
				return errors.New("sso: redirect refused")
			}
			return nil
		},
	}
}

// limitedTransport cuts every response body at ssoMaxResponse bytes, so a
// misbehaving provider cannot make sotto read without end.
type limitedTransport struct{ http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.RoundTripper.RoundTrip(r)
	if err == nil {
		res.Body = limitedBody{Reader: io.LimitReader(res.Body, ssoMaxResponse), Closer: res.Body}
	}
	return res, err
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// errBadIssuer answers an issuer URL sotto will not call.
var errBadIssuer = &sotto.Error{Kind: sotto.KindInvalid, Code: "invalid",
	Msg: "issuer must be an https:// URL (http:// only for a provider on this machine), without user, query or fragment."}

// checkIssuer parses an issuer URL as an admin typed it and returns it
// trimmed: https (http only on a loopback host), a host, no user
// information, query or fragment. Errors: errBadIssuer (KindInvalid).
func checkIssuer(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > ssoMaxIssuerLen {
		return "", errBadIssuer
	}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") || checkProviderURL(u) != nil {
		return "", errBadIssuer
	}
	return raw, nil
}

// checkProviderURL reports whether u is an address sotto may call or send
// a browser to for an identity provider: https with a host and no user
// information, or http to a loopback host (a provider on this machine).
func checkProviderURL(u *url.URL) error {
	if u == nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return errBadIssuer
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return errBadIssuer
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errDiscovery answers an issuer whose discovery document could not be
// fetched or does not describe it.
var errDiscovery = &sotto.Error{Kind: sotto.KindInvalid, Code: "sso_discovery_failed",
	Msg: "The identity provider's discovery document (issuer + /.well-known/openid-configuration) could not be read, or it names another issuer or unusable endpoints. Check the issuer URL."}

// providerCache keeps each organization's identity provider (its
// discovery document and signing keys) for ttl; a change of settings
// forgets it at once on this node, and a changed issuer is never served
// from the cache on any node.
type providerCache struct {
	client *http.Client
	ttl    time.Duration

	mu sync.Mutex
	m  map[string]cachedProvider // by org id
}

type cachedProvider struct {
	issuer  string
	p       *oidc.Provider
	fetched time.Time
}

// get returns orgID's provider for issuer, discovering it when absent,
// stale or for another issuer. Errors: errDiscovery (wrapping the cause).
func (c *providerCache) get(ctx context.Context, orgID, issuer string) (*oidc.Provider, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[orgID]
	c.mu.Unlock()
	if ok && e.issuer == issuer && now.Sub(e.fetched) < c.ttl && now.Sub(e.fetched) >= 0 {
		return e.p, nil
	}
	p, err := discover(ctx, c.client, issuer)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[orgID] = cachedProvider{issuer: issuer, p: p, fetched: now}
	c.mu.Unlock()
	return p, nil
}

// forget drops orgID's provider, after its settings changed.
func (c *providerCache) forget(orgID string) {
	c.mu.Lock()
	delete(c.m, orgID)
	c.mu.Unlock()
}

// discover fetches issuer's discovery document through client and checks
// that it names issuer itself and endpoints sotto may use. Errors:
// errDiscovery, whose cause (for logs) says what failed.
func discover(ctx context.Context, client *http.Client, issuer string) (*oidc.Provider, error) {
	ctx, cancel := context.WithTimeout(ctx, ssoHTTPTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return nil, &sotto.Error{Kind: errDiscovery.Kind, Code: errDiscovery.Code, Op: "server.discover", Msg: errDiscovery.Msg, Err: err}
	}
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	_ = p.Claims(&meta)
	ep := p.Endpoint()
	for _, raw := range []string{ep.AuthURL, ep.TokenURL, meta.JWKS} {
		u, err := url.Parse(raw)
		if err != nil || checkProviderURL(u) != nil {
			return nil, &sotto.Error{Kind: errDiscovery.Kind, Code: errDiscovery.Code, Op: "server.discover", Msg: errDiscovery.Msg,
				Err: errors.New("discovery names an endpoint that is not https")}
		}
	}
	return p, nil
}

// redirectURI is the callback address registered with identity
// providers: the server's public URL, or (when none is configured, as in
// tests) the address r reached.
func (f *ssoFlows) redirectURI(r *http.Request) string {
	base := strings.TrimSuffix(f.s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if f.s.tls || r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + ssoCallbackPath
}
