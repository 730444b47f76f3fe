package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"sotto"
	"sotto/internal/crypt"
)

const notificationColumns = `id, org_id, user_id, patient_id, conversation_id, message_id, kind, channel, status, urgent,
	provider_id, attempts, error_code, held_until, created_at, updated_at, sent_at, delivered_at`

// InsertNotification records n (ID, CreatedAt and UpdatedAt are set when
// empty; Status defaults to queued). The caller enqueues the job that sends
// it in the same Write. Errors: KindInvalid, KindInternal.
func (t *Tx) InsertNotification(n *sotto.Notification) error {
	const op = "store.InsertNotification"
	if n.ID == "" {
		n.ID = NewID()
	}
	if n.Status == "" {
		n.Status = sotto.NotifyQueued
	}
	now := t.Now()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.UpdatedAt = now
	_, err := t.Exec(`INSERT INTO notifications (`+notificationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		n.ID, n.OrgID, nullable(n.UserID), nullable(n.PatientID), nullable(n.ConversationID), nullable(n.MessageID),
		string(n.Kind), n.Channel, string(n.Status), n.Urgent, nullable(n.ProviderID), n.Attempts, n.ErrorCode,
		microsPtr(n.HeldUntil), micros(n.CreatedAt), micros(n.UpdatedAt), microsPtr(n.SentAt), microsPtr(n.DeliveredAt))
	return insertErr(err, op, "notification")
}

// SetNotificationPayload seals payload (what the notification must carry
// that no record holds: an invitation's link) with orgID's key on
// notification id. Errors: KindInternal.
func (t *Tx) SetNotificationPayload(orgID, id string, payload []byte) error {
	const op = "store.SetNotificationPayload"
	ok, err := t.orgKey(orgID)
	if err != nil {
		return err
	}
	enc, err := ok.Seal(payload, crypt.AD("notifications", "payload", id))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if _, err := t.Exec(`UPDATE notifications SET payload_enc = $1 WHERE id = $2 AND org_id = $3`, enc, id, orgID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}

// NotificationPayload opens notification id's sealed payload. Callers: the
// sender, at the moment of sending. Errors: KindNotFound (none),
// KindInternal (including a payload that fails to open: tampering).
func (db *DB) NotificationPayload(ctx context.Context, orgID, id string) ([]byte, error) {
	const op = "store.NotificationPayload"
	var enc []byte
	err := db.r.QueryRowContext(ctx, `SELECT payload_enc FROM notifications WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&enc)
	if err != nil {
		return nil, notFound(err, op, "Notification not found.")
	}
	if len(enc) == 0 {
		return nil, sotto.Errorf(sotto.KindNotFound, "The notification carries nothing sealed.")
	}
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out, err := ok.Open(enc, crypt.AD("notifications", "payload", id))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}

// Notification reads notification id of orgID. Errors: KindNotFound,
// KindInternal.
func (db *DB) Notification(ctx context.Context, orgID, id string) (*sotto.Notification, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Notification not found.")
	}
	return scanNotification(db.r.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = $1 AND org_id = $2`, id, orgID))
}

// NotificationByProvider finds, inside a write, the notification a
// provider knows by providerID on channel (status callbacks). Errors:
// KindNotFound, KindInternal.
func (t *Tx) NotificationByProvider(channel, providerID string) (*sotto.Notification, error) {
	return scanNotification(t.QueryRow(`SELECT `+notificationColumns+` FROM notifications WHERE channel = $1 AND provider_id = $2`, channel, providerID))
}

// NotificationUpdate changes a notification; nil fields stay as they are.
type NotificationUpdate struct {
	Status      sotto.NotificationStatus // "" keeps the status
	ProviderID  *string
	ErrorCode   *string
	Attempts    *int
	HeldUntil   *time.Time // the zero time clears it
	SentAt      *time.Time
	DeliveredAt *time.Time
}

// UpdateNotification applies u to notification id of orgID and returns
// the result. Errors: KindNotFound, KindConflict (a provider id already
// recorded on another notification), KindInternal.
func (t *Tx) UpdateNotification(orgID, id string, u NotificationUpdate) (*sotto.Notification, error) {
	const op = "store.UpdateNotification"
	sets := []string{"updated_at = $3"}
	args := []any{id, orgID, micros(t.Now())}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = "+placeholder(len(args)))
	}
	if u.Status != "" {
		add("status", string(u.Status))
	}
	if u.ProviderID != nil {
		add("provider_id", nullable(*u.ProviderID))
	}
	if u.ErrorCode != nil {
		add("error_code", *u.ErrorCode)
	}
	if u.Attempts != nil {
		add("attempts", *u.Attempts)
	}
	if u.HeldUntil != nil {
		if u.HeldUntil.IsZero() {
			add("held_until", nil)
		} else {
			add("held_until", micros(*u.HeldUntil))
		}
	}
	if u.SentAt != nil {
		add("sent_at", micros(*u.SentAt))
	}
	if u.DeliveredAt != nil {
		add("delivered_at", micros(*u.DeliveredAt))
	}
	res, err := t.Exec(`UPDATE notifications SET `+strings.Join(sets, ", ")+` WHERE id = $1 AND org_id = $2`, args...)
	if isUniqueViolation(err) {
		return nil, &sotto.Error{Kind: sotto.KindConflict, Op: op, Msg: "That provider id is already recorded.", Err: err}
	}
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, sotto.Errorf(sotto.KindNotFound, "Notification not found.")
	}
	return scanNotification(t.QueryRow(`SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
}

// NotificationFilter selects notifications to list.
type NotificationFilter struct {
	Status    sotto.NotificationStatus // "" for any
	MessageID string                   // "" for any
	Before    string                   // cursor: the id of the last notification of the previous page
	Limit     int                      // 1..500, default 50
}

// Notifications lists notifications of orgID matching f, newest first (ids
// are time-ordered). Callers: the dead-letter list, delivery reports and a
// message's delivery status for staff. Errors: KindInternal.
func (db *DB) Notifications(ctx context.Context, orgID string, f NotificationFilter) ([]*sotto.Notification, error) {
	const op = "store.Notifications"
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where := []string{"org_id = $1"}
	args := []any{orgID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", placeholder(len(args))))
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.MessageID != "" {
		add("message_id = ?", f.MessageID)
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	args = append(args, f.Limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT `+placeholder(len(args)), args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	var out []*sotto.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}

// NotificationCounts counts orgID's notifications created since since, by
// channel and status (delivery-rate reports). Errors: KindInternal.
func (db *DB) NotificationCounts(ctx context.Context, orgID string, since time.Time) (map[string]map[sotto.NotificationStatus]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT channel, status, COUNT(*) FROM notifications
		WHERE org_id = $1 AND created_at >= $2 GROUP BY channel, status`, orgID, micros(since))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.NotificationCounts", Err: err}
	}
	defer rows.Close()
	out := map[string]map[sotto.NotificationStatus]int{}
	for rows.Next() {
		var ch, st string
		var n int
		if err := rows.Scan(&ch, &st, &n); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.NotificationCounts", Err: err}
		}
		if out[ch] == nil {
			out[ch] = map[sotto.NotificationStatus]int{}
		}
		out[ch][sotto.NotificationStatus(st)] = n
	}
	return out, rows.Err()
}

type rowScanner interface{ Scan(dest ...any) error }

func scanNotification(r rowScanner) (*sotto.Notification, error) {
	var n sotto.Notification
	var user, patient, conv, msg, provider sql.NullString
	var held, sent, delivered sql.NullInt64
	var created, updated int64
	err := r.Scan(&n.ID, &n.OrgID, &user, &patient, &conv, &msg, &n.Kind, &n.Channel, &n.Status, &n.Urgent,
		&provider, &n.Attempts, &n.ErrorCode, &held, &created, &updated, &sent, &delivered)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Notification not found.")
	}
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.scanNotification", Err: err}
	}
	n.UserID, n.PatientID, n.ConversationID, n.MessageID, n.ProviderID = user.String, patient.String, conv.String, msg.String, provider.String
	n.CreatedAt, n.UpdatedAt = fromMicros(created), fromMicros(updated)
	n.HeldUntil, n.SentAt, n.DeliveredAt = timePtr(held), timePtr(sent), timePtr(delivered)
	return &n, nil
}

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// MessageRecipient is one recipient of a message and whether they opened it.
type MessageRecipient struct {
	UserID string
	Read   bool
}

// MessageDelivery is what the notifier needs of a message: ids, flags and
// recipients, nothing decrypted.
type MessageDelivery struct {
	ConversationID string
	PatientID      string
	Category       sotto.Category
	Internal       bool
	Retracted      bool
	Recipients     []MessageRecipient
}

// MessageDelivery reads message id's conversation, flags and recipients
// (from its receipts). Errors: KindNotFound, KindInternal.
func (db *DB) MessageDelivery(ctx context.Context, orgID, id string) (*MessageDelivery, error) {
	const op = "store.MessageDelivery"
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Message not found.")
	}
	var d MessageDelivery
	var patient sql.NullString
	var retracted sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT m.conversation_id, m.patient_id, m.internal, m.retracted_at, c.category
		FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1 AND m.org_id = $2`, id, orgID).
		Scan(&d.ConversationID, &patient, &d.Internal, &retracted, &d.Category)
	if err != nil {
		return nil, notFound(err, op, "Message not found.")
	}
	d.PatientID, d.Retracted = patient.String, retracted.Valid
	rows, err := db.r.QueryContext(ctx, `SELECT user_id, read_at FROM receipts WHERE message_id = $1 ORDER BY user_id`, id)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var r MessageRecipient
		var read sql.NullInt64
		if err := rows.Scan(&r.UserID, &read); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		r.Read = read.Valid
		d.Recipients = append(d.Recipients, r)
	}
	return &d, rows.Err()
}

// HasNotifications reports, inside a write, whether message messageID
// already has notifications of kind (so a re-run job plans nothing twice).
func (t *Tx) HasNotifications(messageID string, kind sotto.NotificationKind) (bool, error) {
	var n int
	if err := t.QueryRow(`SELECT COUNT(*) FROM notifications WHERE message_id = $1 AND kind = $2`, messageID, string(kind)).Scan(&n); err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.HasNotifications", Err: err}
	}
	return n > 0, nil
}

// NotifiedStatus is how one patient-side notification of a message stands.
type NotifiedStatus struct {
	Channel string
	Status  sotto.NotificationStatus
	Kind    sotto.NotificationKind
}

// MessagesNotified returns, for each of messageIDs of orgID, how its
// patient-side notifications (new message and unread nudge) stand, oldest
// first. Callers: the staff conversation page, which shows them with each
// message. Errors: KindInternal.
func (db *DB) MessagesNotified(ctx context.Context, orgID string, messageIDs []string) (map[string][]NotifiedStatus, error) {
	out := make(map[string][]NotifiedStatus)
	if len(messageIDs) == 0 {
		return out, nil
	}
	args := []any{orgID, string(sotto.NotifyNewMessage), string(sotto.NotifyUnreadNudge)}
	ph := make([]string, len(messageIDs))
	for i, id := range messageIDs {
		args = append(args, id)
		ph[i] = placeholder(len(args))
	}
	rows, err := db.r.QueryContext(ctx, `SELECT message_id, channel, status, kind FROM notifications
		WHERE org_id = $1 AND kind IN ($2, $3) AND message_id IN (`+strings.Join(ph, ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.MessagesNotified", Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var id, ch, st, kind string
		if err := rows.Scan(&id, &ch, &st, &kind); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.MessagesNotified", Err: err}
		}
		out[id] = append(out[id], NotifiedStatus{Channel: ch, Status: sotto.NotificationStatus(st), Kind: sotto.NotificationKind(kind)})
	}
	return out, rows.Err()
}
