package store_test

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestUpdatePatient: a corrected phone, name and care team are stored
// sealed and found through the new indexes, not the old; a taken MRN is
// refused; another org's patient is not found.
func TestUpdatePatient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nurse, provider := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleProvider)
		p := newPatient(t, db, o.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName, p.Phone, p.CareTeamUserIDs = "Testy", "Oldfamilyname", "+15005550150", []string{nurse.ID}
		})
		taken := newPatient(t, db, o.ID, nil)
		got, err := db.Patient(ctx, o.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.FamilyName, got.Phone, got.CareTeamUserIDs = "Renamedson", "+15005550151", []string{provider.ID}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.UpdatePatient(got) })
		again, err := db.Patient(ctx, o.ID, p.ID)
		if err != nil || again.FamilyName != "Renamedson" || again.Phone != "+15005550151" || !sameIDs(again.CareTeamUserIDs, []string{provider.ID}) ||
			again.BirthDate != p.BirthDate || again.MRN != p.MRN {
			t.Fatalf("after update: %+v, %v", again, err)
		}
		find := func(q string) int {
			t.Helper()
			ps, err := db.FindPatients(ctx, o.ID, q, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		if find("Renamedson") != 1 || find("Oldfamilyname") != 0 || find("+15005550151") != 1 || find("+15005550150") != 0 {
			t.Fatal("the search indexes do not follow the update")
		}
		clash := *again
		clash.MRN = taken.MRN
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.UpdatePatient(&clash) })
		wantErr(t, "taken MRN", err, sotto.KindConflict, "mrn_taken")
		foreign := *again
		foreign.OrgID = other.ID
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.UpdatePatient(&foreign) })
		wantErr(t, "another org", err, sotto.KindNotFound, "")
		bad := *again
		bad.BirthDate = "not a date"
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.UpdatePatient(&bad) })
		wantErr(t, "bad birth date", err, sotto.KindInvalid, "")
	})
}
