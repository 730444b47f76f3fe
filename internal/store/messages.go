package store

import (
	"context"
	"database/sql"

	"sotto"
)

// InsertMessage stores m in conversation conv: it honours the idempotency
// key (a retried send returns the message first stored, existing = true,
// and writes nothing), seals the body under the patient's data key, links
// the attachments, creates a receipt row for each recipient, appends the
// message.created event (returned, nil when existing) and bumps the
// conversation's activity. The caller has validated m and decided access.
//
// Errors: KindConflict (the idempotency key was used for another
// conversation), KindInvalid (an attachment that is not the sender's, is
// already sent, or belongs to another patient), KindNotFound (erased
// patient), KindInternal.
func (t *Tx) InsertMessage(conv *sotto.Conversation, m *sotto.Message, recipients []string) (existing bool, ev *sotto.Event, err error) {
	const op = "store.InsertMessage"
	var prevID, prevConv string
	err = t.QueryRow(`SELECT id, conversation_id FROM messages WHERE sender_id = $1 AND idempotency_key = $2`, m.SenderID, m.IdempotencyKey).Scan(&prevID, &prevConv)
	switch {
	case err == nil && prevConv != conv.ID:
		return false, nil, &sotto.Error{Kind: sotto.KindConflict, Code: "idempotency_key_reused", Op: op, Msg: "This idempotency_key was already used for another conversation."}
	case err == nil:
		prev, err := t.db.message(t.ctx, txq{t}, conv.OrgID, prevID)
		if err != nil {
			return false, nil, err
		}
		*m = *prev
		return true, nil, nil
	case err != sql.ErrNoRows:
		return false, nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if m.Corrects != "" {
		var n int
		if !ValidID(m.Corrects) || t.QueryRow(`SELECT COUNT(*) FROM messages WHERE id = $1 AND conversation_id = $2`, m.Corrects, conv.ID).Scan(&n) != nil || n == 0 {
			return false, nil, sotto.Errorf(sotto.KindInvalid, "corrects must name a message of this conversation.")
		}
	}
	m.ID = NewID()
	m.OrgID, m.ConversationID, m.PatientID = conv.OrgID, conv.ID, conv.PatientID
	if m.AttachmentIDs == nil {
		m.AttachmentIDs = []string{}
	}
	k, err := t.sealerFor(conv.OrgID, conv.PatientID)
	if err != nil {
		return false, nil, err
	}
	body, err := seal(k, op, []byte(m.Body), "messages", "body", m.ID)
	if err != nil {
		return false, nil, err
	}
	ev = &sotto.Event{OrgID: conv.OrgID, Kind: sotto.EventMessageCreated, PatientID: conv.PatientID, ConversationID: conv.ID,
		DepartmentID: conv.DepartmentID, AssigneeID: conv.AssigneeID, Category: conv.Category, Internal: m.Internal,
		MessageID: m.ID, CreatedBy: m.SenderID}
	if err := t.AppendEvent(ev); err != nil {
		return false, nil, err
	}
	m.Seq, m.CreatedAt = ev.Seq, ev.CreatedAt
	_, err = t.Exec(`INSERT INTO messages (id, org_id, conversation_id, patient_id, sender_id, sender_role, on_behalf_of, internal, body_enc, corrects_id, idempotency_key, seq, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ID, m.OrgID, m.ConversationID, nullable(m.PatientID), m.SenderID, string(m.SenderRole), nullable(m.OnBehalfOf), m.Internal,
		body, nullable(m.Corrects), m.IdempotencyKey, m.Seq, micros(m.CreatedAt))
	if err != nil {
		return false, nil, insertErr(err, op, "message")
	}
	for _, aid := range m.AttachmentIDs {
		res, err := t.Exec(`UPDATE attachments SET message_id = $1 WHERE id = $2 AND org_id = $3 AND uploader_id = $4 AND message_id IS NULL AND COALESCE(patient_id, '') = $5`,
			m.ID, aid, m.OrgID, m.SenderID, m.PatientID)
		if err != nil {
			return false, nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return false, nil, sotto.Errorf(sotto.KindInvalid, "attachment_ids must name your own unsent uploads for this patient.")
		}
	}
	m.Receipts = make([]sotto.Receipt, 0, len(recipients))
	for _, uid := range recipients {
		if _, err := t.Exec(`INSERT INTO receipts (message_id, user_id) VALUES ($1, $2)`, m.ID, uid); err != nil {
			return false, nil, insertErr(err, op, "receipt")
		}
		m.Receipts = append(m.Receipts, sotto.Receipt{UserID: uid})
	}
	_, err = t.Exec(`UPDATE conversations SET last_activity_at = $1, last_seq = $2 WHERE id = $3`, micros(m.CreatedAt), m.Seq, conv.ID)
	if err != nil {
		return false, nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return false, ev, nil
}

// PatientRecipients returns the portal users who receive messages for
// patientID: the patient's own account (once invited) and their proxies.
// Errors: KindInternal.
func (t *Tx) PatientRecipients(patientID string) ([]string, error) {
	return stringsQuery(t.ctx, txq{t}, `SELECT user_id FROM patients WHERE id = $1 AND user_id IS NOT NULL
		UNION SELECT user_id FROM patient_proxies WHERE patient_id = $1`, patientID)
}

const messageColumns = `id, org_id, conversation_id, patient_id, sender_id, sender_role, on_behalf_of, internal, body_enc, corrects_id, retracted_at, idempotency_key, seq, created_at`

// message reads and decrypts one message with its attachments and receipts.
func (db *DB) message(ctx context.Context, q querier, orgID, id string) (*sotto.Message, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1 AND org_id = $2`, id, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Message", Err: err}
	}
	ms, err := db.scanMessages(ctx, q, rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, sotto.Errorf(sotto.KindNotFound, "Message not found.")
	}
	return ms[0], nil
}

// Message reads and decrypts message id of orgID with its attachments and
// receipts. Errors: KindNotFound, KindInternal.
func (db *DB) Message(ctx context.Context, orgID, id string) (*sotto.Message, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Message not found.")
	}
	return db.message(ctx, db.r, orgID, id)
}

// MessagePage selects messages of one conversation: those with Seq below
// Before (0 = newest), newest first, at most Limit, internal notes only
// when Internal is set.
type MessagePage struct {
	Before   int64
	Limit    int
	Internal bool
}

// Messages lists and decrypts messages of conversation convID in orgID.
// Errors: KindNotFound (erased patient), KindInternal.
func (db *DB) Messages(ctx context.Context, orgID, convID string, p MessagePage) ([]*sotto.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE org_id = $1 AND conversation_id = $2 AND seq < $3`
	args := []any{orgID, convID, p.Before, p.Limit}
	if p.Before <= 0 {
		args[2] = int64(1<<63 - 1)
	}
	if !p.Internal {
		q += ` AND internal = $5`
		args = append(args, false)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY seq DESC LIMIT $4`, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Messages", Err: err}
	}
	return db.scanMessages(ctx, db.r, rows)
}

// scanMessages reads rows of messageColumns, decrypts them, and loads
// their attachment ids and receipts. It closes rows.
func (db *DB) scanMessages(ctx context.Context, q querier, rows *sql.Rows) ([]*sotto.Message, error) {
	const op = "store.Messages"
	type raw struct {
		m    *sotto.Message
		body []byte
	}
	var out []raw
	for rows.Next() {
		var m sotto.Message
		var patient, behalf, corrects sql.NullString
		var retracted sql.NullInt64
		var body []byte
		var created int64
		if err := rows.Scan(&m.ID, &m.OrgID, &m.ConversationID, &patient, &m.SenderID, &m.SenderRole, &behalf, &m.Internal,
			&body, &corrects, &retracted, &m.IdempotencyKey, &m.Seq, &created); err != nil {
			rows.Close()
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		m.PatientID, m.OnBehalfOf, m.Corrects = patient.String, behalf.String, corrects.String
		if retracted.Valid {
			t := fromMicros(retracted.Int64)
			m.RetractedAt = &t
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, raw{&m, body})
	}
	err := rows.Err()
	rows.Close()
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	msgs := make([]*sotto.Message, 0, len(out))
	var keys *sealerCache
	for _, r := range out {
		if keys == nil {
			keys = db.newSealerCache(q, r.m.OrgID)
		}
		k, err := keys.get(ctx, r.m.PatientID)
		if err != nil {
			return nil, err
		}
		b, err := open(k, op, r.body, "messages", "body", r.m.ID)
		if err != nil {
			return nil, err
		}
		r.m.Body = string(b)
		if r.m.AttachmentIDs, err = stringsQuery(ctx, q, `SELECT id FROM attachments WHERE message_id = $1 ORDER BY id`, r.m.ID); err != nil {
			return nil, err
		}
		if r.m.Receipts, err = db.receipts(ctx, q, r.m.ID); err != nil {
			return nil, err
		}
		msgs = append(msgs, r.m)
	}
	return msgs, nil
}

// receipts reads the receipts of message id.
func (db *DB) receipts(ctx context.Context, q querier, id string) ([]sotto.Receipt, error) {
	rows, err := q.QueryContext(ctx, `SELECT user_id, delivered_at, read_at FROM receipts WHERE message_id = $1 ORDER BY user_id`, id)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.receipts", Err: err}
	}
	defer rows.Close()
	out := []sotto.Receipt{}
	for rows.Next() {
		var r sotto.Receipt
		var d, rd sql.NullInt64
		if err := rows.Scan(&r.UserID, &d, &rd); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.receipts", Err: err}
		}
		if d.Valid {
			t := fromMicros(d.Int64)
			r.DeliveredAt = &t
		}
		if rd.Valid {
			t := fromMicros(rd.Int64)
			r.ReadAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkReceipt records that userID received (read=false) or opened
// (read=true) message msg; opening implies delivery. It appends a
// receipt.updated event (returned) only when something changed; nil means
// nothing changed. Errors: KindInternal.
func (t *Tx) MarkReceipt(conv *sotto.Conversation, msg *sotto.Message, userID string, read bool) (*sotto.Event, error) {
	const op = "store.MarkReceipt"
	now := micros(t.Now())
	var q string
	if read {
		q = `INSERT INTO receipts (message_id, user_id, delivered_at, read_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (message_id, user_id) DO UPDATE SET delivered_at = COALESCE(receipts.delivered_at, excluded.delivered_at), read_at = excluded.read_at
			WHERE receipts.read_at IS NULL`
	} else {
		q = `INSERT INTO receipts (message_id, user_id, delivered_at) VALUES ($1, $2, $3)
			ON CONFLICT (message_id, user_id) DO UPDATE SET delivered_at = excluded.delivered_at WHERE receipts.delivered_at IS NULL`
	}
	res, err := t.Exec(q, msg.ID, userID, now)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil
	}
	ev := &sotto.Event{OrgID: conv.OrgID, Kind: sotto.EventReceiptUpdated, PatientID: conv.PatientID, ConversationID: conv.ID,
		DepartmentID: conv.DepartmentID, AssigneeID: conv.AssigneeID, Category: conv.Category, Internal: msg.Internal,
		MessageID: msg.ID, UserID: userID, CreatedBy: userID}
	return ev, t.AppendEvent(ev)
}

// RetractMessage marks message msg retracted at now and appends a
// message.retracted event (returned). The message and its body stay, for
// the record. Errors: KindConflict (already retracted), KindInternal.
func (t *Tx) RetractMessage(conv *sotto.Conversation, msg *sotto.Message, actorID string) (*sotto.Event, error) {
	const op = "store.RetractMessage"
	ev := &sotto.Event{OrgID: conv.OrgID, Kind: sotto.EventMessageRetracted, PatientID: conv.PatientID, ConversationID: conv.ID,
		DepartmentID: conv.DepartmentID, AssigneeID: conv.AssigneeID, Category: conv.Category, Internal: msg.Internal,
		MessageID: msg.ID, CreatedBy: actorID}
	if err := t.AppendEvent(ev); err != nil {
		return nil, err
	}
	res, err := t.Exec(`UPDATE messages SET retracted_at = $1 WHERE id = $2 AND org_id = $3 AND retracted_at IS NULL`, micros(ev.CreatedAt), msg.ID, conv.OrgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, &sotto.Error{Kind: sotto.KindConflict, Code: "already_retracted", Op: op, Msg: "This message was already retracted."}
	}
	at := ev.CreatedAt
	msg.RetractedAt = &at
	return ev, nil
}

// MessageByKey finds the message user senderID sent with idempotency key
// key, and its conversation. Callers: the pages, to answer a repeated form
// submission without storing its attachment again. Errors: KindNotFound,
// KindInternal.
func (db *DB) MessageByKey(ctx context.Context, senderID, key string) (id, conversationID string, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT id, conversation_id FROM messages WHERE sender_id = $1 AND idempotency_key = $2`, senderID, key).
		Scan(&id, &conversationID)
	if err != nil {
		return "", "", notFound(err, "store.MessageByKey", "Message not found.")
	}
	return id, conversationID, nil
}
