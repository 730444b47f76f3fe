package store_test

import (
	"context"
	"fmt"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestAuditForwardCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		state := func() string {
			t.Helper()
			st, err := db.AuditForwardState(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(st)
		}
		if got := state(); got != "[]" {
			t.Fatalf("empty trail: %s", got)
		}
		a, b := "0190a0b0-0000-7000-8000-00000000000a", "0190a0b0-0000-7000-8000-00000000000b"
		setHead := func(org string, seq int64) {
			mustWrite(t, db, func(tx *store.Tx) error {
				_, err := tx.Exec(`INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, $2, $3)
					ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq`, org, seq, make([]byte, 32))
				return err
			})
		}
		setCursor := func(org string, seq int64) {
			mustWrite(t, db, func(tx *store.Tx) error { return tx.SetAuditForwarded(org, seq) })
		}
		setHead(b, 7)
		setHead(a, 3)
		setHead(sotto.SystemOrgID, 2)
		// Ordered by org id; no cursor row reads as 0.
		want := fmt.Sprint([]store.AuditForward{{sotto.SystemOrgID, 2, 0}, {a, 3, 0}, {b, 7, 0}})
		if got := state(); got != want {
			t.Fatalf("before forwarding:\n got %s\nwant %s", got, want)
		}
		setCursor(b, 5)
		setCursor(a, 3)
		setCursor(b, 6) // upsert
		want = fmt.Sprint([]store.AuditForward{{sotto.SystemOrgID, 2, 0}, {a, 3, 3}, {b, 7, 6}})
		if got := state(); got != want {
			t.Fatalf("after forwarding:\n got %s\nwant %s", got, want)
		}
		st, _ := db.AuditForwardState(ctx)
		if lags := fmt.Sprint(st[0].Lag(), st[1].Lag(), st[2].Lag()); lags != "2 0 1" {
			t.Fatalf("lags = %s", lags)
		}
		// The cursor may move back (a reset), never below zero; a cursor
		// ahead of the head has no lag.
		setCursor(b, 0)
		setCursor(a, 9)
		st, _ = db.AuditForwardState(ctx)
		if st[1].Cursor != 9 || st[1].Lag() != 0 || st[2].Cursor != 0 || st[2].Lag() != 7 {
			t.Fatalf("after reset: %v", st)
		}
		err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetAuditForwarded(a, -1) })
		if sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("negative cursor: err = %v, want invalid", err)
		}
		// A cursor without a trail (no head) is not listed.
		setCursor("0190a0b0-0000-7000-8000-00000000000c", 4)
		if st, _ := db.AuditForwardState(ctx); len(st) != 3 {
			t.Fatalf("state lists %d orgs, want 3: %v", len(st), st)
		}
	})
}
