package crypt

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// countingMaster counts Decrypt calls to observe cache hits.
type countingMaster struct {
	Master
	decrypts atomic.Int64
}

func (c *countingMaster) Decrypt(ct, ad []byte) ([]byte, error) {
	c.decrypts.Add(1)
	return c.Master.Decrypt(ct, ad)
}

func TestKeyringCachesAndBoundsLRU(t *testing.T) {
	cm := &countingMaster{Master: newTestMaster(t)}
	kr := NewKeyring(cm, 3)
	wrapped := map[string][]byte{}
	for i := range 5 {
		id := fmt.Sprintf("org-%d", i)
		w, err := kr.NewOrgKey(id)
		if err != nil {
			t.Fatal(err)
		}
		wrapped[id] = w
		if _, err := kr.Org(id, w); err != nil {
			t.Fatal(err)
		}
		if n := kr.Len(); n > 3 {
			t.Fatalf("Len = %d after %d orgs, bound is 3", n, i+1)
		}
	}
	if kr.Len() != 3 {
		t.Errorf("Len = %d, want 3", kr.Len())
	}
	before := cm.decrypts.Load()
	o4, err := kr.Org("org-4", wrapped["org-4"]) // most recent: cached
	if err != nil {
		t.Fatal(err)
	}
	if cm.decrypts.Load() != before {
		t.Error("Org on a cached entry called the master")
	}
	if _, err := kr.Org("org-0", wrapped["org-0"]); err != nil { // evicted: unwraps
		t.Fatal(err)
	}
	if cm.decrypts.Load() != before+1 {
		t.Error("Org on an evicted entry did not call the master")
	}

	// Data keys share the bound.
	for i := range 4 {
		testData(t, kr, o4, fmt.Sprintf("pat-%d", i))
	}
	if kr.Len() != 3 {
		t.Errorf("Len = %d after data keys, want 3", kr.Len())
	}
}

func TestKeyringForget(t *testing.T) {
	cm := &countingMaster{Master: newTestMaster(t)}
	kr := NewKeyring(cm, 100)
	a, aw := testOrg(t, kr, "org-a")
	b, _ := testOrg(t, kr, "org-b")
	testData(t, kr, a, "pat-1")
	testData(t, kr, a, "pat-2")
	testData(t, kr, b, "pat-3")
	if kr.Len() != 5 {
		t.Fatalf("Len = %d, want 5", kr.Len())
	}
	kr.Forget("pat-1")
	if kr.Len() != 4 {
		t.Errorf("after Forget(patient) Len = %d, want 4", kr.Len())
	}
	kr.Forget("org-a") // org key and its remaining patient key
	if kr.Len() != 2 {
		t.Errorf("after Forget(org) Len = %d, want 2", kr.Len())
	}
	kr.Forget("")
	kr.Forget("nobody")
	if kr.Len() != 2 {
		t.Errorf("Forget of unknown id changed Len to %d", kr.Len())
	}
	// A forgotten org must be unwrapped from the master again.
	before := cm.decrypts.Load()
	if _, err := kr.Org("org-a", aw); err != nil {
		t.Fatal(err)
	}
	if cm.decrypts.Load() != before+1 {
		t.Error("forgotten org key was served from cache")
	}
}

func TestKeyringConcurrent(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 4) // small: forces eviction under load
	type org struct {
		id      string
		wrapped []byte
		data    map[string][]byte
	}
	var orgs []org
	for i := range 3 {
		o, w := testOrg(t, kr, fmt.Sprintf("org-%d", i))
		og := org{id: o.OrgID(), wrapped: w, data: map[string][]byte{}}
		for j := range 3 {
			pid := fmt.Sprintf("pat-%d-%d", i, j)
			_, dw := testData(t, kr, o, pid)
			og.data[pid] = dw
		}
		orgs = append(orgs, og)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				og := orgs[(g+i)%len(orgs)]
				o, err := kr.Org(og.id, og.wrapped)
				if err != nil {
					errs <- err
					return
				}
				for pid, dw := range og.data {
					d, err := kr.Data(o, pid, dw)
					if err != nil {
						errs <- err
						return
					}
					ad := AD("messages", "body", fmt.Sprint(g, i))
					ct, err := d.Seal([]byte("hello"), ad)
					if err != nil {
						errs <- err
						return
					}
					if pt, err := d.Open(ct, ad); err != nil || string(pt) != "hello" {
						errs <- fmt.Errorf("open: %q, %w", pt, err)
						return
					}
					_ = o.BlindIndex("email", pid)
				}
				if i%10 == 0 {
					kr.Forget(og.id)
				}
				if n := kr.Len(); n > 4 {
					errs <- fmt.Errorf("Len %d exceeds bound", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKeyringNoCache(t *testing.T) {
	kr := NewKeyring(newTestMaster(t), 0)
	o, _ := testOrg(t, kr, "org-1")
	testData(t, kr, o, "pat-1")
	if kr.Len() != 0 {
		t.Errorf("Len = %d with caching disabled", kr.Len())
	}
}

func TestLRUOrder(t *testing.T) {
	c := newLRU(2)
	c.add(&lruEntry{key: "a", value: 1})
	c.add(&lruEntry{key: "b", value: 2})
	c.get("a") // a is now most recent
	c.add(&lruEntry{key: "c", value: 3})
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Error("a should survive")
	}
	c.add(&lruEntry{key: "a", value: 9}) // replace
	if v, _ := c.get("a"); v != 9 || c.len() != 2 {
		t.Errorf("replace: v=%v len=%d", v, c.len())
	}
}
