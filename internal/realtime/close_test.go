package realtime

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSubCloseIdempotent(t *testing.T) {
	h := NewHub(Options{})
	s := h.Subscribe([]string{"dept:1", "user:1"}, nil)
	keep := h.Subscribe([]string{"dept:1"}, nil)
	if n := h.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2", n)
	}
	h.Publish(ev(1, "dept:1"))
	s.Close()
	s.Close()
	if n := h.Len(); n != 1 {
		t.Fatalf("Len() = %d after Close, want 1", n)
	}
	// Events queued before Close are still readable, then the channel closes.
	seqs, closed := drain(s)
	if !closed || len(seqs) != 1 || seqs[0] != 1 {
		t.Fatalf("drain = %v closed=%v, want [1] closed", seqs, closed)
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed", s.Err())
	}
	// A closed sub is gone from the index; others still receive.
	h.Publish(ev(2, "dept:1", "user:1"))
	wantSeqs(t, "keep", keep, 1, 2)
	if len(h.topics["user:1"].subsOrNil()) != 0 {
		t.Fatalf("topic user:1 still indexed after its only sub closed")
	}
	h.Close()
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("after Hub.Close, Err() = %v, want ErrClosed", s.Err())
	}
}

// subsOrNil lets tests inspect a possibly missing topic entry.
func (ts *topicSubs) subsOrNil() []*Sub {
	if ts == nil {
		return nil
	}
	return ts.subs
}

func TestHubClose(t *testing.T) {
	h := NewHub(Options{})
	var subs []*Sub
	for i := 0; i < 10; i++ {
		subs = append(subs, h.Subscribe([]string{fmt.Sprintf("dept:%d", i%3)}, nil))
	}
	noTopics := h.Subscribe(nil, nil)
	subs = append(subs, noTopics)
	h.Publish(ev(1, "dept:0"))
	h.Close()
	h.Close()
	for _, s := range subs {
		wantEnded(t, s, ErrShutdown)
	}
	if n := h.Len(); n != 0 {
		t.Fatalf("Len() = %d after Close, want 0", n)
	}
	// Publish after Close is a no-op and must not panic.
	h.Publish(ev(2, "dept:0"))

	late := h.Subscribe([]string{"dept:0"}, nil)
	if _, ok := <-late.C(); ok {
		t.Fatal("Subscribe after Close returned an open channel")
	}
	if !errors.Is(late.Err(), ErrShutdown) {
		t.Fatalf("late.Err() = %v, want ErrShutdown", late.Err())
	}
	late.Close()
	if !errors.Is(late.Err(), ErrShutdown) || h.Len() != 0 {
		t.Fatalf("late.Close changed state: err=%v len=%d", late.Err(), h.Len())
	}
	// Closing subs after the hub is gone keeps ErrShutdown.
	subs[0].Close()
	if !errors.Is(subs[0].Err(), ErrShutdown) {
		t.Fatalf("Err() = %v, want ErrShutdown", subs[0].Err())
	}
}

func TestLenAccounting(t *testing.T) {
	h := NewHub(Options{Buffer: 1})
	a := h.Subscribe([]string{"dept:1"}, nil)
	b := h.Subscribe([]string{"dept:1", "user:2"}, nil)
	c := h.Subscribe([]string{"user:3"}, nil)
	if n := h.Len(); n != 3 {
		t.Fatalf("Len() = %d, want 3", n)
	}
	a.Close()
	if n := h.Len(); n != 2 {
		t.Fatalf("Len() = %d after Sub.Close, want 2", n)
	}
	h.Publish(ev(1, "dept:1"))
	h.Publish(ev(2, "dept:1")) // b's buffer of 1 is full: dropped
	if n := h.Len(); n != 1 {
		t.Fatalf("Len() = %d after drop, want 1", n)
	}
	wantEnded(t, b, ErrSlow)
	if _, ok := h.topics["dept:1"]; ok {
		t.Fatal("empty topic dept:1 still indexed")
	}
	if _, ok := h.topics["user:2"]; ok {
		t.Fatal("empty topic user:2 still indexed")
	}
	h.Close()
	if n := h.Len(); n != 0 {
		t.Fatalf("Len() = %d after Hub.Close, want 0", n)
	}
	wantEnded(t, c, ErrShutdown)
}

// TestIndexSwapRemove closes subscribers in an order that exercises the
// swap-with-last removal and checks every survivor still receives.
func TestIndexSwapRemove(t *testing.T) {
	h := NewHub(Options{})
	var subs []*Sub
	for i := 0; i < 20; i++ {
		subs = append(subs, h.Subscribe([]string{"dept:1", fmt.Sprintf("user:%d", i%4), "org:1"}, nil))
	}
	for _, i := range []int{0, 19, 7, 8, 1, 12, 13} {
		subs[i].Close()
	}
	h.Publish(ev(1, "org:1"))
	h.Publish(ev(2, "user:1"))
	for i, s := range subs {
		if s.Err() != nil {
			continue
		}
		want := []int64{1}
		if i%4 == 1 {
			want = append(want, 2)
		}
		wantSeqs(t, fmt.Sprint("sub ", i), s, want...)
	}
	if got := len(h.topics["dept:1"].subs); got != 13 || h.Len() != 13 {
		t.Fatalf("dept:1 has %d subs, Len %d; want 13", got, h.Len())
	}
}

// TestConcurrent races Subscribe, Sub.Close, slow readers and Hub.Close
// against a single publisher; run with -race.
func TestConcurrent(t *testing.T) {
	h := NewHub(Options{Buffer: 8})
	stop := make(chan struct{})
	var pubDone sync.WaitGroup
	pubDone.Add(1)
	go func() {
		defer pubDone.Done()
		for seq := int64(1); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			h.Publish(ev(seq, fmt.Sprintf("dept:%d", seq%4), "org:1", fmt.Sprintf("user:%d", seq%16)))
		}
	}()

	var ended [3]atomic.Int64 // ErrSlow, ErrClosed, ErrShutdown
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 50; round++ {
				s := h.Subscribe([]string{fmt.Sprintf("dept:%d", g%4), fmt.Sprintf("user:%d", g%16), "org:1"}, nil)
				last := int64(-1)
				for i := 0; i < round%10; i++ {
					e, ok := <-s.C()
					if !ok {
						break
					}
					if e.Seq <= last {
						t.Errorf("seq %d after %d", e.Seq, last)
					}
					last = e.Seq
				}
				if g%2 == 0 {
					go s.Close() // Close from another goroutine too
				}
				s.Close()
				for e := range s.C() {
					if e.Seq <= last {
						t.Errorf("seq %d after %d", e.Seq, last)
					}
					last = e.Seq
				}
				switch s.Err() {
				case ErrSlow:
					ended[0].Add(1)
				case ErrClosed:
					ended[1].Add(1)
				case ErrShutdown:
					ended[2].Add(1)
				default:
					t.Errorf("ended sub has Err %v", s.Err())
				}
			}
		}()
	}
	wg.Wait()
	if n := h.Len(); n != 0 {
		t.Fatalf("Len() = %d after all subs closed, want 0", n)
	}
	// Leave some live subs for Hub.Close to end while publishing continues.
	var live []*Sub
	for i := 0; i < 16; i++ {
		live = append(live, h.Subscribe([]string{"org:1"}, nil))
	}
	h.Close()
	close(stop)
	pubDone.Wait()
	for _, s := range live {
		if err := s.Err(); err != ErrShutdown && err != ErrSlow {
			t.Fatalf("live sub ended with %v", err)
		}
		for range s.C() {
		}
	}
	if h.Len() != 0 {
		t.Fatalf("Len() = %d, want 0", h.Len())
	}
	t.Logf("ended: slow=%d closed=%d", ended[0].Load(), ended[1].Load())
	if ended[1].Load() == 0 {
		t.Fatal("no subscription ended by Close")
	}
}
