package server

import (
	"testing"
	"time"
)

// TestSSOTicketBox: sign-ons in flight answer once, expire, and stay
// within the box's bounds in all and per client address; expired ones
// make room.
func TestSSOTicketBox(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	b := newTicketBox[int](time.Minute, 3, 2, clock.Now)
	k1, ok1 := b.put("ip:a", 1)
	k2, ok2 := b.put("ip:a", 2)
	if !ok1 || !ok2 || k1 == k2 || len(k1) != 43 {
		t.Fatalf("put: %q %t, %q %t", k1, ok1, k2, ok2)
	}
	if _, ok := b.put("ip:a", 3); ok {
		t.Fatal("a third entry for one address was accepted")
	}
	k3, ok := b.put("ip:b", 3)
	if !ok {
		t.Fatal("another address was refused")
	}
	if _, ok := b.put("ip:c", 4); ok || b.len() != 3 {
		t.Fatalf("the box holds %d, accepted beyond its bound: %t", b.len(), ok)
	}
	if v, ok := b.take(k1); !ok || v != 1 {
		t.Fatalf("take = %d, %t", v, ok)
	}
	if _, ok := b.take(k1); ok {
		t.Fatal("a key answered twice")
	}
	if v, ok := b.update(k2, func(v *int) bool { *v += 10; return true }); !ok || v != 12 {
		t.Fatalf("update = %d, %t", v, ok)
	}
	if v, ok := b.update(k2, func(v *int) bool { return false }); !ok || v != 12 {
		t.Fatalf("update that drops = %d, %t", v, ok)
	}
	if _, ok := b.take(k2); ok {
		t.Fatal("a dropped key answered")
	}
	clock.Add(time.Minute)
	if _, ok := b.take(k3); ok {
		t.Fatal("an expired key answered")
	}
	b.put("ip:d", 5)
	b.put("ip:d", 6)
	clock.Add(time.Minute)
	if _, ok := b.put("ip:d", 7); !ok || b.len() != 1 {
		t.Fatalf("expired entries did not make room: %t, %d held", ok, b.len())
	}
	if _, ok := b.take("no-such-key"); ok {
		t.Fatal("an unknown key answered")
	}
}
