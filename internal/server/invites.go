package server

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/store"
)

// inviteLifetime is how long a portal invitation stays usable.
const inviteLifetime = 7 * 24 * time.Hour

// inviteResponse answers POST /api/v1/patients/{id}/invite. The token goes
// to the patient (by SMS or e-mail once a channel is configured); it is
// shown once and stored only as a hash.
type inviteResponse struct {
	Token     string    `json:"token"`
	AcceptURL string    `json:"accept_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// invitePatient creates a single-use portal invitation for a patient,
// revoking earlier unused ones.
func (s *Server) invitePatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanManagePatients, sotto.AuditPatientInvite); err != nil {
		return err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.invitePatient", Err: err}
	}
	inv := &store.Invite{OrgID: c.user.OrgID, PatientID: r.PathValue("id"), CreatedBy: c.user.ID, ExpiresAt: s.now().UTC().Add(inviteLifetime)}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertInvite(hash, inv); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditPatientInvite, "patient", inv.PatientID, inv.PatientID)
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inviteResponse{Token: token, AcceptURL: strings.TrimSuffix(s.cfg.PublicURL, "/") + "/api/v1/invites/" + token + "/accept", ExpiresAt: inv.ExpiresAt})
	return nil
}

// acceptRequest is the body of POST /api/v1/invites/{token}/accept.
type acceptRequest struct {
	BirthDate string `json:"birth_date"`
	Password  string `json:"password"`
	Email     string `json:"email"` // needed when the practice has no e-mail address on file
}

// errVerification answers a wrong birth date without saying how close it was.
var errVerification = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "verification_failed", Msg: "That date of birth does not match our records."}

// acceptInvite lets an invited patient verify their date of birth and set
// a password; it creates their portal account and signs them in. Wrong
// dates are counted; the fifth revokes the invitation.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req acceptRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	hash, err := auth.HashToken(r.PathValue("token"))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindNotFound, Code: "invite_invalid", Msg: "This invitation link is invalid, used or expired. Ask the practice for a new one."}
	}
	inv, err := s.db.UsableInvite(ctx, hash, s.now().UTC())
	if err != nil {
		return err
	}
	p, err := s.db.Patient(ctx, inv.OrgID, inv.PatientID)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(req.BirthDate)), []byte(p.BirthDate)) != 1 {
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.FailInviteAttempt(hash); err != nil {
				return err
			}
			ev := s.auditEvent(r, inv.OrgID, "", sotto.AuditRoleAnonymous, sotto.AuditInviteFailed, sotto.AuditFailure)
			ev.TargetType, ev.TargetID, ev.PatientID = "patient", p.ID, p.ID
			return audit.Append(tx, ev)
		})
		if err != nil {
			return err
		}
		return errVerification
	}
	email := p.Email
	if email == "" {
		email = sotto.NormalizeEmail(req.Email)
		if err := sotto.ValidateEmail(email); err != nil {
			return err
		}
	}
	name := p.GivenName + " " + p.FamilyName
	if req.Password == "" {
		return sotto.Errorf(sotto.KindInvalid, "password is required: choose one of at least 12 characters.")
	}
	en, err := auth.Enroll("", name, email, req.Password, false, s.passwordParams())
	if err != nil {
		return err // a policy refusal is KindInvalid with a message that never repeats the password
	}
	u := &sotto.User{Email: email, Name: name}
	token, expires, err := s.startSession(r, u, func(tx *store.Tx) error {
		if _, err := tx.AcceptInvite(hash, s.now().UTC(), u, store.Credentials{PasswordHash: en.PasswordHash}); err != nil {
			return err
		}
		ev := s.auditEvent(r, inv.OrgID, u.ID, string(sotto.RolePatient), sotto.AuditInviteAccept, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID, ev.PatientID = "patient", p.ID, p.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	writeJSON(w, http.StatusCreated, loginResponse{Token: token, ExpiresAt: expires})
	return nil
}
