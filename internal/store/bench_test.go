package store_test

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// BenchmarkWrite measures durable writes from 64 concurrent callers (per
// core), grouped into shared transactions (batched) or one transaction per
// write (unbatched, MaxBatch 1). Each write inserts one department row and
// commits with a full fsync.
func BenchmarkWrite(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB, store.Options) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		for _, mode := range []struct {
			name     string
			maxBatch int
		}{{"batched", 0}, {"unbatched", 1}} {
			b.Run(db.name+"/"+mode.name, func(b *testing.B) {
				s := db.open(b, store.Options{MaxBatch: mode.maxBatch})
				ctx := context.Background()
				o := &sotto.Org{Name: "Bench Org"}
				if err := s.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(o) }); err != nil {
					b.Fatal(err)
				}
				b.SetParallelism(64)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						err := s.Write(ctx, func(tx *store.Tx) error {
							return tx.InsertDepartment(&sotto.Department{OrgID: o.ID, Name: "Queue"})
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
		}
	}
}
