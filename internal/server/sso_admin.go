package server

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// ssoInput is the body of PUT /api/v1/sso and what the console's form
// sends. ClientSecret nil or "" keeps the stored secret; Enabled nil
// means true.
type ssoInput struct {
	SignInName   string  `json:"sign_in_name"`
	Issuer       string  `json:"issuer"`
	ClientID     string  `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	TrustIdPMFA  bool    `json:"trust_idp_mfa"`
	Enabled      *bool   `json:"enabled"`
}

// ssoView is an organization's single sign-on as admins see it: never the
// client secret, only whether one is stored.
type ssoView struct {
	SignInName      string    `json:"sign_in_name"`
	Issuer          string    `json:"issuer"`
	ClientID        string    `json:"client_id"`
	ClientSecretSet bool      `json:"client_secret_set"`
	TrustIdPMFA     bool      `json:"trust_idp_mfa"`
	Enabled         bool      `json:"enabled"`
	SignInURL       string    `json:"sign_in_url"`
	UpdatedAt       time.Time `json:"updated_at"`
	UpdatedBy       string    `json:"updated_by"`
}

// ssoBody is the answer of GET and PUT /api/v1/sso: the settings (null
// when none) and the redirect URI to register with the provider.
type ssoBody struct {
	SSO         *ssoView `json:"sso"`
	RedirectURI string   `json:"redirect_uri"`
}

// Validation errors of the settings, one per field, so that the console
// can say which field to fix.
var (
	errSSOName = &sotto.Error{Kind: sotto.KindInvalid, Code: "invalid",
		Msg: "sign_in_name must be 2 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."}
	errSSOClientID = &sotto.Error{Kind: sotto.KindInvalid, Code: "invalid",
		Msg: "client_id must be 1 to 256 visible characters without spaces."}
	errSSOSecret = &sotto.Error{Kind: sotto.KindInvalid, Code: "invalid",
		Msg: "client_secret is required (at most 1024 characters, no control characters)."}
)

// ssoNameShape is a sign-in name: a DNS-label-like word.
var ssoNameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`)

// view is cfg as admins see it; the sign-in link uses the public URL of r.
func (f *ssoFlows) view(r *http.Request, cfg *store.SSOConfig) *ssoView {
	if cfg == nil {
		return nil
	}
	return &ssoView{SignInName: cfg.SignInName, Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecretSet: cfg.ClientSecret != "",
		TrustIdPMFA: cfg.TrustIdPMFA, Enabled: cfg.Enabled, UpdatedAt: cfg.UpdatedAt, UpdatedBy: cfg.UpdatedBy,
		SignInURL: strings.TrimSuffix(f.redirectURI(r), "/callback") + "?org=" + cfg.SignInName}
}

// current reads orgID's settings; nil when there are none. Errors:
// KindInternal.
func (f *ssoFlows) current(r *http.Request, orgID string) (*store.SSOConfig, error) {
	cfg, err := f.s.db.SSOConfig(r.Context(), orgID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil, nil
	}
	return cfg, err
}

// getConfig is GET /api/v1/sso (admins): the organization's single
// sign-on without its secret, and the redirect URI to register.
func (f *ssoFlows) getConfig(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := f.s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	cfg, err := f.current(r, c.user.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ssoBody{SSO: f.view(r, cfg), RedirectURI: f.redirectURI(r)})
	return nil
}

// putConfig is PUT /api/v1/sso (admins; audited as config.change): it
// validates the settings, checks that the issuer's discovery document
// works (when enabled), and stores them. Errors: invalid,
// sso_discovery_failed (400), sso_name_taken (409).
func (f *ssoFlows) putConfig(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := f.s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	var in ssoInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	cfg, err := f.save(r, c, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ssoBody{SSO: f.view(r, cfg), RedirectURI: f.redirectURI(r)})
	return nil
}

// deleteConfig is DELETE /api/v1/sso (admins; audited as config.change):
// staff sign in with their passwords again. 204 whether or not there was
// single sign-on.
func (f *ssoFlows) deleteConfig(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := f.s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	if err := f.remove(r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// save is the core of PUT /api/v1/sso and the console's form: validate,
// discover, store with its audit entry, forget the cached provider. The
// caller checked that c is an admin. Errors: KindInvalid (a field;
// sso_discovery_failed), KindConflict (sso_name_taken), KindInternal.
func (f *ssoFlows) save(r *http.Request, c *caller, in ssoInput) (*store.SSOConfig, error) {
	orgID := c.user.OrgID
	cfg := &store.SSOConfig{OrgID: orgID, SignInName: strings.ToLower(strings.TrimSpace(in.SignInName)),
		ClientID: strings.TrimSpace(in.ClientID), TrustIdPMFA: in.TrustIdPMFA, Enabled: in.Enabled == nil || *in.Enabled}
	if !ssoNameShape.MatchString(cfg.SignInName) || store.ValidID(cfg.SignInName) {
		return nil, errSSOName
	}
	issuer, err := checkIssuer(in.Issuer)
	if err != nil {
		return nil, err
	}
	cfg.Issuer = issuer
	if cfg.ClientID == "" || len(cfg.ClientID) > ssoMaxClientIDLen || !isVisibleASCII(cfg.ClientID) {
		return nil, errSSOClientID
	}
	if in.ClientSecret != nil {
		cfg.ClientSecret = *in.ClientSecret
	}
	if len(cfg.ClientSecret) > ssoMaxSecretLen || strings.ContainsFunc(cfg.ClientSecret, isControlRune) {
		return nil, errSSOSecret
	}
	if cfg.ClientSecret == "" {
		old, err := f.current(r, orgID)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, errSSOSecret
		}
	}
	if cfg.Enabled {
		if _, err := discover(r.Context(), f.client, cfg.Issuer); err != nil {
			f.s.log.Info("sso discovery failed", "request_id", requestID(r.Context()), "org_id", orgID, "error", err.Error())
			return nil, err
		}
	}
	err = f.s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.PutSSOConfig(cfg, c.user.ID); err != nil {
			return err
		}
		return audit.Append(tx, f.s.targetEvent(r, c, sotto.AuditConfigChange, "sso", orgID, ""))
	})
	if err != nil {
		return nil, err
	}
	f.providers.forget(orgID)
	return f.s.db.SSOConfig(r.Context(), orgID)
}

// remove is the core of DELETE /api/v1/sso and the console's remove
// button: delete with its audit entry, forget the cached provider.
func (f *ssoFlows) remove(r *http.Request, c *caller) error {
	err := f.s.db.Write(r.Context(), func(tx *store.Tx) error {
		if _, err := tx.DeleteSSOConfig(c.user.OrgID); err != nil {
			return err
		}
		return audit.Append(tx, f.s.targetEvent(r, c, sotto.AuditConfigChange, "sso", c.user.OrgID, ""))
	})
	if err != nil {
		return err
	}
	f.providers.forget(c.user.OrgID)
	return nil
}

// isVisibleASCII reports whether s is only 0x21..0x7e.
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isControlRune reports whether c is a control character.
func isControlRune(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }
