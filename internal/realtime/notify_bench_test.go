package realtime

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// pumped is a SubscribeNotify consumer shaped like the server's event
// streams: no goroutine while idle; wake starts one that takes the queue
// until it is empty, then ends.
type pumped struct {
	sub    *Sub
	kicks  atomic.Int64
	wg     *sync.WaitGroup
	pumpFn func() // p.pump, made once: "go p.pumpFn()" allocates nothing
}

func (p *pumped) wake() {
	if p.kicks.Add(1) == 1 {
		p.wg.Add(1)
		go p.pumpFn()
	}
}

func (p *pumped) pump() {
	defer p.wg.Done()
	for {
		n := p.kicks.Load()
		var arr [8]*Event
		for len(p.sub.Take(arr[:0])) > 0 {
		}
		if p.kicks.CompareAndSwap(n, 0) {
			return
		}
	}
}

// notifyHub is benchHub with SubscribeNotify consumers; wait waits for
// their goroutines after the hub is closed.
func notifyHub() (h *Hub, wait func()) {
	h = NewHub(Options{Buffer: defaultBuffer})
	var wg sync.WaitGroup
	for i := range benchSubs {
		p := &pumped{wg: &wg} // nothing is published before p.sub is set
		p.pumpFn = p.pump
		p.sub = h.SubscribeNotify([]string{fmt.Sprintf("dept:%d", i%benchDepts), fmt.Sprintf("user:%d", i), "org:1"}, nil, 0, p.wake)
	}
	return h, wg.Wait
}

// BenchmarkPublishNotify is BenchmarkPublish's goroutine-readers cases for
// the server's kind of subscriber: every delivery to an idle subscriber
// starts a goroutine (rather than waking a parked one).
func BenchmarkPublishNotify(b *testing.B) {
	evs := benchEvents(100 * benchDepts)
	b.Run("dept/pumps", func(b *testing.B) {
		h, wait := notifyHub()
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
	b.Run("org-broadcast/pumps", func(b *testing.B) {
		h, wait := notifyHub()
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
