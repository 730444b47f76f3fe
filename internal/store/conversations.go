package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"sotto"
)

// conversationDetails is the sealed form of a conversation's structured
// request.
type conversationDetails struct {
	Refill      *sotto.RefillRequest      `json:"r,omitempty"`
	Appointment *sotto.AppointmentRequest `json:"a,omitempty"`
}

// InsertConversation validates c, checks that its patient and department
// belong to its org, seals the subject and structured request under the
// patient's data key (the org key for a thread with no patient), inserts
// it and appends a conversation.created event (c.LastActivityAt set, the
// event returned for publishing). Errors: KindInvalid (bad field, unknown
// department), KindNotFound (unknown or erased patient), KindInternal.
func (t *Tx) InsertConversation(c *sotto.Conversation) (*sotto.Event, error) {
	const op = "store.InsertConversation"
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.PatientID != "" {
		var n int
		if !ValidID(c.PatientID) || t.QueryRow(`SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, c.PatientID, c.OrgID).Scan(&n) != nil || n == 0 {
			return nil, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		}
	}
	if c.DepartmentID != "" {
		var n int
		if !ValidID(c.DepartmentID) || t.QueryRow(`SELECT COUNT(*) FROM departments WHERE id = $1 AND org_id = $2`, c.DepartmentID, c.OrgID).Scan(&n) != nil || n == 0 {
			return nil, sotto.Errorf(sotto.KindInvalid, "department_id must be a department of this organization.")
		}
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	c.CreatedAt = t.Now()
	c.LastActivityAt = c.CreatedAt
	k, err := t.sealerFor(c.OrgID, c.PatientID)
	if err != nil {
		return nil, err
	}
	subj, err := seal(k, op, []byte(c.Subject), "conversations", "subject", c.ID)
	if err != nil {
		return nil, err
	}
	var details []byte
	if c.Refill != nil || c.Appointment != nil {
		b, _ := json.Marshal(conversationDetails{c.Refill, c.Appointment})
		if details, err = seal(k, op, b, "conversations", "details", c.ID); err != nil {
			return nil, err
		}
	}
	ev := &sotto.Event{OrgID: c.OrgID, Kind: sotto.EventConversationCreated, PatientID: c.PatientID, ConversationID: c.ID,
		DepartmentID: c.DepartmentID, AssigneeID: c.AssigneeID, Category: c.Category, CreatedBy: c.CreatedBy}
	if err := t.AppendEvent(ev); err != nil {
		return nil, err
	}
	_, err = t.Exec(`INSERT INTO conversations (id, org_id, patient_id, department_id, category, status, assignee_id, created_by, subject_enc, details_enc, created_at, last_activity_at, last_seq, create_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13)`,
		c.ID, c.OrgID, nullable(c.PatientID), nullable(c.DepartmentID), string(c.Category), string(c.Status), nullable(c.AssigneeID),
		c.CreatedBy, subj, details, micros(c.CreatedAt), ev.Seq, nullable(c.IdempotencyKey))
	if err != nil {
		return nil, insertErr(err, op, "conversation")
	}
	return ev, nil
}

// nullable maps "" to NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// conversationColumns are read by scanConversation, in order.
const conversationColumns = `id, org_id, patient_id, department_id, category, status, assignee_id, created_by, subject_enc, details_enc, created_at, last_activity_at, last_seq`

// convRow is a conversation as stored, before decryption.
type convRow struct {
	c       sotto.Conversation
	subject []byte
	details []byte
	lastSeq int64
}

func scanConversation(s interface{ Scan(...any) error }) (*convRow, error) {
	var r convRow
	var patient, dept, assignee sql.NullString
	var created, last int64
	if err := s.Scan(&r.c.ID, &r.c.OrgID, &patient, &dept, &r.c.Category, &r.c.Status, &assignee, &r.c.CreatedBy,
		&r.subject, &r.details, &created, &last, &r.lastSeq); err != nil {
		return nil, err
	}
	r.c.PatientID, r.c.DepartmentID, r.c.AssigneeID = patient.String, dept.String, assignee.String
	r.c.CreatedAt, r.c.LastActivityAt = fromMicros(created), fromMicros(last)
	return &r, nil
}

// decryptConversation opens r's sealed fields into r.c with the sealers
// of keys.
func decryptConversation(ctx context.Context, keys *sealerCache, r *convRow) (*sotto.Conversation, error) {
	const op = "store.Conversation"
	k, err := keys.get(ctx, r.c.PatientID)
	if err != nil {
		return nil, err
	}
	subj, err := open(k, op, r.subject, "conversations", "subject", r.c.ID)
	if err != nil {
		return nil, err
	}
	r.c.Subject = string(subj)
	if r.details != nil {
		b, err := open(k, op, r.details, "conversations", "details", r.c.ID)
		if err != nil {
			return nil, err
		}
		var d conversationDetails
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		r.c.Refill, r.c.Appointment = d.Refill, d.Appointment
	}
	return &r.c, nil
}

// ConversationMeta reads conversation id of orgID without decrypting it:
// enough to decide access. Errors: KindNotFound, KindInternal.
func (db *DB) ConversationMeta(ctx context.Context, orgID, id string) (*sotto.Conversation, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Conversation not found.")
	}
	r, err := scanConversation(db.r.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND org_id = $2`, id, orgID))
	if err != nil {
		return nil, notFound(err, "store.ConversationMeta", "Conversation not found.")
	}
	return &r.c, nil
}

// Conversation reads and decrypts conversation id of orgID. Errors:
// KindNotFound (code "shredded" when the patient was erased), KindInternal.
func (db *DB) Conversation(ctx context.Context, orgID, id string) (*sotto.Conversation, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Conversation not found.")
	}
	r, err := scanConversation(db.r.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND org_id = $2`, id, orgID))
	if err != nil {
		return nil, notFound(err, "store.Conversation", "Conversation not found.")
	}
	return decryptConversation(ctx, db.newSealerCache(db.r, orgID), r)
}

// ConversationUpdate is a change of status and/or assignee; nil fields are
// left alone, an empty AssigneeID unassigns.
type ConversationUpdate struct {
	Status     *sotto.Status
	AssigneeID *string
}

// UpdateConversation applies u to conversation id of orgID by actorID and
// appends a conversation.updated event (returned, with the conversation's
// new state). An assignee must be an enabled staff member of the org.
// Errors: KindInvalid, KindNotFound, KindInternal.
func (t *Tx) UpdateConversation(orgID, id, actorID string, u ConversationUpdate) (*sotto.Conversation, *sotto.Event, error) {
	const op = "store.UpdateConversation"
	r, err := scanConversation(t.QueryRow(`SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND org_id = $2`, id, orgID))
	if err != nil {
		return nil, nil, notFound(err, op, "Conversation not found.")
	}
	c := &r.c
	if u.Status != nil {
		if !u.Status.Valid() {
			return nil, nil, sotto.Errorf(sotto.KindInvalid, "status must be one of open, pending_patient, closed.")
		}
		c.Status = *u.Status
	}
	if u.AssigneeID != nil {
		if a := *u.AssigneeID; a != "" {
			var role string
			var disabled bool
			err := t.QueryRow(`SELECT role, disabled FROM users WHERE id = $1 AND org_id = $2`, a, orgID).Scan(&role, &disabled)
			if !ValidID(a) || err != nil || !sotto.Role(role).IsStaff() || disabled {
				return nil, nil, sotto.Errorf(sotto.KindInvalid, "assignee_id must be an active staff member of this organization.")
			}
		}
		c.AssigneeID = *u.AssigneeID
	}
	ev := &sotto.Event{OrgID: orgID, Kind: sotto.EventConversationUpdated, PatientID: c.PatientID, ConversationID: c.ID,
		DepartmentID: c.DepartmentID, AssigneeID: c.AssigneeID, Category: c.Category, CreatedBy: actorID}
	if err := t.AppendEvent(ev); err != nil {
		return nil, nil, err
	}
	c.LastActivityAt = ev.CreatedAt
	_, err = t.Exec(`UPDATE conversations SET status = $1, assignee_id = $2, last_activity_at = $3, last_seq = $4 WHERE id = $5`,
		string(c.Status), nullable(c.AssigneeID), micros(c.LastActivityAt), ev.Seq, c.ID)
	if err != nil {
		return nil, nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return c, ev, nil
}

// ConversationByKey finds, inside a write, the conversation user
// createdBy of orgID created with idempotency key key. Callers: the
// creation core, before InsertConversation. Errors: KindNotFound,
// KindInternal.
func (t *Tx) ConversationByKey(orgID, createdBy, key string) (string, error) {
	var id string
	err := t.QueryRow(`SELECT id FROM conversations WHERE created_by = $1 AND create_key = $2 AND org_id = $3`, createdBy, key, orgID).Scan(&id)
	if err != nil {
		return "", notFound(err, "store.ConversationByKey", "Conversation not found.")
	}
	return id, nil
}
