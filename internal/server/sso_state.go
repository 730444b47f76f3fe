package server

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// ticketBox holds short-lived, single-use server-side values under random
// keys: the state of a single sign-on between leaving for the identity
// provider and coming back, and a sign-on waiting for sotto's own second
// factor. It is bounded (max entries in all, perOwner per client address),
// entries expire after ttl on the server's clock, and it lives in memory:
// a node that did not start a sign-on cannot finish it (operations.md asks
// for sticky sessions on /login/sso when several nodes serve one site).
// Safe for concurrent use.
type ticketBox[T any] struct {
	ttl      time.Duration
	max      int
	perOwner int
	now      func() time.Time

	mu     sync.Mutex
	m      map[string]*ticket[T]
	owners map[string]int // live entries per owner
}

// ticket is one entry of a ticketBox.
type ticket[T any] struct {
	v       T
	owner   string
	expires time.Time
}

// newTicketBox returns an empty box. Callers: newSSO.
func newTicketBox[T any](ttl time.Duration, max, perOwner int, now func() time.Time) *ticketBox[T] {
	return &ticketBox[T]{ttl: ttl, max: max, perOwner: perOwner, now: now, m: map[string]*ticket[T]{}, owners: map[string]int{}}
}

// newTicketKey returns 32 random bytes, base64url: a state, nonce or
// ticket nobody can guess.
func newTicketKey() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// put stores v for owner under a new random key and returns the key, or
// false when the box (or the owner's share of it) is full of live entries.
func (b *ticketBox[T]) put(owner string, v T) (string, bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= b.max || b.owners[owner] >= b.perOwner {
		b.sweep(now)
	}
	if len(b.m) >= b.max || b.owners[owner] >= b.perOwner {
		return "", false
	}
	key := newTicketKey()
	b.m[key] = &ticket[T]{v: v, owner: owner, expires: now.Add(b.ttl)}
	b.owners[owner]++
	return key, true
}

// take removes and returns key's value: a key answers once. Expired and
// unknown keys report false.
func (b *ticketBox[T]) take(key string) (T, bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var zero T
	t, ok := b.m[key]
	if !ok {
		return zero, false
	}
	b.drop(key, t)
	if !now.Before(t.expires) {
		return zero, false
	}
	return t.v, true
}

// update runs f on key's live value, in place, under the box's lock; f
// reports whether the entry stays. It returns the value as f left it and
// false when the key is unknown or expired.
func (b *ticketBox[T]) update(key string, f func(*T) bool) (T, bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var zero T
	t, ok := b.m[key]
	if !ok {
		return zero, false
	}
	if !now.Before(t.expires) {
		b.drop(key, t)
		return zero, false
	}
	if !f(&t.v) {
		b.drop(key, t)
	}
	return t.v, true
}

// remove forgets key, if present.
func (b *ticketBox[T]) remove(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.m[key]; ok {
		b.drop(key, t)
	}
}

// sweep drops every expired entry. The caller holds b.mu.
func (b *ticketBox[T]) sweep(now time.Time) {
	for k, t := range b.m {
		if !now.Before(t.expires) {
			b.drop(k, t)
		}
	}
}

// drop removes key's entry t. The caller holds b.mu.
func (b *ticketBox[T]) drop(key string, t *ticket[T]) {
	delete(b.m, key)
	if b.owners[t.owner]--; b.owners[t.owner] <= 0 {
		delete(b.owners, t.owner)
	}
}

// len is the number of entries held, live or not yet swept (for tests).
func (b *ticketBox[T]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
