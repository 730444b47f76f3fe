package realtime

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// seqsOf returns the Seqs of evs.
func seqsOf(evs []*Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

// TestNotifyQueue: a SubscribeNotify subscription is woken when its queue
// becomes non-empty (not for every event), Take returns the queue in order
// and empties it, and the filter and topic rules are those of Subscribe.
func TestNotifyQueue(t *testing.T) {
	h := NewHub(Options{})
	var wakes atomic.Int64
	s := h.SubscribeNotify([]string{"dept:1", "user:1"}, func(e *Event) bool { return e.Seq != 3 }, 0, func() { wakes.Add(1) })
	if s.C() != nil {
		t.Fatal("a notify subscription has a channel")
	}
	if got := s.Take(nil); len(got) != 0 {
		t.Fatalf("idle Take = %v", seqsOf(got))
	}
	h.Publish(ev(1, "dept:1"))
	h.Publish(ev(2, "user:1", "dept:1")) // both topics: delivered once
	h.Publish(ev(3, "dept:1"))           // filtered out
	h.Publish(ev(4, "dept:2"))           // not subscribed
	if n := wakes.Load(); n != 1 {
		t.Fatalf("%d wakes for one burst, want 1", n)
	}
	if got := seqsOf(s.Take(nil)); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("Take = %v, want [1 2]", got)
	}
	if got := s.Take(nil); len(got) != 0 {
		t.Fatalf("second Take = %v, want nothing", seqsOf(got))
	}
	h.Publish(ev(5, "user:1"))
	if n := wakes.Load(); n != 2 {
		t.Fatalf("%d wakes after the queue refilled, want 2", n)
	}
	if got := seqsOf(s.Take(nil)); fmt.Sprint(got) != "[5]" {
		t.Fatalf("Take = %v, want [5]", got)
	}
	if s.Err() != nil || h.Len() != 1 {
		t.Fatalf("Err %v, Len %d while live", s.Err(), h.Len())
	}
	s.Close()
	if n := wakes.Load(); n != 3 {
		t.Fatalf("%d wakes after Close, want 3 (one for the end)", n)
	}
	if !errors.Is(s.Err(), ErrClosed) || h.Len() != 0 {
		t.Fatalf("after Close: Err %v, Len %d", s.Err(), h.Len())
	}
	h.Publish(ev(6, "user:1"))
	if got := s.Take(nil); len(got) != 0 || wakes.Load() != 3 {
		t.Fatalf("closed subscription got %v", seqsOf(got))
	}
}

// TestNotifyLimit: one event more than the limit drops the subscriber with
// ErrSlow; the events queued before are still taken; others are unaffected.
func TestNotifyLimit(t *testing.T) {
	h := NewHub(Options{Buffer: 100})
	var wakes atomic.Int64
	slow := h.SubscribeNotify([]string{"dept:1"}, nil, 3, func() { wakes.Add(1) })
	other := h.SubscribeNotify([]string{"dept:1"}, nil, 0, func() {})
	for seq := int64(1); seq <= 5; seq++ {
		h.Publish(ev(seq, "dept:1"))
	}
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Fatalf("Err = %v, want ErrSlow", slow.Err())
	}
	if n := wakes.Load(); n != 2 {
		t.Fatalf("%d wakes, want 2 (first event, end)", n)
	}
	if got := seqsOf(slow.Take(nil)); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("Take after the drop = %v, want [1 2 3]", got)
	}
	if got := seqsOf(other.Take(nil)); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("other subscriber got %v", got)
	}
	if h.Len() != 1 {
		t.Fatalf("Len = %d, want 1", h.Len())
	}
	h.Close()
	if !errors.Is(other.Err(), ErrShutdown) {
		t.Fatalf("after Hub.Close: %v", other.Err())
	}
	late := h.SubscribeNotify([]string{"dept:1"}, nil, 0, func() { t.Error("wake on an ended subscription") })
	if !errors.Is(late.Err(), ErrShutdown) || len(late.Take(nil)) != 0 {
		t.Fatalf("SubscribeNotify after Close: Err %v", late.Err())
	}
}

// TestNotifyConcurrent runs consumers the way the WebSocket sessions do
// (a goroutine started by wake drains the queue, then stops) against a
// publisher, with closes racing: every live consumer sees its events in
// order without gaps, and every subscription ends.
func TestNotifyConcurrent(t *testing.T) {
	h := NewHub(Options{Buffer: 1 << 20})
	const subs, events = 32, 2000
	type consumer struct {
		sub   *Sub
		kicks atomic.Int64
		mu    sync.Mutex
		got   []int64
		done  chan struct{}
		once  sync.Once
	}
	cs := make([]*consumer, subs)
	var wg sync.WaitGroup
	for i := range cs {
		c := &consumer{done: make(chan struct{})}
		cs[i] = c
		pump := func() {
			defer wg.Done()
			for {
				n := c.kicks.Load()
				// Take until nothing is left: the wake of the end may
				// have come while events were still queued.
				var arr [4]*Event
				for evs := c.sub.Take(arr[:0]); len(evs) > 0; evs = c.sub.Take(arr[:0]) {
					c.mu.Lock()
					c.got = append(c.got, seqsOf(evs)...)
					c.mu.Unlock()
				}
				if c.sub.Err() != nil {
					c.once.Do(func() { close(c.done) })
				}
				if c.kicks.CompareAndSwap(n, 0) {
					return
				}
			}
		}
		c.kicks.Store(1) // held until the subscription is assigned
		c.sub = h.SubscribeNotify([]string{fmt.Sprintf("dept:%d", i%4), "org:1"}, nil, 0, func() {
			if c.kicks.Add(1) == 1 {
				wg.Add(1)
				go pump()
			}
		})
		wg.Add(1)
		go pump()
	}
	for seq := int64(1); seq <= events; seq++ {
		h.Publish(ev(seq, "org:1"))
		if seq == events/2 {
			cs[0].sub.Close()
		}
	}
	h.Close()
	for _, c := range cs {
		<-c.done
	}
	wg.Wait()
	for i, c := range cs {
		c.mu.Lock()
		got := c.got
		c.mu.Unlock()
		want := events
		if i == 0 {
			want = events / 2
		}
		if len(got) != want {
			t.Fatalf("consumer %d got %d events, want %d", i, len(got), want)
		}
		for j, seq := range got {
			if seq != int64(j+1) {
				t.Fatalf("consumer %d: event %d has seq %d", i, j, seq)
			}
		}
	}
}

// TestNotifyWideFanOut: when one event wakes more subscribers than Publish
// wakes itself, every one of them is still woken (from another goroutine)
// and finds the event.
func TestNotifyWideFanOut(t *testing.T) {
	h := NewHub(Options{})
	const n = 3 * wakeInline
	woke := make(chan *Sub, n)
	subs := make([]*Sub, n)
	for i := range subs {
		var s *Sub
		s = h.SubscribeNotify([]string{"org:1"}, nil, 0, func() { woke <- s })
		subs[i] = s
	}
	h.Publish(ev(1, "org:1"))
	seen := map[*Sub]bool{}
	for range n {
		s := <-woke
		if seen[s] {
			t.Fatal("a subscriber was woken twice for one event")
		}
		seen[s] = true
		if got := seqsOf(s.Take(nil)); fmt.Sprint(got) != "[1]" {
			t.Fatalf("woken subscriber took %v, want [1]", got)
		}
	}
	h.Close()
}
