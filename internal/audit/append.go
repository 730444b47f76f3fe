package audit

import (
	"database/sql"
	"errors"
	"time"

	"sotto"
	"sotto/internal/store"
)

// Append validates e and appends it to its org's chain inside tx, the
// transaction of the action it records. It sets e.ID (always a new
// UUIDv7), e.At (the store clock when zero; otherwise truncated to
// microseconds, UTC), e.Seq, e.PrevHash and e.Hash, inserts the entry and
// advances the org's chain head.
//
// Append is fail-closed: callers must return its error from their Write
// function so that the action rolls back with its missing audit record.
// On error, and if the surrounding transaction is rolled back, the fields
// Append set on e describe nothing stored.
//
// Callers: every package, inside its own store.DB.Write function. Errors:
// KindInvalid from Validate (e is unchanged except for UserAgent cleaning),
// KindInternal for database failures and for an org whose chain head is
// missing while entries exist (tampering; see Verify).
func Append(tx *store.Tx, e *sotto.AuditEvent) error {
	const op = "audit.Append"
	if e == nil {
		return invalid(op, "An audit event is required.")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	seq, prev, err := lockHead(tx, e.OrgID)
	if err != nil {
		return err
	}
	ev := *e
	ev.ID = store.NewID()
	if ev.At.IsZero() {
		ev.At = tx.Now()
	} else {
		ev.At = ev.At.UTC().Truncate(time.Microsecond)
	}
	ev.Seq = seq + 1
	ev.PrevHash = prev
	ev.Hash = EntryHash(&ev)
	_, err = tx.Exec(`INSERT INTO audit_events (org_id, seq, id, at, actor_id, actor_role, action,
		target_type, target_id, patient_id, outcome, source_ip, user_agent, request_id, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		ev.OrgID, ev.Seq, ev.ID, ev.At.UnixMicro(), ev.ActorID, ev.ActorRole, ev.Action,
		ev.TargetType, ev.TargetID, ev.PatientID, ev.Outcome, ev.SourceIP, ev.UserAgent, ev.RequestID,
		ev.PrevHash, ev.Hash)
	if err != nil {
		return internal(op, "insert entry", err)
	}
	res, err := tx.Exec(`UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3 AND seq = $4`,
		ev.Seq, ev.Hash, ev.OrgID, seq)
	if err != nil {
		return internal(op, "advance head", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return internal(op, "advance head", errors.New("chain head moved during append"))
	}
	*e = ev
	return nil
}

// lockHead returns the org's chain head (seq 0 and the genesis hash for a
// new chain), locking its row on PostgreSQL until the transaction ends.
// SQLite has a single writer, so the transaction already excludes others.
func lockHead(tx *store.Tx, orgID string) (int64, []byte, error) {
	const op = "audit.Append"
	q := `SELECT seq, hash FROM audit_heads WHERE org_id = $1`
	if tx.Dialect() == store.Postgres {
		q += ` FOR UPDATE`
	}
	var seq int64
	var hash []byte
	err := tx.QueryRow(q, orgID).Scan(&seq, &hash)
	if err == nil {
		if seq < 0 || len(hash) != HashLen {
			return 0, nil, internal(op, "read head", errors.New("malformed chain head"))
		}
		return seq, hash, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, nil, internal(op, "read head", err)
	}
	// No head: create it. ON CONFLICT waits for, then yields to, a
	// concurrent transaction creating the same head; in that case re-read
	// (and on PostgreSQL lock) the head it committed.
	res, err := tx.Exec(`INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING`,
		orgID, GenesisHash())
	if err != nil {
		return 0, nil, internal(op, "create head", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, nil, internal(op, "create head", err)
	} else if n == 0 {
		if err := tx.QueryRow(q, orgID).Scan(&seq, &hash); err != nil {
			return 0, nil, internal(op, "read head", err)
		}
		if seq < 0 || len(hash) != HashLen {
			return 0, nil, internal(op, "read head", errors.New("malformed chain head"))
		}
		return seq, hash, nil
	}
	// This transaction created the head. Refuse to restart a chain whose
	// head was removed while entries remain: that would fork the trail.
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE org_id = $1 LIMIT 1) x`, orgID).Scan(&n); err != nil {
		return 0, nil, internal(op, "check chain", err)
	}
	if n != 0 {
		return 0, nil, internal(op, "read head", errors.New("chain head missing while entries exist"))
	}
	return 0, GenesisHash(), nil
}
