package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle defaults, used for zero fields of ThrottleConfig.
const (
	DefaultFreeAttempts = 5
	DefaultBaseDelay    = time.Second
	DefaultMaxDelay     = 15 * time.Minute
	DefaultWindow       = time.Hour
	DefaultMaxKeys      = 100_000
)

// ThrottleConfig tunes a Throttle. A zero field takes the matching
// Default* constant, so the zero ThrottleConfig is the production policy.
type ThrottleConfig struct {
	// FreeAttempts is how many failures a key may have before delays
	// start (default 5). Negative means none are free.
	FreeAttempts int
	// BaseDelay is the lockout after the first failure beyond
	// FreeAttempts (default 1 s); each further failure doubles it.
	BaseDelay time.Duration
	// MaxDelay caps the lockout (default 15 min).
	MaxDelay time.Duration
	// Window is how long a key must go without a failure for its count
	// to be forgotten (default 1 h).
	Window time.Duration
	// MaxKeys caps the number of keys tracked at once (default 100,000);
	// at the cap, recording a failure for a new key evicts the key whose
	// last failure is oldest, even if it is locked: under a flood of
	// distinct keys the memory cap wins over old lockouts, so size it
	// well above the number of keys expected within one Window.
	MaxKeys int
}

// withDefaults returns c with zero fields replaced by the defaults.
func (c ThrottleConfig) withDefaults() ThrottleConfig {
	switch {
	case c.FreeAttempts == 0:
		c.FreeAttempts = DefaultFreeAttempts
	case c.FreeAttempts < 0:
		c.FreeAttempts = 0
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = DefaultBaseDelay
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MaxDelay < c.BaseDelay {
		c.MaxDelay = c.BaseDelay
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	return c
}

// Throttle slows down guessing by counting recent failures per key and
// imposing an exponentially growing lockout once a key has used its free
// attempts. It is in memory (per process), safe for concurrent use, and
// bounded to MaxKeys entries.
//
// Keys are chosen by the caller, typically one per account ("acct:"+ID)
// and one per client address ("ip:"+addr), checked together. The login,
// TOTP and recovery-code handlers use it as:
//
//	if ok, wait := t.Allow(key); !ok { /* 429, Retry-After: wait */ }
//	if verified { t.Succeed(key) } else { t.Fail(key) }
//
// Succeed forgets a key entirely. Call it for account keys; calling it for
// an address key lets anyone with one valid account clear the counter of
// an address they share with a guessing attack.
type Throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *throttleEntry
	lru  *list.List               // ordered by lastFail, oldest first
}

// throttleEntry is the state of one key.
type throttleEntry struct {
	key         string
	failures    int
	lastFail    time.Time
	lockedUntil time.Time
}

// NewThrottle returns an empty Throttle with cfg (zero fields defaulted)
// and clock now, normally time.Now; tests pass a fake clock. It panics if
// now is nil, a programming error.
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		panic("auth.NewThrottle: nil clock")
	}
	return &Throttle{
		cfg:  cfg.withDefaults(),
		now:  now,
		keys: make(map[string]*list.Element),
		lru:  list.New(),
	}
}

// Allow reports whether an attempt for key may proceed now. When it may
// not, retryAfter is the time left until the lockout ends (for a
// Retry-After header, rounded up to whole seconds by the caller). It
// never records anything, so unknown keys cost no memory.
func (t *Throttle) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	el, found := t.keys[key]
	if !found {
		return true, 0
	}
	e := el.Value.(*throttleEntry)
	if wait := e.lockedUntil.Sub(now); wait > 0 {
		return false, wait
	}
	return true, 0
}

// Fail records a failed attempt for key. Once the key has more than
// FreeAttempts failures within Window of each other, each failure locks
// it for BaseDelay, then twice that, and so on up to MaxDelay: with the
// defaults the 6th failure locks for 1 s, the 7th for 2 s, the 15th for
// 512 s and the 16th and later for 15 min. A failure recorded while
// locked counts too. Failures are forgotten once Window has passed since
// the last one (and any lockout has ended).
func (t *Throttle) Fail(key string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.evictExpired(now)
	var e *throttleEntry
	if el, found := t.keys[key]; found {
		e = el.Value.(*throttleEntry)
		if t.expired(e, now) {
			e.failures = 0
		}
		t.lru.MoveToBack(el)
	} else {
		for t.lru.Len() >= t.cfg.MaxKeys {
			t.remove(t.lru.Front())
		}
		e = &throttleEntry{key: key}
		t.keys[key] = t.lru.PushBack(e)
	}
	e.failures++
	e.lastFail = now
	if over := e.failures - t.cfg.FreeAttempts; over > 0 {
		e.lockedUntil = now.Add(t.delay(over))
	}
}

// Succeed forgets key: its failures and any lockout. Call it after a
// successful attempt on an account key (see Throttle).
func (t *Throttle) Succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, found := t.keys[key]; found {
		t.remove(el)
	}
}

// Len returns the number of keys currently tracked, for metrics and
// tests. Keys whose state has expired may be counted until the next Fail
// evicts them.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

// delay returns the lockout for the over-th failure beyond the free
// ones: BaseDelay << (over-1), capped at MaxDelay without overflowing.
func (t *Throttle) delay(over int) time.Duration {
	d := t.cfg.BaseDelay
	for i := 1; i < over; i++ {
		if d > t.cfg.MaxDelay/2 {
			return t.cfg.MaxDelay
		}
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// expired reports whether e's failures are forgotten at now: Window has
// passed since the last failure and no lockout is running.
func (t *Throttle) expired(e *throttleEntry, now time.Time) bool {
	return !now.Before(e.lastFail.Add(t.cfg.Window)) && !now.Before(e.lockedUntil)
}

// evictExpired removes expired entries from the old end of the list. The
// list is ordered by lastFail, so it stops at the first live entry; a
// live entry can only hide expired ones behind it when MaxDelay exceeds
// Window, and those go when they reach the front. Caller holds t.mu.
func (t *Throttle) evictExpired(now time.Time) {
	for el := t.lru.Front(); el != nil; el = t.lru.Front() {
		if !t.expired(el.Value.(*throttleEntry), now) {
			return
		}
		t.remove(el)
	}
}

// remove deletes el from the list and the map. Caller holds t.mu.
func (t *Throttle) remove(el *list.Element) {
	delete(t.keys, el.Value.(*throttleEntry).key)
	t.lru.Remove(el)
}
