package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// edSigner is the test adapter from a raw ed25519 key to audit.Signer.
type edSigner struct{ priv ed25519.PrivateKey }

func newSigner(tb testing.TB) edSigner {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return edSigner{priv}
}

func (s edSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }
func (s edSigner) PublicKey() ed25519.PublicKey    { return s.priv.Public().(ed25519.PublicKey) }

// sampleEvent returns a valid event of org, varied by i.
func sampleEvent(org string, i int) *sotto.AuditEvent {
	actions := []string{sotto.AuditPatientView, sotto.AuditMessageSend, sotto.AuditMessageRead, sotto.AuditSignIn}
	return &sotto.AuditEvent{
		OrgID:      org,
		ActorID:    fmt.Sprintf("0190a0b0-0000-7000-8000-%012d", i%7),
		ActorRole:  string(sotto.RoleNurse),
		Action:     actions[i%len(actions)],
		TargetType: "patient",
		TargetID:   fmt.Sprintf("0190a0b0-1111-7000-8000-%012d", i%5),
		PatientID:  fmt.Sprintf("0190a0b0-1111-7000-8000-%012d", i%5),
		Outcome:    sotto.AuditSuccess,
		SourceIP:   "192.0.2." + strconv.Itoa(i%250+1),
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) sotto-test/" + strconv.Itoa(i),
		RequestID:  "req-" + strconv.Itoa(i),
	}
}

// appendN appends n sample events to org, in one Write per chunk of 500.
func appendN(tb testing.TB, db *store.DB, org string, n int) {
	tb.Helper()
	for done := 0; done < n; {
		chunk := min(500, n-done)
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			for i := range chunk {
				if err := audit.Append(tx, sampleEvent(org, done+i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("append: %v", err)
		}
		done += chunk
	}
}

// buildChain writes n valid entries of org straight into the tables with
// multi-row INSERTs, computing the chain in Go, and sets the head: a fast
// way to make large trails. It returns the head hash.
func buildChain(tb testing.TB, db *store.DB, org string, n int) []byte {
	tb.Helper()
	const rowsPerStmt, rowsPerWrite = 500, 50_000
	prev := audit.GenesisHash()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := 1; seq <= n; {
		end := min(seq+rowsPerWrite, n+1)
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			for s := seq; s < end; {
				k := min(rowsPerStmt, end-s)
				var q strings.Builder
				q.WriteString(`INSERT INTO audit_events (org_id, seq, id, at, actor_id, actor_role, action, target_type,
					target_id, patient_id, outcome, source_ip, user_agent, request_id, prev_hash, hash) VALUES `)
				args := make([]any, 0, k*16)
				for j := range k {
					e := sampleEvent(org, s+j)
					e.Seq, e.ID, e.At, e.PrevHash = int64(s+j), store.NewID(), at.Add(time.Duration(s+j)*time.Millisecond), prev
					e.Hash = audit.EntryHash(e)
					prev = e.Hash
					if j > 0 {
						q.WriteString(",")
					}
					q.WriteString("(")
					for c := range 16 {
						if c > 0 {
							q.WriteString(",")
						}
						if tx.Dialect() == store.SQLite {
							q.WriteString("?") // positional: modernc binds $N in quadratic time
						} else {
							q.WriteString("$" + strconv.Itoa(len(args)+c+1))
						}
					}
					q.WriteString(")")
					args = append(args, e.OrgID, e.Seq, e.ID, e.At.UnixMicro(), e.ActorID, e.ActorRole, e.Action, e.TargetType,
						e.TargetID, e.PatientID, e.Outcome, e.SourceIP, e.UserAgent, e.RequestID, e.PrevHash, e.Hash)
				}
				if _, err := tx.Exec(q.String(), args...); err != nil {
					return err
				}
				s += k
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("build chain: %v", err)
		}
		seq = end
	}
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, $2, $3)
			ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, org, n, prev)
		return err
	})
	if err != nil {
		tb.Fatalf("build chain head: %v", err)
	}
	return prev
}

// rawWrite runs statements with write access, as an attacker with database
// access would, after dropping the append-only triggers.
func rawWrite(tb testing.TB, db *store.DB, f func(tx *store.Tx) error) {
	tb.Helper()
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		for _, trg := range []string{"audit_events_no_update", "audit_events_no_delete", "audit_patient_index_no_update", "audit_patient_index_no_delete"} {
			q := "DROP TRIGGER IF EXISTS " + trg
			if tx.Dialect() == store.Postgres {
				q += " ON " + strings.TrimSuffix(strings.TrimSuffix(trg, "_no_update"), "_no_delete")
			}
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return f(tx)
	})
	if err != nil {
		tb.Fatalf("raw write: %v", err)
	}
}

// rawExec runs one statement through rawWrite.
func rawExec(tb testing.TB, db *store.DB, q string, args ...any) {
	tb.Helper()
	rawWrite(tb, db, func(tx *store.Tx) error {
		_, err := tx.Exec(q, args...)
		return err
	})
}

// entry reads one stored entry of org by seq.
func entry(tb testing.TB, db *store.DB, org string, seq int64) *sotto.AuditEvent {
	tb.Helper()
	es, err := audit.List(context.Background(), db, audit.Filter{OrgID: org, AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(es) != 1 || es[0].Seq != seq {
		tb.Fatalf("entry %d: %v (%d found)", seq, err, len(es))
	}
	return es[0]
}

func mustVerify(tb testing.TB, db *store.DB, org string, pub []byte) audit.Report {
	tb.Helper()
	rep, err := audit.Verify(context.Background(), db, org, pub)
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return rep
}
