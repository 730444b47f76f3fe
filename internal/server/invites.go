package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/auth"
	"sotto/internal/jobs"
	"sotto/internal/store"
)

// inviteLifetime is how long a portal invitation stays usable.
const inviteLifetime = jobs.InviteDays * 24 * time.Hour

// inviteResponse answers POST /api/v1/patients/{id}/invite. The token goes
// to the patient (by SMS or e-mail once a channel is configured); it is
// shown once and stored only as a hash.
type inviteResponse struct {
	Token          string    `json:"token"`
	AcceptURL      string    `json:"accept_url"` // the API route
	PageURL        string    `json:"page_url"`   // the invitation page a person opens
	ExpiresAt      time.Time `json:"expires_at"`
	NotificationID string    `json:"notification_id,omitempty"` // when send_via asked for the link to be sent
}

// invitePatient creates a single-use portal invitation for a patient,
// revoking earlier unused ones.
func (s *Server) invitePatient(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanManagePatients, sotto.AuditPatientInvite); err != nil {
		return err
	}
	var req inviteRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	if req.SendVia != "" {
		if s.cfg.Notify.Notifier == nil {
			return &sotto.Error{Kind: sotto.KindInvalid, Code: "channel_not_configured", Msg: "No notification channel is configured on this server."}
		}
		p, err := s.db.Patient(r.Context(), c.user.OrgID, r.PathValue("id"))
		if err != nil {
			return err
		}
		if (req.SendVia == "sms" && p.Phone == "") || (req.SendVia == "email" && p.Email == "") {
			return &sotto.Error{Kind: sotto.KindInvalid, Code: "no_address", Msg: "The patient's record has no " + map[string]string{"sms": "phone number", "email": "e-mail address"}[req.SendVia] + " to send the invitation to."}
		}
	}
	return s.createInvite(w, r, c, &store.Invite{}, req.SendVia)
}

// inviteRequest is the optional body of POST /api/v1/patients/{id}/invite:
// send_via "sms" or "email" sends the invitation link to the patient's
// phone or e-mail on record, through the notification jobs; without it the
// link is only returned, for staff to hand over.
type inviteRequest struct {
	SendVia string `json:"send_via"`
}

// createInvite stores invitation inv for the patient of the path and
// answers with its token; with sendVia ("sms", "email") it also sends the
// link to the patient, in the same transaction.
func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, c *caller, inv *store.Invite, sendVia string) error {
	token, hash, err := auth.NewToken()
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "server.createInvite", Err: err}
	}
	inv.OrgID, inv.PatientID, inv.CreatedBy, inv.ExpiresAt = c.user.OrgID, r.PathValue("id"), c.user.ID, s.now().UTC().Add(inviteLifetime)
	target := "patient"
	if inv.Proxy {
		target = "proxy_invite"
	}
	base, notificationID := strings.TrimSuffix(s.cfg.PublicURL, "/"), ""
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertInvite(hash, inv); err != nil {
			return err
		}
		if sendVia != "" {
			nn, err := s.cfg.Notify.Notifier.EnqueueInvitation(tx, inv.OrgID, inv.PatientID, sendVia, base+"/invite/"+token)
			if err != nil {
				return err
			}
			notificationID = nn.ID
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPatientInvite, target, inv.PatientID, inv.PatientID))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inviteResponse{Token: token, AcceptURL: base + "/api/v1/invites/" + token + "/accept",
		PageURL: base + "/invite/" + token, ExpiresAt: inv.ExpiresAt, NotificationID: notificationID})
	return nil
}

// acceptRequest is the body of POST /api/v1/invites/{token}/accept.
type acceptRequest struct {
	BirthDate string `json:"birth_date"`
	Password  string `json:"password"`
	Email     string `json:"email"` // a proxy's own; a patient's when the practice has none on file
	Name      string `json:"name"`  // a proxy's own name
}

// proxyRelationships are who a proxy may be to the patient.
var proxyRelationships = []string{"parent", "guardian", "caregiver", "spouse", "child", "other"}

// proxyRequest is the body of POST /api/v1/patients/{id}/proxies.
type proxyRequest struct {
	Relationship string `json:"relationship"`
}

// inviteProxy creates a single-use invitation for someone who will act for
// the patient (a parent of a minor, a caregiver). The proxy signs in as
// themselves; what they send is recorded as on the patient's behalf.
func (s *Server) inviteProxy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, sotto.CanManagePatients, sotto.AuditPatientInvite); err != nil {
		return err
	}
	var req proxyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !slices.Contains(proxyRelationships, req.Relationship) {
		return sotto.Errorf(sotto.KindInvalid, "relationship must be one of %s.", strings.Join(proxyRelationships, ", "))
	}
	return s.createInvite(w, r, c, &store.Invite{Proxy: true, Relationship: req.Relationship}, "")
}

// errVerification answers a wrong birth date without saying how close it was.
var errVerification = &sotto.Error{Kind: sotto.KindUnauthenticated, Code: "verification_failed", Msg: "That date of birth does not match our records."}

// errInviteInvalid answers an invitation token that cannot be used:
// malformed, unknown, used, expired or revoked.
var errInviteInvalid = &sotto.Error{Kind: sotto.KindNotFound, Code: "invite_invalid", Msg: "This invitation link is invalid, used or expired. Ask the practice for a new one."}

// acceptInvite lets an invited patient (or proxy) verify the patient's
// date of birth and set a password; it creates the portal account (a
// proxy gives their own name and e-mail) and signs it in. Wrong dates are
// counted; the fifth revokes the invitation.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var req acceptRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	token, expires, _, err := s.redeemInvite(r, r.PathValue("token"), req)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token)
	writeJSON(w, http.StatusCreated, loginResponse{Token: token, ExpiresAt: expires})
	return nil
}

// pendingInvite looks up the usable invitation of token and its patient;
// it returns the token's hash for the writes that follow. Errors:
// KindNotFound code invite_invalid, KindInternal.
func (s *Server) pendingInvite(ctx context.Context, token string) ([]byte, *store.Invite, *sotto.Patient, error) {
	hash, err := auth.HashToken(token)
	if err != nil {
		return nil, nil, nil, errInviteInvalid
	}
	inv, err := s.db.UsableInvite(ctx, hash, s.now().UTC())
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := s.db.Patient(ctx, inv.OrgID, inv.PatientID)
	if err != nil {
		return nil, nil, nil, err
	}
	return hash, inv, p, nil
}

// redeemInvite is the invitation core shared by the API and the
// invitation page: it checks the patient's date of birth (a wrong one is
// counted and audited; the fifth revokes the invitation), creates the
// portal account (a proxy gives their own name and e-mail; a patient
// gives an e-mail only when the practice has none on file) and starts its
// session, audited. Errors: invite_invalid (KindNotFound),
// verification_failed (KindUnauthenticated), KindInvalid (name, e-mail,
// password policy), KindConflict (already_registered, e-mail taken),
// KindInternal.
func (s *Server) redeemInvite(r *http.Request, token string, req acceptRequest) (string, time.Time, *sotto.User, error) {
	ctx := r.Context()
	fail := func(err error) (string, time.Time, *sotto.User, error) { return "", time.Time{}, nil, err }
	hash, inv, p, err := s.pendingInvite(ctx, token)
	if err != nil {
		return fail(err)
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
			return fail(err)
		}
		return fail(errVerification)
	}
	email, name := p.Email, p.GivenName+" "+p.FamilyName
	if inv.Proxy {
		email, name = "", strings.TrimSpace(req.Name)
		if err := sotto.ValidateName("name", name); err != nil {
			return fail(err)
		}
	}
	if email == "" {
		email = sotto.NormalizeEmail(req.Email)
		if err := sotto.ValidateEmail(email); err != nil {
			return fail(err)
		}
	}
	if req.Password == "" {
		return fail(sotto.Errorf(sotto.KindInvalid, "password is required: choose one of at least 12 characters."))
	}
	en, err := auth.Enroll("", name, email, req.Password, false, s.passwordParams())
	if err != nil {
		return fail(err) // a policy refusal is KindInvalid with a message that never repeats the password
	}
	u := &sotto.User{Email: email, Name: name}
	session, expires, err := s.startSession(r, u, func(tx *store.Tx) error {
		if _, err := tx.AcceptInvite(hash, s.now().UTC(), u, store.Credentials{PasswordHash: en.PasswordHash}); err != nil {
			return err
		}
		ev := s.auditEvent(r, inv.OrgID, u.ID, string(u.Role), sotto.AuditInviteAccept, sotto.AuditSuccess)
		ev.TargetType, ev.TargetID, ev.PatientID = "patient", p.ID, p.ID
		return audit.Append(tx, ev)
	})
	if err != nil {
		return fail(err)
	}
	return session, expires, u, nil
}
