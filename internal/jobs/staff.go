package jobs

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"sotto"
	"sotto/internal/notify"
	"sotto/internal/store"
)

// StaffArgs asks for the staff alerts of a new patient message: push to
// the staff whose queue it lands in and, for an urgent conversation, push
// and SMS to the person on call.
type StaffArgs struct {
	OrgID     string `json:"org_id"`
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (StaffArgs) Kind() string { return "notify_staff" }

// staffAlertTTL is how long the answer of WantsStaffAlerts is cached.
const staffAlertTTL = 30 * time.Second

// staffAlertCache remembers, per organization, whether any staff alert
// could go out, so the send path asks the store at most once in a while.
type staffAlertCache struct {
	mu sync.Mutex
	m  map[string]staffAlertEntry
}

type staffAlertEntry struct {
	push, onCall bool
	until        time.Time
}

// WantsStaffAlerts reports whether a new patient message in orgID (urgent
// or not) could alert anyone: staff push subscriptions exist and push is
// configured, or (urgent) someone is on call and SMS or push is
// configured, or the log channel is on.
// It is cached for 30 seconds per organization; ForgetStaffAlerts drops
// the entry. Callers: the send path, before its Write, so that a practice
// without staff alerts pays nothing per message. Errors: KindInternal.
func (n *Notifier) WantsStaffAlerts(ctx context.Context, orgID string, urgent bool) (bool, error) {
	if n.ch.Log != nil {
		return true, nil
	}
	now := n.now()
	n.alerts.mu.Lock()
	e, ok := n.alerts.m[orgID]
	n.alerts.mu.Unlock()
	if !ok || now.After(e.until) {
		e = staffAlertEntry{until: now.Add(staffAlertTTL)}
		if n.ch.Push != nil {
			has, err := n.db.HasStaffPush(ctx, orgID)
			if err != nil {
				return false, err
			}
			e.push = has
		}
		if n.ch.SMS != nil || n.ch.Push != nil {
			_, err := n.db.OnCall(ctx, orgID)
			switch sotto.ErrorKind(err) {
			case "":
				e.onCall = true
			case sotto.KindNotFound:
			default:
				return false, err
			}
		}
		n.alerts.mu.Lock()
		if n.alerts.m == nil {
			n.alerts.m = make(map[string]staffAlertEntry)
		}
		n.alerts.m[orgID] = e
		n.alerts.mu.Unlock()
	}
	return e.push || (urgent && e.onCall), nil
}

// ForgetStaffAlerts drops orgID's cached WantsStaffAlerts answer. Callers:
// the server, when a staff member subscribes to push or the on-call
// setting changes.
func (n *Notifier) ForgetStaffAlerts(orgID string) {
	n.alerts.mu.Lock()
	delete(n.alerts.m, orgID)
	n.alerts.mu.Unlock()
}

// EnqueueStaff asks, inside the Write that stores patient message
// messageID, for its staff alerts. Callers: the send path, after
// WantsStaffAlerts said yes.
func EnqueueStaff(tx *store.Tx, orgID, messageID string) {
	tx.Enqueue(StaffArgs{OrgID: orgID, MessageID: messageID}, &river.InsertOpts{MaxAttempts: 8})
}

// planStaff creates the staff alerts of message messageID: push to the
// assignee, or else to the members of the conversation's department, who
// have subscriptions; for an urgent conversation also push and SMS to the
// person on call. It is safe to run twice.
func (n *Notifier) planStaff(ctx context.Context, orgID, messageID string) error {
	d, err := n.db.MessageDelivery(ctx, orgID, messageID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil
	}
	if err != nil || d.Internal || d.Retracted {
		return err
	}
	urgent := d.Category == sotto.CategoryUrgent
	type target struct{ user, channel string }
	var targets []target
	add := func(user, channel string) {
		if !slices.Contains(targets, target{user, channel}) {
			targets = append(targets, target{user, channel})
		}
	}
	switch {
	case n.ch.Log != nil:
		ids, err := n.db.StaffAlertTargets(ctx, orgID, d.ConversationID, false)
		if err != nil {
			return err
		}
		for _, id := range ids {
			add(id, notify.ChannelLog)
		}
	case n.ch.Push != nil:
		ids, err := n.db.StaffAlertTargets(ctx, orgID, d.ConversationID, true)
		if err != nil {
			return err
		}
		for _, id := range ids {
			add(id, notify.ChannelPush)
		}
	}
	if urgent {
		oc, err := n.db.OnCall(ctx, orgID)
		switch {
		case err == nil:
			if n.ch.Log != nil {
				add(oc.UserID, notify.ChannelLog)
				break
			}
			if n.ch.Push != nil {
				if subs, err := n.db.PushSubscriptions(ctx, orgID, oc.UserID); err != nil {
					return err
				} else if len(subs) > 0 {
					add(oc.UserID, notify.ChannelPush)
				}
			}
			if n.ch.SMS != nil && oc.Phone != "" {
				add(oc.UserID, notify.ChannelSMS)
			}
		case sotto.ErrorKind(err) != sotto.KindNotFound:
			return err
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return n.db.Write(ctx, func(tx *store.Tx) error {
		if done, err := tx.HasNotifications(messageID, sotto.NotifyStaffQueue); err != nil || done {
			return err
		}
		for _, tg := range targets {
			nn := sotto.Notification{OrgID: orgID, UserID: tg.user, PatientID: d.PatientID, ConversationID: d.ConversationID,
				MessageID: messageID, Kind: sotto.NotifyStaffQueue, Channel: tg.channel, Urgent: urgent}
			if err := tx.InsertNotification(&nn); err != nil {
				return err
			}
			tx.Enqueue(SendArgs{OrgID: orgID, NotificationID: nn.ID}, &river.InsertOpts{MaxAttempts: n.maxTries})
		}
		return nil
	})
}

// staffPhone is where an SMS staff alert for nn goes: the on-call number,
// if nn's recipient is still the one on call.
func (n *Notifier) staffPhone(ctx context.Context, nn *sotto.Notification) (string, error) {
	oc, err := n.db.OnCall(ctx, nn.OrgID)
	if sotto.ErrorKind(err) == sotto.KindNotFound || (err == nil && (oc.UserID != nn.UserID || oc.Phone == "")) {
		return "", errSuppressed{"not_on_call"}
	}
	return oc.Phone, err
}
