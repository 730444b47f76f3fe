package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestEventsAfter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if seq, err := db.LastEventSeq(ctx); err != nil || seq != 0 {
			t.Fatalf("empty log: LastEventSeq = %d, %v", seq, err)
		}
		if evs, err := db.EventsAfter(ctx, store.NewID(), 0, 10); err != nil || len(evs) != 0 {
			t.Fatalf("empty log: %v, %v", evs, err)
		}
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		var wantA []*sotto.Event
		for i := range 10 {
			for _, org := range []*sotto.Org{a, b} {
				e := &sotto.Event{OrgID: org.ID, Kind: "test.event", PatientID: store.NewID(), ConversationID: store.NewID(),
					DepartmentID: store.NewID(), AssigneeID: store.NewID(), Category: sotto.CategoryLabResult, Internal: i%2 == 0,
					MessageID: store.NewID(), UserID: store.NewID(), CreatedBy: fmt.Sprintf("creator-%d", i)}
				mustWrite(t, db, func(tx *store.Tx) error { return tx.AppendEvent(e) })
				if e.Seq <= 0 || e.CreatedAt.IsZero() {
					t.Fatalf("AppendEvent did not set seq/time: %+v", e)
				}
				if org == a {
					wantA = append(wantA, e)
				}
			}
		}
		// A sparse event: empty fields stay empty.
		sparse := &sotto.Event{OrgID: a.ID, Kind: "test.sparse"}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.AppendEvent(sparse) })
		wantA = append(wantA, sparse)

		got, err := db.EventsAfter(ctx, a.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(wantA) {
			t.Fatalf("org A events = %d, want %d", len(got), len(wantA))
		}
		for i, e := range got {
			if !sameEvent(e, wantA[i]) {
				t.Fatalf("event %d:\n got %+v\nwant %+v", i, e, wantA[i])
			}
		}
		// From a cursor, with a limit, in seq order.
		cursor := wantA[3].Seq
		got, err = db.EventsAfter(ctx, a.ID, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("after cursor: %d events", len(got))
		}
		for i, e := range got {
			if e.Seq != wantA[4+i].Seq || e.OrgID != a.ID {
				t.Fatalf("after cursor, event %d = seq %d, want %d", i, e.Seq, wantA[4+i].Seq)
			}
		}
		// Resuming after the last event gives nothing.
		if got, err := db.EventsAfter(ctx, a.ID, sparse.Seq, 100); err != nil || len(got) != 0 {
			t.Fatalf("after the last event: %v, %v", got, err)
		}
		// Org B sees only its own.
		got, err = db.EventsAfter(ctx, b.ID, 0, 100)
		if err != nil || len(got) != 10 {
			t.Fatalf("org B: %d events, %v", len(got), err)
		}
		for i, e := range got {
			if e.OrgID != b.ID || (i > 0 && e.Seq <= got[i-1].Seq) {
				t.Fatalf("org B event %d: %+v", i, e)
			}
		}
		if seq, err := db.LastEventSeq(ctx); err != nil || seq != sparse.Seq {
			t.Fatalf("LastEventSeq = %d, %v; want %d", seq, err, sparse.Seq)
		}
	})
}

// TestAfterCommitOrdered checks that ordered after-commit functions run in
// commit (seq) order across many concurrent writers, only for work that
// committed, and that a panicking one does not stop the writer.
func TestAfterCommitOrdered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Clinic")
		const n = 200
		var (
			mu       sync.Mutex
			recorded []int64
			wg       sync.WaitGroup
		)
		seqs := make([]int64, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.Write(ctx, func(tx *store.Tx) error {
					e := &sotto.Event{OrgID: o.ID, Kind: "test.ordered", CreatedBy: fmt.Sprint(i)}
					if err := tx.AppendEvent(e); err != nil {
						return err
					}
					seqs[i] = e.Seq
					tx.AfterCommitOrdered(func() {
						mu.Lock()
						recorded = append(recorded, e.Seq)
						mu.Unlock()
					})
					switch i % 10 {
					case 3:
						return errors.New("test: this caller fails") // rolled back: its hook must not run
					case 7:
						tx.AfterCommitOrdered(func() { panic("test: hook panics") })
						tx.AfterCommitOrdered(func() {
							mu.Lock()
							recorded = append(recorded, -e.Seq) // runs after its sibling panicked
							mu.Unlock()
						})
					}
					return nil
				})
			}()
		}
		close(start)
		wg.Wait()

		var committed []int64
		for i := range n {
			if i%10 == 3 {
				if errs[i] == nil {
					t.Fatalf("caller %d: want its error", i)
				}
				continue
			}
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			committed = append(committed, seqs[i])
		}
		slices.Sort(committed)
		mu.Lock()
		defer mu.Unlock()
		var positive []int64
		for j, s := range recorded {
			if s < 0 {
				// The hook registered after a panicking one still ran, right
				// after its own first hook.
				if j == 0 || recorded[j-1] != -s {
					t.Fatalf("hook after a panic ran out of place: %v", recorded)
				}
				continue
			}
			positive = append(positive, s)
		}
		for j := 1; j < len(positive); j++ {
			if positive[j] <= positive[j-1] {
				t.Fatalf("ordered hooks ran out of seq order at %d: %d after %d", j, positive[j], positive[j-1])
			}
		}
		if !slices.Equal(positive, committed) {
			t.Fatalf("hooks recorded %d seqs, want the %d committed ones (rolled-back callers' hooks must not run)", len(positive), len(committed))
		}
		// The committed events are exactly the recorded ones, in the log.
		evs, err := db.EventsAfter(ctx, o.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var logged []int64
		for _, e := range evs {
			logged = append(logged, e.Seq)
		}
		if !slices.Equal(logged, committed) {
			t.Fatalf("event log holds %d events, want %d", len(logged), len(committed))
		}
		// The writer survived the panicking hooks.
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.AppendEvent(&sotto.Event{OrgID: o.ID, Kind: "test.after"}) }); err != nil {
			t.Fatal(err)
		}
	})
}

// sameEvent compares two events field by field (times with Equal).
func sameEvent(a, b *sotto.Event) bool {
	x, y := *a, *b
	if !x.CreatedAt.Equal(y.CreatedAt) {
		return false
	}
	x.CreatedAt = y.CreatedAt
	return x == y
}
