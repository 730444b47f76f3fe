package server

import (
	"fmt"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPasskeyCeremonies: a ceremony is taken once, only as its kind,
// only before it expires; one client address and the whole table are
// bounded, and expired ceremonies make room again.
func TestPasskeyCeremonies(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cs := newCeremonies(clock.Now)
	put := func(kind ceremonyKind, addr string) (string, error) {
		return cs.put(&ceremony{kind: kind, addr: ceremonyAddr(addr)})
	}
	id, err := put(ceremonyPasswordless, "192.0.2.1")
	if err != nil || len(id) < 22 {
		t.Fatalf("put: %q, %v", id, err)
	}
	if _, ok := cs.take(id, ceremonyRegister); ok {
		t.Fatal("a passwordless ceremony was taken as a registration")
	}
	if _, ok := cs.take(id, ceremonySecondFactor, ceremonyPasswordless); !ok {
		t.Fatal("the ceremony was not taken as its own kind")
	}
	if _, ok := cs.take(id, ceremonyPasswordless); ok {
		t.Fatal("a ceremony was taken twice")
	}
	if _, ok := cs.take("no-such-ceremony", ceremonyPasswordless); ok {
		t.Fatal("an unknown ceremony was taken")
	}

	late, _ := put(ceremonyRegister, "192.0.2.1")
	clock.Add(ceremonyTTL)
	if _, ok := cs.take(late, ceremonyRegister); ok {
		t.Fatal("an expired ceremony was taken")
	}

	for i := range maxCeremoniesPerAddr {
		if _, err := put(ceremonyPasswordless, "2001:db8:1:2::"+fmt.Sprint(i+1)); err != nil {
			t.Fatalf("ceremony %d of one /64: %v", i, err)
		}
	}
	if _, err := put(ceremonyPasswordless, "2001:db8:1:2:ffff::1"); sotto.ErrorCode(err) != "rate_limited" {
		t.Fatalf("one more from the same IPv6 /64: %v, want rate_limited", err)
	}
	if _, err := put(ceremonyPasswordless, "2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64 was refused: %v", err)
	}
	for i := cs.len(); i < maxCeremonies; i++ {
		if _, err := put(ceremonyPasswordless, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)); err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
	}
	if _, err := put(ceremonyPasswordless, "192.0.2.200"); sotto.ErrorCode(err) != "rate_limited" {
		t.Fatalf("a ceremony past the table's bound: %v, want rate_limited", err)
	}
	clock.Add(ceremonyTTL)
	if _, err := put(ceremonyPasswordless, "2001:db8:1:2::1"); err != nil {
		t.Fatalf("after every ceremony expired: %v", err)
	}
	if n := cs.len(); n != 1 {
		t.Fatalf("%d ceremonies kept after the sweep, want 1", n)
	}
}

// TestPasskeyCeremonyExpiresThroughTheAPI: an answer sent more than five
// minutes after its ceremony began is refused; begin again.
func TestPasskeyCeremonyExpiresThroughTheAPI(t *testing.T) {
	w := newPasskeyWorld(t, storetest.SQLite(t, store.Options{}))
	nurse := addStaffLogin(t, w, "nurse_pk", sotto.RoleNurse, "Nursing")
	w.tokens["nurse_pk"] = w.newToken("nurse_pk")
	a, _ := registerPasskey(t, w, "nurse_pk", nurse.password, "Test laptop")
	begin := w.doFrom("203.0.113.1", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/begin", map[string]string{}))
	cred := a.get(publicKeyOptions(t, begin.body))
	w.clock.Add(ceremonyTTL + time.Second)
	wantErr(t, "an expired ceremony", w.doFrom("203.0.113.1", "anonymous", jsonReq("POST", "/api/v1/auth/passkey/finish",
		map[string]any{"ceremony_id": begin.body["ceremony_id"], "credential": cred})), 400, "ceremony_invalid")
}
