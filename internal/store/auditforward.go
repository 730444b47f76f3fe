package store

import (
	"context"

	"sotto"
)

// AuditForward is one organization's position in forwarding its audit
// trail to a SIEM.
type AuditForward struct {
	OrgID  string
	Head   int64 // the org's last audit Seq (its chain head)
	Cursor int64 // the last Seq forwarded; 0 when none was
}

// Lag returns how many of the org's entries are not forwarded yet: Head
// minus Cursor, or 0 when the cursor is ahead of the head (a database
// restored from an older backup).
func (a AuditForward) Lag() int64 { return max(0, a.Head-a.Cursor) }

// AuditForwardState returns, for every organization with an audit trail
// (the system org included), its chain head and forwarding cursor, ordered
// by org id. It reads one row per organization. Callers: the SIEM forwarder
// (audit.Forwarder). Errors: KindInternal.
func (db *DB) AuditForwardState(ctx context.Context) ([]AuditForward, error) {
	const op = "store.AuditForwardState"
	rows, err := db.r.QueryContext(ctx, `SELECT h.org_id, h.seq, COALESCE(f.seq, 0)
		FROM audit_heads h LEFT JOIN audit_forward f ON f.org_id = h.org_id ORDER BY h.org_id`)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	var out []AuditForward
	for rows.Next() {
		var a AuditForward
		if err := rows.Scan(&a.OrgID, &a.Head, &a.Cursor); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}

// SetAuditForwarded records seq as the last audit Seq of orgID forwarded
// to the SIEM. It sets the cursor as given, so it can also move it back
// (to re-send) or reset it. Callers: the SIEM forwarder, inside its own
// Write function. Errors: KindInvalid (negative seq), KindInternal.
func (t *Tx) SetAuditForwarded(orgID string, seq int64) error {
	const op = "store.SetAuditForwarded"
	if seq < 0 {
		return &sotto.Error{Kind: sotto.KindInvalid, Op: op, Msg: "The audit cursor must not be negative."}
	}
	_, err := t.Exec(`INSERT INTO audit_forward (org_id, seq, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
		orgID, seq, micros(t.Now()))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}
