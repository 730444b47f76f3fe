package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// recorder is a Flusher that keeps what it was handed, or fails.
type recorder struct{ r *flushLog }

type flushLog struct {
	mu      sync.Mutex
	batches [][]any
	fail    bool
}

func (f recorder) Flush(tx *store.Tx, items []any) error {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if f.r.fail {
		return errors.New("flush refused")
	}
	f.r.batches = append(f.r.batches, items)
	return nil
}

// TestStageFlushesSuccessfulCallersOnce: staged items reach their Flusher
// once per batch, in caller order, only for callers that succeeded; a
// Flusher's failure fails every caller of the batch and stores nothing.
func TestStageFlushesSuccessfulCallersOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := &flushLog{}
		f := recorder{log}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = db.Write(ctx, func(tx *store.Tx) error {
					tx.Stage(f, i)
					tx.Stage(f, -i-1)
					if i%5 == 0 {
						return errors.New("caller fails")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		var got []int
		log.mu.Lock()
		for _, b := range log.batches {
			for j := 0; j < len(b); j += 2 {
				a, c := b[j].(int), b[j+1].(int)
				if c != -a-1 {
					t.Fatalf("a caller's items were split or reordered: %v", b)
				}
				got = append(got, a)
			}
		}
		log.mu.Unlock()
		if len(got) != 24 {
			t.Fatalf("flushed %d callers' items, want 24 (the 6 failing callers' dropped)", len(got))
		}
		for _, a := range got {
			if a%5 == 0 {
				t.Fatalf("a failed caller's item %d was flushed", a)
			}
		}

		log.mu.Lock()
		log.fail = true
		log.mu.Unlock()
		o := &sotto.Org{Name: "Test Clinic"}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOrg(o); err != nil {
				return err
			}
			tx.Stage(f, 1)
			return nil
		})
		if sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("a failing flush: err = %v, want internal", err)
		}
		if _, err := db.Org(ctx, o.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("the org was stored although the flush failed: %v", err)
		}
	})
}
