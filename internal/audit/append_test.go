package audit_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestAppendConcurrentChains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		orgA, orgB := store.NewID(), store.NewID()
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			for _, org := range []string{orgA, orgB} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, i)) })
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		for _, org := range []string{orgA, orgB} {
			rep := mustVerify(t, db, org, nil)
			if !rep.OK || rep.Entries != n || rep.HeadSeq != n {
				t.Fatalf("report %+v, want OK with %d entries", rep, n)
			}
			es, err := audit.List(ctx, db, audit.Filter{OrgID: org, Limit: audit.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != n {
				t.Fatalf("listed %d entries, want %d", len(es), n)
			}
			for i, e := range es {
				if e.Seq != int64(i+1) || e.OrgID != org {
					t.Fatalf("entry %d has seq %d org %s", i, e.Seq, e.OrgID)
				}
			}
		}
	})
}

func TestAppendAssignsChainFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		org := store.NewID()
		e1, e2 := sampleEvent(org, 1), sampleEvent(org, 2)
		e2.At = time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
		before := db.Now()
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			if err := audit.Append(tx, e1); err != nil {
				return err
			}
			return audit.Append(tx, e2)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !store.ValidID(e1.ID) || e1.ID == e2.ID {
			t.Fatalf("ids %q %q", e1.ID, e2.ID)
		}
		if e1.Seq != 1 || e2.Seq != 2 {
			t.Fatalf("seqs %d %d", e1.Seq, e2.Seq)
		}
		if e1.At.Before(before) || e1.At.Location() != time.UTC {
			t.Fatalf("at %v, want store clock after %v", e1.At, before)
		}
		if want := time.Date(2026, 5, 1, 11, 0, 0, 123456000, time.UTC); !e2.At.Equal(want) || e2.At.Location() != time.UTC {
			t.Fatalf("given at stored as %v, want %v", e2.At, want)
		}
		if !bytes.Equal(e1.PrevHash, audit.GenesisHash()) || !bytes.Equal(e2.PrevHash, e1.Hash) {
			t.Fatal("prev hashes do not chain")
		}
		if !bytes.Equal(e2.Hash, audit.EntryHash(e2)) {
			t.Fatal("hash is not EntryHash")
		}
		got := entry(t, db, org, 2)
		if got.ID != e2.ID || !got.At.Equal(e2.At) || got.UserAgent != e2.UserAgent || !bytes.Equal(got.Hash, e2.Hash) {
			t.Fatalf("stored %+v\nwant %+v", got, e2)
		}
	})
}

// TestAppendFailClosed: when the audit record cannot be written, the
// action it records is not stored either.
func TestAppendFailClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		count := func() int {
			n, err := db.CountOrgs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		createOrg := func(bad bool) error {
			return db.Write(ctx, func(tx *store.Tx) error {
				o := &sotto.Org{Name: "Lakeside Clinic"}
				if err := tx.InsertOrg(o); err != nil {
					return err
				}
				e := &sotto.AuditEvent{OrgID: o.ID, ActorRole: sotto.AuditRoleSystem, Action: sotto.AuditOrgCreate,
					TargetType: "org", TargetID: o.ID, Outcome: sotto.AuditSuccess}
				if bad {
					e.Outcome = "maybe"
				}
				return audit.Append(tx, e)
			})
		}
		if err := createOrg(false); err != nil || count() != 1 {
			t.Fatalf("good create: err %v, %d orgs", err, count())
		}
		if err := createOrg(true); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("invalid audit event: err = %v, want invalid", err)
		}
		if count() != 1 {
			t.Fatal("org stored although its audit event was refused")
		}
		// A database failure (the trail's table is gone) fails the action too.
		rawExec(t, db, `DROP TABLE audit_events`)
		if err := createOrg(false); sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("broken audit table: err = %v, want internal", err)
		}
		if count() != 1 {
			t.Fatal("org stored although its audit event could not be written")
		}
	})
}

// TestAppendRollsBackWithCaller: an append whose caller fails later leaves
// no trace, even when other writers share the transaction (savepoints).
func TestAppendRollsBackWithCaller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		var wg sync.WaitGroup
		var mu sync.Mutex
		good := 0
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.Write(ctx, func(tx *store.Tx) error {
					if err := audit.Append(tx, sampleEvent(org, i)); err != nil {
						return err
					}
					if i%3 == 0 {
						return errors.New("caller fails after appending")
					}
					return nil
				})
				if err == nil {
					mu.Lock()
					good++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if good != 40 {
			t.Fatalf("%d writes succeeded, want 40", good)
		}
		rep := mustVerify(t, db, org, nil)
		if !rep.OK || rep.Entries != 40 || rep.HeadSeq != 40 {
			t.Fatalf("report %+v, want OK with 40 gap-free entries", rep)
		}
	})
}

func TestAppendRefusesMissingHead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		org := store.NewID()
		appendN(t, db, org, 3)
		rawExec(t, db, `DELETE FROM audit_heads WHERE org_id = $1`, org)
		err := db.Write(context.Background(), func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, 9)) })
		if sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("append without head: err = %v, want internal", err)
		}
	})
}

func TestAppendOnlyTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		org := store.NewID()
		appendN(t, db, org, 2)
		for _, q := range []string{
			`UPDATE audit_events SET action = 'patient.view' WHERE org_id = $1`,
			`DELETE FROM audit_events WHERE org_id = $1`,
		} {
			err := db.Write(context.Background(), func(tx *store.Tx) error {
				_, err := tx.Exec(q, org)
				return err
			})
			if err == nil {
				t.Errorf("%s succeeded on the append-only table", q)
			}
		}
		if rep := mustVerify(t, db, org, nil); !rep.OK || rep.Entries != 2 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestAppendPostgresConcurrentWriters runs appends of one org in many
// concurrent PostgreSQL transactions: the head row lock must serialize
// them, including the race to create the head.
func TestAppendPostgresConcurrentWriters(t *testing.T) {
	db := storetest.Postgres(t, store.Options{Writers: 8, MaxBatch: 1})
	ctx := context.Background()
	org := store.NewID()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, i)) })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if rep := mustVerify(t, db, org, nil); !rep.OK || rep.Entries != n {
		t.Fatalf("report %+v, want OK with %d entries", rep, n)
	}
}
