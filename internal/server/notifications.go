package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/jobs"
	"sotto/internal/store"
)

// NotifyConfig connects the server to the notification machinery.
type NotifyConfig struct {
	// Notifier handles provider webhooks (nil answers them 404) and says
	// whether a patient's message should alert staff (nil: never).
	Notifier *jobs.Notifier
	// SMSAuthToken verifies X-Twilio-Signature on SMS webhooks (the SMS
	// provider's auth token). Empty disables the webhooks (404).
	SMSAuthToken string
	// Outbox is the log channel (demo); nil hides the demo page.
	Outbox *jobs.Outbox
	// PushPublicKey is the VAPID public key browsers subscribe with; empty
	// when push is off.
	PushPublicKey string
	// PushInsecure accepts http push endpoints on loopback (tests only).
	PushInsecure bool
}

// auditNotificationsView records that c viewed the organization's
// notification records (lists, reports, the demo outbox).
func (s *Server) auditNotificationsView(r *http.Request, c *caller) error {
	return s.db.Write(r.Context(), func(tx *store.Tx) error {
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditLogView, "notifications", c.user.OrgID, ""))
	})
}

// listNotifications is the admins' view of notifications, the dead-letter
// list with ?status=failed. Ids and statuses only.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditLogView); err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.NotificationFilter{Status: sotto.NotificationStatus(q.Get("status")), MessageID: q.Get("message_id"), Before: q.Get("before"), Limit: 50}
	switch f.Status {
	case "", sotto.NotifyQueued, sotto.NotifyHeld, sotto.NotifySent, sotto.NotifyDelivered, sotto.NotifyFailed,
		sotto.NotifyUndelivered, sotto.NotifySuppressed, sotto.NotifyCancelled:
	default:
		return sotto.Errorf(sotto.KindInvalid, "status must be a notification status such as failed or delivered.")
	}
	if (f.MessageID != "" && !store.ValidID(f.MessageID)) || (f.Before != "" && !store.ValidID(f.Before)) {
		return sotto.Errorf(sotto.KindInvalid, "message_id and before must be ids.")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return sotto.Errorf(sotto.KindInvalid, "limit must be a number from 1 to 500.")
		}
		f.Limit = n
	}
	list, err := s.notificationsOf(r, c, f)
	if err != nil {
		return err
	}
	next := ""
	if len(list) == f.Limit {
		next = list[len(list)-1].ID
	}
	if list == nil {
		list = []*sotto.Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": list, "next_cursor": next})
	return nil
}

// notificationsOf lists c's organization's notifications matching f,
// audited as a view of the notification records. Shared by the API and
// the admin console.
func (s *Server) notificationsOf(r *http.Request, c *caller, f store.NotificationFilter) ([]*sotto.Notification, error) {
	list, err := s.db.Notifications(r.Context(), c.user.OrgID, f)
	if err != nil {
		return nil, err
	}
	return list, s.auditNotificationsView(r, c)
}

// retryNotification re-queues a failed notification (a dead letter) for a
// fresh round of attempts.
func (s *Server) retryNotification(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditNotificationRetry); err != nil {
		return err
	}
	got, err := s.retryDeadLetter(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, got)
	return nil
}

// retryDeadLetter re-queues failed or undelivered notification id of c's
// organization for a fresh round of attempts, audited. Shared by the API
// and the admin console.
func (s *Server) retryDeadLetter(r *http.Request, c *caller, id string) (*sotto.Notification, error) {
	ctx := r.Context()
	n, err := s.db.Notification(ctx, c.user.OrgID, id)
	if err != nil {
		return nil, err
	}
	if n.Status != sotto.NotifyFailed && n.Status != sotto.NotifyUndelivered {
		return nil, &sotto.Error{Kind: sotto.KindConflict, Code: "not_failed", Msg: "Only a failed or undelivered notification can be retried."}
	}
	var got *sotto.Notification
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		zero, empty := 0, ""
		var err error
		got, err = tx.UpdateNotification(n.OrgID, n.ID, store.NotificationUpdate{Status: sotto.NotifyQueued, Attempts: &zero, ErrorCode: &empty})
		if err != nil {
			return err
		}
		tx.Enqueue(jobs.SendArgs{OrgID: n.OrgID, NotificationID: n.ID}, &river.InsertOpts{MaxAttempts: 8})
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditNotificationRetry, "notification", n.ID, n.PatientID))
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

// notificationReport counts notifications by channel and status over the
// last ?days= days (default 30): the delivery-rate report.
func (s *Server) notificationReport(w http.ResponseWriter, r *http.Request, c *caller) error {
	// The delivery report is a compliance report: whoever reads the audit trail.
	if err := s.requireRole(r, c, sotto.CanReadAudit, sotto.AuditLogView); err != nil {
		return err
	}
	days := 30
	if d := r.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 366 {
			return sotto.Errorf(sotto.KindInvalid, "days must be a number from 1 to 366.")
		}
		days = n
	}
	since, counts, err := s.deliveryCounts(r, c, days)
	if err != nil {
		return err
	}
	type row struct {
		Channel      string                           `json:"channel"`
		Counts       map[sotto.NotificationStatus]int `json:"counts"`
		Total        int                              `json:"total"`
		DeliveryRate *float64                         `json:"delivery_rate,omitempty"` // delivered / (sent-or-later), when the provider reports delivery
	}
	out := []row{}
	for ch, m := range counts {
		rw := row{Channel: ch, Counts: m}
		attempted := 0
		for st, n := range m {
			rw.Total += n
			switch st {
			case sotto.NotifySent, sotto.NotifyDelivered, sotto.NotifyUndelivered, sotto.NotifyFailed:
				attempted += n
			}
		}
		if attempted > 0 && (ch == "sms") {
			rate := float64(m[sotto.NotifyDelivered]) / float64(attempted)
			rw.DeliveryRate = &rate
		}
		out = append(out, rw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since, "days": days, "channels": out})
	return nil
}

// deliveryCounts counts c's organization's notifications of the last days
// days by channel and status, audited as a view of the notification
// records: the core of the delivery report, shared by the API and the
// admin console. It returns the start of the period too.
func (s *Server) deliveryCounts(r *http.Request, c *caller, days int) (time.Time, map[string]map[sotto.NotificationStatus]int, error) {
	since := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	counts, err := s.db.NotificationCounts(r.Context(), c.user.OrgID, since)
	if err != nil {
		return since, nil, err
	}
	return since, counts, s.auditNotificationsView(r, c)
}

// messageNotifications shows staff how a message's notifications fared.
func (s *Server) messageNotifications(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.user.Role.IsStaff() {
		return errStaffOnly
	}
	m, _, d, _, err := s.messageAccess(r, c, sotto.ActionRead)
	if err != nil {
		return err
	}
	list, err := s.db.Notifications(r.Context(), c.user.OrgID, store.NotificationFilter{MessageID: m.ID, Limit: 100})
	if err != nil {
		return err
	}
	if err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		return auditAccess(tx, d, s.targetEvent(r, c, sotto.AuditMessageRead, "message", m.ID, m.PatientID))
	}); err != nil {
		return err
	}
	if list == nil {
		list = []*sotto.Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": list})
	return nil
}
