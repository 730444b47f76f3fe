package server

import (
	"errors"
	"net/http"
	"time"

	"sotto"
)

// adminSSOView is the console's single sign-on page: the settings form
// (the secret field always empty: it is write-only), the redirect URI to
// register with the provider and the link staff sign in with.
type adminSSOView struct {
	adminBase
	Configured  bool
	SignInName  string
	Issuer      string
	ClientID    string
	SecretSet   bool
	TrustIdPMFA bool
	Enabled     bool
	RedirectURI string
	SignInURL   string
	UpdatedAt   time.Time
	Error       string // message id of what is wrong with the form
	ErrorField  string // the field it is about: "name", "issuer", "client", "secret"
}

// ssoNotices are the outcomes a redirect back to the page may announce.
var ssoNotices = map[string]string{"sso_saved": "admin.done.sso_saved", "sso_removed": "admin.done.sso_removed"}

// adminSSOBase is the console's top for the single sign-on page.
func adminSSOBase(r *http.Request) adminBase {
	b := newAdminBase(r, "sso")
	if n, ok := ssoNotices[r.URL.Query().Get("done")]; ok {
		b.Notice = n
	}
	return b
}

// adminSSO shows GET /admin/sso: the organization's single sign-on.
func (f *ssoFlows) adminSSO(w http.ResponseWriter, r *http.Request, c *caller) error {
	cfg, err := f.current(r, c.user.OrgID)
	if err != nil {
		return err
	}
	v := &adminSSOView{adminBase: adminSSOBase(r), Enabled: true, RedirectURI: f.redirectURI(r)}
	if cfg != nil {
		sv := f.view(r, cfg)
		v.Configured, v.SignInName, v.Issuer, v.ClientID, v.SecretSet = true, sv.SignInName, sv.Issuer, sv.ClientID, sv.ClientSecretSet
		v.TrustIdPMFA, v.Enabled, v.SignInURL, v.UpdatedAt = sv.TrustIdPMFA, sv.Enabled, sv.SignInURL, sv.UpdatedAt
	}
	return f.s.renderPage(w, http.StatusOK, "admin-sso", f.s.staffView(r, c, "admin.title_sso", "admin", v))
}

// adminSSOForm handles POST /admin/sso: op "save" stores the form through
// the API's core (the same checks, discovery and audit entry), op
// "remove" deletes the settings. A mistake is shown on the form with what
// was typed (never the secret).
func (f *ssoFlows) adminSSOForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := r.PostForm
	if form.Get("op") == "remove" {
		if err := f.remove(r, c); err != nil {
			return err
		}
		return adminDone(w, r, "/admin/sso", "sso_removed", "")
	}
	secret, enabled := form.Get("client_secret"), form.Get("enabled") == "1"
	in := ssoInput{SignInName: form.Get("sign_in_name"), Issuer: form.Get("issuer"), ClientID: form.Get("client_id"),
		ClientSecret: &secret, TrustIdPMFA: form.Get("trust_idp_mfa") == "1", Enabled: &enabled}
	_, err := f.save(r, c, in)
	if err == nil {
		return adminDone(w, r, "/admin/sso", "sso_saved", "")
	}
	msg, field, status := ssoFormError(err)
	if msg == "" {
		return err
	}
	old, cerr := f.current(r, c.user.OrgID)
	if cerr != nil {
		return cerr
	}
	v := &adminSSOView{adminBase: adminSSOBase(r), Configured: old != nil, SecretSet: old != nil,
		SignInName: in.SignInName, Issuer: in.Issuer, ClientID: in.ClientID, TrustIdPMFA: in.TrustIdPMFA, Enabled: enabled,
		RedirectURI: f.redirectURI(r), Error: msg, ErrorField: field}
	if old != nil {
		v.UpdatedAt = old.UpdatedAt
	}
	return f.s.renderPage(w, status, "admin-sso", f.s.staffView(r, c, "admin.title_sso", "admin", v))
}

// ssoFormError maps a refusal of save to the console's message id, the
// field it concerns and the status; "" for errors the page does not
// explain (answered by the error page).
func ssoFormError(err error) (msg, field string, status int) {
	switch {
	case errors.Is(err, errSSOName):
		return "admin.sso_err_name", "name", http.StatusBadRequest
	case errors.Is(err, errBadIssuer):
		return "admin.sso_err_issuer", "issuer", http.StatusBadRequest
	case errors.Is(err, errSSOClientID):
		return "admin.sso_err_client", "client", http.StatusBadRequest
	case errors.Is(err, errSSOSecret):
		return "admin.sso_err_secret", "secret", http.StatusBadRequest
	case sotto.ErrorCode(err) == errDiscovery.Code:
		return "admin.sso_err_discovery", "issuer", http.StatusBadRequest
	case sotto.ErrorCode(err) == "sso_name_taken":
		return "admin.sso_err_taken", "name", http.StatusConflict
	}
	return "", "", 0
}
