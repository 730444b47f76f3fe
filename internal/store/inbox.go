package store

import (
	"context"

	"sotto"
)

// ConversationFilter selects conversations of one org for an inbox, newest
// activity first. Empty fields do not filter.
type ConversationFilter struct {
	OrgID        string
	Status       sotto.Status
	DepartmentID string
	AssigneeID   string
	Unassigned   bool
	Category     sotto.Category
	PatientID    string
	Before       int64 // cursor: only conversations whose last activity Seq is below it
	Limit        int
}

// ConversationPage is one page of an inbox: the conversations whose
// metadata passed the caller's access check, decrypted, and the cursor for
// the next page (0 when there is none).
type ConversationPage struct {
	Conversations []*sotto.Conversation
	Next          int64
}

// maxInboxScan bounds how many rows one page may examine when many are
// filtered out by access control; the cursor then resumes the scan. A page
// scans four times its size (at least 100), up to this bound.
const maxInboxScan = 1000

// Conversations lists conversations matching f, newest activity first.
// allow is called with each conversation's metadata (no decrypted fields)
// and decides whether the caller may see it; only allowed ones are
// decrypted and returned. Errors: KindInternal.
func (db *DB) Conversations(ctx context.Context, f ConversationFilter, allow func(*sotto.Conversation) bool) (*ConversationPage, error) {
	const op = "store.Conversations"
	q := `SELECT ` + conversationColumns + ` FROM conversations WHERE org_id = $1 AND last_seq < $2`
	before := f.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	args := []any{f.OrgID, before}
	add := func(cond string, v any) {
		args = append(args, v)
		q += ` AND ` + cond + ` = ` + placeholder(len(args))
	}
	if f.Status != "" {
		add("status", string(f.Status))
	}
	if f.DepartmentID != "" {
		add("department_id", f.DepartmentID)
	}
	if f.AssigneeID != "" {
		add("assignee_id", f.AssigneeID)
	}
	if f.Unassigned {
		q += ` AND assignee_id IS NULL`
	}
	if f.Category != "" {
		add("category", string(f.Category))
	}
	if f.PatientID != "" {
		add("patient_id", f.PatientID)
	}
	// Scan a few pages' worth: enough when most rows pass allow (a queue),
	// bounded when few do (the cursor resumes), and not so many that a
	// server sends rows only to have them discarded.
	limit := max(f.Limit, 1)
	scanLimit := min(maxInboxScan, max(4*limit, 100))
	args = append(args, scanLimit)
	q += ` ORDER BY last_seq DESC LIMIT ` + placeholder(len(args))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	// Read the whole scan first and close the rows: allow may itself
	// query the store, and must not wait on a connection this holds.
	var scannedRows []*convRow
	for rows.Next() {
		r, err := scanConversation(rows)
		if err != nil {
			rows.Close()
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		scannedRows = append(scannedRows, r)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	var picked []*convRow
	next := int64(0)
	for _, r := range scannedRows {
		if allow(&r.c) {
			picked = append(picked, r)
		}
		next = r.lastSeq
		if len(picked) == limit {
			break
		}
	}
	if len(picked) < limit && len(scannedRows) < scanLimit {
		next = 0 // the scan reached the end
	}
	page := &ConversationPage{Conversations: make([]*sotto.Conversation, 0, len(picked)), Next: next}
	keys := db.newSealerCache(db.r, f.OrgID)
	ids := make([]string, len(picked))
	for i, r := range picked {
		ids[i] = r.c.PatientID
	}
	if err := keys.preload(ctx, ids); err != nil {
		return nil, err
	}
	for _, r := range picked {
		c, err := decryptConversation(ctx, keys, r)
		if sotto.ErrorCode(err) == "shredded" {
			continue
		}
		if err != nil {
			return nil, err
		}
		page.Conversations = append(page.Conversations, c)
	}
	return page, nil
}
