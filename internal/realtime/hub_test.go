package realtime

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// ev builds an event with the given seq and topics.
func ev(seq int64, topics ...string) *Event {
	return &Event{Seq: seq, Topics: topics, Frame: []byte("f")}
}

// drain returns the seqs of every event currently queued on s without
// waiting, and whether the channel was found closed.
func drain(s *Sub) (seqs []int64, closed bool) {
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				return seqs, true
			}
			seqs = append(seqs, e.Seq)
		default:
			return seqs, false
		}
	}
}

func wantSeqs(t *testing.T, name string, s *Sub, want ...int64) {
	t.Helper()
	got, closed := drain(s)
	if closed {
		t.Fatalf("%s: channel closed unexpectedly (err %v)", name, s.Err())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got seqs %v, want %v", name, got, want)
	}
}

// wantEnded checks that s's channel is closed (after draining what was
// queued) and that Err reports want.
func wantEnded(t *testing.T, s *Sub, want error) {
	t.Helper()
	for range s.C() {
	}
	if err := s.Err(); !errors.Is(err, want) {
		t.Fatalf("Err() = %v, want %v", err, want)
	}
}

func TestDeliverMatchingTopicsOnly(t *testing.T) {
	h := NewHub(Options{})
	dept := h.Subscribe([]string{"dept:1"}, nil)
	user := h.Subscribe([]string{"user:7"}, nil)
	other := h.Subscribe([]string{"dept:2"}, nil)

	h.Publish(ev(1, "dept:1"))
	h.Publish(ev(2, "user:7", "patient:3"))
	h.Publish(ev(3, "org:1"))
	h.Publish(ev(4, "dept:1", "user:7"))

	wantSeqs(t, "dept", dept, 1, 4)
	wantSeqs(t, "user", user, 2, 4)
	wantSeqs(t, "other", other)
	for _, s := range []*Sub{dept, user, other} {
		if s.Err() != nil {
			t.Fatalf("live sub has Err %v", s.Err())
		}
	}
}

func TestEventSharedAndIntact(t *testing.T) {
	h := NewHub(Options{})
	a := h.Subscribe([]string{"dept:1"}, nil)
	b := h.Subscribe([]string{"dept:1"}, nil)
	e := &Event{Seq: 1, Topics: []string{"dept:1"}, Frame: []byte("hello"), Data: 42}
	h.Publish(e)
	ga, gb := <-a.C(), <-b.C()
	if ga != e || gb != e {
		t.Fatalf("subscribers did not receive the published *Event")
	}
	if string(ga.Frame) != "hello" || ga.Data != 42 {
		t.Fatalf("event modified: %+v", ga)
	}
}

func TestFilter(t *testing.T) {
	h := NewHub(Options{})
	var seen []int64
	odd := h.Subscribe([]string{"dept:1", "user:1"}, func(e *Event) bool {
		seen = append(seen, e.Seq)
		return e.Data.(int)%2 == 1
	})
	all := h.Subscribe([]string{"dept:1"}, nil)
	for i := 1; i <= 5; i++ {
		h.Publish(&Event{Seq: int64(i), Topics: []string{"dept:1", "user:1"}, Data: i})
	}
	wantSeqs(t, "odd", odd, 1, 3, 5)
	wantSeqs(t, "all", all, 1, 2, 3, 4, 5)
	// The filter runs once per event even though two topics matched.
	if !slices.Equal(seen, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("filter saw %v, want each seq once", seen)
	}
}

func TestDedupeAcrossTopicsAndOrder(t *testing.T) {
	h := NewHub(Options{Buffer: 1000})
	s := h.Subscribe([]string{"dept:1", "user:1", "patient:9", "dept:1"}, nil)
	var want []int64
	for i := int64(1); i <= 300; i++ {
		topics := []string{"dept:1", "user:1"}
		if i%3 == 0 {
			topics = append(topics, "patient:9", "dept:1")
		}
		if i%5 == 0 {
			topics = []string{"user:1"}
		}
		h.Publish(ev(i*2, topics...)) // gaps in Seq are allowed
		want = append(want, i*2)
	}
	wantSeqs(t, "sub", s, want...)
}

func TestStaleSeqSkipped(t *testing.T) {
	h := NewHub(Options{})
	s := h.Subscribe([]string{"dept:1"}, nil)
	h.Publish(ev(0, "dept:1"))
	h.Publish(ev(5, "dept:1"))
	h.Publish(ev(5, "dept:1"))
	h.Publish(ev(3, "dept:1"))
	h.Publish(ev(6, "dept:1"))
	wantSeqs(t, "sub", s, 0, 5, 6)

	// A new subscriber has no history, so low seqs still reach it.
	late := h.Subscribe([]string{"dept:1"}, nil)
	h.Publish(ev(-1, "dept:1"))
	wantSeqs(t, "late", late, -1)
	wantSeqs(t, "sub", s)
}

func TestSlowSubscriberDropped(t *testing.T) {
	const buf = 4
	h := NewHub(Options{Buffer: buf})
	slow := h.Subscribe([]string{"dept:1"}, nil) // never reads
	fast := h.Subscribe([]string{"dept:1"}, nil)
	otherTopic := h.Subscribe([]string{"user:1"}, nil)

	var got []int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var seq int64
		for i := 0; i < 10*buf; i++ {
			seq++
			h.Publish(ev(seq, "dept:1"))
			if e := <-fast.C(); e.Seq != seq {
				t.Errorf("fast got seq %d, want %d", e.Seq, seq)
			}
			got = append(got, seq)
			if i%2 == 0 {
				seq++
				h.Publish(ev(seq, "user:1"))
				if e := <-otherTopic.C(); e.Seq != seq {
					t.Errorf("otherTopic got seq %d, want %d", e.Seq, seq)
				}
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that never reads")
	}
	if len(got) != 10*buf {
		t.Fatalf("fast received %d events, want %d", len(got), 10*buf)
	}

	// slow holds exactly the first buf dept events, then its channel is closed.
	var slowSeqs []int64
	for e := range slow.C() {
		slowSeqs = append(slowSeqs, e.Seq)
	}
	if !slices.Equal(slowSeqs, got[:buf]) {
		t.Fatalf("slow received %v, want %v", slowSeqs, got[:buf])
	}
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Fatalf("slow.Err() = %v, want ErrSlow", slow.Err())
	}
	if fast.Err() != nil || otherTopic.Err() != nil {
		t.Fatalf("healthy subs ended: %v, %v", fast.Err(), otherTopic.Err())
	}
	if n := h.Len(); n != 2 {
		t.Fatalf("Len() = %d after drop, want 2", n)
	}
	// Closing a dropped sub keeps the first reason.
	slow.Close()
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Fatalf("after Close, Err() = %v, want ErrSlow", slow.Err())
	}
	if n := h.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2", n)
	}
}

func TestPublishNeverBlocks(t *testing.T) {
	h := NewHub(Options{Buffer: 2})
	var subs []*Sub
	for i := 0; i < 100; i++ {
		subs = append(subs, h.Subscribe([]string{"dept:1", "org:1"}, nil))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i <= 1000; i++ {
			h.Publish(ev(i, "org:1", "dept:1"))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked")
	}
	for _, s := range subs {
		seqs, closed := drain(s)
		if !closed || !slices.Equal(seqs, []int64{1, 2}) || s.Err() != ErrSlow {
			t.Fatalf("got %v closed=%v err=%v, want [1 2] closed ErrSlow", seqs, closed, s.Err())
		}
	}
	if n := h.Len(); n != 0 {
		t.Fatalf("Len() = %d, want 0", n)
	}
}

func TestSubscribeBuffer(t *testing.T) {
	h := NewHub(Options{Buffer: 2})
	small := h.Subscribe([]string{"t"}, nil)
	big := h.SubscribeBuffer([]string{"t"}, nil, 8)
	for i := int64(1); i <= 5; i++ {
		h.Publish(ev(i, "t"))
	}
	wantEnded(t, small, ErrSlow)
	if big.Err() != nil {
		t.Fatalf("subscriber with room for 8 dropped after 5: %v", big.Err())
	}
	wantSeqs(t, "big", big, 1, 2, 3, 4, 5)
}
