package store_test

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestLocations lists an organization's locations by name, and no one
// else's.
func TestLocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		for _, n := range []string{"Test South", "Test North"} {
			mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertLocation(&sotto.Location{OrgID: o.ID, Name: n}) })
		}
		ls, err := db.Locations(ctx, o.ID)
		if err != nil || len(ls) != 2 || ls[0].Name != "Test North" || ls[1].Name != "Test South" {
			t.Fatalf("Locations = %v, %v", ls, err)
		}
		if ls, _ := db.Locations(ctx, other.ID); len(ls) != 0 {
			t.Fatalf("another org has %d locations", len(ls))
		}
	})
}
