package server

import (
	"net/http"

	"sotto"
	"sotto/internal/web"
)

// The patient portal: phone-first pages for patients and the proxies who
// act for them. Like the staff pages, every action goes through the same
// core as the API (openConversation, postMessage, storeAttachment,
// threadMessages, applyPrefs), so access checks, audit entries, receipts,
// events and notification jobs are exactly the API's.

// portalUser is a signed-in patient or proxy on a portal page: the caller,
// the patients they act for (for a patient, their own record), their
// practice's name and how they read pages.
type portalUser struct {
	*caller
	patients []*sotto.Patient
	practice string
	l        *web.Locale
}

// portalFunc is a portal page handler.
type portalFunc func(w http.ResponseWriter, r *http.Request, pu *portalUser) error

// portalPage adapts h to run only for patients and proxies: an anonymous
// or expired visitor is sent to the sign-in page, staff to their inbox.
// Pages are never cached. What the viewer asked for but may not have (a
// conversation that is not theirs, a refused form) is answered on a
// portal page in their language; other errors go to servePageError.
func (s *Server) portalPage(h portalFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.caller(r)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		if c.user.Role.IsStaff() {
			http.Redirect(w, r, staffHome(c.user.Role), http.StatusSeeOther)
			return nil
		}
		pu, err := s.portalUserOf(r, c)
		if err != nil {
			return err
		}
		return s.portalFailed(w, r, pu, h(w, r, pu))
	}
}

// portalUserOf loads what every portal page needs about c: the patients
// they act for (an erased one is left out), the practice and the locale.
// The page language is the one stored on the (first) patient's record;
// times are in the zone the browser reported, else the patient's.
func (s *Server) portalUserOf(r *http.Request, c *caller) (*portalUser, error) {
	ctx := r.Context()
	pu := &portalUser{caller: c}
	for _, id := range c.actor.PatientIDs {
		p, err := s.db.Patient(ctx, c.user.OrgID, id)
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		pu.patients = append(pu.patients, p)
	}
	org, err := s.db.Org(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	pu.practice = org.Name
	lang, zone := "", ""
	if len(pu.patients) > 0 {
		lang, zone = pu.patients[0].Language, pu.patients[0].TimeZone
	}
	pu.l = s.viewerLocale(r, lang, zone)
	return pu, nil
}

// portalView builds the Page of a portal viewer: the practice's name on
// top, and the idle countdown of the patient side's session policy.
func (s *Server) portalView(pu *portalUser, title, nav string, data any) *web.Page {
	return &web.Page{L: pu.l, Title: title, Nav: nav, Brand: pu.practice, Data: data,
		User:        &web.User{Name: pu.user.Name, Role: "role." + string(pu.user.Role)},
		IdleSeconds: int(pu.idle.Seconds())}
}

// portalFailed answers err, a portal handler's error, when it is about
// what the viewer asked for: not found (another patient's conversation is
// not found, never forbidden), refused or invalid, on a portal page with
// the way back. Sign-in and server errors are returned unchanged.
func (s *Server) portalFailed(w http.ResponseWriter, r *http.Request, pu *portalUser, err error) error {
	kind := sotto.ErrorKind(err)
	var title, msg string
	switch kind {
	case sotto.KindNotFound:
		title, msg = "title.not_found", pu.l.T("portal.not_found")
	case sotto.KindForbidden:
		title, msg = "title.forbidden", sotto.ErrorMessage(err)
	case sotto.KindInvalid, sotto.KindConflict:
		title, msg = "title.invalid", pu.l.T("portal.err_check")
	case sotto.KindRateLimited:
		title, msg = "title.rate_limited", sotto.ErrorMessage(err)
	default:
		return err
	}
	return s.renderPage(w, statusOf(kind), "portal-error", s.portalView(pu, title, "", errorPage{Message: msg}))
}

// actsFor reports whether pu acts for patient id.
func (pu *portalUser) actsFor(id string) bool {
	for _, p := range pu.patients {
		if p.ID == id {
			return true
		}
	}
	return false
}
