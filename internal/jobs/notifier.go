package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/notify"
	"sotto/internal/notify/email"
	"sotto/internal/notify/push"
	"sotto/internal/notify/sms"
	"sotto/internal/store"
)

// SMSSender sends a text message (notify/sms.Client).
type SMSSender interface {
	Send(ctx context.Context, to, body, idempotencyKey string) (sms.Result, error)
}

// EmailSender sends an e-mail (notify/email.Sender).
type EmailSender interface {
	Send(ctx context.Context, m email.Message) error
}

// PushSender sends a Web Push message (notify/push.Sender).
type PushSender interface {
	Send(ctx context.Context, sub push.Subscription, payload []byte, opts push.Options) (push.Result, error)
}

// Channels are the configured ways out. A nil sender means the channel is
// not configured. With Log set (demos, development) every notification
// goes to the log outbox instead of leaving the server.
type Channels struct {
	SMS      SMSSender
	SMSBAA   bool // a business associate agreement covers the SMS vendor
	Email    EmailSender
	EmailBAA bool
	Push     PushSender
	PushBAA  bool
	// PushInsecure accepts http push endpoints on loopback (tests only).
	PushInsecure bool
	Log          *Outbox
}

// Notifier plans and sends notifications. Build it with NewNotifier; its
// workers run inside a Runner.
type Notifier struct {
	db         *store.DB
	ch         Channels
	publicURL  string
	nudgeAfter time.Duration
	now        func() time.Time
	maxTries   int
	alerts     staffAlertCache
}

// NewNotifier returns a Notifier over db sending through ch, with links
// under publicURL, one unread nudge nudgeAfter a message (0 disables it)
// and the clock now (nil: time.Now). Callers: serve and tests.
func NewNotifier(db *store.DB, ch Channels, publicURL string, nudgeAfter time.Duration, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	return &Notifier{db: db, ch: ch, publicURL: publicURL, nudgeAfter: nudgeAfter, now: now, maxTries: 8}
}

// MessageArgs asks for the notifications of a new message.
type MessageArgs struct {
	OrgID     string `json:"org_id"`
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (MessageArgs) Kind() string { return "notify_message" }

// NudgeArgs asks for one more notification to recipients who have not
// opened a message.
type NudgeArgs struct {
	OrgID     string `json:"org_id"`
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (NudgeArgs) Kind() string { return "notify_nudge" }

// SendArgs asks for one notification to be sent.
type SendArgs struct {
	OrgID          string `json:"org_id"`
	NotificationID string `json:"notification_id"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "notify_send" }

// EnqueueMessage asks, inside the Write that stores message messageID,
// for its notifications: they are planned and sent after the commit, by
// the job this inserts. Callers: the send path (server.postMessage), only
// for messages a patient-side user should hear about.
func EnqueueMessage(tx *store.Tx, orgID, messageID string) {
	tx.Enqueue(MessageArgs{OrgID: orgID, MessageID: messageID}, &river.InsertOpts{MaxAttempts: 8})
}

func (n *Notifier) register(w *river.Workers) error {
	for _, err := range []error{
		river.AddWorkerSafely(w, river.WorkFunc(func(ctx context.Context, j *river.Job[MessageArgs]) error {
			return n.plan(ctx, j.Args.OrgID, j.Args.MessageID, sotto.NotifyNewMessage)
		})),
		river.AddWorkerSafely(w, river.WorkFunc(func(ctx context.Context, j *river.Job[NudgeArgs]) error {
			return n.plan(ctx, j.Args.OrgID, j.Args.MessageID, sotto.NotifyUnreadNudge)
		})),
		river.AddWorkerSafely(w, river.WorkFunc(func(ctx context.Context, j *river.Job[StaffArgs]) error {
			return n.planStaff(ctx, j.Args.OrgID, j.Args.MessageID)
		})),
		river.AddWorkerSafely(w, river.WorkFunc(func(ctx context.Context, j *river.Job[SendArgs]) error {
			return n.send(ctx, j.Args)
		})),
	} {
		if err != nil {
			return fmt.Errorf("jobs: register: %w", err)
		}
	}
	return nil
}

// plan creates the notifications of kind for message messageID: one per
// recipient and chosen channel, each with its send job, and (for a new
// message) the unread nudge. It is safe to run twice.
func (n *Notifier) plan(ctx context.Context, orgID, messageID string, kind sotto.NotificationKind) error {
	d, err := n.db.MessageDelivery(ctx, orgID, messageID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Internal || d.Retracted {
		return nil
	}
	var planned []*sotto.Notification
	for _, r := range d.Recipients {
		if kind == sotto.NotifyUnreadNudge && r.Read {
			continue
		}
		chans, err := n.channelsFor(ctx, orgID, r.UserID)
		if err != nil {
			return err
		}
		base := sotto.Notification{OrgID: orgID, UserID: r.UserID, PatientID: d.PatientID, ConversationID: d.ConversationID,
			MessageID: messageID, Kind: kind, Urgent: d.Category == sotto.CategoryUrgent}
		if len(chans) == 0 {
			nn := base
			nn.Channel, nn.Status, nn.ErrorCode = "none", sotto.NotifySuppressed, "no_channel"
			planned = append(planned, &nn)
		}
		for _, ch := range chans {
			nn := base
			nn.Channel = ch
			planned = append(planned, &nn)
		}
	}
	if len(planned) == 0 {
		return nil
	}
	return n.db.Write(ctx, func(tx *store.Tx) error {
		if done, err := tx.HasNotifications(messageID, kind); err != nil || done {
			return err
		}
		queued := false
		for _, p := range planned {
			nn := *p
			if err := tx.InsertNotification(&nn); err != nil {
				return err
			}
			if nn.Status == sotto.NotifyQueued {
				queued = true
				tx.Enqueue(SendArgs{OrgID: orgID, NotificationID: nn.ID}, &river.InsertOpts{MaxAttempts: n.maxTries})
			} else if err := audit.Append(tx, n.event(&nn, sotto.AuditFailure)); err != nil {
				return err
			}
		}
		if kind == sotto.NotifyNewMessage && queued && n.nudgeAfter > 0 {
			tx.Enqueue(NudgeArgs{OrgID: orgID, MessageID: messageID},
				&river.InsertOpts{ScheduledAt: n.now().Add(n.nudgeAfter), MaxAttempts: 8})
		}
		return nil
	})
}

// channelsFor picks the channels for one recipient: the log outbox alone
// in demos; otherwise SMS (with consent) or else e-mail, plus push when
// the user has a subscription.
func (n *Notifier) channelsFor(ctx context.Context, orgID, userID string) ([]string, error) {
	if n.ch.Log != nil {
		return []string{notify.ChannelLog}, nil
	}
	prefs, err := n.db.NotifyPrefs(ctx, orgID, userID)
	if err != nil {
		return nil, err
	}
	c, err := n.db.NotifyContact(ctx, orgID, userID)
	if sotto.ErrorKind(err) == sotto.KindNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case n.ch.SMS != nil && prefs.SMS && prefs.SMSConsentAt != nil && c.Phone != "":
		out = append(out, notify.ChannelSMS)
	case n.ch.Email != nil && prefs.Email && c.Email != "":
		out = append(out, notify.ChannelEmail)
	}
	if n.ch.Push != nil && prefs.Push {
		subs, err := n.db.PushSubscriptions(ctx, orgID, userID)
		if err != nil {
			return nil, err
		}
		if len(subs) > 0 {
			out = append(out, notify.ChannelPush)
		}
	}
	return out, nil
}

// event is the audit entry of a notification's outcome, by the system.
func (n *Notifier) event(nn *sotto.Notification, outcome string) *sotto.AuditEvent {
	return &sotto.AuditEvent{OrgID: nn.OrgID, ActorRole: sotto.AuditRoleSystem, Action: sotto.AuditNotificationSend,
		TargetType: "notification", TargetID: nn.ID, PatientID: nn.PatientID, Outcome: outcome}
}

// Outbox is the log channel: notifications kept in memory (the newest
// 500) for the demo page instead of being sent. It holds the rendered,
// PHI-free text and the recipient's user id, never an address.
type Outbox struct {
	mu    sync.Mutex
	items []OutboxItem
}

// OutboxItem is one notification on the log channel.
type OutboxItem struct {
	At             time.Time `json:"at"`
	OrgID          string    `json:"org_id"`
	UserID         string    `json:"user_id"`
	NotificationID string    `json:"notification_id"`
	Text           string    `json:"text"`
}

func (o *Outbox) add(it OutboxItem) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = append(o.items, it)
	if len(o.items) > 500 {
		o.items = append([]OutboxItem(nil), o.items[len(o.items)-500:]...)
	}
}

// Items returns orgID's notifications in the outbox, newest first.
func (o *Outbox) Items(orgID string) []OutboxItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OutboxItem
	for i := len(o.items) - 1; i >= 0; i-- {
		if o.items[i].OrgID == orgID {
			out = append(out, o.items[i])
		}
	}
	return out
}

// ChannelStatus is one way out as this server runs it: whether it is
// configured and whether a business associate agreement covers it (without
// one it carries only the PHI-free templates).
type ChannelStatus struct {
	Channel    string `json:"channel"`
	Configured bool   `json:"configured"`
	BAAOnFile  bool   `json:"baa_on_file"`
}

// ChannelStatus lists the channels, configured or not. Callers: the admin
// API and console.
func (n *Notifier) ChannelStatus() []ChannelStatus {
	return []ChannelStatus{
		{Channel: notify.ChannelSMS, Configured: n.ch.SMS != nil, BAAOnFile: n.ch.SMSBAA},
		{Channel: notify.ChannelEmail, Configured: n.ch.Email != nil, BAAOnFile: n.ch.EmailBAA},
		{Channel: notify.ChannelPush, Configured: n.ch.Push != nil, BAAOnFile: n.ch.PushBAA},
		{Channel: notify.ChannelLog, Configured: n.ch.Log != nil},
	}
}
