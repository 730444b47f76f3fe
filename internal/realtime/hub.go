// Package realtime fans committed events out to live subscribers.
//
// The server publishes an [Event] to a [Hub] after the database transaction
// that produced it has committed. The hub hands the event to every [Sub]
// that subscribed to at least one of the event's topics, typically one per
// connected WebSocket session. Events reach the hub already free of
// personal data; the hub never inspects Frame or Data.
//
// Delivery never blocks the publisher: each subscription owns a bounded
// queue, and a subscriber whose queue is full when an event arrives is
// dropped with [ErrSlow]. It must then reconnect and resume from the last
// Seq it received, replaying the gap from the store's event log.
//
// A subscription is consumed in one of two ways. [Hub.Subscribe] gives a
// buffered channel ([Sub.C]) for a goroutine that waits on it. For many
// mostly idle subscribers that should cost no goroutine while idle (the
// WebSocket sessions), [Hub.SubscribeNotify] gives a queue that starts
// empty and grows on demand up to its limit, and calls a wake function when
// there is something to [Sub.Take], so the consumer can start a goroutine
// only then.
//
// The hub keeps no goroutines of its own (Publish may start a short-lived
// one to call many wake functions). An idle subscription costs one small
// struct plus, for the channel kind, its channel buffer.
package realtime

import (
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Event is one committed change. Seq is the store's event-log sequence
// number: strictly increasing across Publish calls. Topics name who may be
// interested ("patient:ID", "dept:ID", "user:ID", "org:ID"...). Frame is the
// encoded message sent to every recipient, shared, never modified.
// Data is opaque to the hub and handed to a subscriber's filter.
// The publisher builds an Event; after Publish, the hub, filters and
// subscribers only read it.
type Event struct {
	Seq    int64
	Topics []string
	Frame  []byte
	Data   any
}

// Reasons a subscription ended, as reported by [Sub.Err].
var (
	// ErrSlow means the subscriber's queue overflowed: it was dropped and
	// must resume from the last Seq it received.
	ErrSlow = errors.New("realtime: subscriber too slow")
	// ErrClosed means [Sub.Close] was called.
	ErrClosed = errors.New("realtime: subscription closed")
	// ErrShutdown means [Hub.Close] was called.
	ErrShutdown = errors.New("realtime: hub shut down")
)

// defaultBuffer is the per-subscriber queue length used when
// Options.Buffer is zero or negative.
const defaultBuffer = 256

// Options configures a [Hub]; the server passes it to [NewHub].
type Options struct {
	Buffer int // per-subscriber queue length; 0 means 256
}

// Hub is an in-process topic index that fans events out to subscribers.
// All methods are safe for concurrent use, except that [Hub.Publish] must
// be called from one goroutine at a time.
type Hub struct {
	buffer int
	live   atomic.Int64 // subscriptions not yet ended; see Len

	mu     sync.RWMutex
	closed bool
	topics map[string]*topicSubs // guarded by mu
	all    map[*Sub]struct{}     // guarded by mu; every linked Sub
}

// topicSubs holds the subscribers of one topic. A slice (rather than a
// set) keeps Publish's inner loop allocation-free and cache-friendly;
// removal is O(1) by swapping with the last element, using the positions
// each Sub records in Sub.pos.
type topicSubs struct {
	subs []*Sub
}

// NewHub returns an empty hub configured by opts. Any goroutine may call
// it; it cannot fail.
func NewHub(opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = defaultBuffer
	}
	return &Hub{
		buffer: opts.Buffer,
		topics: make(map[string]*topicSubs),
		all:    make(map[*Sub]struct{}),
	}
}

// Subscribe registers interest in topics and returns the new subscription;
// any goroutine may call it, concurrently with every other method. Duplicate
// topics are ignored. filter (may be nil = accept all) is called from
// Publish with the hub's read lock held, so it must be fast, must not block,
// must not call methods of the Hub or of any Sub, and must not modify the
// event. An event is delivered at most once to a subscriber even if several
// of its topics match. Only events published after Subscribe returns are
// delivered.
//
// Subscribe returns no error: after [Hub.Close] it returns a subscription
// that has already ended, whose channel is closed and whose Err is
// [ErrShutdown].
func (h *Hub) Subscribe(topics []string, filter func(*Event) bool) *Sub {
	return h.SubscribeBuffer(topics, filter, h.buffer)
}

// SubscribeBuffer is Subscribe with this subscription's own queue length
// (buffer <= 0 means the hub's): a subscriber that receives far more
// events than most (a staff inbox seeing a whole organization) gets more
// room before it counts as too slow. Errors and concurrency as Subscribe.
func (h *Hub) SubscribeBuffer(topics []string, filter func(*Event) bool, buffer int) *Sub {
	if buffer <= 0 {
		buffer = h.buffer
	}
	s := &Sub{
		hub:    h,
		filter: filter,
		topics: dedupe(topics),
	}
	s.last.Store(math.MinInt64)
	s.ch = make(chan *Event, buffer)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.link(s)
	return s
}

// SubscribeNotify is Subscribe for a consumer that should hold no goroutine
// while idle. The subscription's queue starts empty and allocates nothing
// until events arrive; it grows on demand, keeps a few slots between
// bursts (so that single events allocate nothing), and holds at most limit
// events (limit <= 0 means the hub's buffer) not yet taken with
// [Sub.Take]; one more drops it with [ErrSlow], as a full channel does.
//
// wake is called after the queue went from empty to not empty and once
// after the subscription ended (so that the consumer takes what is left
// and reads Err); a call may come late (after the consumer has already
// taken the events), never early. It is called by Publish (without locks,
// on the publisher's goroutine or, for a large fan-out, another one), and
// by Sub.Close or Hub.Close with the subscription's lock and possibly the
// hub's held: it must be fast, must not block and must not call methods of
// the Hub or of any Sub (start a goroutine, or signal one). It is not
// called for a subscription that has already ended when SubscribeNotify
// returns (after Hub.Close). [Sub.C] returns nil for these subscriptions.
// Errors and concurrency as Subscribe.
func (h *Hub) SubscribeNotify(topics []string, filter func(*Event) bool, limit int, wake func()) *Sub {
	if limit <= 0 {
		limit = h.buffer
	}
	s := &Sub{
		hub:    h,
		filter: filter,
		topics: dedupe(topics),
		limit:  limit,
		wake:   wake,
	}
	s.last.Store(math.MinInt64)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.link(s)
	return s
}

// link adds s to the topic index, or ends it with ErrShutdown when the hub
// is closed. h.mu must be held for writing.
func (h *Hub) link(s *Sub) {
	if h.closed {
		if s.ch != nil {
			s.ch = make(chan *Event) // unbuffered: nothing will be queued
			close(s.ch)
		}
		s.err = ErrShutdown
		return
	}
	s.pos = make([]int, len(s.topics))
	for i, t := range s.topics {
		ts := h.topics[t]
		if ts == nil {
			ts = &topicSubs{}
			h.topics[t] = ts
		}
		s.pos[i] = len(ts.subs)
		ts.subs = append(ts.subs, s)
	}
	h.all[s] = struct{}{}
	s.linked = true
	h.live.Add(1)
}

// Publish delivers ev to every subscriber of at least one of ev.Topics
// whose filter accepts it, without blocking. A subscriber whose queue is
// full is dropped: its channel is closed after the events already queued
// and its Err becomes [ErrSlow].
//
// Publish must be called from one goroutine at a time (typically the
// goroutine that tails the committed event log), in strictly increasing
// ev.Seq order. Events with Seq <= a subscriber's last seen seq are skipped
// for it, which also makes delivery at-most-once when several topics match.
// It may run concurrently with Subscribe, Close, Len and all Sub methods.
// ev and its fields must not be modified afterwards: subscribers share it.
// Publish reports no errors; Publish after [Hub.Close], or with a nil ev,
// is a no-op.
func (h *Hub) Publish(ev *Event) {
	if ev == nil {
		return
	}
	var buf [wakeInline]*Sub // on the stack: a usual fan-out allocates nothing
	dropped, woken := h.deliver(ev, buf[:0])
	for _, s := range dropped {
		h.unlink(s)
	}
	h.wake(woken)
}

// wakeInline is the most SubscribeNotify wakes Publish calls itself (the
// server's wake starts a goroutine: 32 cost the publisher about 10 µs).
// More are handed to one new goroutine, so that a broadcast to thousands
// of idle subscribers does not hold up the publisher (the store's single
// writer) for milliseconds; below that the extra hop would only add
// scheduling delay.
const wakeInline = 32

// wake calls the wake functions of woken, on this goroutine for a few,
// else on a new one (with its own copy of the slice). It runs without
// locks held.
func (h *Hub) wake(woken []*Sub) {
	if len(woken) <= wakeInline {
		for _, s := range woken {
			s.wake()
		}
		return
	}
	go wakeAll(slices.Clone(woken))
}

func wakeAll(subs []*Sub) {
	for _, s := range subs {
		s.wake()
	}
}

// deliver performs the fan-out under the read lock and returns the
// subscribers it dropped, so the caller can unlink them after the read
// lock is released (unlinking needs the write lock), and the
// SubscribeNotify subscribers to wake (those whose queue was empty, and
// those dropped), appended to woken.
func (h *Hub) deliver(ev *Event, woken []*Sub) (dropped, _ []*Sub) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, woken
	}
	for _, t := range ev.Topics {
		ts := h.topics[t]
		if ts == nil {
			continue
		}
		for _, s := range ts.subs {
			if !s.claim(ev.Seq) {
				continue
			}
			if s.filter != nil && !s.filter(ev) {
				continue
			}
			drop, wake := s.send(ev)
			if drop {
				dropped = append(dropped, s)
			}
			if wake {
				woken = append(woken, s)
			}
		}
	}
	return dropped, woken
}

// Close ends every subscription with [ErrShutdown]. Later calls to
// Subscribe return an already-ended subscription and Publish becomes a
// no-op. Any goroutine may call it; it is idempotent and returns no error.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.all {
		s.end(ErrShutdown)
		s.linked = false
	}
	h.all = nil
	h.topics = nil
}

// Len returns the number of live subscriptions: those created by Subscribe
// that have not yet ended by Sub.Close, being dropped, or Hub.Close. Any
// goroutine may call it; it never fails and takes no lock.
func (h *Hub) Len() int {
	return int(h.live.Load())
}

// unlink removes s from the topic index. It is idempotent.
func (h *Hub) unlink(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !s.linked {
		return
	}
	s.linked = false
	delete(h.all, s)
	for i, t := range s.topics {
		ts := h.topics[t]
		j, last := s.pos[i], len(ts.subs)-1
		if j != last {
			moved := ts.subs[last]
			ts.subs[j] = moved
			moved.setPos(t, j)
		}
		ts.subs[last] = nil
		ts.subs = ts.subs[:last]
		if last == 0 {
			delete(h.topics, t)
		}
	}
}

// dedupe returns a copy of topics without duplicates, preserving order.
// Subscriptions usually name a handful of topics, so small inputs use a
// linear scan instead of allocating a map.
func dedupe(topics []string) []string {
	out := make([]string, 0, len(topics))
	if len(topics) > 16 {
		seen := make(map[string]struct{}, len(topics))
		for _, t := range topics {
			if _, ok := seen[t]; !ok {
				seen[t] = struct{}{}
				out = append(out, t)
			}
		}
		return out
	}
	for _, t := range topics {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
