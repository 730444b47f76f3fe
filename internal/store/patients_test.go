package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestPatientRoundTripAndNormalization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		d1, d2 := newDept(t, db, a.ID, "Test Nursing"), newDept(t, db, a.ID, "Test Front Desk")
		nurse, doc := newUser(t, db, a.ID, sotto.RoleNurse), newUser(t, db, a.ID, sotto.RoleProvider)
		portal := newUser(t, db, a.ID, sotto.RolePatient)

		p := &sotto.Patient{
			OrgID:           a.ID,
			GivenName:       "  Testy ",
			FamilyName:      " McTestface  ",
			BirthDate:       " 1980-02-29 ",
			Sex:             sotto.SexFemale,
			MRN:             "  test-0001 ",
			Phone:           " +1 (555) 555-0123 ",
			Email:           "  Testy.McTestface@Example.TEST ",
			Language:        " ES ",
			TimeZone:        " America/Chicago ",
			CareTeamUserIDs: []string{nurse.ID, doc.ID, nurse.ID},
			DepartmentIDs:   []string{d1.ID, d2.ID, d1.ID},
			UserID:          portal.ID,
		}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertPatient(p) })
		if !store.ValidID(p.ID) || p.CreatedAt.IsZero() {
			t.Fatalf("InsertPatient did not set id/created_at: %q %v", p.ID, p.CreatedAt)
		}
		// Normalized in place.
		if p.GivenName != "Testy" || p.FamilyName != "McTestface" || p.BirthDate != "1980-02-29" || p.MRN != "TEST-0001" ||
			p.Phone != "+15555550123" || p.Email != "testy.mctestface@example.test" || p.Language != "es" || p.TimeZone != "America/Chicago" {
			t.Fatalf("not normalized: %+v", p)
		}
		if !sameIDs(p.CareTeamUserIDs, []string{nurse.ID, doc.ID}) || !sameIDs(p.DepartmentIDs, []string{d1.ID, d2.ID}) {
			t.Fatalf("care team not deduplicated: %v %v", p.CareTeamUserIDs, p.DepartmentIDs)
		}

		got, err := db.Patient(ctx, a.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || got.OrgID != a.ID || got.GivenName != "Testy" || got.FamilyName != "McTestface" ||
			got.BirthDate != "1980-02-29" || got.Sex != sotto.SexFemale || got.MRN != "TEST-0001" || got.Phone != "+15555550123" ||
			got.Email != "testy.mctestface@example.test" || got.Language != "es" || got.TimeZone != "America/Chicago" ||
			got.UserID != portal.ID || !got.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("read back %+v\nwant %+v", got, p)
		}
		if !slices.Equal(got.CareTeamUserIDs, sorted([]string{nurse.ID, doc.ID})) || !slices.Equal(got.DepartmentIDs, sorted([]string{d1.ID, d2.ID})) {
			t.Fatalf("care team %v departments %v", got.CareTeamUserIDs, got.DepartmentIDs)
		}
		scope, err := db.PatientScope(ctx, p.ID)
		if err != nil || !slices.Equal(scope.CareTeam, got.CareTeamUserIDs) || !slices.Equal(scope.Departments, got.DepartmentIDs) {
			t.Fatalf("PatientScope = %+v, %v", scope, err)
		}

		// Defaults: language en, sex unknown, empty care team as empty lists.
		q := newPatient(t, db, a.ID, func(p *sotto.Patient) { p.Language, p.Sex = "", "" })
		got, err = db.Patient(ctx, a.ID, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Language != "en" || got.Sex != sotto.SexUnknown || got.Phone != "" || got.Email != "" || got.UserID != "" ||
			got.CareTeamUserIDs == nil || len(got.CareTeamUserIDs) != 0 || got.DepartmentIDs == nil || len(got.DepartmentIDs) != 0 {
			t.Fatalf("defaults: %+v", got)
		}

		// Another org's patient, unknown and malformed ids are not found.
		for _, id := range []string{p.ID, store.NewID(), "not-a-uuid", ""} {
			org := b.ID
			if id != p.ID {
				org = a.ID
			}
			if _, err := db.Patient(ctx, org, id); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("Patient(%q): err = %v, want not found", id, err)
			}
		}
	})
}

func TestInsertPatientValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := mustOrg(t, db, "Test Clinic")
		many := make([]string, sotto.MaxCareTeam+1)
		for i := range many {
			many[i] = store.NewID()
		}
		for _, tc := range []struct {
			name string
			bad  string // the bad value, which the error must not repeat ("" to skip)
			edit func(p *sotto.Patient)
		}{
			{"empty given name", "", func(p *sotto.Patient) { p.GivenName = "  " }},
			{"control in given name", "Tes\x01tyzq", func(p *sotto.Patient) { p.GivenName = "Tes\x01tyzq" }},
			{"invalid UTF-8 family name", "Mc\xffTestzq", func(p *sotto.Patient) { p.FamilyName = "Mc\xffTestzq" }},
			{"long family name", strings.Repeat("Zq", 51), func(p *sotto.Patient) { p.FamilyName = strings.Repeat("Zq", 51) }},
			{"bad birth date", "1980-13-45", func(p *sotto.Patient) { p.BirthDate = "1980-13-45" }},
			{"unpadded birth date", "1980-1-2", func(p *sotto.Patient) { p.BirthDate = "1980-1-2" }},
			{"future birth date", "2999-01-01", func(p *sotto.Patient) { p.BirthDate = "2999-01-01" }},
			{"ancient birth date", "1801-01-01", func(p *sotto.Patient) { p.BirthDate = "1801-01-01" }},
			{"bad sex", "zqrobot", func(p *sotto.Patient) { p.Sex = "zqrobot" }},
			{"empty MRN", "", func(p *sotto.Patient) { p.MRN = " " }},
			{"MRN with space", "TEST 0099", func(p *sotto.Patient) { p.MRN = "TEST 0099" }},
			{"MRN non-ASCII", "TEST-ÄÖ99", func(p *sotto.Patient) { p.MRN = "TEST-ÄÖ99" }},
			{"long MRN", strings.Repeat("Z", 65), func(p *sotto.Patient) { p.MRN = strings.Repeat("Z", 65) }},
			{"phone without country code", "5555550123", func(p *sotto.Patient) { p.Phone = "5555550123" }},
			{"phone with letters", "+1555zq0123", func(p *sotto.Patient) { p.Phone = "+1555zq0123" }},
			{"phone too short", "+1555", func(p *sotto.Patient) { p.Phone = "+1555" }},
			{"phone leading zero", "+05555550123", func(p *sotto.Patient) { p.Phone = "+05555550123" }},
			{"bad e-mail", "zq-not-an-email", func(p *sotto.Patient) { p.Email = "zq-not-an-email" }},
			{"e-mail with display name", "zqtest <testy@example.test>", func(p *sotto.Patient) { p.Email = "Zqtest <testy@example.test>" }},
			{"e-mail without dot in domain", "testy@zqlocalhost", func(p *sotto.Patient) { p.Email = "testy@zqlocalhost" }},
			{"bad language", "zq", func(p *sotto.Patient) { p.Language = "zq" }},
			{"empty time zone", "", func(p *sotto.Patient) { p.TimeZone = "" }},
			{"unknown time zone", "Mars/Zqolympus", func(p *sotto.Patient) { p.TimeZone = "Mars/Zqolympus" }},
			{"Local time zone", "", func(p *sotto.Patient) { p.TimeZone = "Local" }},
			{"care team too large", "", func(p *sotto.Patient) { p.CareTeamUserIDs = many }},
		} {
			p := testPatient(a.ID)
			tc.edit(p)
			err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPatient(p) })
			if sotto.ErrorKind(err) != sotto.KindInvalid {
				t.Fatalf("%s: err = %v, want invalid", tc.name, err)
			}
			if tc.bad != "" {
				for _, s := range []string{err.Error(), sotto.ErrorMessage(err)} {
					if strings.Contains(strings.ToLower(s), strings.ToLower(tc.bad)) || strings.Contains(strings.ToLower(s), "zq") {
						t.Fatalf("%s: error %q repeats the bad value", tc.name, s)
					}
				}
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM patients`); n != 0 {
			t.Fatalf("invalid patients wrote %d rows", n)
		}
		// An unknown org is not found.
		p := testPatient(store.NewID())
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPatient(p) }); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("unknown org: err = %v, want not found", err)
		}
	})
}

func TestInsertPatientMRNConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		first := newPatient(t, db, a.ID, func(p *sotto.Patient) { p.MRN = "TEST-0001" })
		dup := testPatient(a.ID)
		dup.MRN, dup.GivenName = " test-0001", "Other"
		err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPatient(dup) })
		wantErr(t, "same MRN, any case", err, sotto.KindConflict, "mrn_taken")
		if strings.Contains(sotto.ErrorMessage(err), "0001") {
			t.Fatalf("conflict message repeats the MRN: %q", sotto.ErrorMessage(err))
		}
		// Nothing of the failed insert remains (key, search tokens, row).
		if n := count(t, db, `SELECT COUNT(*) FROM patients WHERE org_id = $1`, a.ID); n != 1 {
			t.Fatalf("patients in org A = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM patient_keys WHERE org_id = $1`, a.ID); n != 1 {
			t.Fatalf("patient keys in org A = %d, want 1", n)
		}
		if found, err := db.FindPatients(ctx, a.ID, "other", 10); err != nil || len(found) != 0 {
			t.Fatalf("failed insert left search tokens: %v, %v", patientIDs(found), err)
		}
		// The same MRN in another org is fine.
		other := newPatient(t, db, b.ID, func(p *sotto.Patient) { p.MRN = "TEST-0001" })
		for _, tc := range []struct{ org, id string }{{a.ID, first.ID}, {b.ID, other.ID}} {
			found, err := db.FindPatients(ctx, tc.org, "TEST-0001", 10)
			if err != nil || !slices.Equal(patientIDs(found), []string{tc.id}) {
				t.Fatalf("MRN search in org %s: %v, %v", tc.org, patientIDs(found), err)
			}
		}
	})
}

func TestInsertPatientCareTeamChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		nurse := newUser(t, db, a.ID, sotto.RoleNurse)
		otherOrgNurse := newUser(t, db, b.ID, sotto.RoleNurse)
		portal := newUser(t, db, a.ID, sotto.RolePatient)
		proxy := newUser(t, db, a.ID, sotto.RoleProxy)
		otherDept := newDept(t, db, b.ID, "Test Other Dept")
		for _, tc := range []struct {
			name  string
			team  []string
			depts []string
		}{
			{"staff of another org", []string{nurse.ID, otherOrgNurse.ID}, nil},
			{"patient user", []string{portal.ID}, nil},
			{"proxy user", []string{proxy.ID}, nil},
			{"unknown user", []string{store.NewID()}, nil},
			{"malformed user id", []string{"not-a-uuid"}, nil},
			{"department of another org", nil, []string{otherDept.ID}},
			{"unknown department", nil, []string{store.NewID()}},
			{"malformed department id", nil, []string{"x"}},
		} {
			p := testPatient(a.ID)
			p.CareTeamUserIDs, p.DepartmentIDs = tc.team, tc.depts
			err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPatient(p) })
			wantErr(t, tc.name, err, sotto.KindInvalid, "")
		}
		for _, table := range []string{"patients", "patient_keys", "patient_search", "patient_care_team", "patient_departments"} {
			if n := count(t, db, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Fatalf("rejected patients left %d rows in %s", n, table)
			}
		}
		// A staff member of the org is accepted.
		p := newPatient(t, db, a.ID, func(p *sotto.Patient) { p.CareTeamUserIDs = []string{nurse.ID} })
		if got, err := db.Patient(ctx, a.ID, p.ID); err != nil || !slices.Equal(got.CareTeamUserIDs, []string{nurse.ID}) {
			t.Fatalf("care team: %v, %v", got, err)
		}
	})
}

func TestFindPatients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Test Clinic A"), mustOrg(t, db, "Test Clinic B")
		testy := newPatient(t, db, a.ID, func(p *sotto.Patient) {
			p.MRN, p.Phone, p.Email, p.BirthDate = "TEST-0001", "+15555550123", "testy@example.test", "1980-01-02"
		})
		jose := newPatient(t, db, a.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName, p.MRN, p.BirthDate = "José", "Peña", "TEST-0002", "1975-05-05"
		})
		tessa := newPatient(t, db, a.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName, p.MRN, p.Phone, p.BirthDate = "Tessa", "Testington", "TEST-0003", "+15555550124", "1980-01-02"
		})
		maria := newPatient(t, db, a.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName, p.MRN, p.BirthDate = "Maria", "McTestface", "TEST-0004", "1990-03-03"
		})
		long := newPatient(t, db, a.ID, func(p *sotto.Patient) {
			p.GivenName, p.FamilyName, p.MRN, p.BirthDate = "Bartholomewsonian", "Testlongname", "TEST-0005", "2001-07-07"
		})
		// The same person in another org: never found from org A.
		twin := newPatient(t, db, b.ID, func(p *sotto.Patient) {
			p.MRN, p.Phone, p.Email, p.BirthDate = "TEST-0001", "+15555550123", "testy@example.test", "1980-01-02"
		})

		for _, tc := range []struct {
			query string
			want  []*sotto.Patient
		}{
			{"TEST-0001", []*sotto.Patient{testy}},
			{"test-0001", []*sotto.Patient{testy}},
			{"  Test-0001 ", []*sotto.Patient{testy}},
			{"+15555550123", []*sotto.Patient{testy}},
			{"+1 (555) 555-0123", []*sotto.Patient{testy}},
			{"+1.555.555.0123", []*sotto.Patient{testy}},
			{"0015555550123", []*sotto.Patient{testy}},
			{"testy@example.test", []*sotto.Patient{testy}},
			{" TESTY@Example.Test ", []*sotto.Patient{testy}},
			{"1980-01-02", []*sotto.Patient{testy, tessa}},
			{"1975-05-05", []*sotto.Patient{jose}},
			{"tes", []*sotto.Patient{testy, tessa, long}},
			{"TESTY", []*sotto.Patient{testy}},
			{"mctest", []*sotto.Patient{testy, maria}},
			{"McTestface", []*sotto.Patient{testy, maria}},
			{"testy mctestface", []*sotto.Patient{testy}},
			{"McTestface, Testy", []*sotto.Patient{testy}},
			{"maria mct", []*sotto.Patient{maria}},
			{"tes tes", []*sotto.Patient{testy, tessa, long}},
			{"tessa mctestface", nil},
			{"pena", []*sotto.Patient{jose}},
			{"Peña", []*sotto.Patient{jose}},
			{"PEÑA", []*sotto.Patient{jose}},
			{"jose pena", []*sotto.Patient{jose}},
			{"josé", []*sotto.Patient{jose}},
			{"bartholomewsonian", []*sotto.Patient{long}},
			{"nobody", nil},
			{"t", nil},
			{"TEST-0099", nil},
			{"+15555550199", nil},
			{"1999-09-09", nil},
			{"nobody@example.test", nil},
		} {
			found, err := db.FindPatients(ctx, a.ID, tc.query, 50)
			if err != nil {
				t.Fatalf("FindPatients(%q): %v", tc.query, err)
			}
			if !sameIDs(patientIDs(found), patientIDs(tc.want)) {
				t.Fatalf("FindPatients(%q) = %v, want %v", tc.query, patientIDs(found), patientIDs(tc.want))
			}
			for _, p := range found {
				if p.OrgID != a.ID || p.GivenName == "" || p.MRN == "" {
					t.Fatalf("FindPatients(%q) returned an undecrypted or foreign patient %+v", tc.query, p)
				}
				if p.ID == twin.ID {
					t.Fatalf("FindPatients(%q) crossed organizations", tc.query)
				}
			}
		}
		// Org B sees only its own patient.
		for _, q := range []string{"testy", "TEST-0001", "+15555550123", "testy@example.test", "1980-01-02", "mctestface"} {
			found, err := db.FindPatients(ctx, b.ID, q, 50)
			if err != nil || !slices.Equal(patientIDs(found), []string{twin.ID}) {
				t.Fatalf("org B FindPatients(%q) = %v, %v", q, patientIDs(found), err)
			}
		}
		// Within one kind of match, newest first.
		for _, tc := range []struct {
			query string
			want  []*sotto.Patient
		}{
			{"tes", []*sotto.Patient{long, tessa, testy}},
			{"mctestface", []*sotto.Patient{maria, testy}},
			{"1980-01-02", []*sotto.Patient{tessa, testy}},
		} {
			found, err := db.FindPatients(ctx, a.ID, tc.query, 50)
			if err != nil || !slices.Equal(patientIDs(found), patientIDs(tc.want)) {
				t.Fatalf("FindPatients(%q) order = %v, want newest first %v (%v)", tc.query, patientIDs(found), patientIDs(tc.want), err)
			}
		}
		// The limit holds.
		if found, err := db.FindPatients(ctx, a.ID, "tes", 2); err != nil || len(found) != 2 {
			t.Fatalf("limit 2: %v, %v", patientIDs(found), err)
		}
		// An unknown org finds nothing (or is not found), never another org's data.
		if found, err := db.FindPatients(ctx, store.NewID(), "testy", 10); len(found) != 0 || (err != nil && sotto.ErrorKind(err) != sotto.KindNotFound) {
			t.Fatalf("unknown org: %v, %v", patientIDs(found), err)
		}
		// Bad queries.
		for _, q := range []string{"", "   ", "\t\n", strings.Repeat("a", store.MaxPatientQueryLen+1), "Test\xffy"} {
			_, err := db.FindPatients(ctx, a.ID, q, 10)
			wantErr(t, "FindPatients(bad query)", err, sotto.KindInvalid, "")
		}
		if _, err := db.FindPatients(ctx, a.ID, strings.Repeat("a", store.MaxPatientQueryLen), 10); err != nil {
			t.Fatalf("query of the maximum length: %v", err)
		}
	})
}

// TestInsertPatientPortalAccountTaken: linking a portal account that
// already belongs to another patient must fail without claiming that the
// medical record number is taken.
func TestInsertPatientPortalAccountTaken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Clinic")
		portal := newUser(t, db, o.ID, sotto.RolePatient)
		newPatient(t, db, o.ID, func(p *sotto.Patient) { p.UserID = portal.ID })
		p := testPatient(o.ID) // a fresh, unused MRN
		p.UserID = portal.ID
		err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPatient(p) })
		if k := sotto.ErrorKind(err); k != sotto.KindConflict && k != sotto.KindInvalid {
			t.Fatalf("portal account taken: err = %v, want conflict or invalid", err)
		}
		// Regression: a taken portal account was once reported as an MRN
		// clash (code mrn_taken).
		if sotto.ErrorCode(err) == "mrn_taken" {
			t.Fatalf("portal account taken reported as %q: %q", sotto.ErrorCode(err), sotto.ErrorMessage(err))
		}
	})
}
