package audit_test

import (
	"context"
	"slices"
	"testing"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// headIndexed reads how far org's per-patient index reaches.
func headIndexed(t *testing.T, db *store.DB, org string) (seq, indexed int64) {
	t.Helper()
	if err := db.QueryRow(context.Background(), `SELECT seq, indexed_seq FROM audit_heads WHERE org_id = $1`, org).Scan(&seq, &indexed); err != nil {
		t.Fatal(err)
	}
	return seq, indexed
}

// seqs lists the seqs of es.
func seqs(es []*sotto.AuditEvent) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// A patient's entries come from the per-patient index as far as it reaches
// and from the chain beyond it: page by page, alone and with other filters,
// they are exactly the entries a scan of the whole trail finds.
func TestPatientQueriesSpanIndexAndChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		// Appends in batches of different sizes, so the index is filled
		// by several appends and stops short of the head.
		for _, n := range []int{100, 300, 7, 250, 90} {
			appendN(t, db, org, n)
		}
		head, indexed := headIndexed(t, db, org)
		if indexed == 0 || indexed >= head {
			t.Fatalf("head %d, index reaches %d: want an index that stops short of the head", head, indexed)
		}
		var all []*sotto.AuditEvent
		for e, err := range audit.Events(ctx, db, audit.Filter{OrgID: org}) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
		}
		if int64(len(all)) != head {
			t.Fatalf("%d entries, head %d", len(all), head)
		}
		for p := range 5 {
			patient := sampleEvent(org, p).PatientID
			for _, f := range []audit.Filter{
				{OrgID: org, PatientID: patient},
				{OrgID: org, PatientID: patient, Action: sotto.AuditMessageSend},
				{OrgID: org, PatientID: patient, ActorID: sampleEvent(org, 3).ActorID},
				{OrgID: org, PatientID: patient, AfterSeq: indexed - 3},
				{OrgID: org, PatientID: patient, AfterSeq: indexed + 1},
			} {
				var want []int64
				for _, e := range all {
					if e.Seq > f.AfterSeq && e.PatientID == f.PatientID && (f.Action == "" || e.Action == f.Action) && (f.ActorID == "" || e.ActorID == f.ActorID) {
						want = append(want, e.Seq)
					}
				}
				var got []int64
				for _, limit := range []int{7, audit.MaxLimit} {
					got = got[:0]
					page := f
					page.Limit = limit
					for {
						es, err := audit.List(ctx, db, page)
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, seqs(es)...)
						if len(es) < limit {
							break
						}
						page.AfterSeq = es[len(es)-1].Seq
					}
					if !slices.Equal(got, want) || len(want) == 0 {
						t.Fatalf("filter %+v, pages of %d: got %d entries, want %d (%v vs %v)", f, limit, len(got), len(want), got, want)
					}
				}
			}
		}
		if rep := mustVerify(t, db, org, nil); !rep.OK {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

// The per-patient index is append-only, and any change to it that could
// hide a patient's entries is reported by verification.
func TestVerifyDetectsPatientIndexTampering(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Without dropping its triggers (first: the cases below drop them), the
		// index refuses changes.
		org := store.NewID()
		appendN(t, db, org, 300)
		for _, q := range []string{`DELETE FROM audit_patient_index WHERE org_id = $1`, `UPDATE audit_patient_index SET seq = seq + 1000 WHERE org_id = $1`} {
			err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(q, org); return err })
			if err == nil {
				t.Errorf("%s succeeded on the append-only index", q)
			}
		}
		tamper := map[string]func(org string, indexed int64){
			"deleted row": func(org string, _ int64) {
				rawExec(t, db, `DELETE FROM audit_patient_index WHERE org_id = $1 AND seq = (SELECT MIN(seq) FROM audit_patient_index WHERE org_id = $1)`, org)
			},
			"forged row": func(org string, _ int64) {
				rawExec(t, db, `INSERT INTO audit_patient_index (org_id, patient_id, seq) VALUES ($1, $2, 3)`, org, "0190a0b0-1111-7000-8000-999999999999")
			},
			"row moved to another patient": func(org string, _ int64) {
				rawExec(t, db, `UPDATE audit_patient_index SET patient_id = $2 WHERE org_id = $1 AND seq = 1`, org, "0190a0b0-1111-7000-8000-999999999999")
			},
			"watermark moved back": func(org string, indexed int64) {
				rawExec(t, db, `UPDATE audit_heads SET indexed_seq = $2 WHERE org_id = $1`, org, indexed-10)
			},
		}
		for name, f := range tamper {
			t.Run(name, func(t *testing.T) {
				org := store.NewID()
				appendN(t, db, org, 300)
				_, indexed := headIndexed(t, db, org)
				if rep := mustVerify(t, db, org, nil); !rep.OK {
					t.Fatalf("before tampering: %+v", rep)
				}
				f(org, indexed)
				rep, err := audit.Verify(ctx, db, org, nil)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK || rep.Reason != audit.ReasonPatientIndex {
					t.Fatalf("after %s: %+v, want %q", name, rep, audit.ReasonPatientIndex)
				}
			})
		}
	})
}
