package audit_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

var verifyEntries = flag.Int("audit.verify-entries", 1_000_000, "trail length BenchmarkVerify builds")

// BenchmarkAppend measures one Append per Write: serially (one commit and
// fsync each) and from parallel goroutines (group commit batches them).
func BenchmarkAppend(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		open := func(b *testing.B) *store.DB {
			if dialect == "sqlite" {
				return storetest.SQLite(b, store.Options{})
			}
			return storetest.Postgres(b, store.Options{})
		}
		b.Run(dialect+"/serial", func(b *testing.B) {
			db, org, ctx := open(b), store.NewID(), context.Background()
			i := 0
			for b.Loop() {
				i++
				if err := db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, i)) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
		b.Run(dialect+"/parallel", func(b *testing.B) {
			db, org, ctx := open(b), store.NewID(), context.Background()
			b.SetParallelism(16)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if err := db.Write(ctx, func(tx *store.Tx) error { return audit.Append(tx, sampleEvent(org, i)) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
			b.StopTimer()
			if rep, err := audit.Verify(ctx, db, org, nil); err != nil || !rep.OK || rep.Entries != int64(b.N) {
				b.Fatalf("after parallel appends: %+v, %v", rep, err)
			}
		})
	}
}

// BenchmarkVerify times Verify over a trail of -audit.verify-entries
// entries (default 1,000,000). The trail is built once, outside the timed
// sub-benchmark; benchmarks run only when -bench selects them.
func BenchmarkVerify(b *testing.B) {
	n := *verifyEntries
	for _, dialect := range []string{"sqlite", "postgres"} {
		var db *store.DB
		if dialect == "sqlite" {
			db = storetest.SQLite(b, store.Options{})
		} else if db = postgresOrNil(b); db == nil {
			continue
		}
		org := store.NewID()
		t0 := time.Now()
		buildChain(b, db, org, n)
		b.Logf("%s: built %d entries in %v", dialect, n, time.Since(t0).Round(time.Millisecond))
		b.Run(dialect, func(b *testing.B) {
			for b.Loop() {
				rep, err := audit.Verify(context.Background(), db, org, nil)
				if err != nil || !rep.OK || rep.Entries != int64(n) {
					b.Fatalf("verify: %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// postgresOrNil opens a PostgreSQL store, or returns nil when the test
// server is not configured (instead of skipping the whole benchmark).
func postgresOrNil(b *testing.B) *store.DB {
	if os.Getenv(storetest.EnvPostgres) == "" {
		return nil
	}
	return storetest.Postgres(b, store.Options{})
}
