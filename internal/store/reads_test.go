package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestUnreadCounts checks the per-queue unread counts against the policy's
// scope rule, and that opening, new activity and closing move them.
func TestUnreadCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nursing, front := newDept(t, db, o.ID, "Test Nursing"), newDept(t, db, o.ID, "Test Front")
		nurse, colleague := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleNurse)
		addMember(t, db, nursing.ID, nurse.ID)
		mine := newPatient(t, db, o.ID, func(p *sotto.Patient) { p.CareTeamUserIDs = []string{nurse.ID} })
		stranger := newPatient(t, db, o.ID, nil)
		glass := newPatient(t, db, o.ID, nil)
		otherP := newPatient(t, db, other.ID, nil)
		otherU := newUser(t, db, other.ID, sotto.RoleNurse)

		conv := func(p *sotto.Patient, dept, assignee string, cat sotto.Category) *sotto.Conversation {
			c, _ := newConv(t, db, &sotto.Conversation{OrgID: p.OrgID, PatientID: p.ID, DepartmentID: dept, AssigneeID: assignee,
				Category: cat, CreatedBy: colleague.ID})
			return c
		}
		inNursing := conv(stranger, nursing.ID, "", sotto.CategoryGeneral)    // Nursing, unassigned
		assigned := conv(stranger, front.ID, nurse.ID, sotto.CategoryGeneral) // Mine (not in Front)
		careUrgent := conv(mine, front.ID, "", sotto.CategoryUrgent)          // care team: urgent, unassigned
		outOfScope := conv(stranger, front.ID, "", sotto.CategoryUrgent)      // nobody's business of the nurse
		closed := conv(stranger, nursing.ID, "", sotto.CategoryGeneral)       // closed: never unread
		labOnly := conv(stranger, nursing.ID, "", sotto.CategoryLabResult)    // a category the scope below omits
		broken := conv(glass, front.ID, "", sotto.CategoryGeneral)            // break-glass patient
		_ = conv(otherP, "", otherU.ID, sotto.CategoryGeneral)                // another org
		mustWrite(t, db, func(tx *store.Tx) error {
			st := sotto.StatusClosed
			_, _, err := tx.UpdateConversation(o.ID, closed.ID, colleague.ID, store.ConversationUpdate{Status: &st})
			return err
		})
		_ = outOfScope
		scope := store.UnreadScope{OrgID: o.ID, UserID: nurse.ID, DepartmentIDs: []string{nursing.ID},
			Categories: []sotto.Category{sotto.CategoryGeneral, sotto.CategoryUrgent}}
		want := func(what string, s store.UnreadScope, w store.UnreadCounts) {
			t.Helper()
			got, err := db.UnreadCounts(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("%s: counts = %+v, want %+v", what, got, w)
			}
		}
		want("fresh", scope, store.UnreadCounts{All: 3, Mine: 1, Unassigned: 2, Urgent: 1, Departments: map[string]int{nursing.ID: 1}})
		withGlass := scope
		withGlass.BreakGlass = []string{glass.ID}
		want("break-glass", withGlass, store.UnreadCounts{All: 4, Mine: 1, Unassigned: 3, Urgent: 1, Departments: map[string]int{nursing.ID: 1}})
		withLab := scope
		withLab.Categories = append(withLab.Categories, sotto.CategoryLabResult)
		want("lab results readable", withLab, store.UnreadCounts{All: 4, Mine: 1, Unassigned: 3, Urgent: 1, Departments: map[string]int{nursing.ID: 2}})
		want("no readable category", store.UnreadScope{OrgID: o.ID, UserID: nurse.ID, DepartmentIDs: []string{nursing.ID}},
			store.UnreadCounts{Departments: map[string]int{nursing.ID: 0}})

		unread, err := db.UnreadAmong(ctx, nurse.ID, []string{inNursing.ID, closed.ID, careUrgent.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(unread, map[string]bool{inNursing.ID: true, careUrgent.ID: true}) {
			t.Fatalf("UnreadAmong = %v", unread)
		}

		// Opening clears; it is per user.
		read := func(u *sotto.User, c *sotto.Conversation) {
			mustWrite(t, db, func(tx *store.Tx) error { return tx.MarkConversationRead(o.ID, u.ID, c.ID) })
		}
		read(nurse, inNursing)
		read(nurse, careUrgent)
		read(nurse, careUrgent) // twice is harmless
		read(colleague, assigned)
		want("after opening", scope, store.UnreadCounts{All: 1, Mine: 1, Unassigned: 0, Urgent: 0, Departments: map[string]int{nursing.ID: 0}})
		// Another org's id is not marked.
		mustWrite(t, db, func(tx *store.Tx) error { return tx.MarkConversationRead(other.ID, nurse.ID, assigned.ID) })
		want("cross-org mark", scope, store.UnreadCounts{All: 1, Mine: 1, Unassigned: 0, Urgent: 0, Departments: map[string]int{nursing.ID: 0}})

		// New activity makes it unread again; so does reopening.
		sendMsg(t, db, inNursing, &sotto.Message{Body: "Test follow-up", SenderID: colleague.ID})
		want("new message", scope, store.UnreadCounts{All: 2, Mine: 1, Unassigned: 1, Urgent: 0, Departments: map[string]int{nursing.ID: 1}})
		mustWrite(t, db, func(tx *store.Tx) error {
			st := sotto.StatusOpen
			_, _, err := tx.UpdateConversation(o.ID, closed.ID, colleague.ID, store.ConversationUpdate{Status: &st})
			return err
		})
		want("reopened", scope, store.UnreadCounts{All: 3, Mine: 1, Unassigned: 2, Urgent: 0, Departments: map[string]int{nursing.ID: 2}})
		_ = labOnly
		_ = broken
	})
}

// TestUnreadCountsUseIndexes checks on SQLite that no branch of the count
// query scans the conversations table: each reads an index range.
func TestUnreadCountsUseIndexes(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	ctx := context.Background()
	o := mustOrg(t, db, "Test Clinic")
	d := newDept(t, db, o.ID, "Test Nursing")
	u := newUser(t, db, o.ID, sotto.RoleNurse)
	p := newPatient(t, db, o.ID, nil)
	for i := range 300 {
		c, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: d.ID, CreatedBy: u.ID})
		if i%2 == 0 {
			mustWrite(t, db, func(tx *store.Tx) error {
				st := sotto.StatusClosed
				_, _, err := tx.UpdateConversation(o.ID, c.ID, u.ID, store.ConversationUpdate{Status: &st})
				return err
			})
		}
	}
	if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(`ANALYZE`); return err }); err != nil {
		t.Fatal(err)
	}
	q, args := store.UnreadCountsQuery(store.UnreadScope{OrgID: o.ID, UserID: u.ID, DepartmentIDs: []string{d.ID}, BreakGlass: []string{p.ID},
		Categories: []sotto.Category{sotto.CategoryGeneral, sotto.CategoryUrgent}})
	rows, err := db.Query(ctx, `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	for _, line := range plan {
		if strings.HasPrefix(line, "SCAN c") || strings.HasPrefix(line, "SCAN conversations") {
			t.Errorf("unread counts scan the conversations table: %q\nplan:\n%s", line, strings.Join(plan, "\n"))
		}
	}
	if !strings.Contains(fmt.Sprint(plan), "conversations_open_") {
		t.Errorf("unread counts do not use the open-conversation indexes:\n%s", strings.Join(plan, "\n"))
	}
}
