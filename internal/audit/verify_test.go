package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// rewriteFrom edits entry from with edit and then, like a careful attacker,
// recomputes the hashes of it and every later entry and moves the head.
func rewriteFrom(t *testing.T, db *store.DB, org string, from int64, edit func(e *sotto.AuditEvent)) {
	t.Helper()
	es, err := audit.List(context.Background(), db, audit.Filter{OrgID: org, AfterSeq: from - 1, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	edit(es[0])
	for i, e := range es {
		if i > 0 {
			e.PrevHash = es[i-1].Hash
		}
		e.Hash = audit.EntryHash(e)
	}
	rawWrite(t, db, func(tx *store.Tx) error {
		for _, e := range es {
			if _, err := tx.Exec(`UPDATE audit_events SET action = $1, actor_id = $2, prev_hash = $3, hash = $4
				WHERE org_id = $5 AND seq = $6`, e.Action, e.ActorID, e.PrevHash, e.Hash, org, e.Seq); err != nil {
				return err
			}
		}
		last := es[len(es)-1]
		_, err := tx.Exec(`UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3`, last.Seq, last.Hash, org)
		return err
	})
}

// forge inserts a self-consistent entry linking to the entry before seq.
func forge(t *testing.T, db *store.DB, org string, seq int64, moveHead bool) {
	t.Helper()
	insertForged(t, db, org, seq, entry(t, db, org, seq-1).Hash, moveHead)
}

// forgeAt inserts an entry at seq (below 1) with a genesis prev hash.
func forgeAt(t *testing.T, db *store.DB, org string, seq int64) {
	t.Helper()
	insertForged(t, db, org, seq, audit.GenesisHash(), false)
}

func insertForged(t *testing.T, db *store.DB, org string, seq int64, prev []byte, moveHead bool) {
	t.Helper()
	e := sampleEvent(org, 999)
	e.Seq, e.ID, e.At, e.PrevHash = seq, store.NewID(), db.Now(), prev
	e.Hash = audit.EntryHash(e)
	rawWrite(t, db, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO audit_events (org_id, seq, id, at, actor_id, actor_role, action, target_type,
			target_id, patient_id, outcome, source_ip, user_agent, request_id, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			e.OrgID, e.Seq, e.ID, e.At.UnixMicro(), e.ActorID, e.ActorRole, e.Action, e.TargetType,
			e.TargetID, e.PatientID, e.Outcome, e.SourceIP, e.UserAgent, e.RequestID, e.PrevHash, e.Hash)
		if err != nil || !moveHead {
			return err
		}
		_, err = tx.Exec(`UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3`, e.Seq, e.Hash, org)
		return err
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		pub := signer.PublicKey()
		for _, tc := range []struct {
			name     string
			tamper   func(t *testing.T, org string)
			brokenAt int64
			reason   string
		}{
			{"untouched", func(*testing.T, string) {}, 0, ""},
			{"edit action", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_events SET action = 'message.read' WHERE org_id = $1 AND seq = 37`, org)
			}, 37, audit.ReasonHashMismatch},
			{"edit actor", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_events SET actor_id = $2 WHERE org_id = $1 AND seq = 37`, org, store.NewID())
			}, 37, audit.ReasonHashMismatch},
			{"edit time", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_events SET at = at + 1 WHERE org_id = $1 AND seq = 37`, org)
			}, 37, audit.ReasonHashMismatch},
			{"edit stored hash", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_events SET hash = $2 WHERE org_id = $1 AND seq = 37`, org, make([]byte, 32))
			}, 37, audit.ReasonHashMismatch},
			{"delete entry", func(t *testing.T, org string) {
				rawExec(t, db, `DELETE FROM audit_events WHERE org_id = $1 AND seq = 50`, org)
			}, 50, audit.ReasonSequenceGap},
			{"move entry to another org", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_events SET org_id = $2 WHERE org_id = $1 AND seq = 50`, org, store.NewID())
			}, 50, audit.ReasonSequenceGap},
			{"delete last entry", func(t *testing.T, org string) {
				rawExec(t, db, `DELETE FROM audit_events WHERE org_id = $1 AND seq = 100`, org)
			}, 100, audit.ReasonHeadMismatch},
			{"delete head", func(t *testing.T, org string) {
				rawExec(t, db, `DELETE FROM audit_heads WHERE org_id = $1`, org)
			}, 1, audit.ReasonHeadMismatch},
			{"forged entry after head", func(t *testing.T, org string) { forge(t, db, org, 101, false) },
				101, audit.ReasonHeadMismatch},
			{"forged entry before the first", func(t *testing.T, org string) { forgeAt(t, db, org, 0) },
				0, audit.ReasonSequenceGap},
			{"reorder", func(t *testing.T, org string) {
				rawWrite(t, db, func(tx *store.Tx) error {
					for _, s := range [][2]int{{20, -1}, {21, 20}, {-1, 21}} {
						if _, err := tx.Exec(`UPDATE audit_events SET seq = $1 WHERE org_id = $2 AND seq = $3`, s[1], org, s[0]); err != nil {
							return err
						}
					}
					return nil
				})
			}, 20, audit.ReasonPrevHashMismatch},
			{"insert in the middle", func(t *testing.T, org string) {
				rawWrite(t, db, func(tx *store.Tx) error { // shift 51..100 up by one, top down
					for s := 100; s >= 51; s-- {
						if _, err := tx.Exec(`UPDATE audit_events SET seq = seq + 1 WHERE org_id = $1 AND seq = $2`, org, s); err != nil {
							return err
						}
					}
					_, err := tx.Exec(`UPDATE audit_heads SET seq = 101 WHERE org_id = $1`, org)
					return err
				})
				forge(t, db, org, 51, false)
			}, 52, audit.ReasonPrevHashMismatch},
			// A careful attacker recomputes every later hash and the head:
			// only the signed checkpoint at seq 100 still catches it.
			{"rewrite chain and head", func(t *testing.T, org string) {
				rewriteFrom(t, db, org, 37, func(e *sotto.AuditEvent) { e.ActorID = store.NewID() })
			}, 100, audit.ReasonCheckpointMismatch},
			{"truncate and rewind head", func(t *testing.T, org string) {
				rawExec(t, db, `DELETE FROM audit_events WHERE org_id = $1 AND seq > 90`, org)
				rewriteFrom(t, db, org, 90, func(*sotto.AuditEvent) {})
			}, 100, audit.ReasonCheckpointMismatch},
			{"forged entry and head", func(t *testing.T, org string) {
				rawExec(t, db, `DELETE FROM audit_events WHERE org_id = $1 AND seq = 100`, org)
				forge(t, db, org, 100, true)
			}, 100, audit.ReasonCheckpointMismatch},
			{"checkpoint signature", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_checkpoints SET signature = $2 WHERE org_id = $1`, org, make([]byte, 64))
			}, 100, audit.ReasonCheckpointSig},
			{"checkpoint hash", func(t *testing.T, org string) {
				rawExec(t, db, `UPDATE audit_checkpoints SET hash = $2 WHERE org_id = $1`, org, make([]byte, 32))
			}, 100, audit.ReasonCheckpointMismatch},
			{"checkpoint re-signed by another key", func(t *testing.T, org string) {
				cp, err := audit.LatestCheckpoint(ctx, db, org)
				if err != nil {
					t.Fatal(err)
				}
				other := newSigner(t)
				sig, _ := other.Sign(cp.Message())
				rawExec(t, db, `UPDATE audit_checkpoints SET signature = $2, public_key = $3 WHERE org_id = $1`,
					org, sig, []byte(other.PublicKey()))
			}, 100, audit.ReasonCheckpointSig},
		} {
			t.Run(tc.name, func(t *testing.T) {
				org := store.NewID()
				appendN(t, db, org, 100)
				if _, err := audit.CreateCheckpoint(ctx, db, org, signer); err != nil {
					t.Fatal(err)
				}
				tc.tamper(t, org)
				rep := mustVerify(t, db, org, pub)
				if rep.OK != (tc.reason == "") || rep.BrokenAt != tc.brokenAt || rep.Reason != tc.reason {
					t.Fatalf("report OK=%v broken at %d (%q), want broken at %d (%q)\n%+v",
						rep.OK, rep.BrokenAt, rep.Reason, tc.brokenAt, tc.reason, rep)
				}
				if rep.CheckpointVerified != rep.OK {
					t.Fatalf("CheckpointVerified = %v with OK = %v", rep.CheckpointVerified, rep.OK)
				}
				if tc.reason == "" && (rep.Entries != 100 || rep.HeadSeq != 100 || rep.Checkpoints != 1 || rep.Checkpoint.Seq != 100) {
					t.Fatalf("untouched chain report %+v", rep)
				}
				if tc.reason == audit.ReasonHashMismatch && rep.Entries != tc.brokenAt-1 {
					t.Fatalf("entries verified = %d, want %d", rep.Entries, tc.brokenAt-1)
				}
			})
		}
	})
}

func TestVerifyTrust(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		if rep := mustVerify(t, db, org, nil); !rep.OK || rep.Entries != 0 || rep.HeadHash != hex.EncodeToString(audit.GenesisHash()) {
			t.Fatalf("empty trail report %+v", rep)
		}
		appendN(t, db, org, 5)
		// No checkpoint yet: consistent, but nothing vouches for it.
		if rep := mustVerify(t, db, org, newSigner(t).PublicKey()); !rep.OK || rep.CheckpointVerified || rep.Checkpoint != nil {
			t.Fatalf("report without checkpoint %+v", rep)
		}
		signer := newSigner(t)
		if _, err := audit.CreateCheckpoint(ctx, db, org, signer); err != nil {
			t.Fatal(err)
		}
		if rep := mustVerify(t, db, org, nil); !rep.OK || rep.CheckpointVerified {
			t.Fatalf("report with nil key %+v: a stored key is not a trusted one", rep)
		}
		if rep := mustVerify(t, db, org, signer.PublicKey()); !rep.OK || !rep.CheckpointVerified {
			t.Fatalf("report with the org key %+v", rep)
		}
		// Verified under another trusted key, the checkpoint fails.
		if rep := mustVerify(t, db, org, newSigner(t).PublicKey()); rep.OK || rep.Reason != audit.ReasonCheckpointSig {
			t.Fatalf("report with a wrong key %+v", rep)
		}
		if _, err := audit.Verify(ctx, db, "not-an-org", nil); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("bad org: err = %v", err)
		}
		if _, err := audit.Verify(ctx, db, org, []byte{1, 2}); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("bad key: err = %v", err)
		}
	})
}

// TestVerifyPages crosses Verify's page boundaries (2000 entries a page).
func TestVerifyPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		org := store.NewID()
		head := buildChain(t, db, org, 4500)
		rep := mustVerify(t, db, org, nil)
		if !rep.OK || rep.Entries != 4500 || rep.HeadHash != hex.EncodeToString(head) {
			t.Fatalf("report %+v", rep)
		}
		rawExec(t, db, `DELETE FROM audit_events WHERE org_id = $1 AND seq = 4001`, org)
		if rep := mustVerify(t, db, org, nil); rep.OK || rep.BrokenAt != 4001 || rep.Reason != audit.ReasonSequenceGap {
			t.Fatalf("report %+v, want sequence gap at 4001", rep)
		}
	})
}

// TestVerifyDuringAppends: entries appended while Verify runs are not
// mistaken for tampering.
func TestVerifyDuringAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		signer := newSigner(t)
		appendN(t, db, org, 50)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, i)) })
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				if i%25 == 0 {
					if _, err := audit.CreateCheckpoint(ctx, db, org, signer); err != nil {
						t.Errorf("checkpoint: %v", err)
						return
					}
				}
			}
		}()
		for range 20 {
			if rep := mustVerify(t, db, org, signer.PublicKey()); !rep.OK {
				close(stop)
				wg.Wait()
				t.Fatalf("verify during appends: %+v", rep)
			}
		}
		close(stop)
		wg.Wait()
	})
}

func TestVerifyAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		signers := map[string]edSigner{}
		var orgs []string
		for range 3 {
			org := store.NewID()
			orgs = append(orgs, org)
			signers[org] = newSigner(t)
			appendN(t, db, org, 10)
			if _, err := audit.CreateCheckpoint(context.Background(), db, org, signers[org]); err != nil {
				t.Fatal(err)
			}
		}
		rawExec(t, db, `UPDATE audit_events SET outcome = 'denied' WHERE org_id = $1 AND seq = 4`, orgs[1])
		reps, err := audit.VerifyAll(context.Background(), db, func(org string) ([]byte, error) {
			return signers[org].PublicKey(), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 3 {
			t.Fatalf("%d reports, want 3", len(reps))
		}
		for _, rep := range reps {
			tampered := rep.OrgID == orgs[1]
			if rep.OK == tampered || (tampered && rep.BrokenAt != 4) || (!tampered && !rep.CheckpointVerified) {
				t.Errorf("report %+v (tampered %v)", rep, tampered)
			}
		}
	})
}

func TestCheckpointJSONAndMessage(t *testing.T) {
	cp := &audit.Checkpoint{OrgID: "0190f3c2-0000-7000-8000-000000000001", Seq: 42, Hash: bytes.Repeat([]byte{0xab}, 32),
		SignedAt: fixedEvent().At}
	want := "sotto.audit.checkpoint.v1\norg 0190f3c2-0000-7000-8000-000000000001\nseq 42\nhash " +
		hex.EncodeToString(cp.Hash) + "\nsigned_at 1773500966535897\n"
	if got := string(cp.Message()); got != want {
		t.Fatalf("message:\n%s\nwant:\n%s", got, want)
	}
	s := newSigner(t)
	cp.Signature, _ = s.Sign(cp.Message())
	cp.PublicKey = s.PublicKey()
	if !ed25519.Verify(s.PublicKey(), []byte(want), cp.Signature) {
		t.Fatal("signature is not over the documented message")
	}
	b, err := cp.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back audit.Checkpoint
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyCheckpoint(&back, s.PublicKey()); err != nil || back.Seq != 42 || !back.SignedAt.Equal(cp.SignedAt) {
		t.Fatalf("round trip %s: %+v, %v", b, back, err)
	}
	back.Seq++
	if err := audit.VerifyCheckpoint(&back, s.PublicKey()); sotto.ErrorKind(err) != sotto.KindInvalid {
		t.Fatalf("altered checkpoint verified: %v", err)
	}
}
