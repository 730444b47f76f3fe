package server

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/notify/push"
	"sotto/internal/notify/sms"
	"sotto/internal/store"
)

// prefsRequest is the body of a preferences update.
type prefsRequest struct {
	SMS              *bool  `json:"sms"`
	Email            *bool  `json:"email"`
	Push             *bool  `json:"push"`
	SMSConsentSource string `json:"sms_consent_source"`
}

// myNotifyPrefs answers the caller's own notification preferences.
func (s *Server) myNotifyPrefs(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.db.NotifyPrefs(r.Context(), c.user.OrgID, c.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// putMyNotifyPrefs changes the caller's own preferences; a patient turning
// SMS on gives consent through the portal.
func (s *Server) putMyNotifyPrefs(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.updatePrefs(w, r, c, c.user.ID, "", "portal")
}

// patientNotifyPrefs answers a patient's preferences to staff who manage
// patients.
func (s *Server) patientNotifyPrefs(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, userID, err := s.prefsPatient(r, c, sotto.AuditPatientView)
	if err != nil {
		return err
	}
	prefs := sotto.DefaultNotifyPrefs()
	if userID != "" {
		if prefs, err = s.db.NotifyPrefs(r.Context(), c.user.OrgID, userID); err != nil {
			return err
		}
	}
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPatientView, "patient", p, p))
	}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, prefs)
	return nil
}

// putPatientNotifyPrefs records a patient's preferences and SMS consent
// (with its source, e.g. intake_form) on their behalf.
func (s *Server) putPatientNotifyPrefs(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, userID, err := s.prefsPatient(r, c, sotto.AuditNotifyPrefs)
	if err != nil {
		return err
	}
	if userID == "" {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "no_portal_account", Msg: "The patient has no portal account yet; invite them first."}
	}
	return s.updatePrefs(w, r, c, userID, p, "")
}

// prefsPatient checks that c manages patients and loads patient {id}'s
// portal user id ("" when none).
func (s *Server) prefsPatient(r *http.Request, c *caller, action string) (patientID, userID string, err error) {
	if err := s.requireRole(r, c, sotto.CanManagePatients, action); err != nil {
		return "", "", err
	}
	p, err := s.db.Patient(r.Context(), c.user.OrgID, r.PathValue("id"))
	if err != nil {
		return "", "", err
	}
	return p.ID, p.UserID, nil
}

// updatePrefs applies a preferences body to userID's preferences. A
// consent source is required to turn SMS on; defaultSource is used when
// the body gives none (the portal).
func (s *Server) updatePrefs(w http.ResponseWriter, r *http.Request, c *caller, userID, patientID, defaultSource string) error {
	var req prefsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := s.applyPrefs(r, c, userID, patientID, defaultSource, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// applyPrefs is the preferences core shared by the API and the patient
// portal: it applies req to userID's stored preferences (a new SMS
// consent records its source, defaultSource when req gives none; turning
// SMS off forgets the consent), validates and stores them with their
// audit entry, and returns them. Errors: KindInvalid, KindNotFound,
// KindInternal.
func (s *Server) applyPrefs(r *http.Request, c *caller, userID, patientID, defaultSource string, req prefsRequest) (sotto.NotifyPrefs, error) {
	ctx := r.Context()
	p, err := s.db.NotifyPrefs(ctx, c.user.OrgID, userID)
	if err != nil {
		return p, err
	}
	wasSMS := p.SMS
	if req.SMS != nil {
		p.SMS = *req.SMS
	}
	if req.Email != nil {
		p.Email = *req.Email
	}
	if req.Push != nil {
		p.Push = *req.Push
	}
	switch {
	case p.SMS && !wasSMS:
		// A new consent: record when and how it was given.
		p.SMSConsentAt, p.SMSConsentSource = nil, req.SMSConsentSource
		if p.SMSConsentSource == "" {
			p.SMSConsentSource = defaultSource
		}
	case !p.SMS:
		p.SMSConsentAt, p.SMSConsentSource = nil, ""
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetNotifyPrefs(c.user.OrgID, userID, &p); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditNotifyPrefs, "user", userID, patientID))
	})
	return p, err
}

// pushPublicKey answers the VAPID key browsers subscribe with.
func (s *Server) pushPublicKey(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Notify.PushPublicKey == "" {
		return &sotto.Error{Kind: sotto.KindNotFound, Code: "push_disabled", Msg: "Push notifications are not configured."}
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": s.cfg.Notify.PushPublicKey})
	return nil
}

// addPushSubscription stores the caller's browser subscription (the JSON
// of PushSubscription.toJSON()).
func (s *Server) addPushSubscription(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.cfg.Notify.PushPublicKey == "" {
		return &sotto.Error{Kind: sotto.KindNotFound, Code: "push_disabled", Msg: "Push notifications are not configured."}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, push.MaxSubscriptionJSON+1))
	if err != nil {
		return sotto.Errorf(sotto.KindInvalid, "The subscription is unreadable or too large.")
	}
	sub, err := push.ParseSubscription(raw, s.cfg.Notify.PushInsecure)
	if err != nil {
		return sotto.Errorf(sotto.KindInvalid, "The push subscription is not valid: give the browser's PushSubscription JSON.")
	}
	canonical, _ := json.Marshal(sub)
	var id string
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		if id, err = tx.AddPushSubscription(c.user.OrgID, c.user.ID, sub.Endpoint, canonical); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPushSubscribe, "push_subscription", id, ""))
	}); err != nil {
		return err
	}
	if n := s.cfg.Notify.Notifier; n != nil && c.user.Role.IsStaff() {
		n.ForgetStaffAlerts(c.user.OrgID) // this device may now hear of new items at once
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	return nil
}

// deletePushSubscription removes one of the caller's subscriptions.
func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return sotto.Errorf(sotto.KindNotFound, "Subscription not found.")
	}
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeletePushSubscription(c.user.OrgID, c.user.ID, id); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditPushSubscribe, "push_subscription", id, ""))
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// smsWebhook authenticates a provider webhook; a bad or missing signature
// is audited and refused with 403.
func (s *Server) smsWebhook(r *http.Request) (map[string][]string, error) {
	nc := s.cfg.Notify
	if nc.Notifier == nil || nc.SMSAuthToken == "" {
		return nil, sotto.Errorf(sotto.KindNotFound, "Not found.")
	}
	form, err := sms.ReadWebhook(r, nc.SMSAuthToken, s.cfg.PublicURL)
	if sotto.ErrorKind(err) == sotto.KindForbidden {
		ev := s.auditEvent(r, sotto.SystemOrgID, "", sotto.AuditRoleAnonymous, sotto.AuditWebhookRejected, sotto.AuditDenied)
		if werr := s.db.Write(r.Context(), func(tx *store.Tx) error { return audit.Append(tx, ev) }); werr != nil {
			return nil, werr
		}
	}
	return form, err
}

// smsStatus receives a delivery-status callback.
func (s *Server) smsStatus(w http.ResponseWriter, r *http.Request) error {
	form, err := s.smsWebhook(r)
	if err != nil {
		return err
	}
	u, err := sms.ParseStatusCallback(form)
	if err != nil {
		return err
	}
	if err := s.cfg.Notify.Notifier.SMSStatus(r.Context(), u); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// smsInbound receives a text sent to the practice's number and answers
// with TwiML carrying the one reply (opt-out confirmation, help...).
func (s *Server) smsInbound(w http.ResponseWriter, r *http.Request) error {
	form, err := s.smsWebhook(r)
	if err != nil {
		return err
	}
	in, err := sms.ParseInbound(form)
	if err != nil {
		return err
	}
	reply, err := s.cfg.Notify.Notifier.SMSInbound(r.Context(), in)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response>`)
	if reply != "" {
		b.WriteString("<Message>")
		template.HTMLEscape(&b, []byte(reply))
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = io.WriteString(w, b.String())
	return err
}

// demoOutboxPage lists the log channel's notifications (demo and
// development only: 404 when the log channel is off). It shows exactly the
// PHI-free text a patient's phone would have received.
var demoOutboxPage = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo notifications - sotto</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="demo-outbox"><h1>Notifications (demo log channel)</h1>
<p>In this demo nothing leaves the server: each notification that would have gone by SMS, e-mail or push is listed here instead, newest first.</p>
{{if .}}<table><thead><tr><th>Time (UTC)</th><th>Recipient (user id)</th><th>Text</th></tr></thead><tbody>
{{range .}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td><code>{{.UserID}}</code></td><td>{{.Text}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No notifications yet. Send a patient a message from the inbox.</p>{{end}}
</main></body></html>`))

func (s *Server) demoOutbox(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.cfg.Notify.Outbox == nil {
		return sotto.Errorf(sotto.KindNotFound, "Not found.")
	}
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	items := s.cfg.Notify.Outbox.Items(c.user.OrgID)
	if err := s.auditNotificationsView(r, c); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	return demoOutboxPage.Execute(w, items)
}
