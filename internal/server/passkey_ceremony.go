package server

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"sotto"
)

// ceremonyTTL is how long a WebAuthn ceremony may take, from its begin
// to its finish; the browser is given the same timeout.
const ceremonyTTL = 5 * time.Minute

// Bounds of the pending ceremonies kept in memory: in all, and per client
// address (a practice behind one NAT address still has room; one client
// cannot fill the table for everyone).
const (
	maxCeremonies        = 10_000
	maxCeremoniesPerAddr = 64
)

// ceremonyKind says what a ceremony was begun for; a ceremony finishes
// only as the kind it was begun as.
type ceremonyKind int

const (
	ceremonyRegister     ceremonyKind = iota + 1 // adding a passkey to the signed-in user
	ceremonyPasswordless                         // sign-in with a discoverable passkey alone
	ceremonySecondFactor                         // sign-in: the password was right, the passkey is the second factor
)

// ceremony is one begun WebAuthn ceremony: the library's session data
// (the challenge) and whom it is bound to.
type ceremony struct {
	kind    ceremonyKind
	orgID   string // the bound user (register, second factor); empty for passwordless
	userID  string
	acctKey string // the throttle key of the bound account (second factor)
	session webauthn.SessionData
	addr    string // the client address that began it, for the per-address bound
	expires time.Time
}

// ceremonies holds the pending ceremonies of one Server, in memory,
// under random ids. Each is single use (taken out by its finish, whether
// or not the finish succeeds) and expires after ceremonyTTL. Safe for
// concurrent use. A multi-node deployment needs the finish to reach the
// node that began the ceremony (sticky sessions); otherwise the client
// is told to start again.
type ceremonies struct {
	now func() time.Time

	mu     sync.Mutex
	byID   map[string]*ceremony
	byAddr map[string]int
}

// newCeremonies returns an empty table on clock now.
func newCeremonies(now func() time.Time) *ceremonies {
	return &ceremonies{now: now, byID: map[string]*ceremony{}, byAddr: map[string]int{}}
}

// errCeremoniesFull answers a begin when too many ceremonies are pending.
var errCeremoniesFull = &sotto.Error{Kind: sotto.KindRateLimited, Code: "rate_limited", Msg: "Too many passkey requests are pending. Try again in a few minutes."}

// put stores c (stamping its expiry) and returns its new id. Errors:
// KindRateLimited when the table or c's address is full, KindInternal.
func (cs *ceremonies) put(c *ceremony) (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", &sotto.Error{Kind: sotto.KindInternal, Op: "server.ceremonies.put", Err: err}
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := cs.now()
	c.expires = now.Add(ceremonyTTL)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.byID) >= maxCeremonies || cs.byAddr[c.addr] >= maxCeremoniesPerAddr {
		cs.sweep(now)
	}
	if len(cs.byID) >= maxCeremonies || cs.byAddr[c.addr] >= maxCeremoniesPerAddr {
		return "", errCeremoniesFull
	}
	cs.byID[id] = c
	cs.byAddr[c.addr]++
	return id, nil
}

// take removes and returns ceremony id if it exists, has not expired and
// is of kind; a ceremony of another kind stays where it is.
func (cs *ceremonies) take(id string, kinds ...ceremonyKind) (*ceremony, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return nil, false
	}
	match := false
	for _, k := range kinds {
		match = match || c.kind == k
	}
	if !match {
		return nil, false
	}
	cs.remove(id, c)
	if !cs.now().Before(c.expires) {
		return nil, false
	}
	return c, true
}

// len reports how many ceremonies are pending (expired ones included
// until swept), for tests.
func (cs *ceremonies) len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.byID)
}

// sweep drops every expired ceremony. Callers hold mu.
func (cs *ceremonies) sweep(now time.Time) {
	for id, c := range cs.byID {
		if !now.Before(c.expires) {
			cs.remove(id, c)
		}
	}
}

// remove drops ceremony id (which is c). Callers hold mu.
func (cs *ceremonies) remove(id string, c *ceremony) {
	delete(cs.byID, id)
	if cs.byAddr[c.addr] <= 1 {
		delete(cs.byAddr, c.addr)
	} else {
		cs.byAddr[c.addr]--
	}
}
