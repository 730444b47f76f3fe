package server

import (
	"net/http"
	"time"
)

// securityPage is the data of the staff member's security settings page.
type securityPage struct {
	Passkeys []passkeyRow
	// Ready is set when the server can be a passkey relying party; the
	// add form is shown (by passkey.js, in a browser that supports
	// passkeys) only then.
	Ready bool
	// Done is "added" or "removed" after that change, for the notice.
	Done string
	// Error is a message id, for the form's fallback answer.
	Error string
}

// passkeyRow is one passkey on the security page.
type passkeyRow struct {
	ID, Name              string
	CreatedAt, LastUsedAt time.Time
	Synced                bool // backup eligible: a passkey that lives in a synced password manager
}

// securityForm shows the signed-in staff member's passkeys, with a remove
// button each and (with passkey.js) the form that adds one. Not audited:
// the page shows the viewer's own factors only, no patient data.
func (s *Server) securityForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	done := r.URL.Query().Get("done")
	if done != "added" && done != "removed" {
		done = ""
	}
	return s.renderSecurity(w, r, c, http.StatusOK, securityPage{Done: done})
}

// securitySubmit answers the add form posted without passkey.js (the
// form needs it to talk to the authenticator): the page again, saying so.
func (s *Server) securitySubmit(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.renderSecurity(w, r, c, http.StatusBadRequest, securityPage{Error: "security.err_script"})
}

// securityRemove removes one of the viewer's passkeys (audited; someone
// else's is not found) and returns to the security page.
func (s *Server) securityRemove(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.removePasskey(r, c, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/security?done=removed", http.StatusSeeOther)
	return nil
}

// renderSecurity renders the security page of c with page's notice or
// error filled in by the caller.
func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, c *caller, status int, page securityPage) error {
	keys, err := s.db.Passkeys(r.Context(), c.user.OrgID, c.user.ID)
	if err != nil {
		return err
	}
	page.Ready = s.passkeysReady()
	for _, k := range keys {
		page.Passkeys = append(page.Passkeys, passkeyRow{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Synced: k.BackupEligible})
	}
	return s.renderPage(w, status, "account-security", s.staffView(r, c, "title.security", "security", page))
}

// offersPasskey reports whether the sign-in page's code step may offer a
// passkey instead of the code to the account of email (whose password
// was just proven right): a staff member with at least one passkey, on a
// server that can be a relying party. Lookup failures offer nothing.
func (s *Server) offersPasskey(r *http.Request, email string) bool {
	if !s.passkeysReady() {
		return false
	}
	u, _, _, err := s.db.UserForLogin(r.Context(), email)
	if err != nil || !u.Role.IsStaff() {
		return false
	}
	keys, err := s.db.Passkeys(r.Context(), u.OrgID, u.ID)
	return err == nil && len(keys) > 0
}
