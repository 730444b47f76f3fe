package store_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestActor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Clinic")
		d1, d2, d3 := newDept(t, db, o.ID, "Test Dept 1"), newDept(t, db, o.ID, "Test Dept 2"), newDept(t, db, o.ID, "Test Dept 3")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		loner := newUser(t, db, o.ID, sotto.RoleFrontDesk)
		addMember(t, db, d2.ID, nurse.ID)
		addMember(t, db, d1.ID, nurse.ID)
		addMember(t, db, d1.ID, nurse.ID) // repeat: no error, no duplicate
		addMember(t, db, d3.ID, loner.ID)
		portal, lonePortal := newUser(t, db, o.ID, sotto.RolePatient), newUser(t, db, o.ID, sotto.RolePatient)
		proxy, loneProxy := newUser(t, db, o.ID, sotto.RoleProxy), newUser(t, db, o.ID, sotto.RoleProxy)
		p1 := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.UserID = portal.ID })
		p2, p3 := newPatient(t, db, o.ID, nil), newPatient(t, db, o.ID, nil)
		mustWrite(t, db, func(tx *store.Tx) error {
			for _, pid := range []string{p2.ID, p1.ID} {
				if _, err := tx.Exec(`INSERT INTO patient_proxies (patient_id, user_id, relationship, created_at) VALUES ($1, $2, $3, $4)`,
					pid, proxy.ID, "guardian", 1); err != nil {
					return err
				}
			}
			return nil
		})

		now := time.Now()
		grant := func(userID, patientID string, expires time.Time) {
			mustWrite(t, db, func(tx *store.Tx) error {
				return tx.InsertBreakGlass(&store.BreakGlass{OrgID: o.ID, UserID: userID, PatientID: patientID, Reason: "Test emergency", ExpiresAt: expires})
			})
		}
		grant(nurse.ID, p1.ID, now.Add(time.Hour))
		grant(nurse.ID, p1.ID, now.Add(2*time.Hour))  // two grants, one patient
		grant(nurse.ID, p2.ID, now.Add(-time.Minute)) // expired
		grant(loner.ID, p3.ID, now.Add(time.Hour))    // someone else's

		a, err := db.Actor(ctx, nurse, now)
		if err != nil {
			t.Fatal(err)
		}
		if a.UserID != nurse.ID || a.OrgID != o.ID || a.Role != sotto.RoleNurse {
			t.Fatalf("actor identity %+v", a)
		}
		if !slices.Equal(a.DepartmentIDs, sorted([]string{d1.ID, d2.ID})) {
			t.Fatalf("departments %v, want %v", a.DepartmentIDs, sorted([]string{d1.ID, d2.ID}))
		}
		if !slices.Equal(a.BreakGlass, []string{p1.ID}) || len(a.PatientIDs) != 0 {
			t.Fatalf("break-glass %v (patients %v), want only the active grant's patient", a.BreakGlass, a.PatientIDs)
		}
		// Later, every grant has expired; earlier, the now-expired one was active.
		if a, err := db.Actor(ctx, nurse, now.Add(3*time.Hour)); err != nil || len(a.BreakGlass) != 0 {
			t.Fatalf("after expiry: %v, %v", a.BreakGlass, err)
		}
		if a, err := db.Actor(ctx, nurse, now.Add(-time.Hour)); err != nil || !sameIDs(a.BreakGlass, []string{p1.ID, p2.ID}) {
			t.Fatalf("an hour ago: %v, %v", a.BreakGlass, err)
		}
		if ids, err := db.DepartmentIDsOf(ctx, nurse.ID); err != nil || !slices.Equal(ids, a.DepartmentIDs) {
			t.Fatalf("DepartmentIDsOf = %v, %v", ids, err)
		}
		if a, err := db.Actor(ctx, loner, now); err != nil || !slices.Equal(a.DepartmentIDs, []string{d3.ID}) || !slices.Equal(a.BreakGlass, []string{p3.ID}) {
			t.Fatalf("other staff actor %+v, %v", a, err)
		}
		staffless := newUser(t, db, o.ID, sotto.RoleBilling)
		if a, err := db.Actor(ctx, staffless, now); err != nil || len(a.DepartmentIDs) != 0 || len(a.BreakGlass) != 0 {
			t.Fatalf("staff without departments %+v, %v", a, err)
		}

		// A patient acts for their own record only.
		if a, err := db.Actor(ctx, portal, now); err != nil || !slices.Equal(a.PatientIDs, []string{p1.ID}) ||
			len(a.DepartmentIDs) != 0 || len(a.BreakGlass) != 0 || a.Role != sotto.RolePatient {
			t.Fatalf("patient actor %+v, %v", a, err)
		}
		if a, err := db.Actor(ctx, lonePortal, now); err != nil || len(a.PatientIDs) != 0 {
			t.Fatalf("patient without a record %+v, %v", a, err)
		}
		// A proxy acts for every patient they are proxy of.
		if a, err := db.Actor(ctx, proxy, now); err != nil || !slices.Equal(a.PatientIDs, sorted([]string{p1.ID, p2.ID})) || a.Role != sotto.RoleProxy {
			t.Fatalf("proxy actor %+v, %v", a, err)
		}
		if a, err := db.Actor(ctx, loneProxy, now); err != nil || len(a.PatientIDs) != 0 {
			t.Fatalf("proxy of nobody %+v, %v", a, err)
		}
		// A patient of another org with the same user id shape does not leak:
		// the actor is scoped to the user's own org.
		o2 := mustOrg(t, db, "Test Other Clinic")
		if a, err := db.Actor(ctx, &sotto.User{ID: portal.ID, OrgID: o2.ID, Role: sotto.RolePatient}, now); err != nil || len(a.PatientIDs) != 0 {
			t.Fatalf("patient actor in the wrong org %+v, %v", a, err)
		}

		// The actor feeds Decide: the patient reads their own conversation.
		conv, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p1.ID, DepartmentID: d1.ID, CreatedBy: nurse.ID})
		perms, err := db.Permissions(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		subj := sotto.Subject{OrgID: o.ID, PatientID: conv.PatientID, DepartmentID: conv.DepartmentID, Category: conv.Category, CreatedBy: conv.CreatedBy}
		pa, _ := db.Actor(ctx, portal, now)
		na, _ := db.Actor(ctx, nurse, now)
		la, _ := db.Actor(ctx, lonePortal, now)
		if d := sotto.Decide(perms, pa, subj, sotto.ActionRead); !d.Allow {
			t.Fatalf("patient reading own conversation: %+v", d)
		}
		if d := sotto.Decide(perms, na, subj, sotto.ActionReply); !d.Allow || d.BreakGlass {
			t.Fatalf("nurse in the department: %+v", d)
		}
		if d := sotto.Decide(perms, la, subj, sotto.ActionRead); d.Allow {
			t.Fatalf("another patient: %+v", d)
		}
	})
}

func TestPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, o2 := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		got, err := db.Permissions(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(got, sotto.DefaultPermissions()) {
			t.Fatalf("default permissions %v, %v", got, err)
		}

		custom := sotto.DefaultPermissions()
		custom[sotto.RoleBilling][sotto.CategoryGeneral] = []sotto.Action{sotto.ActionRead}
		custom[sotto.RoleNurse][sotto.CategoryLabResult] = []sotto.Action{sotto.ActionRead, sotto.ActionReply}
		delete(custom, sotto.RoleFrontDesk)
		set := func(org string, p sotto.Permissions) error {
			return db.Write(ctx, func(tx *store.Tx) error { return tx.SetPermissions(org, p) })
		}
		if err := set(o.ID, custom); err != nil {
			t.Fatal(err)
		}
		got, err = db.Permissions(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(got, custom) {
			t.Fatalf("custom round trip:\n got %v\nwant %v (%v)", got, custom, err)
		}
		if got.Allows(sotto.RoleFrontDesk, sotto.CategoryGeneral, sotto.ActionRead) {
			t.Fatal("removed role still allowed")
		}
		// The other org keeps the default.
		if got, err := db.Permissions(ctx, o2.ID); err != nil || !reflect.DeepEqual(got, sotto.DefaultPermissions()) {
			t.Fatalf("other org permissions %v, %v", got, err)
		}
		// Replacing works (upsert), including an empty matrix.
		second := sotto.Permissions{sotto.RoleProvider: {sotto.CategoryLabResult: {sotto.ActionRead, sotto.ActionShareLabResult}}}
		if err := set(o.ID, second); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Permissions(ctx, o.ID); err != nil || !reflect.DeepEqual(got, second) {
			t.Fatalf("second round trip %v, %v", got, err)
		}
		if err := set(o.ID, sotto.Permissions{}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Permissions(ctx, o.ID); err != nil || len(got) != 0 || got.Allows(sotto.RoleProvider, sotto.CategoryGeneral, sotto.ActionRead) {
			t.Fatalf("empty matrix %v, %v", got, err)
		}
		if err := set(o.ID, second); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name string
			p    sotto.Permissions
		}{
			{"patient role", sotto.Permissions{sotto.RolePatient: {sotto.CategoryGeneral: {sotto.ActionRead}}}},
			{"proxy role", sotto.Permissions{sotto.RoleProxy: {sotto.CategoryGeneral: {sotto.ActionRead}}}},
			{"unknown role", sotto.Permissions{"janitor": {sotto.CategoryGeneral: {sotto.ActionRead}}}},
			{"unknown category", sotto.Permissions{sotto.RoleNurse: {"astrology": {sotto.ActionRead}}}},
			{"unknown action", sotto.Permissions{sotto.RoleNurse: {sotto.CategoryGeneral: {"teleport"}}}},
			{"share_lab_result outside lab_result", sotto.Permissions{sotto.RoleNurse: {sotto.CategoryGeneral: {sotto.ActionShareLabResult}}}},
		} {
			wantErr(t, tc.name, set(o.ID, tc.p), sotto.KindInvalid, "")
		}
		if got, err := db.Permissions(ctx, o.ID); err != nil || !reflect.DeepEqual(got, second) {
			t.Fatalf("rejected matrices changed the stored one: %v, %v", got, err)
		}
		// An unknown org cannot get a matrix.
		if err := set(store.NewID(), second); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("matrix for an unknown org: %v", err)
		}
	})
}

func TestBreakGlassGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, o2 := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nurse, doc := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleProvider)
		nurse2 := newUser(t, db, o2.ID, sotto.RoleNurse)
		p, q := newPatient(t, db, o.ID, nil), newPatient(t, db, o.ID, nil)
		p2 := newPatient(t, db, o2.ID, nil)

		var grants []*store.BreakGlass
		add := func(org, user, patient, reason string) *store.BreakGlass {
			g := &store.BreakGlass{OrgID: org, UserID: user, PatientID: patient, Reason: reason, ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Microsecond)}
			mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertBreakGlass(g) })
			if !store.ValidID(g.ID) || g.CreatedAt.IsZero() {
				t.Fatalf("grant not filled in: %+v", g)
			}
			return g
		}
		grants = append(grants, add(o.ID, nurse.ID, p.ID, "Test: patient unconscious in ER"))
		time.Sleep(2 * time.Millisecond)
		grants = append(grants, add(o.ID, doc.ID, q.ID, "Test: covering for the on-call provider"))
		time.Sleep(2 * time.Millisecond)
		grants = append(grants, add(o.ID, nurse.ID, q.ID, "Test: pharmacy called about an interaction"))
		add(o2.ID, nurse2.ID, p2.ID, "Test: other org")

		got, err := db.BreakGlassGrants(ctx, o.ID, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("grants = %d, want 3 (another org's excluded)", len(got))
		}
		for i, g := range got {
			want := grants[len(grants)-1-i] // newest first
			if g.ID != want.ID || g.OrgID != o.ID || g.UserID != want.UserID || g.PatientID != want.PatientID || g.Reason != want.Reason ||
				!g.CreatedAt.Equal(want.CreatedAt) || !g.ExpiresAt.Equal(want.ExpiresAt) {
				t.Fatalf("grant %d = %+v, want %+v", i, g, want)
			}
		}
		if got, err := db.BreakGlassGrants(ctx, o.ID, time.Time{}, 2); err != nil || len(got) != 2 || got[0].ID != grants[2].ID {
			t.Fatalf("limit 2: %v, %v", got, err)
		}
		if got, err := db.BreakGlassGrants(ctx, o.ID, grants[1].CreatedAt, 100); err != nil || len(got) != 2 ||
			got[0].ID != grants[2].ID || got[1].ID != grants[1].ID {
			t.Fatalf("since the second grant: %v, %v", got, err)
		}
		if got, err := db.BreakGlassGrants(ctx, o.ID, time.Now().Add(time.Hour), 100); err != nil || len(got) != 0 {
			t.Fatalf("since the future: %v, %v", got, err)
		}
		// A grant for another org's patient, or an unknown one, is refused.
		for _, pid := range []string{p2.ID, store.NewID()} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				return tx.InsertBreakGlass(&store.BreakGlass{OrgID: o.ID, UserID: nurse.ID, PatientID: pid, Reason: "Test", ExpiresAt: time.Now().Add(time.Hour)})
			})
			wantErr(t, "grant for a patient outside the org", err, sotto.KindNotFound, "")
		}
	})
}
