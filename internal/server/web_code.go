package server

import (
	"net/http"
	"strings"

	"sotto"
	"sotto/internal/jobs"
)

// codePage is the data of the sign-in-with-a-code page: the address a
// code goes to, whether one was sent, and an error message id.
type codePage struct {
	To, Error         string
	Sent, Unavailable bool
	Minutes           int
}

// codeRequestOf reads an e-mail address or a phone number from the form's
// "to" field.
func codeRequestOf(to string) codeRequest {
	to = strings.TrimSpace(to)
	if strings.Contains(to, "@") {
		return codeRequest{Email: to}
	}
	return codeRequest{Phone: to}
}

// codeForm asks a patient or proxy where to send a sign-in code.
func (s *Server) codeForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login-code", "title.login_code", codePage{Unavailable: s.cfg.Notify.Notifier == nil})
}

// codeSubmit sends a code through the API's core and asks for it. The
// answer is the same whether or not an account matched.
func (s *Server) codeSubmit(w http.ResponseWriter, r *http.Request) error {
	page := codePage{Minutes: jobs.SignInCodeMinutes}
	if err := parseForm(w, r); err != nil {
		page.Error = "login.err_form"
		return s.render(w, r, http.StatusBadRequest, "login-code", "title.login_code", page)
	}
	page.To = strings.TrimSpace(r.PostForm.Get("to"))
	err := s.startCode(w, r, codeRequestOf(page.To))
	switch {
	case err == nil:
		page.Sent = true
		return s.render(w, r, http.StatusOK, "login-code", "title.login_code", page)
	case sotto.ErrorCode(err) == "channel_not_configured":
		page.Unavailable = true
		return s.render(w, r, http.StatusBadRequest, "login-code", "title.login_code", page)
	case sotto.ErrorCode(err) == "rate_limited":
		page.Error = "login.err_rate_limited"
		return s.render(w, r, http.StatusTooManyRequests, "login-code", "title.login_code", page)
	case sotto.ErrorKind(err) == sotto.KindInvalid:
		page.Error = "code.err_to"
		return s.render(w, r, http.StatusBadRequest, "login-code", "title.login_code", page)
	}
	return err
}

// codeVerifySubmit signs in with the code through the API's core and goes
// to the portal.
func (s *Server) codeVerifySubmit(w http.ResponseWriter, r *http.Request) error {
	page := codePage{Minutes: jobs.SignInCodeMinutes, Sent: true}
	if err := parseForm(w, r); err != nil {
		page.Error, page.Sent = "login.err_form", false
		return s.render(w, r, http.StatusBadRequest, "login-code", "title.login_code", page)
	}
	page.To = strings.TrimSpace(r.PostForm.Get("to"))
	req := codeRequestOf(page.To)
	req.Code = r.PostForm.Get("code")
	token, _, _, err := s.verifyCode(w, r, req)
	switch {
	case err == nil:
		s.setSessionCookie(w, token)
		http.Redirect(w, r, "/portal", http.StatusSeeOther)
		return nil
	case sotto.ErrorCode(err) == "rate_limited":
		page.Error = "login.err_rate_limited"
		return s.render(w, r, http.StatusTooManyRequests, "login-code", "title.login_code", page)
	case sotto.ErrorKind(err) == sotto.KindInvalid, sotto.ErrorKind(err) == sotto.KindUnauthenticated:
		page.Error = "code.err_code"
		return s.render(w, r, http.StatusUnauthorized, "login-code", "title.login_code", page)
	}
	return err
}
