package store

import (
	"context"

	"sotto"
)

// AppendEvent appends e to the event log and sets e.Seq and e.CreatedAt.
// Seq order is commit order: one writer appends. Errors: KindInternal.
func (t *Tx) AppendEvent(e *sotto.Event) error {
	e.CreatedAt = t.Now()
	err := t.QueryRow(`INSERT INTO events (org_id, kind, patient_id, conversation_id, department_id, assignee_id, category, internal, message_id, user_id, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq`,
		e.OrgID, e.Kind, e.PatientID, e.ConversationID, e.DepartmentID, e.AssigneeID, string(e.Category), e.Internal,
		e.MessageID, e.UserID, e.CreatedBy, micros(e.CreatedAt)).Scan(&e.Seq)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.AppendEvent", Err: err}
	}
	return nil
}

// EventsAfter returns up to limit events of orgID with Seq > after, in Seq
// order. Errors: KindInternal.
func (db *DB) EventsAfter(ctx context.Context, orgID string, after int64, limit int) ([]*sotto.Event, error) {
	const op = "store.EventsAfter"
	rows, err := db.r.QueryContext(ctx, `SELECT seq, org_id, kind, patient_id, conversation_id, department_id, assignee_id, category, internal, message_id, user_id, created_by, created_at
		FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	var out []*sotto.Event
	for rows.Next() {
		var e sotto.Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.OrgID, &e.Kind, &e.PatientID, &e.ConversationID, &e.DepartmentID, &e.AssigneeID,
			&e.Category, &e.Internal, &e.MessageID, &e.UserID, &e.CreatedBy, &at); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}

// LastEventSeq returns the highest event Seq of any org (0 when none).
// Errors: KindInternal.
func (db *DB) LastEventSeq(ctx context.Context) (int64, error) {
	var seq *int64
	if err := db.r.QueryRowContext(ctx, `SELECT MAX(seq) FROM events`).Scan(&seq); err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.LastEventSeq", Err: err}
	}
	if seq == nil {
		return 0, nil
	}
	return *seq, nil
}
