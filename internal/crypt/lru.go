package crypt

import "container/list"

// lru is a bounded least-recently-used map. It is not safe for concurrent
// use; the Keyring guards it with its mutex.
type lru struct {
	capacity int
	order    *list.List // front = most recently used; values are *lruEntry
	index    map[string]*list.Element
}

// lruEntry is one cached key. orgID and patientID let Forget find every
// entry belonging to an org or patient.
type lruEntry struct {
	key       string
	orgID     string
	patientID string // empty for org entries
	value     any    // *OrgKey or *DataKey
}

// newLRU returns an empty cache holding at most capacity entries; a
// capacity below 1 disables caching.
func newLRU(capacity int) *lru {
	return &lru{capacity: capacity, order: list.New(), index: make(map[string]*list.Element)}
}

// get returns the value for key and marks it most recently used.
func (c *lru) get(key string) (any, bool) {
	el, ok := c.index[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).value, true
}

// add inserts or replaces e, evicting the least recently used entries
// beyond capacity.
func (c *lru) add(e *lruEntry) {
	if c.capacity < 1 {
		return
	}
	if el, ok := c.index[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.index[e.key] = c.order.PushFront(e)
	for c.order.Len() > c.capacity {
		c.removeElement(c.order.Back())
	}
}

// removeIf drops every entry for which drop returns true.
func (c *lru) removeIf(drop func(*lruEntry) bool) {
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if drop(el.Value.(*lruEntry)) {
			c.removeElement(el)
		}
		el = next
	}
}

// removeElement unlinks el from both the list and the index.
func (c *lru) removeElement(el *list.Element) {
	c.order.Remove(el)
	delete(c.index, el.Value.(*lruEntry).key)
}

// len returns the number of cached entries.
func (c *lru) len() int { return c.order.Len() }
