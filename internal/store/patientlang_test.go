package store_test

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestSetPatientLanguage: a patient's language changes in the sealed
// demographics and nothing else does; unknown languages, unknown patients
// and another practice's patients are refused.
func TestSetPatientLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		p := &sotto.Patient{OrgID: a.ID, GivenName: "Carla", FamilyName: "Demo-Nguyen", BirthDate: "1990-06-15", MRN: "TEST-LANG-1",
			Phone: "+15555550199", Email: "carla.demo@example.test", Language: "en", TimeZone: "America/Chicago"}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertPatient(p) })

		mustWrite(t, db, func(tx *store.Tx) error { return tx.SetPatientLanguage(a.ID, p.ID, "es") })
		got, err := db.Patient(ctx, a.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Language != "es" || got.GivenName != "Carla" || got.FamilyName != "Demo-Nguyen" || got.BirthDate != "1990-06-15" ||
			got.MRN != "TEST-LANG-1" || got.Phone != "+15555550199" || got.Email != "carla.demo@example.test" || got.TimeZone != "America/Chicago" {
			t.Fatalf("after the change: %+v", got)
		}
		// The blind indexes still find the patient.
		found, err := db.FindPatients(ctx, a.ID, "TEST-LANG-1", 5)
		if err != nil || len(found) != 1 || found[0].Language != "es" {
			t.Fatalf("search after the change: %v, %v", found, err)
		}

		for _, c := range []struct {
			name, org, id, lang string
			kind                sotto.Kind
		}{
			{"unknown language", a.ID, p.ID, "fr", sotto.KindInvalid},
			{"empty language", a.ID, p.ID, "", sotto.KindInvalid},
			{"another practice", b.ID, p.ID, "en", sotto.KindNotFound},
			{"unknown patient", a.ID, store.NewID(), "en", sotto.KindNotFound},
			{"malformed id", a.ID, "not-an-id", "en", sotto.KindNotFound},
		} {
			err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetPatientLanguage(c.org, c.id, c.lang) })
			if sotto.ErrorKind(err) != c.kind {
				t.Errorf("%s: %v, want kind %s", c.name, err, c.kind)
			}
		}
		if got, _ := db.Patient(ctx, a.ID, p.ID); got.Language != "es" {
			t.Fatalf("a refused change changed the language to %q", got.Language)
		}
	})
}
