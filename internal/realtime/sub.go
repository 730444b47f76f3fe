package realtime

import (
	"sync"
	"sync/atomic"
)

// Sub is one subscription created by [Hub.Subscribe]. Its owner (usually a
// WebSocket session's writer goroutine) reads events from C until the
// channel is closed, then consults Err.
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

	// mu guards ch against send-after-close and close-twice, and err.
	mu  sync.Mutex
	ch  chan *Event
	err error // nil while live
}

// C returns the channel on which the subscription receives events, in
// increasing Seq order. The channel is closed when the subscription ends;
// events queued before the end are still received first. Only the
// subscription's owner should receive from it. It never fails.
func (s *Sub) C() <-chan *Event {
	return s.ch
}

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
// subscription with ErrSlow and returns true: the caller must unlink s.
// Sending to an already-ended subscription is a no-op.
func (s *Sub) send(ev *Event) (dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	select {
	case s.ch <- ev:
		return false
	default:
		s.endLocked(ErrSlow)
		return true
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
	return true
}

// endLocked records err, closes the channel exactly once and updates the
// hub's live count. s.mu must be held and s.err must be nil.
func (s *Sub) endLocked(err error) {
	s.err = err
	close(s.ch)
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
