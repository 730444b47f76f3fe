package store_test

import (
	"context"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestIdleTimeouts: an organization's automatic logoff is stored, replaced
// and kept apart from another organization's.
func TestIdleTimeouts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		admin := newUser(t, db, o.ID, sotto.RoleAdmin)
		if it, err := db.IdleTimeouts(ctx, o.ID); err != nil || it != (store.IdleTimeouts{}) {
			t.Fatalf("defaults = %+v, %v", it, err)
		}
		for _, want := range []store.IdleTimeouts{{Staff: 5 * time.Minute, Patient: 20 * time.Minute}, {Staff: 10 * time.Minute, Patient: time.Hour}} {
			mustWrite(t, db, func(tx *store.Tx) error { return tx.SetIdleTimeouts(o.ID, want, admin.ID) })
			if got, err := db.IdleTimeouts(ctx, o.ID); err != nil || got != want {
				t.Fatalf("IdleTimeouts = %+v, %v; want %+v", got, err, want)
			}
		}
		if it, _ := db.IdleTimeouts(ctx, other.ID); it != (store.IdleTimeouts{}) {
			t.Fatalf("another org = %+v", it)
		}
	})
}
