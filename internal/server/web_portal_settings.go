package server

import (
	"net/http"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/web"
)

// portalSettingsView is the settings page: notification preferences (and
// the SMS consent on record) and the language.
type portalSettingsView struct {
	SMS, Email, Push, Saved bool
	SMSConsentAt            *time.Time
	Error                   string
	Languages               []languageChoice
}

// languageChoice is one language the viewer may read sotto in.
type languageChoice struct {
	Code, NameID string
	Checked      bool
}

// portalSettings shows the viewer's notification preferences and language.
func (s *Server) portalSettings(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	prefs, err := s.db.NotifyPrefs(r.Context(), pu.user.OrgID, pu.user.ID)
	if err != nil {
		return err
	}
	v := &portalSettingsView{SMS: prefs.SMS, Email: prefs.Email, Push: prefs.Push, SMSConsentAt: prefs.SMSConsentAt,
		Saved: r.URL.Query().Get("saved") == "1"}
	return s.renderSettings(w, pu, http.StatusOK, v)
}

// renderSettings renders v with the language choices filled in.
func (s *Server) renderSettings(w http.ResponseWriter, pu *portalUser, status int, v *portalSettingsView) error {
	current := pu.l.Lang
	if len(pu.patients) > 0 {
		current = pu.patients[0].Language
	}
	for _, code := range sotto.Languages {
		if pu.user.Role != sotto.RolePatient {
			break // the language is the patient's record; a proxy's pages follow the browser
		}
		v.Languages = append(v.Languages, languageChoice{Code: code, NameID: "portal.lang_" + code, Checked: code == current})
	}
	return s.renderPage(w, status, "portal-settings", s.portalView(pu, "portal.title_settings", "settings", v))
}

// portalSettingsSubmit saves the form: the preferences through applyPrefs,
// the API's core (turning SMS on records the consent given on this form,
// source "portal"), and the language on the record of each patient the
// viewer acts for (where sotto keeps a patient's language; a proxy reads
// in their patient's), audited as a patient update.
func (s *Server) portalSettingsSubmit(w http.ResponseWriter, r *http.Request, pu *portalUser) error {
	if err := parseForm(w, r); err != nil {
		return s.renderSettings(w, pu, http.StatusBadRequest, &portalSettingsView{Error: pu.l.T("portal.err_form")})
	}
	f := r.PostForm
	sms, email, push := f.Get("sms") != "", f.Get("email") != "", f.Get("push") != ""
	lang := f.Get("language")
	if lang != "" && !sotto.ValidLanguage(lang) {
		v := &portalSettingsView{SMS: sms, Email: email, Push: push, Error: pu.l.T("portal.err_form")}
		return s.renderSettings(w, pu, http.StatusBadRequest, v)
	}
	if _, err := s.applyPrefs(r, pu.caller, pu.user.ID, "", "portal", prefsRequest{SMS: &sms, Email: &email, Push: &push}); err != nil {
		return err
	}
	var change []*sotto.Patient
	for _, p := range pu.patients {
		// The language is the patient's own record: a patient changes
		// theirs; a proxy may not (the API refuses them patient edits too).
		if pu.user.Role == sotto.RolePatient && lang != "" && p.Language != lang {
			change = append(change, p)
		}
	}
	if len(change) > 0 {
		err := s.db.Write(r.Context(), func(tx *store.Tx) error {
			for _, p := range change {
				if err := tx.SetPatientLanguage(pu.user.OrgID, p.ID, lang); err != nil {
					return err
				}
				if err := audit.Append(tx, s.targetEvent(r, pu.caller, sotto.AuditPatientUpdate, "patient", p.ID, p.ID)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/portal/settings?saved=1", http.StatusSeeOther)
	return nil
}

// viewerLocale is how a viewer whose stored language is lang reads pages:
// that language (else the browser's), in the zone app.js reported (else
// zone).
func (s *Server) viewerLocale(r *http.Request, lang, zone string) *web.Locale {
	if ck, err := r.Cookie(tzCookie); err == nil && ck.Value != "" {
		zone = ck.Value
	}
	return web.NewLocale(web.PickLanguage(lang, r.Header.Get("Accept-Language")), web.LoadZone(zone), s.now())
}
