package server

import (
	"encoding/base32"
	"net"
	"net/http"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// setupPage is the data of the first-run setup form.
type setupPage struct {
	Token, Error, OrgName, Name, Email string
}

// badSetupLink is the page answering an unusable setup link.
var badSetupLink = map[string]string{"Message": "setup.bad_link"}

// setupToken hashes the {token} path value; a malformed token is reported
// like an unknown one.
func (s *Server) setupToken(w http.ResponseWriter, r *http.Request) ([]byte, bool, error) {
	hash, err := auth.HashToken(r.PathValue("token"))
	if err != nil {
		return nil, false, s.render(w, r, http.StatusNotFound, "message", "title.setup_invalid", badSetupLink)
	}
	ok, err := s.db.SetupTokenValid(r.Context(), hash)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, s.render(w, r, http.StatusNotFound, "message", "title.setup_invalid", badSetupLink)
	}
	return hash, true, nil
}

// setupForm shows the first-run form behind a valid one-time link.
func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok, err := s.setupToken(w, r); !ok {
		return err
	}
	return s.render(w, r, http.StatusOK, "setup", "title.setup", setupPage{Token: r.PathValue("token")})
}

// setupSubmit creates the organization and its first admin, consuming the
// link, and shows the admin's TOTP enrollment secret once.
func (s *Server) setupSubmit(w http.ResponseWriter, r *http.Request) error {
	hash, ok, err := s.setupToken(w, r)
	if !ok {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return sotto.Errorf(sotto.KindInvalid, "The form could not be read.")
	}
	page := setupPage{
		Token:   r.PathValue("token"),
		OrgName: strings.TrimSpace(r.PostForm.Get("org_name")),
		Name:    strings.TrimSpace(r.PostForm.Get("name")),
		Email:   sotto.NormalizeEmail(r.PostForm.Get("email")),
	}
	org := &sotto.Org{Name: page.OrgName}
	admin := &sotto.User{Role: sotto.RoleAdmin, Name: page.Name, Email: page.Email}
	err = org.Validate()
	if err == nil {
		err = admin.Validate()
	}
	var en *auth.Enrollment
	if err == nil {
		en, err = auth.Enroll(org.Name, admin.Name, admin.Email, r.PostForm.Get("password"), true, s.cfg.PasswordParams)
	}
	if err == nil {
		err = s.db.Write(r.Context(), func(tx *store.Tx) error {
			if err := tx.UseSetupToken(hash); err != nil {
				return err
			}
			if err := tx.InsertOrg(org); err != nil {
				return err
			}
			admin.OrgID = org.ID
			if err := tx.InsertUser(admin, store.Credentials{PasswordHash: en.PasswordHash, TOTPSecret: en.TOTPSecret}); err != nil {
				return err
			}
			for _, ev := range []struct{ action, typ, id string }{
				{sotto.AuditSetup, "org", org.ID}, {sotto.AuditOrgCreate, "org", org.ID}, {sotto.AuditUserCreate, "user", admin.ID},
			} {
				err := audit.Append(tx, &sotto.AuditEvent{OrgID: org.ID, ActorRole: sotto.AuditRoleAnonymous, Action: ev.action,
					TargetType: ev.typ, TargetID: ev.id, Outcome: sotto.AuditSuccess,
					SourceIP: clientIP(r), UserAgent: r.UserAgent(), RequestID: requestID(r.Context())})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if k := sotto.ErrorKind(err); k == sotto.KindInvalid || k == sotto.KindConflict {
		page.Error = sotto.ErrorMessage(err)
		return s.render(w, r, http.StatusBadRequest, "setup", "title.setup", page)
	}
	if err != nil {
		return err
	}
	s.log.Info("first-run setup complete", "org_id", org.ID, "user_id", admin.ID)
	return s.render(w, r, http.StatusOK, "setup-done", "title.setup_done", map[string]string{
		"Secret": base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(en.TOTPSecret),
		"URI":    en.TOTPURI,
	})
}

// clientIP is the peer address of r, for audit records. Forwarded headers
// are not trusted here: the transport layer owns that decision.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
