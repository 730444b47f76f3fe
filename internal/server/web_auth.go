package server

import (
	"encoding/base32"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"sotto"
	"sotto/internal/auth"
)

// loginPage is the data of the sign-in form. Error is a message id.
// Passkeys shows "Sign in with a passkey" (the server can be a relying
// party); PasskeyStep offers a passkey instead of the code at the code
// step, to an account that has one (passkey_web.go).
type loginPage struct {
	Email, Error          string
	Passkeys, PasskeyStep bool
}

// enrollPage is the data of the authenticator set-up page. Error is a
// message id; Secret is set once the password is proven.
type enrollPage struct {
	Email, Error, Secret, SecretGrouped string
	// URI is the otpauth: link for authenticator apps. It is built here
	// (auth.TOTPURI escapes its parts), so it is trusted as a URL.
	URI template.URL
}

// totpShape matches a 6-digit authenticator code; anything else typed in
// the code field is tried as a recovery code.
var totpShape = regexp.MustCompile(`^[0-9]{6}$`)

// home sends a signed-in patient or proxy to the portal, staff to their
// landing page (staffHome) and the signed-out to the inbox (which sends
// them on to the sign-in page).
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	u, _, err := s.authenticate(r)
	switch {
	case err == nil && !u.Role.IsStaff():
		http.Redirect(w, r, "/portal", http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, staffHome(u.Role), http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	}
	return nil
}

// loginForm shows the sign-in form.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login", "title.login", loginPage{Passkeys: s.passkeysReady()})
}

// loginSubmit signs in through the same core as the API. Staff without an
// authenticator go straight to setting one up; wrong input is answered on
// the form in plain words.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return s.render(w, r, http.StatusBadRequest, "login", "title.login", loginPage{Error: "login.err_form"})
	}
	f := r.PostForm
	page := loginPage{Email: strings.TrimSpace(f.Get("email")), Passkeys: s.passkeysReady()}
	req := loginRequest{Email: page.Email, Password: f.Get("password")}
	if code := strings.ReplaceAll(strings.TrimSpace(f.Get("code")), " ", ""); totpShape.MatchString(code) {
		req.TOTPCode = code
	} else {
		req.RecoveryCode = code
	}
	token, _, u, err := s.signIn(w, r, req)
	switch {
	case err == nil:
	case sotto.ErrorCode(err) == "mfa_enrollment_required":
		// The password was right: start enrollment at once.
		return s.startEnrollment(w, r, page.Email, req.Password)
	case sotto.ErrorCode(err) == "mfa_required":
		page.Error, page.PasskeyStep = "login.err_code_needed", s.offersPasskey(r, page.Email)
		return s.render(w, r, http.StatusUnauthorized, "login", "title.login", page)
	case sotto.ErrorCode(err) == "invalid_credentials":
		page.Error = "login.err_credentials"
		return s.render(w, r, http.StatusUnauthorized, "login", "title.login", page)
	case sotto.ErrorCode(err) == "rate_limited":
		page.Error = "login.err_rate_limited"
		return s.render(w, r, http.StatusTooManyRequests, "login", "title.login", page)
	default:
		return err
	}
	s.setSessionCookie(w, token)
	if !u.Role.IsStaff() {
		http.Redirect(w, r, "/portal", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, staffHome(u.Role), http.StatusSeeOther)
	return nil
}

// logoutSubmit ends the session through the API's core and returns to the
// sign-in page (already signed out: the same).
func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.signOut(w, r); err != nil && sotto.ErrorKind(err) != sotto.KindUnauthenticated {
		return err
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// enrollForm asks for e-mail and password before showing a new secret.
func (s *Server) enrollForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "mfa-enroll", "title.mfa_enroll", enrollPage{})
}

// enrollSubmit runs authenticator set-up: step "start" proves the
// password and shows a new secret; step "confirm" proves the password
// again with a code from the app, then shows the recovery codes once.
func (s *Server) enrollSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return s.render(w, r, http.StatusBadRequest, "mfa-enroll", "title.mfa_enroll", enrollPage{Error: "login.err_form"})
	}
	f := r.PostForm
	email := strings.TrimSpace(f.Get("email"))
	if f.Get("step") != "confirm" {
		return s.startEnrollment(w, r, email, f.Get("password"))
	}
	ps, err := s.checkPassword(w, r, email, f.Get("password"))
	if err != nil {
		return s.enrollFailed(w, r, enrollPage{Email: email}, err)
	}
	out, err := s.finishTOTP(r, ps, strings.TrimSpace(f.Get("code")))
	if sotto.ErrorCode(err) == "invalid_credentials" {
		// The password was right, the code was not: show the same pending
		// secret again.
		page := s.secretPage(r, email, ps.creds.TOTPSecret, ps.user)
		page.Error = "mfa.err_code"
		return s.render(w, r, http.StatusUnauthorized, "mfa-enroll", "title.mfa_enroll", page)
	}
	if err != nil {
		return s.enrollFailed(w, r, enrollPage{Email: email}, err)
	}
	s.setSessionCookie(w, out.Token)
	return s.render(w, r, http.StatusOK, "mfa-codes", "title.mfa_codes", map[string][]string{"Codes": out.RecoveryCodes})
}

// startEnrollment proves the password and shows a fresh pending secret.
func (s *Server) startEnrollment(w http.ResponseWriter, r *http.Request, email, password string) error {
	ps, err := s.checkPassword(w, r, email, password)
	if err != nil {
		return s.enrollFailed(w, r, enrollPage{Email: email}, err)
	}
	out, err := s.beginTOTP(r, ps)
	if err != nil {
		return s.enrollFailed(w, r, enrollPage{Email: email}, err)
	}
	page := enrollPage{Email: email, Secret: out.Secret, SecretGrouped: groupsOf4(out.Secret), URI: template.URL(out.OTPAuth)}
	return s.render(w, r, http.StatusOK, "mfa-enroll", "title.mfa_enroll", page)
}

// secretPage shows the pending secret of u again.
func (s *Server) secretPage(r *http.Request, email string, secret []byte, u *sotto.User) enrollPage {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	var uri template.URL
	if org, err := s.db.Org(r.Context(), u.OrgID); err == nil {
		uri = template.URL(auth.TOTPURI(org.Name, u.Email, secret))
	}
	return enrollPage{Email: email, Secret: enc, SecretGrouped: groupsOf4(enc), URI: uri}
}

// enrollFailed answers a failed set-up step on the form, in plain words.
func (s *Server) enrollFailed(w http.ResponseWriter, r *http.Request, page enrollPage, err error) error {
	status := http.StatusUnauthorized
	switch sotto.ErrorCode(err) {
	case "invalid_credentials":
		page.Error = "login.err_credentials"
	case "rate_limited":
		page.Error, status = "login.err_rate_limited", http.StatusTooManyRequests
	case "mfa_already_enrolled":
		page.Error, status = "mfa.err_done", http.StatusConflict
	default:
		return err
	}
	return s.render(w, r, status, "mfa-enroll", "title.mfa_enroll", page)
}

// groupsOf4 spaces a secret into groups of four characters for reading.
func groupsOf4(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
