package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"math"

	"sotto"
	"sotto/internal/store"
)

// Reasons a Report gives for a broken chain.
const (
	ReasonHashMismatch       = "hash mismatch"      // an entry's fields do not produce its hash (edited)
	ReasonPrevHashMismatch   = "prev hash mismatch" // an entry does not link to the one before (reordered, inserted)
	ReasonSequenceGap        = "sequence gap"       // a seq is missing (deleted)
	ReasonHeadMismatch       = "head mismatch"      // audit_heads disagrees with the last entry (tail deleted or forged)
	ReasonCheckpointMismatch = "checkpoint mismatch"
	ReasonCheckpointSig      = "checkpoint signature invalid"
	ReasonMalformed          = "malformed entry" // a row that cannot be read as an entry
	// ReasonPatientIndex: the per-patient index disagrees with the chain up
	// to where it reaches (an index row removed, added or altered), which
	// could hide entries from a patient's accounting of disclosures.
	ReasonPatientIndex = "patient index mismatch"
)

// Report is the outcome of verifying one org's chain.
type Report struct {
	OrgID   string `json:"org_id"`
	Entries int64  `json:"entries"` // entries verified (before the break, if any)
	OK      bool   `json:"ok"`
	// BrokenAt is the seq of the first break, and Reason its Reason* text.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// HeadSeq and HeadHash (lowercase hex) are the verified chain head.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Checkpoint is the newest stored checkpoint (nil if none); all stored
	// checkpoints are checked against the chain and their own keys.
	Checkpoint  *Checkpoint `json:"checkpoint,omitempty"`
	Checkpoints int64       `json:"checkpoints"`
	// CheckpointVerified is true when the newest checkpoint's signature
	// verified under the public key the caller trusts. Without it, OK only
	// says the stored trail is self-consistent: someone able to rewrite the
	// whole database could have rebuilt it.
	CheckpointVerified bool `json:"checkpoint_verified"`
}

// pageSize bounds the rows Verify holds at once.
const pageSize = 2000

// Verify checks orgID's whole chain, its head and its checkpoints, reading
// the entries in pages (memory does not grow with the trail), and reports
// the first break. pub is the org's trusted raw Ed25519 public key; with a
// nil pub the checkpoints are only checked against the keys stored beside
// them and CheckpointVerified stays false. Entries appended while Verify
// runs are verified too.
//
// A broken chain is a Report with OK false, not an error. Callers: the
// `sotto audit verify` command and the compliance pages. Errors: KindInvalid
// (bad org id or public key), KindInternal (database failure).
func Verify(ctx context.Context, db *store.DB, orgID string, pub []byte) (Report, error) {
	const op = "audit.Verify"
	if !validOrgID(orgID) {
		return Report{}, invalid(op, "The organization id is not valid.")
	}
	if pub != nil && len(pub) != ed25519.PublicKeySize {
		return Report{}, invalid(op, "The public key is not an Ed25519 key.")
	}
	return verifyOrg(ctx, db, orgID, pub)
}

// VerifyAll verifies every org that has audit entries, heads or
// checkpoints, in org id order. keyFor returns an org's trusted public key
// (nil for none); keyFor itself may be nil. Callers: `sotto audit verify
// --all`. Errors: those of keyFor, KindInternal.
func VerifyAll(ctx context.Context, db *store.DB, keyFor func(orgID string) ([]byte, error)) ([]Report, error) {
	const op = "audit.VerifyAll"
	rows, err := db.Query(ctx, `SELECT org_id FROM audit_heads UNION SELECT org_id FROM audit_checkpoints
		UNION SELECT DISTINCT org_id FROM audit_events ORDER BY 1`)
	if err != nil {
		return nil, internal(op, "list orgs", err)
	}
	var orgs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, internal(op, "list orgs", err)
		}
		orgs = append(orgs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal(op, "list orgs", err)
	}
	out := make([]Report, 0, len(orgs))
	for _, org := range orgs {
		var pub []byte
		if keyFor != nil {
			if pub, err = keyFor(org); err != nil {
				return nil, err
			}
		}
		rep, err := verifyOrg(ctx, db, org, pub)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

func verifyOrg(ctx context.Context, db *store.DB, orgID string, pub []byte) (Report, error) {
	v := newVerifier(ctx, db, orgID)
	// Rows numbered below 1 lie outside the chain walk: any is forged.
	var stray sql.NullInt64
	if err := db.QueryRow(ctx, `SELECT MIN(seq) FROM audit_events WHERE org_id = $1 AND seq < 1`, orgID).Scan(&stray); err != nil {
		return v.rep, internal("audit.Verify", "read entries", err)
	}
	if stray.Valid {
		v.broken(stray.Int64, ReasonSequenceGap)
		return v.rep, nil
	}
	for v.rep.OK {
		if err := v.stream(math.MaxInt64); err != nil || !v.rep.OK {
			return v.rep, err
		}
		beyond, err := v.checkpoints()
		if err != nil || !v.rep.OK {
			return v.rep, err
		}
		// Every committed entry has seq <= the head read after it, so the
		// head is read last: a head ahead of the entries means missing
		// entries or new appends, one behind means forged entries.
		h, err := readHead(ctx, db, orgID)
		if err != nil {
			return v.rep, err
		}
		switch {
		case h.seq > v.last:
			if err := v.stream(math.MaxInt64); err != nil || !v.rep.OK {
				return v.rep, err
			}
			if v.last < h.seq {
				v.broken(v.last+1, ReasonHeadMismatch)
			}
			continue // re-check head and checkpoints after the new entries
		case h.seq < v.last:
			v.broken(h.seq+1, ReasonHeadMismatch)
		case !bytes.Equal(h.hash, v.prev):
			v.broken(h.seq, ReasonHeadMismatch)
		case beyond != nil: // listed before the head was read, so it cannot be newer than it
			v.broken(beyond.Seq, ReasonCheckpointMismatch)
		default:
			v.rep.HeadSeq, v.rep.HeadHash = h.seq, hex.EncodeToString(h.hash)
			if ok, err := patientIndexMatches(ctx, db, orgID, h.indexed); err != nil {
				return v.rep, err
			} else if !ok {
				v.broken(h.indexed, ReasonPatientIndex)
				return v.rep, nil
			}
			if cp := v.rep.Checkpoint; cp != nil && pub != nil {
				if VerifyCheckpoint(cp, pub) != nil {
					v.broken(cp.Seq, ReasonCheckpointSig)
				} else {
					v.rep.CheckpointVerified = true
				}
			}
			return v.rep, nil
		}
	}
	return v.rep, nil
}

// head is an org's chain head; a missing row reads as seq 0, genesis hash.
type head struct {
	seq     int64
	hash    []byte
	indexed int64 // how far the per-patient index reaches
}

func readHead(ctx context.Context, db *store.DB, orgID string) (head, error) {
	var h head
	err := db.QueryRow(ctx, `SELECT seq, hash, indexed_seq FROM audit_heads WHERE org_id = $1`, orgID).Scan(&h.seq, &h.hash, &h.indexed)
	if errors.Is(err, sql.ErrNoRows) {
		return head{seq: 0, hash: GenesisHash()}, nil
	}
	if err != nil {
		return head{}, internal("audit.readHead", "read head", err)
	}
	return h, nil
}

// patientIndexMatches reports whether org's per-patient index holds
// exactly the chain's entries about a patient up to seq indexed: as many
// rows as such entries, each naming an entry with that seq and patient,
// and none beyond indexed.
func patientIndexMatches(ctx context.Context, db *store.DB, orgID string, indexed int64) (bool, error) {
	var entries, rows, matching int64
	err := db.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND seq <= $2 AND patient_id <> ''),
		(SELECT COUNT(*) FROM audit_patient_index WHERE org_id = $1),
		(SELECT COUNT(*) FROM audit_patient_index i JOIN audit_events e
			ON e.org_id = i.org_id AND e.seq = i.seq AND e.patient_id = i.patient_id
			WHERE i.org_id = $1 AND i.seq <= $2)`, orgID, indexed).Scan(&entries, &rows, &matching)
	if err != nil {
		return false, internal("audit.Verify", "check patient index", err)
	}
	return entries == rows && rows == matching, nil
}

// verifier walks one org's chain forward from (last, prev).
type verifier struct {
	ctx      context.Context
	db       *store.DB
	org      string
	rep      Report
	last     int64  // seq of the last verified entry
	prev     []byte // its hash
	cpCursor int64  // seq of the last checked checkpoint
	h        hasher
}

func newVerifier(ctx context.Context, db *store.DB, orgID string) *verifier {
	return &verifier{ctx: ctx, db: db, org: orgID, rep: Report{OrgID: orgID, OK: true}, prev: GenesisHash()}
}

// startAt resumes verification after a trusted entry.
func (v *verifier) startAt(seq int64, hash []byte) {
	v.last, v.prev, v.cpCursor = seq, bytes.Clone(hash), seq
}

func (v *verifier) broken(seq int64, reason string) {
	v.rep.OK, v.rep.BrokenAt, v.rep.Reason = false, seq, reason
}

const entryCols = `seq, id, at, actor_id, actor_role, action, target_type, target_id, patient_id,
	outcome, source_ip, user_agent, request_id, prev_hash, hash`

// stream verifies the entries after v.last up to maxSeq, page by page,
// until none are left or the chain breaks.
func (v *verifier) stream(maxSeq int64) error {
	for v.rep.OK {
		n, err := v.page(maxSeq)
		if err != nil || n < pageSize {
			return err
		}
	}
	return nil
}

func (v *verifier) page(maxSeq int64) (int, error) {
	rows, err := v.db.Query(v.ctx, `SELECT `+entryCols+` FROM audit_events
		WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`, v.org, v.last, maxSeq, pageSize)
	if err != nil {
		return 0, internal("audit.Verify", "read entries", err)
	}
	defer rows.Close()
	n := 0
	e := sotto.AuditEvent{OrgID: v.org}
	for rows.Next() {
		n++
		var at int64
		if err := rows.Scan(&e.Seq, &e.ID, &at, &e.ActorID, &e.ActorRole, &e.Action, &e.TargetType, &e.TargetID,
			&e.PatientID, &e.Outcome, &e.SourceIP, &e.UserAgent, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
			v.broken(v.last+1, ReasonMalformed)
			return n, nil
		}
		e.At = fromMicros(at)
		switch sum := v.h.hash(&e); {
		case e.Seq != v.last+1:
			v.broken(v.last+1, ReasonSequenceGap)
		case !bytes.Equal(e.PrevHash, v.prev):
			v.broken(e.Seq, ReasonPrevHashMismatch)
		case !bytes.Equal(e.Hash, sum[:]):
			v.broken(e.Seq, ReasonHashMismatch)
		default:
			v.last, v.prev = e.Seq, append(v.prev[:0], e.Hash...)
			v.rep.Entries++
			continue
		}
		return n, nil
	}
	if err := rows.Err(); err != nil {
		return n, internal("audit.Verify", "read entries", err)
	}
	return n, nil
}

// checkpoints checks the stored checkpoints after v.cpCursor whose seq has
// been verified: each must match the entry at its seq and verify under its
// stored key. It returns the first checkpoint beyond v.last, if any.
func (v *verifier) checkpoints() (*Checkpoint, error) {
	const op = "audit.Verify"
	for v.rep.OK {
		rows, err := v.db.Query(v.ctx, `SELECT `+checkpointCols+` FROM audit_checkpoints
			WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT 256`, v.org, v.cpCursor)
		if err != nil {
			return nil, internal(op, "read checkpoints", err)
		}
		var cps []*Checkpoint
		for rows.Next() {
			cp, err := scanCheckpoint(rows.Scan, op)
			if err != nil {
				rows.Close()
				return nil, err
			}
			cps = append(cps, cp)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, internal(op, "read checkpoints", err)
		}
		for _, cp := range cps {
			if cp.Seq > v.last {
				return cp, nil
			}
			var hash []byte
			err := v.db.QueryRow(v.ctx, `SELECT hash FROM audit_events WHERE org_id = $1 AND seq = $2`, v.org, cp.Seq).Scan(&hash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, internal(op, "read checkpoint entry", err)
			}
			if !bytes.Equal(hash, cp.Hash) {
				v.broken(cp.Seq, ReasonCheckpointMismatch)
				return nil, nil
			}
			if VerifyCheckpoint(cp, cp.PublicKey) != nil {
				v.broken(cp.Seq, ReasonCheckpointSig)
				return nil, nil
			}
			v.rep.Checkpoint, v.rep.Checkpoints, v.cpCursor = cp, v.rep.Checkpoints+1, cp.Seq
		}
		if len(cps) < 256 {
			return nil, nil
		}
	}
	return nil, nil
}
