package store

import (
	"context"
	"strings"

	"sotto"
)

// Staff read state. A conversation is unread for a staff member while it
// is not closed and has activity (its last_seq, bumped by every message
// and every status or assignment change) beyond what the member last
// opened. The rows hold ids and sequence numbers only.

// MarkConversationRead records that userID has seen conversation convID
// of orgID up to its current activity. It never moves backwards, so a
// late write cannot mark newer activity as read. Errors: KindInternal.
func (t *Tx) MarkConversationRead(orgID, userID, convID string) error {
	const op = "store.MarkConversationRead"
	_, err := t.Exec(`INSERT INTO conversation_reads (user_id, conversation_id, read_seq, read_at)
		SELECT $1, id, last_seq, $3 FROM conversations WHERE id = $2 AND org_id = $4
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at
		WHERE conversation_reads.read_seq < excluded.read_seq`, userID, convID, micros(t.Now()), orgID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}

// UnreadAmong returns which of the conversations ids are unread for
// userID (not closed, with activity the user has not opened). Errors:
// KindInternal.
func (db *DB) UnreadAmong(ctx context.Context, userID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	a := &sqlArgs{}
	u := a.add(userID)
	q := `SELECT c.id FROM conversations c WHERE c.id IN (` + a.list(ids) + `) AND c.status <> 'closed' AND ` + unreadBy(u)
	found, err := stringsQuery(ctx, db.r, q, a.vals...)
	if err != nil {
		return nil, err
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// UnreadScope says whose unread counts to compute and which conversations
// that user reaches: the same ids the access policy's scope rule uses
// (sotto.Decide), so that counts agree with the inbox lists.
type UnreadScope struct {
	OrgID         string
	UserID        string
	DepartmentIDs []string         // the user's departments; each is also a queue
	BreakGlass    []string         // patients under an active break-glass grant
	Categories    []sotto.Category // the categories the user's role may read
}

// UnreadCounts is the number of unread conversations in each inbox queue.
type UnreadCounts struct {
	All         int // every conversation the user reaches
	Mine        int
	Unassigned  int
	Urgent      int
	Departments map[string]int // department id → count
}

// UnreadCounts counts s's unread conversations per queue: assigned to the
// user, in each of the user's departments, unassigned, and urgent (the
// last two only where the user is in scope). Each queue is one indexed
// range over the org's conversations that are not closed (the partial
// indexes of migration 0009), with one primary-key probe of the user's
// read state per row: the cost follows the open conversations of a
// queue, not the org's history. Errors: KindInternal.
func (db *DB) UnreadCounts(ctx context.Context, s UnreadScope) (UnreadCounts, error) {
	const op = "store.UnreadCounts"
	out := UnreadCounts{Departments: map[string]int{}}
	for _, d := range s.DepartmentIDs {
		out.Departments[d] = 0
	}
	if len(s.Categories) == 0 {
		return out, nil
	}
	q, args := unreadCountsQuery(s)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return out, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var kind, dept string
		var n int
		if err := rows.Scan(&kind, &dept, &n); err != nil {
			return out, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		switch kind {
		case "all":
			out.All = n
		case "mine":
			out.Mine = n
		case "unassigned":
			out.Unassigned = n
		case "urgent":
			out.Urgent = n
		case "department":
			out.Departments[dept] = n
		}
	}
	if err := rows.Err(); err != nil {
		return out, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}

// unreadCountsQuery builds the UnreadCounts query for s (which has at
// least one category): one UNION ALL branch per queue.
func unreadCountsQuery(s UnreadScope) (string, []any) {
	a := &sqlArgs{}
	org, u := a.add(s.OrgID), a.add(s.UserID)
	cats := make([]string, len(s.Categories))
	for i, c := range s.Categories {
		cats[i] = string(c)
	}
	base := `FROM conversations c WHERE c.org_id = ` + org + ` AND c.status <> 'closed' AND c.category IN (` + a.list(cats) + `) AND ` + unreadBy(u)
	// The policy's scope rule (sotto.inScope), plus break-glass grants.
	scope := []string{`c.assignee_id = ` + u, `(c.patient_id IS NULL AND c.created_by = ` + u + `)`,
		`EXISTS (SELECT 1 FROM patient_care_team t WHERE t.patient_id = c.patient_id AND t.user_id = ` + u + `)`}
	var depts string
	if len(s.DepartmentIDs) > 0 {
		depts = a.list(s.DepartmentIDs)
		scope = append(scope, `c.department_id IN (`+depts+`)`,
			`EXISTS (SELECT 1 FROM patient_departments d WHERE d.patient_id = c.patient_id AND d.department_id IN (`+depts+`))`)
	}
	if len(s.BreakGlass) > 0 {
		scope = append(scope, `c.patient_id IN (`+a.list(s.BreakGlass)+`)`)
	}
	inScope := `(` + strings.Join(scope, ` OR `) + `)`
	parts := []string{
		`SELECT 'all', '', COUNT(*) ` + base + ` AND ` + inScope,
		`SELECT 'mine', '', COUNT(*) ` + base + ` AND c.assignee_id = ` + u,
		`SELECT 'unassigned', '', COUNT(*) ` + base + ` AND c.assignee_id IS NULL AND ` + inScope,
		`SELECT 'urgent', '', COUNT(*) ` + base + ` AND c.category = 'urgent' AND ` + inScope,
	}
	if depts != "" {
		parts = append(parts, `SELECT 'department', c.department_id, COUNT(*) `+base+` AND c.department_id IN (`+depts+`) GROUP BY c.department_id`)
	}
	return strings.Join(parts, ` UNION ALL `), a.vals
}

// unreadBy is the condition "conversation c has activity user (a
// placeholder) has not read".
func unreadBy(user string) string {
	return `NOT EXISTS (SELECT 1 FROM conversation_reads r WHERE r.user_id = ` + user + ` AND r.conversation_id = c.id AND r.read_seq >= c.last_seq)`
}

// sqlArgs collects positional arguments for a query built in pieces.
type sqlArgs struct{ vals []any }

// add appends v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return placeholder(len(a.vals))
}

// list appends every value of vs and returns their placeholders, comma
// separated (vs must not be empty).
func (a *sqlArgs) list(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = a.add(v)
	}
	return strings.Join(ph, ", ")
}
