package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustAllow fails the test unless Allow(key) returns want and wait.
func mustAllow(t *testing.T, th *Throttle, key string, want bool, wait time.Duration) {
	t.Helper()
	ok, got := th.Allow(key)
	if ok != want || got != wait {
		t.Fatalf("Allow(%q) = %v, %v; want %v, %v", key, ok, got, want, wait)
	}
}

func TestThrottleDelayProgression(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{}, clock.Now)
	// Lockout after each failure, 1-based; 0 means still allowed.
	want := []time.Duration{
		0, 0, 0, 0, 0, // five free attempts
		1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second,
		256 * time.Second, 512 * time.Second,
		15 * time.Minute, 15 * time.Minute, 15 * time.Minute, // capped
	}
	for i, w := range want {
		mustAllow(t, th, "acct:1", true, 0)
		th.Fail("acct:1")
		if w == 0 {
			mustAllow(t, th, "acct:1", true, 0)
			continue
		}
		mustAllow(t, th, "acct:1", false, w)
		clock.Advance(w - time.Nanosecond)
		mustAllow(t, th, "acct:1", false, time.Nanosecond)
		clock.Advance(time.Nanosecond) // lockout ends exactly at w
		if i < len(want)-1 {
			mustAllow(t, th, "acct:1", true, 0)
		}
	}
}

func TestThrottleManyFailuresNoOverflow(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{BaseDelay: time.Hour, MaxDelay: 1<<63 - 1}, clock.Now)
	for range 200 {
		th.Fail("k")
	}
	ok, wait := th.Allow("k")
	if ok || wait <= 0 {
		t.Fatalf("Allow = %v, %v after 200 failures; want locked with positive wait", ok, wait)
	}
}

func TestThrottleFailWhileLocked(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{FreeAttempts: 1}, clock.Now)
	th.Fail("k") // free
	th.Fail("k") // 1 s
	mustAllow(t, th, "k", false, time.Second)
	th.Fail("k") // ignoring the lockout still counts: 2 s from now
	mustAllow(t, th, "k", false, 2*time.Second)
}

func TestThrottleDecay(t *testing.T) {
	tests := []struct {
		name     string
		idle     time.Duration
		wantWait time.Duration // lockout after the next failure
	}{
		{"just inside window keeps count", time.Hour - time.Nanosecond, 2 * time.Second},
		{"window elapsed forgets", time.Hour, 0},
		{"long after forgets", 48 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			th := NewThrottle(ThrottleConfig{}, clock.Now)
			for range 6 { // 5 free + 1 s lockout
				th.Fail("k")
			}
			clock.Advance(tt.idle)
			th.Fail("k")
			if tt.wantWait == 0 {
				mustAllow(t, th, "k", true, 0)
			} else {
				mustAllow(t, th, "k", false, tt.wantWait)
			}
		})
	}
}

func TestThrottleDecayWaitsForLockout(t *testing.T) {
	// With MaxDelay beyond Window, the count survives until the lockout
	// ends even if Window has passed.
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{FreeAttempts: -1, BaseDelay: 2 * time.Hour, Window: time.Hour, MaxDelay: 10 * time.Hour}, clock.Now)
	th.Fail("k")
	mustAllow(t, th, "k", false, 2*time.Hour)
	clock.Advance(90 * time.Minute) // past Window, still locked
	th.Fail("k")
	mustAllow(t, th, "k", false, 4*time.Hour)
}

func TestThrottleDecayBehindLiveEntry(t *testing.T) {
	// An expired key that is not at the old end of the list (a locked
	// key ahead of it outlives Window) is reset in place by Fail.
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{FreeAttempts: 2, BaseDelay: 2 * time.Hour, Window: time.Hour, MaxDelay: 10 * time.Hour}, clock.Now)
	for range 3 {
		th.Fail("a") // third failure locks a for 2 h
	}
	th.Fail("b")
	th.Fail("b") // two free failures, no lockout
	clock.Advance(90 * time.Minute)
	th.Fail("b") // b's earlier failures are forgotten: this is its first
	mustAllow(t, th, "b", true, 0)
	mustAllow(t, th, "a", false, 30*time.Minute)
	if th.Len() != 2 {
		t.Fatalf("Len = %d; want 2", th.Len())
	}
}

func TestThrottleSucceedResets(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{}, clock.Now)
	for range 8 {
		th.Fail("acct:1")
	}
	mustAllow(t, th, "acct:1", false, 4*time.Second)
	th.Succeed("acct:1")
	mustAllow(t, th, "acct:1", true, 0)
	if th.Len() != 0 {
		t.Fatalf("Len = %d after Succeed; want 0", th.Len())
	}
	// The free attempts are back.
	for range 5 {
		th.Fail("acct:1")
	}
	mustAllow(t, th, "acct:1", true, 0)
	th.Fail("acct:1")
	mustAllow(t, th, "acct:1", false, time.Second)
	th.Succeed("unknown") // no-op
}

func TestThrottleKeysIndependent(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{}, clock.Now)
	for range 7 {
		th.Fail("acct:1")
	}
	th.Fail("ip:10.0.0.1")
	mustAllow(t, th, "acct:1", false, 2*time.Second)
	mustAllow(t, th, "ip:10.0.0.1", true, 0)
	mustAllow(t, th, "acct:2", true, 0)
	th.Succeed("ip:10.0.0.1")
	mustAllow(t, th, "acct:1", false, 2*time.Second)
}

func TestThrottleAllowDoesNotTrack(t *testing.T) {
	th := NewThrottle(ThrottleConfig{}, newFakeClock().Now)
	for i := range 1000 {
		th.Allow(fmt.Sprint("ip:", i))
	}
	if th.Len() != 0 {
		t.Fatalf("Len = %d after only Allow calls; want 0", th.Len())
	}
}

func TestThrottleMemoryCap(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{MaxKeys: 3, FreeAttempts: 1}, clock.Now)
	for _, k := range []string{"a", "b", "c"} {
		th.Fail(k)
		th.Fail(k) // locked 1 s
		clock.Advance(time.Millisecond)
	}
	th.Fail("a") // refreshes a: b is now the oldest
	clock.Advance(time.Millisecond)
	th.Fail("d") // evicts b
	if th.Len() != 3 {
		t.Fatalf("Len = %d; want 3", th.Len())
	}
	mustAllow(t, th, "b", true, 0)
	if ok, _ := th.Allow("a"); ok {
		t.Error("a was evicted; want the oldest (b)")
	}
	if ok, _ := th.Allow("c"); ok {
		t.Error("c was evicted; want the oldest (b)")
	}
	for i := range 100 {
		th.Fail(fmt.Sprint("flood", i))
		if th.Len() > 3 {
			t.Fatalf("Len = %d; cap is 3", th.Len())
		}
	}
}

func TestThrottleEvictsExpired(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{}, clock.Now)
	for i := range 50 {
		th.Fail(fmt.Sprint("old", i))
	}
	clock.Advance(time.Hour)
	th.Fail("new")
	if th.Len() != 1 {
		t.Fatalf("Len = %d; want expired keys evicted, leaving 1", th.Len())
	}
}

func TestThrottleConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   ThrottleConfig
		want ThrottleConfig
	}{
		{"zero", ThrottleConfig{}, ThrottleConfig{5, time.Second, 15 * time.Minute, time.Hour, 100_000}},
		{"negative free", ThrottleConfig{FreeAttempts: -3}, ThrottleConfig{0, time.Second, 15 * time.Minute, time.Hour, 100_000}},
		{"max below base", ThrottleConfig{BaseDelay: time.Minute, MaxDelay: time.Second}, ThrottleConfig{5, time.Minute, time.Minute, time.Hour, 100_000}},
		{"explicit", ThrottleConfig{3, 2 * time.Second, time.Minute, time.Minute, 10}, ThrottleConfig{3, 2 * time.Second, time.Minute, time.Minute, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(); got != tt.want {
				t.Fatalf("withDefaults = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestThrottleConcurrent(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(ThrottleConfig{MaxKeys: 50}, clock.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprint("k", (g*31+i)%80)
				th.Allow(key)
				th.Fail(key)
				if i%7 == 0 {
					th.Succeed(key)
				}
				if i%50 == 0 {
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := th.Len(); n > 50 {
		t.Fatalf("Len = %d; cap is 50", n)
	}
}

func TestNewThrottleNilClock(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewThrottle(nil clock) did not panic")
		}
	}()
	NewThrottle(ThrottleConfig{}, nil)
}
