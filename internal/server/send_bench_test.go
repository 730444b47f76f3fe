package server

import (
	"strconv"
	"sync/atomic"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// BenchmarkSendMessageHTTP measures the whole send path through the
// handler: authentication, access decision, decode and validate, the
// durable write with its audit entry and event, and the JSON answer.
// 64 concurrent patients' devices send to their conversation.
//
//	go test -run='^$' -bench=SendMessageHTTP -benchtime=5s ./internal/server/
func BenchmarkSendMessageHTTP(b *testing.B) {
	w := newWorld(b, storetest.SQLite(b, store.Options{}))
	path := "/api/v1/conversations/" + w.conv1.ID + "/messages"
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			res := w.do("patient", jsonReq("POST", path, map[string]string{"body": "Benchmark message", "idempotency_key": "bench-" + strconv.FormatInt(i, 10)}))
			if res.status != 201 {
				b.Errorf("send: %d %s", res.status, res.raw)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
