package server

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/web"
)

// inviteView is the invitation landing page. Error is already worded in
// the viewer's language. The password is never echoed back.
type inviteView struct {
	Token, Practice, Error, BirthDate, Name, Email string
	Proxy, AskName, AskEmail, Invalid              bool
}

// inviteForm shows the page an invitation link opens: confirm the
// patient's date of birth and choose a password. An unusable link (used,
// expired, revoked, unknown) gets a page that says what to do.
func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	_, inv, p, err := s.pendingInvite(r.Context(), token)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return s.inviteInvalid(w, r)
	}
	if err != nil {
		return err
	}
	v, l := s.inviteViewOf(r, token, inv, p)
	return s.renderPage(w, http.StatusOK, "invite", &web.Page{L: l, Title: "invite.title", Data: v})
}

// inviteSubmit redeems the invitation through redeemInvite, the API's
// core: a wrong date of birth is answered on the form in plain words (and
// counted: after the core's limit the link stops working); on success
// the new account is signed in as /login signs in and goes to its portal.
func (s *Server) inviteSubmit(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	_, inv, p, err := s.pendingInvite(r.Context(), token)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return s.inviteInvalid(w, r)
	}
	if err != nil {
		return err
	}
	v, l := s.inviteViewOf(r, token, inv, p)
	if err := parseForm(w, r); err != nil {
		v.Error = l.T("portal.err_form")
		return s.renderPage(w, http.StatusBadRequest, "invite", &web.Page{L: l, Title: "invite.title", Data: v})
	}
	f := r.PostForm
	v.BirthDate, v.Name, v.Email = strings.TrimSpace(f.Get("birth_date")), strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("email"))
	req := acceptRequest{BirthDate: v.BirthDate, Password: f.Get("password"), Email: v.Email, Name: v.Name}
	status, msg := http.StatusBadRequest, inviteFormProblem(v, req)
	if msg == "" {
		var session string
		session, _, _, err = s.redeemInvite(r, token, req)
		if err == nil {
			s.setSessionCookie(w, session)
			http.Redirect(w, r, "/portal", http.StatusSeeOther)
			return nil
		}
		if sotto.ErrorCode(err) == "verification_failed" {
			// The last allowed wrong date ends the link: say so now.
			if _, _, _, perr := s.pendingInvite(r.Context(), token); sotto.ErrorKind(perr) == sotto.KindNotFound {
				return s.inviteInvalid(w, r)
			}
		}
		if sotto.ErrorCode(err) == "invite_invalid" {
			return s.inviteInvalid(w, r) // used or ended meanwhile
		}
		if status, msg = inviteRefusal(err); msg == "" {
			return err
		}
	}
	if msg == "invite.err_dob" {
		v.BirthDate = ""
	}
	v.Error = l.T(msg)
	return s.renderPage(w, status, "invite", &web.Page{L: l, Title: "invite.title", Data: v})
}

// inviteViewOf describes the form of invitation inv for patient p, and the
// language it is shown in: the patient's own (a proxy likely shares it),
// else the browser's.
func (s *Server) inviteViewOf(r *http.Request, token string, inv *store.Invite, p *sotto.Patient) (*inviteView, *web.Locale) {
	v := &inviteView{Token: token, Proxy: inv.Proxy, AskName: inv.Proxy, AskEmail: inv.Proxy || p.Email == ""}
	if org, err := s.db.Org(r.Context(), inv.OrgID); err == nil {
		v.Practice = org.Name
	}
	return v, s.viewerLocale(r, p.Language, p.TimeZone)
}

// inviteInvalid answers an unusable invitation link.
func (s *Server) inviteInvalid(w http.ResponseWriter, r *http.Request) error {
	v := &inviteView{Invalid: true}
	return s.renderPage(w, http.StatusNotFound, "invite", &web.Page{L: s.locale(r), Title: "invite.title_invalid", Data: v})
}

// inviteFormProblem checks the form before it reaches the core, so that
// each missing or malformed field is named in the viewer's language; it
// returns a message id, or "" when the form is complete.
func inviteFormProblem(v *inviteView, req acceptRequest) string {
	switch {
	case req.BirthDate == "":
		return "invite.err_dob_missing"
	case v.AskName && sotto.ValidateName("name", req.Name) != nil:
		return "invite.err_name"
	case v.AskEmail && sotto.ValidateEmail(sotto.NormalizeEmail(req.Email)) != nil:
		return "invite.err_email"
	case utf8.RuneCountInString(req.Password) < auth.MinPasswordRunes:
		return "invite.err_password_too_short"
	}
	return ""
}

// inviteRefusal maps the core's refusal of an invitation form to a status
// and message id; "" means the error is not about the form.
func inviteRefusal(err error) (int, string) {
	switch code := sotto.ErrorCode(err); {
	case code == "verification_failed":
		return http.StatusUnauthorized, "invite.err_dob"
	case code == "already_registered":
		return http.StatusConflict, "invite.err_registered"
	case sotto.ErrorKind(err) == sotto.KindConflict:
		return http.StatusConflict, "invite.err_email_taken"
	case code == auth.CodePasswordTooShort || code == auth.CodePasswordPersonal || code == auth.CodePasswordCommon || code == auth.CodePasswordPredictable:
		return http.StatusBadRequest, "invite.err_" + code // e.g. invite.err_password_common
	case strings.HasPrefix(code, "password_"):
		return http.StatusBadRequest, "invite.err_password"
	case sotto.ErrorKind(err) == sotto.KindInvalid:
		return http.StatusBadRequest, "invite.err_check"
	}
	return 0, ""
}
