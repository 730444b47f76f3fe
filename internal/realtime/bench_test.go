package realtime

import (
	"fmt"
	"sync"
	"testing"
)

const (
	benchSubs  = 10000
	benchDepts = 1000
)

// benchHub builds a hub with benchSubs subscribers, subscriber i listening
// on "dept:<i%benchDepts>", "user:<i>" and "org:1".
func benchHub(buffer int) (*Hub, []*Sub) {
	h := NewHub(Options{Buffer: buffer})
	subs := make([]*Sub, benchSubs)
	for i := range subs {
		subs[i] = h.Subscribe([]string{
			fmt.Sprintf("dept:%d", i%benchDepts),
			fmt.Sprintf("user:%d", i),
			"org:1",
		}, nil)
	}
	return h, subs
}

// benchEvents precomputes n events. Event i goes to department i%benchDepts
// (10 subscribers) plus the user topic of one member of that department,
// which must be deduplicated, and one unsubscribed patient topic.
func benchEvents(n int) []*Event {
	evs := make([]*Event, n)
	frame := []byte(`{"type":"message.created","id":"0193"}`)
	for i := range evs {
		d := i % benchDepts
		evs[i] = &Event{
			Topics: []string{
				fmt.Sprintf("dept:%d", d),
				fmt.Sprintf("user:%d", d+benchDepts*(i/benchDepts%(benchSubs/benchDepts))),
				fmt.Sprintf("patient:%d", i),
			},
			Frame: frame,
		}
	}
	return evs
}

// readers starts one goroutine per subscriber that drains its channel, as a
// WebSocket writer would, and returns a function that waits for them after
// the hub is closed.
func readers(subs []*Sub) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range s.C() {
			}
		}()
	}
	return wg.Wait
}

// BenchmarkPublish measures ns per Publish with 10,000 subscribers spread
// over 1,000 department topics plus per-user topics.
func BenchmarkPublish(b *testing.B) {
	// Events are reused with a fresh Seq so the loop allocates nothing and
	// allocs/op is the hub's own; this is safe only because no reader here
	// looks at an event's fields.
	evs := benchEvents(100 * benchDepts)

	// Subscribers are drained outside the timed region, so this measures
	// Publish alone: ~10 deliveries per event (one department).
	b.Run("dept/inline-drain", func(b *testing.B) {
		h, subs := benchHub(defaultBuffer)
		defer h.Close()
		// Each subscriber gets one event per benchDepts publishes.
		drainEvery := benchDepts * (defaultBuffer / 2)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 && i%drainEvery == 0 {
				b.StopTimer()
				for _, s := range subs {
					drain(s)
				}
				b.StartTimer()
			}
			e := evs[i%len(evs)]
			e.Seq = int64(i + 1)
			h.Publish(e)
		}
		b.StopTimer()
		if h.Len() != benchSubs {
			b.Fatalf("%d subscribers dropped", benchSubs-h.Len())
		}
	})

	// One reader goroutine per subscriber competes with the publisher for
	// the CPUs, as in the server.
	b.Run("dept/goroutine-readers", func(b *testing.B) {
		h, subs := benchHub(defaultBuffer)
		wait := readers(subs)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := evs[i%len(evs)]
			e.Seq = int64(i + 1)
			h.Publish(e)
		}
		b.StopTimer()
		dropped := benchSubs - h.Len()
		h.Close()
		wait()
		b.ReportMetric(float64(dropped), "dropped")
	})

	// Worst case: every event goes to all 10,000 subscribers.
	b.Run("org-broadcast/goroutine-readers", func(b *testing.B) {
		h, subs := benchHub(defaultBuffer)
		wait := readers(subs)
		e := &Event{Topics: []string{"org:1"}, Frame: evs[0].Frame}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.Seq = int64(i + 1)
			h.Publish(e)
		}
		b.StopTimer()
		dropped := benchSubs - h.Len()
		h.Close()
		wait()
		b.ReportMetric(float64(dropped), "dropped")
	})
}

// BenchmarkSubscribeClose measures one Subscribe plus Sub.Close on a hub
// that already holds 10,000 subscribers, sharing their department topic.
func BenchmarkSubscribeClose(b *testing.B) {
	h, _ := benchHub(defaultBuffer)
	defer h.Close()
	topics := make([][]string, benchDepts)
	for d := range topics {
		topics[d] = []string{fmt.Sprintf("dept:%d", d), fmt.Sprintf("user:new%d", d)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Subscribe(topics[i%benchDepts], nil).Close()
	}
	b.StopTimer()
	if h.Len() != benchSubs {
		b.Fatalf("Len() = %d, want %d", h.Len(), benchSubs)
	}
}
