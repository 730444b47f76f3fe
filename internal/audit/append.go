package audit

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"sotto"
	"sotto/internal/store"
)

// Append validates e and appends it to its org's chain as part of tx, the
// transaction of the action it records. It sets e.ID (always a new
// UUIDv7) and e.At (the store clock when zero; otherwise truncated to
// microseconds, UTC) at once; the entry itself is written, with e.Seq,
// e.PrevHash and e.Hash, when the batch that holds tx commits: the chain
// of every organization in the batch is extended once (one head read, one
// insert of all the batch's entries, one head update), in caller order.
// e.Seq, e.PrevHash and e.Hash are set by the time the Write returns.
//
// Append is fail-closed: callers must return its error from their Write
// function; and if the entries cannot be written at commit, the whole
// batch fails, so no action is stored without its audit record. If the
// caller's function fails, its entries are dropped with its work.
//
// Callers: every package, inside its own store.DB.Write function. Errors:
// KindInvalid from Validate (e is unchanged except for UserAgent
// cleaning). The Write fails with KindInternal for database failures and
// for an org whose chain head is missing while entries exist (tampering;
// see Verify).
func Append(tx *store.Tx, e *sotto.AuditEvent) error {
	const op = "audit.Append"
	if e == nil {
		return invalid(op, "An audit event is required.")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e.ID = store.NewID()
	if e.At.IsZero() {
		e.At = tx.Now()
	} else {
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	e.Seq, e.PrevHash, e.Hash = 0, nil, nil
	tx.Stage(chain{}, &pending{dst: e, ev: *e})
	return nil
}

// pending is one staged entry: a copy to chain and write, and the
// caller's event to tell its place in the chain.
type pending struct {
	dst *sotto.AuditEvent
	ev  sotto.AuditEvent
}

// chain extends the organizations' hash chains with a batch's entries.
type chain struct{}

// appendRows is how many entries one INSERT statement writes.
const appendRows = 32

// indexEvery is how many entries may wait for the per-patient index
// (audit_patient_index, see migration 0020): the append that finds at
// least this many unindexed copies them in, sorted by patient, so that an
// index page takes many entries at once. Queries read the chain itself
// beyond the index, so this bounds their extra scan, not their accuracy.
const indexEvery = 256

// auditColumns are the columns of an audit entry, in insert order.
const auditColumns = `org_id, seq, id, at, actor_id, actor_role, action, target_type, target_id, patient_id, outcome, source_ip, user_agent, request_id, prev_hash, hash`

// Flush implements store.Flusher: per organization, in the order of the
// batch, it locks the chain head, chains the entries, inserts them and
// advances the head.
func (chain) Flush(tx *store.Tx, items []any) error {
	const op = "audit.Append"
	var orgs []string
	byOrg := map[string][]*pending{}
	for _, it := range items {
		p := it.(*pending)
		if _, ok := byOrg[p.ev.OrgID]; !ok {
			orgs = append(orgs, p.ev.OrgID)
		}
		byOrg[p.ev.OrgID] = append(byOrg[p.ev.OrgID], p)
	}
	for _, org := range orgs {
		ps := byOrg[org]
		seq, prev, indexed, err := lockHead(tx, org)
		if err != nil {
			return err
		}
		for i, p := range ps {
			p.ev.Seq, p.ev.PrevHash = seq+int64(i)+1, prev
			p.ev.Hash = EntryHash(&p.ev)
			prev = p.ev.Hash
		}
		for start := 0; start < len(ps); start += appendRows {
			if err := insertEntries(tx, ps[start:min(start+appendRows, len(ps))]); err != nil {
				return internal(op, "insert entry", err)
			}
		}
		last := ps[len(ps)-1].ev
		if last.Seq-indexed >= indexEvery {
			if err := indexPatients(tx, org, indexed, last.Seq); err != nil {
				return internal(op, "index entries", err)
			}
			indexed = last.Seq
		}
		res, err := tx.Exec(`UPDATE audit_heads SET seq = $1, hash = $2, indexed_seq = $3 WHERE org_id = $4 AND seq = $5`,
			last.Seq, last.Hash, indexed, org, seq)
		if err != nil {
			return internal(op, "advance head", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return internal(op, "advance head", errors.New("chain head moved during append"))
		}
		for _, p := range ps {
			p.dst.Seq, p.dst.PrevHash, p.dst.Hash = p.ev.Seq, p.ev.PrevHash, p.ev.Hash
		}
	}
	return nil
}

// indexPatients adds org's entries after seq from up to seq to in the
// per-patient index, in index order.
func indexPatients(tx *store.Tx, org string, from, to int64) error {
	_, err := tx.Exec(`INSERT INTO audit_patient_index (org_id, patient_id, seq)
		SELECT org_id, patient_id, seq FROM audit_events WHERE org_id = $1 AND seq > $2 AND seq <= $3 AND patient_id <> ''
		ORDER BY patient_id, seq`, org, from, to)
	return err
}

// insertEntries writes ps in one statement. On SQLite its parameters are
// plain "?": the driver looks each numbered parameter's name up in a list
// as long as the statement's, which made binding a many-row insert
// quadratic.
func insertEntries(tx *store.Tx, ps []*pending) error {
	positional := tx.Dialect() == store.SQLite
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events (` + auditColumns + `) VALUES `)
	args := make([]any, 0, 16*len(ps))
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range 16 {
			if c > 0 {
				b.WriteString(", ")
			}
			if positional {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(len(args)+c+1))
			}
		}
		b.WriteByte(')')
		e := &p.ev
		args = append(args, e.OrgID, e.Seq, e.ID, e.At.UnixMicro(), e.ActorID, e.ActorRole, e.Action,
			e.TargetType, e.TargetID, e.PatientID, e.Outcome, e.SourceIP, e.UserAgent, e.RequestID, e.PrevHash, e.Hash)
	}
	_, err := tx.Exec(b.String(), args...)
	return err
}

// lockHead returns the org's chain head (seq 0 and the genesis hash for a
// new chain) and how far its per-patient index reaches, locking its row on
// PostgreSQL until the transaction ends. SQLite has a single writer, so
// the transaction already excludes others.
func lockHead(tx *store.Tx, orgID string) (seq int64, hash []byte, indexed int64, err error) {
	const op = "audit.Append"
	q := `SELECT seq, hash, indexed_seq FROM audit_heads WHERE org_id = $1`
	if tx.Dialect() == store.Postgres {
		q += ` FOR UPDATE`
	}
	err = tx.QueryRow(q, orgID).Scan(&seq, &hash, &indexed)
	if err == nil {
		if seq < 0 || len(hash) != HashLen || indexed < 0 || indexed > seq {
			return 0, nil, 0, internal(op, "read head", errors.New("malformed chain head"))
		}
		return seq, hash, indexed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, nil, 0, internal(op, "read head", err)
	}
	// No head: create it. ON CONFLICT waits for, then yields to, a
	// concurrent transaction creating the same head; in that case re-read
	// (and on PostgreSQL lock) the head it committed.
	res, err := tx.Exec(`INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING`,
		orgID, GenesisHash())
	if err != nil {
		return 0, nil, 0, internal(op, "create head", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, nil, 0, internal(op, "create head", err)
	} else if n == 0 {
		if err := tx.QueryRow(q, orgID).Scan(&seq, &hash, &indexed); err != nil {
			return 0, nil, 0, internal(op, "read head", err)
		}
		if seq < 0 || len(hash) != HashLen || indexed < 0 || indexed > seq {
			return 0, nil, 0, internal(op, "read head", errors.New("malformed chain head"))
		}
		return seq, hash, indexed, nil
	}
	// This transaction created the head. Refuse to restart a chain whose
	// head was removed while entries remain: that would fork the trail.
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE org_id = $1 LIMIT 1) x`, orgID).Scan(&n); err != nil {
		return 0, nil, 0, internal(op, "check chain", err)
	}
	if n != 0 {
		return 0, nil, 0, internal(op, "read head", errors.New("chain head missing while entries exist"))
	}
	return 0, GenesisHash(), 0, nil
}
