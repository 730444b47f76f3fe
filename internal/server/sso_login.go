package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// Single sign-on pages and cookies.
const (
	ssoCallbackPath = "/login/sso/callback"
	ssoStateCookie  = "sotto_sso_state" // the state this browser left with, compared on return
	ssoMFACookie    = "sotto_sso_mfa"   // the ticket of a sign-on waiting for sotto's code
	ssoMaxParam     = 4096              // bytes of a state or code sotto reads at all
)

// ssoState is what sotto keeps while a browser is at the identity
// provider: whose settings it left with, the PKCE verifier, the nonce the
// ID token must carry and the redirect URI the code is bound to.
type ssoState struct {
	orgID, issuer, clientID string
	redirectURI             string
	verifier, nonce         string
}

// ssoPage is the data of the single sign-on page: the form asking for the
// organization's sign-in name, a "continue" step (Next, where the browser
// goes now), or a failure (Error, a message id).
type ssoPage struct {
	Org   string
	Error string
	Next  string // an identity provider's authorization URL, or a local path
	// NextID is the message id of the continue link's text.
	NextID string
}

// renderSSO writes the single sign-on page with status.
func (f *ssoFlows) renderSSO(w http.ResponseWriter, r *http.Request, status int, page ssoPage) error {
	return f.s.render(w, r, status, "login-sso", "title.login_sso", page)
}

// continueTo answers with a page that sends the browser on to next (a
// Refresh header, with a link for browsers that ignore it). A page, not a
// redirect: a redirect after the sign-in form would break the pages'
// form-action policy, and a session cookie (SameSite=Strict) set while
// coming back from the provider is only sent once the browser navigates
// from one of sotto's own pages.
func (f *ssoFlows) continueTo(w http.ResponseWriter, r *http.Request, next, textID string) error {
	w.Header().Set("Refresh", "0;url="+next)
	return f.renderSSO(w, r, http.StatusOK, ssoPage{Next: next, NextID: textID})
}

// start is GET /login/sso: without ?org it asks for the organization's
// sign-in name; with it (the name, or the organization's id) it sends the
// browser to that organization's identity provider with a fresh state,
// nonce and PKCE challenge. Unknown names and organizations without
// enabled single sign-on get the same answer.
func (f *ssoFlows) start(w http.ResponseWriter, r *http.Request) error {
	org := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("org")))
	if org == "" {
		return f.renderSSO(w, r, http.StatusOK, ssoPage{})
	}
	page := ssoPage{Org: org}
	cfg, err := f.lookup(r.Context(), org)
	if sotto.ErrorKind(err) == sotto.KindNotFound || (err == nil && !cfg.Enabled) {
		page.Error = "sso.err_unknown"
		return f.renderSSO(w, r, http.StatusNotFound, page)
	}
	if err != nil {
		return err
	}
	p, err := f.providers.get(r.Context(), cfg.OrgID, cfg.Issuer)
	if err != nil {
		f.s.log.Warn("sso provider unavailable", "request_id", requestID(r.Context()), "org_id", cfg.OrgID, "error", err.Error())
		page.Error = "sso.err_unavailable"
		return f.renderSSO(w, r, http.StatusServiceUnavailable, page)
	}
	st := ssoState{orgID: cfg.OrgID, issuer: cfg.Issuer, clientID: cfg.ClientID, redirectURI: f.redirectURI(r),
		verifier: oauth2.GenerateVerifier(), nonce: newTicketKey()}
	state, ok := f.states.put("ip:"+clientIP(r), st)
	if !ok {
		page.Error = "login.err_rate_limited"
		return f.renderSSO(w, r, http.StatusTooManyRequests, page)
	}
	http.SetCookie(w, &http.Cookie{Name: ssoStateCookie, Value: state, Path: "/login/sso", MaxAge: int(ssoStateTTL.Seconds()),
		HttpOnly: true, Secure: f.s.tls, SameSite: http.SameSiteLaxMode})
	next := oauthConfig(cfg, p, st.redirectURI).AuthCodeURL(state, oauth2.S256ChallengeOption(st.verifier), oidc.Nonce(st.nonce))
	return f.continueTo(w, r, next, "sso.continue_idp")
}

// lookup finds the settings named by org: a sign-in name, or an
// organization id. Errors: KindNotFound, KindInternal.
func (f *ssoFlows) lookup(ctx context.Context, org string) (*store.SSOConfig, error) {
	if store.ValidID(org) {
		return f.s.db.SSOConfig(ctx, org)
	}
	return f.s.db.SSOConfigByName(ctx, org)
}

// oauthConfig is the OAuth 2.0 client of cfg at provider p. The client
// authenticates as the discovery document prefers: HTTP Basic (the
// default) unless only client_secret_post is offered.
func oauthConfig(cfg *store.SSOConfig, p *oidc.Provider, redirectURI string) *oauth2.Config {
	ep := p.Endpoint()
	var meta struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = p.Claims(&meta)
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if len(meta.Methods) > 0 && !slices.Contains(meta.Methods, "client_secret_basic") && slices.Contains(meta.Methods, "client_secret_post") {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: ep, RedirectURL: redirectURI,
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile}}
}

// callback is GET /login/sso/callback, where the identity provider sends
// the browser back. The state must be one this server issued, not yet
// used, not expired, and the one this browser's cookie holds; the code is
// exchanged (with the PKCE verifier) for an ID token, verified (signature,
// issuer, audience = client id, expiry, nonce), whose verified e-mail
// must belong to an enabled staff member of the organization the sign-on
// started for. Then either a session starts (the organization trusts its
// provider's second factor) or sotto's own code is asked for (sso_mfa.go).
// Every failure gets the same page and an audited sign_in_failed. Nothing
// here can be guessed (a state is 256 random bits, a code is bound to its
// state and verifier), so failures do not count against the sign-in
// throttle; sotto's own code, asked next, does.
func (f *ssoFlows) callback(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	state := q.Get("state")
	http.SetCookie(w, &http.Cookie{Name: ssoStateCookie, Value: "", Path: "/login/sso", MaxAge: -1, HttpOnly: true, Secure: f.s.tls, SameSite: http.SameSiteLaxMode})
	var st ssoState
	ok := false
	if state != "" && len(state) <= ssoMaxParam {
		st, ok = f.states.take(state) // used up even if the cookie does not match
	}
	c, cerr := r.Cookie(ssoStateCookie)
	if !ok || cerr != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		orgID := sotto.SystemOrgID
		if ok {
			orgID = st.orgID
		}
		return f.failed(w, r, orgID, "state", http.StatusUnauthorized)
	}
	if q.Get("error") != "" {
		// The provider refused, or the person cancelled there.
		return f.failed(w, r, st.orgID, "provider_error", http.StatusUnauthorized)
	}
	email, cfg, reason, err := f.identify(r.Context(), st, q.Get("code"))
	if err != nil {
		return err
	}
	if reason != "" {
		status := http.StatusUnauthorized
		if reason == "discovery" {
			status = http.StatusServiceUnavailable
		}
		return f.failed(w, r, st.orgID, reason, status)
	}
	u, creds, lastStep, err := f.s.db.UserForLogin(r.Context(), email)
	switch {
	case sotto.ErrorKind(err) == sotto.KindNotFound:
		return f.failed(w, r, st.orgID, "no_account", http.StatusUnauthorized)
	case err != nil:
		return err
	case u.OrgID != st.orgID || u.Disabled || !u.Role.IsStaff():
		// Another organization's user (never named in this one's trail), a
		// disabled account, or a patient: the same answer as no account.
		return f.failed(w, r, st.orgID, "no_account", http.StatusUnauthorized)
	}
	if cfg.TrustIdPMFA {
		token, _, err := f.session(r, u, nil)
		if err != nil {
			return err
		}
		f.s.setSessionCookie(w, token)
		return f.continueTo(w, r, staffHome(u.Role), "sso.continue_home")
	}
	ps := &passwordStep{user: u, creds: creds, lastStep: lastStep,
		att: loginAttempt{orgID: u.OrgID, userID: u.ID, keys: []string{"acct:" + email, "ip:" + clientIP(r)}}}
	return f.askCode(w, r, ps)
}

// identify runs the back half of the sign-on for st: it exchanges code for
// tokens and verifies the ID token against the organization's current
// settings. It returns the verified e-mail address (normalized) and the
// settings, or a reason (a fixed word for the log) when the sign-on must
// fail. err is set only for faults of sotto itself.
func (f *ssoFlows) identify(ctx context.Context, st ssoState, code string) (email string, cfg *store.SSOConfig, reason string, err error) {
	if code == "" || len(code) > ssoMaxParam {
		return "", nil, "no_code", nil
	}
	cfg, err = f.s.db.SSOConfig(ctx, st.orgID)
	switch {
	case sotto.ErrorKind(err) == sotto.KindNotFound:
		return "", nil, "settings_changed", nil
	case err != nil:
		return "", nil, "", err
	case !cfg.Enabled || cfg.Issuer != st.issuer || cfg.ClientID != st.clientID:
		return "", nil, "settings_changed", nil
	}
	p, err := f.providers.get(ctx, cfg.OrgID, cfg.Issuer)
	if err != nil {
		return "", nil, "discovery", nil
	}
	tctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, f.client), ssoHTTPTimeout)
	defer cancel()
	tok, err := oauthConfig(cfg, p, st.redirectURI).Exchange(tctx, code, oauth2.VerifierOption(st.verifier))
	if err != nil {
		return "", nil, "token_exchange", nil
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, "no_id_token", nil
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: f.s.now}).Verify(tctx, raw)
	if err != nil {
		return "", nil, "id_token_invalid", nil
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.nonce)) != 1 {
		return "", nil, "nonce_mismatch", nil
	}
	var claims struct {
		Email    string          `json:"email"`
		Verified json.RawMessage `json:"email_verified"`
		AZP      string          `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", nil, "id_token_invalid", nil
	}
	if len(idt.Audience) > 1 && claims.AZP != cfg.ClientID {
		// Several audiences: the token must have been issued to sotto.
		return "", nil, "id_token_invalid", nil
	}
	// Some providers send the boolean as a string.
	if v := string(claims.Verified); v != "true" && v != `"true"` {
		return "", nil, "email_unverified", nil
	}
	email = sotto.NormalizeEmail(claims.Email)
	if email == "" || len(email) > sotto.MaxEmailLen {
		return "", nil, "no_email", nil
	}
	return email, cfg, "", nil
}

// failed ends a sign-on that did not work: it audits sign_in_failed in
// orgID's trail (the organization the sign-on was for; the system trail
// when unknown), logs why (a fixed word, never the address or a token)
// and answers the same page whatever the reason.
func (f *ssoFlows) failed(w http.ResponseWriter, r *http.Request, orgID, reason string, status int) error {
	f.s.log.Info("sso sign-in failed", "request_id", requestID(r.Context()), "org_id", orgID, "reason", reason)
	ev := f.s.auditEvent(r, orgID, "", sotto.AuditRoleAnonymous, sotto.AuditSignInFailed, sotto.AuditFailure)
	ev.TargetType = "sso"
	if orgID != sotto.SystemOrgID {
		ev.TargetID = orgID
	}
	if err := f.s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); err != nil {
		return err
	}
	msg := "sso.err_failed"
	if status == http.StatusServiceUnavailable {
		msg = "sso.err_unavailable"
	}
	return f.renderSSO(w, r, status, ssoPage{Error: msg})
}
