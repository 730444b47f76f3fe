package audit_test

import (
	"context"
	"testing"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org, other := store.NewID(), store.NewID()
		appendN(t, db, org, 40)
		appendN(t, db, other, 5)
		list := func(f audit.Filter) []*sotto.AuditEvent {
			t.Helper()
			f.OrgID = org
			es, err := audit.List(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if e.OrgID != org || (i > 0 && e.Seq <= es[i-1].Seq) {
					t.Fatalf("entry %d: org %s seq %d, not oldest-first in org", i, e.OrgID, e.Seq)
				}
			}
			return es
		}
		patient := sampleEvent(org, 3).PatientID // entries 3, 8, 13, ... (i%5 == 3)
		if es := list(audit.Filter{PatientID: patient}); len(es) != 8 || es[0].PatientID != patient {
			t.Fatalf("patient filter: %d entries", len(es))
		}
		actor := sampleEvent(org, 2).ActorID // i%7 == 2: 2, 9, 16, 23, 30, 37
		if es := list(audit.Filter{ActorID: actor}); len(es) != 6 {
			t.Fatalf("actor filter: %d entries", len(es))
		}
		if es := list(audit.Filter{Action: sotto.AuditSignIn}); len(es) != 10 || es[0].Action != sotto.AuditSignIn {
			t.Fatalf("action filter: %d entries", len(es))
		}
		if es := list(audit.Filter{ActorID: actor, Action: sotto.AuditMessageRead}); len(es) != 2 { // 2 and 30
			t.Fatalf("actor and action filter: %d entries", len(es))
		}
		// Time range: From inclusive, To exclusive.
		e10, e20 := entry(t, db, org, 10), entry(t, db, org, 20)
		rng := list(audit.Filter{From: e10.At, To: e20.At})
		for _, e := range rng {
			if e.At.Before(e10.At) || !e.At.Before(e20.At) {
				t.Fatalf("entry %d at %v outside [%v, %v)", e.Seq, e.At, e10.At, e20.At)
			}
		}
		if none := list(audit.Filter{From: e20.At.Add(time.Hour)}); len(none) != 0 {
			t.Fatalf("future range: %d entries", len(none))
		}
		// Paging with AfterSeq and Limit.
		var seqs []int64
		for after := int64(0); ; {
			page := list(audit.Filter{AfterSeq: after, Limit: 15})
			for _, e := range page {
				seqs = append(seqs, e.Seq)
			}
			if len(page) < 15 {
				break
			}
			after = page[len(page)-1].Seq
		}
		if len(seqs) != 40 || seqs[0] != 1 || seqs[39] != 40 {
			t.Fatalf("paged through %d entries", len(seqs))
		}
		if n := len(list(audit.Filter{})); n != 40 {
			t.Fatalf("default limit listed %d", n)
		}
		for _, bad := range []audit.Filter{{OrgID: ""}, {OrgID: "x"}, {OrgID: org, Limit: -1}, {OrgID: org, AfterSeq: -5}} {
			if _, err := audit.List(ctx, db, bad); sotto.ErrorKind(err) != sotto.KindInvalid {
				t.Errorf("filter %+v: err = %v, want invalid", bad, err)
			}
		}
	})
}

func TestListLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		buildChain(t, db, org, 2500)
		for limit, want := range map[int]int{0: audit.DefaultLimit, 7: 7, 5000: audit.MaxLimit} {
			es, err := audit.List(ctx, db, audit.Filter{OrgID: org, Limit: limit})
			if err != nil || len(es) != want {
				t.Fatalf("limit %d: %d entries, %v; want %d", limit, len(es), err, want)
			}
		}
		n, last := 0, int64(0)
		for e, err := range audit.Events(ctx, db, audit.Filter{OrgID: org, Limit: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if e.Seq != last+1 {
				t.Fatalf("Events yielded seq %d after %d", e.Seq, last)
			}
			last = e.Seq
		}
		if n != 2500 {
			t.Fatalf("Events yielded %d entries, want 2500", n)
		}
		for _, err := range audit.Events(ctx, db, audit.Filter{OrgID: "bad"}) {
			if sotto.ErrorKind(err) != sotto.KindInvalid {
				t.Fatalf("Events with a bad filter: %v", err)
			}
		}
	})
}
