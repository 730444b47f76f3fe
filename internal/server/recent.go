package server

import "sync"

// recentDeliveries bounds how many message/user pairs the server remembers
// as delivered: enough for every device of every user to report a burst.
const recentDeliveries = 1 << 16

// recentSet remembers the last n keys added (oldest forgotten first), so
// that one delivery receipt per message and user is written however many
// devices see the message. Forgetting a key early only costs a redundant
// (idempotent) receipt write.
type recentSet struct {
	mu   sync.Mutex
	keys map[string]struct{}
	ring []string
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{keys: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records key and reports whether it was new.
func (s *recentSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.keys, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.keys[key] = struct{}{}
	return true
}

// remove forgets key (its ring slot is reused later), so that a failed
// write can be retried by the next device that sees the message.
func (s *recentSet) remove(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}
