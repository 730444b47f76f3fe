package realtime

import (
	"sync"
	"sync/atomic"
)

// Sub is one subscription created by [Hub.Subscribe] or
// [Hub.SubscribeNotify]. The owner of a Subscribe subscription reads events
// from C until the channel is closed, then consults Err. The owner of a
// SubscribeNotify subscription calls Take when woken until it takes
// nothing, then consults Err.
type Sub struct {
	hub    *Hub
	filter func(*Event) bool
	topics []string // deduplicated, immutable after Subscribe

	// last is the highest Seq this subscription has been offered (whether
	// or not the filter accepted it). Written by Publish only; atomic so
	// that a Publish contract violation cannot cause a data race or a
	// duplicate delivery.
	last atomic.Int64

	// pos[i] is the index of this Sub in the hub's slice for topics[i].
	// linked reports whether the Sub is still in the hub's index.
	// Both are guarded by hub.mu.
	pos    []int
	linked bool

	// limit and wake are set for a SubscribeNotify subscription (whose ch
	// is nil) and immutable.
	limit int
	wake  func()

	// mu guards ch against send-after-close and close-twice, queue and
	// err.
	mu    sync.Mutex
	ch    chan *Event // Subscribe: the bounded queue
	queue []*Event    // SubscribeNotify: events not yet taken, oldest first
	err   error       // nil while live
}

// C returns the channel on which the subscription receives events, in
// increasing Seq order. The channel is closed when the subscription ends;
// events queued before the end are still received first. Only the
// subscription's owner should receive from it. It never fails. It returns
// nil for a subscription made by SubscribeNotify (use Take).
func (s *Sub) C() <-chan *Event {
	return s.ch
}

// Take appends the events queued for a SubscribeNotify subscription to
// buf, oldest first, empties the queue and returns buf; nothing appended
// means nothing is queued (then Err tells whether the subscription has
// ended). Events queued before the end are still taken. Only the
// subscription's owner should call it: after each wake, until it appends
// nothing, and only then consult Err (the wake of the end may come while
// events are still queued, and no other follows). A caller that passes a
// small array of its own (buf := s.Take(arr[:0])) allocates nothing. It
// appends nothing for a Subscribe subscription (use C).
func (s *Sub) Take(buf []*Event) []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf, s.queue...)
	clear(s.queue)
	if cap(s.queue) > keepQueue {
		s.queue = nil // after a burst, an idle subscription holds no storage
	} else {
		s.queue = s.queue[:0] // reused: the next event needs no allocation
	}
	return buf
}

// keepQueue is the largest queue storage (in events) a SubscribeNotify
// subscription keeps between bursts.
const keepQueue = 4

// Err reports why the subscription ended: nil while it is live, otherwise
// [ErrSlow] (dropped for overflowing its queue; resume from the last Seq
// received), [ErrClosed] (Sub.Close) or [ErrShutdown] (Hub.Close). The
// first reason wins. Any goroutine may call it.
func (s *Sub) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription with [ErrClosed] (unless it already ended)
// and removes it from the hub. Any goroutine may call it, any number of
// times, concurrently with Publish and every other method; it returns no
// error. Call it when the session goes away so the hub forgets the Sub.
func (s *Sub) Close() {
	if s.end(ErrClosed) {
		s.hub.unlink(s)
	}
}

// claim records seq as seen and reports whether it is newer than every
// seq seen before, i.e. whether the event should be offered.
func (s *Sub) claim(seq int64) bool {
	for {
		old := s.last.Load()
		if seq <= old {
			return false
		}
		if s.last.CompareAndSwap(old, seq) {
			return true
		}
	}
}

// send queues ev without blocking. If the queue is full it ends the
// subscription with ErrSlow and reports dropped: the caller must unlink s.
// For a SubscribeNotify subscription it also reports whether the caller
// must call s.wake (the queue was empty, or s was dropped). Sending to an
// already-ended subscription is a no-op.
func (s *Sub) send(ev *Event) (dropped, wake bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, false
	}
	if s.ch == nil {
		if len(s.queue) >= s.limit {
			s.endLocked(ErrSlow)
			return true, true
		}
		s.queue = append(s.queue, ev)
		return false, len(s.queue) == 1
	}
	select {
	case s.ch <- ev:
		return false, false
	default:
		s.endLocked(ErrSlow)
		return true, false
	}
}

// end ends the subscription with err unless it already ended, and reports
// whether this call ended it.
func (s *Sub) end(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	s.endLocked(err)
	if s.ch == nil {
		s.wake()
	}
	return true
}

// endLocked records err, closes the channel exactly once (a SubscribeNotify
// owner is woken by the caller instead) and updates the hub's live count.
// s.mu must be held and s.err must be nil.
func (s *Sub) endLocked(err error) {
	s.err = err
	if s.ch != nil {
		close(s.ch)
	}
	s.hub.live.Add(-1)
}

// setPos records that this Sub sits at index j of topic t's slice.
// hub.mu must be held for writing.
func (s *Sub) setPos(t string, j int) {
	for i, mine := range s.topics {
		if mine == t {
			s.pos[i] = j
			return
		}
	}
}
