package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestInsertConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		dept := newDept(t, db, o.ID, "Test Pharmacy Desk")
		otherDept := newDept(t, db, other.ID, "Test Other Desk")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		p := newPatient(t, db, o.ID, nil)
		otherPatient := newPatient(t, db, other.ID, nil)

		refill := &sotto.RefillRequest{Medication: "Testamycin 10 mg", Dose: "One tablet daily", Pharmacy: "Test Pharmacy, Main St"}
		c, ev := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: dept.ID, Category: sotto.CategoryRefill,
			Subject: "  Test refill please  ", CreatedBy: nurse.ID, AssigneeID: nurse.ID, Refill: refill})
		if !store.ValidID(c.ID) || c.Status != sotto.StatusOpen || c.CreatedAt.IsZero() || !c.LastActivityAt.Equal(c.CreatedAt) {
			t.Fatalf("inserted conversation %+v", c)
		}
		if ev == nil || ev.Seq <= 0 || ev.Kind != sotto.EventConversationCreated || ev.OrgID != o.ID || ev.ConversationID != c.ID ||
			ev.PatientID != p.ID || ev.DepartmentID != dept.ID || ev.AssigneeID != nurse.ID || ev.Category != sotto.CategoryRefill ||
			ev.CreatedBy != nurse.ID || ev.Internal || ev.CreatedAt.IsZero() {
			t.Fatalf("created event %+v", ev)
		}
		got, err := db.Conversation(ctx, o.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "Test refill please" || got.PatientID != p.ID || got.DepartmentID != dept.ID || got.AssigneeID != nurse.ID ||
			got.Category != sotto.CategoryRefill || got.Status != sotto.StatusOpen || got.CreatedBy != nurse.ID ||
			!got.CreatedAt.Equal(c.CreatedAt) || !got.LastActivityAt.Equal(c.CreatedAt) || got.Appointment != nil ||
			got.Refill == nil || *got.Refill != *refill {
			t.Fatalf("read back %+v (refill %+v)", got, got.Refill)
		}
		// Metadata without decryption.
		meta, err := db.ConversationMeta(ctx, o.ID, c.ID)
		if err != nil || meta.Subject != "" || meta.Refill != nil || meta.PatientID != p.ID || meta.DepartmentID != dept.ID {
			t.Fatalf("ConversationMeta = %+v, %v", meta, err)
		}

		// Appointment details and a staff-only thread with no patient (sealed
		// under the org key).
		appt := &sotto.AppointmentRequest{PreferredTimes: []string{"Tuesday mornings", "Friday after 3"}}
		ca, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, Category: sotto.CategoryAppointment,
			Subject: "Test appointment", CreatedBy: nurse.ID, Appointment: appt, Status: sotto.StatusPendingPatient})
		if got, err := db.Conversation(ctx, o.ID, ca.ID); err != nil || got.Appointment == nil ||
			!reflect.DeepEqual(*got.Appointment, *appt) || got.Refill != nil || got.Status != sotto.StatusPendingPatient || got.DepartmentID != "" {
			t.Fatalf("appointment read back %+v, %v", got, err)
		}
		ci, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, Category: sotto.CategoryInternal, Subject: "Test staff huddle", CreatedBy: nurse.ID})
		if got, err := db.Conversation(ctx, o.ID, ci.ID); err != nil || got.Subject != "Test staff huddle" || got.PatientID != "" {
			t.Fatalf("internal thread read back %+v, %v", got, err)
		}

		// Another org cannot read them; unknown and malformed ids are not found.
		for _, id := range []string{c.ID, ci.ID} {
			if _, err := db.Conversation(ctx, other.ID, id); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("cross-org Conversation: %v", err)
			}
			if _, err := db.ConversationMeta(ctx, other.ID, id); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("cross-org ConversationMeta: %v", err)
			}
		}
		for _, id := range []string{store.NewID(), "nope", ""} {
			if _, err := db.Conversation(ctx, o.ID, id); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("Conversation(%q): %v", id, err)
			}
		}

		before := count(t, db, `SELECT COUNT(*) FROM events`)
		for _, tc := range []struct {
			name string
			c    sotto.Conversation
			kind sotto.Kind
		}{
			{"unknown patient", sotto.Conversation{PatientID: store.NewID()}, sotto.KindNotFound},
			{"malformed patient", sotto.Conversation{PatientID: "x"}, sotto.KindNotFound},
			{"patient of another org", sotto.Conversation{PatientID: otherPatient.ID}, sotto.KindNotFound},
			{"department of another org", sotto.Conversation{PatientID: p.ID, DepartmentID: otherDept.ID}, sotto.KindInvalid},
			{"unknown department", sotto.Conversation{PatientID: p.ID, DepartmentID: store.NewID()}, sotto.KindInvalid},
			{"no patient, not internal", sotto.Conversation{}, sotto.KindInvalid},
			{"empty subject", sotto.Conversation{PatientID: p.ID, Subject: "   "}, sotto.KindInvalid},
			{"bad category", sotto.Conversation{PatientID: p.ID, Category: "gossip"}, sotto.KindInvalid},
			{"bad status", sotto.Conversation{PatientID: p.ID, Status: "archived"}, sotto.KindInvalid},
			{"refill on a general thread", sotto.Conversation{PatientID: p.ID, Refill: &sotto.RefillRequest{Medication: "Testamycin"}}, sotto.KindInvalid},
			{"refill without medication", sotto.Conversation{PatientID: p.ID, Category: sotto.CategoryRefill, Refill: &sotto.RefillRequest{}}, sotto.KindInvalid},
			{"appointment without times", sotto.Conversation{PatientID: p.ID, Category: sotto.CategoryAppointment, Appointment: &sotto.AppointmentRequest{}}, sotto.KindInvalid},
		} {
			c := tc.c
			c.OrgID, c.CreatedBy = o.ID, nurse.ID
			if c.Category == "" {
				c.Category = sotto.CategoryGeneral
			}
			if c.Subject == "" {
				c.Subject = "Test subject"
			}
			err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.InsertConversation(&c); return err })
			wantErr(t, tc.name, err, tc.kind, "")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 3 {
			t.Fatalf("conversations = %d, want 3 (rejected inserts must write nothing)", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != before {
			t.Fatalf("rejected inserts appended %d events", n-before)
		}
	})
}

func TestUpdateConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		dept := newDept(t, db, o.ID, "Test Nursing")
		nurse, doc := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleProvider)
		disabled := newUserWith(t, db, &sotto.User{OrgID: o.ID, Role: sotto.RoleNurse, Disabled: true})
		portal := newUser(t, db, o.ID, sotto.RolePatient)
		proxy := newUser(t, db, o.ID, sotto.RoleProxy)
		otherNurse := newUser(t, db, other.ID, sotto.RoleNurse)
		p := newPatient(t, db, o.ID, nil)
		c, created := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: dept.ID, CreatedBy: nurse.ID})

		seqs := []int64{created.Seq}
		update := func(u store.ConversationUpdate) (*sotto.Conversation, *sotto.Event, error) {
			var got *sotto.Conversation
			var ev *sotto.Event
			err := db.Write(ctx, func(tx *store.Tx) (err error) {
				got, ev, err = tx.UpdateConversation(o.ID, c.ID, doc.ID, u)
				return err
			})
			if err == nil {
				seqs = append(seqs, ev.Seq)
			}
			return got, ev, err
		}
		status := func(s sotto.Status) *sotto.Status { return &s }
		str := func(s string) *string { return &s }

		got, ev, err := update(store.ConversationUpdate{Status: status(sotto.StatusPendingPatient)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != sotto.StatusPendingPatient || got.AssigneeID != "" || got.ID != c.ID {
			t.Fatalf("after status change: %+v", got)
		}
		if ev.Kind != sotto.EventConversationUpdated || ev.ConversationID != c.ID || ev.PatientID != p.ID || ev.DepartmentID != dept.ID ||
			ev.CreatedBy != doc.ID || ev.OrgID != o.ID || !got.LastActivityAt.Equal(ev.CreatedAt) {
			t.Fatalf("update event %+v (conversation %+v)", ev, got)
		}
		got, ev, err = update(store.ConversationUpdate{AssigneeID: str(nurse.ID)})
		if err != nil || got.AssigneeID != nurse.ID || got.Status != sotto.StatusPendingPatient || ev.AssigneeID != nurse.ID {
			t.Fatalf("assign: %+v, %+v, %v", got, ev, err)
		}
		got, _, err = update(store.ConversationUpdate{Status: status(sotto.StatusClosed), AssigneeID: str(doc.ID)})
		if err != nil || got.AssigneeID != doc.ID || got.Status != sotto.StatusClosed {
			t.Fatalf("close and reassign: %+v, %v", got, err)
		}
		stored, err := db.Conversation(ctx, o.ID, c.ID)
		if err != nil || stored.Status != sotto.StatusClosed || stored.AssigneeID != doc.ID || stored.Subject != "Test subject" ||
			!stored.LastActivityAt.Equal(got.LastActivityAt) || !stored.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("stored after updates: %+v, %v", stored, err)
		}
		got, _, err = update(store.ConversationUpdate{AssigneeID: str("")})
		if err != nil || got.AssigneeID != "" || got.Status != sotto.StatusClosed {
			t.Fatalf("unassign: %+v, %v", got, err)
		}
		if stored, _ := db.Conversation(ctx, o.ID, c.ID); stored.AssigneeID != "" {
			t.Fatalf("unassign not stored: %+v", stored)
		}

		// Invalid changes change nothing and append nothing.
		nEvents := count(t, db, `SELECT COUNT(*) FROM events`)
		for _, tc := range []struct {
			name string
			u    store.ConversationUpdate
		}{
			{"bad status", store.ConversationUpdate{Status: status("archived")}},
			{"disabled assignee", store.ConversationUpdate{AssigneeID: str(disabled.ID)}},
			{"patient assignee", store.ConversationUpdate{AssigneeID: str(portal.ID)}},
			{"proxy assignee", store.ConversationUpdate{AssigneeID: str(proxy.ID)}},
			{"assignee of another org", store.ConversationUpdate{AssigneeID: str(otherNurse.ID)}},
			{"unknown assignee", store.ConversationUpdate{AssigneeID: str(store.NewID())}},
			{"malformed assignee", store.ConversationUpdate{AssigneeID: str("nurse")}},
			{"valid status, bad assignee", store.ConversationUpdate{Status: status(sotto.StatusOpen), AssigneeID: str(portal.ID)}},
		} {
			_, _, err := update(tc.u)
			wantErr(t, tc.name, err, sotto.KindInvalid, "")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != nEvents {
			t.Fatalf("rejected updates appended %d events", n-nEvents)
		}
		if stored, _ := db.Conversation(ctx, o.ID, c.ID); stored.Status != sotto.StatusClosed || stored.AssigneeID != "" {
			t.Fatalf("rejected updates changed the conversation: %+v", stored)
		}
		// Unknown or another org's conversation.
		for _, tc := range []struct{ org, id string }{{o.ID, store.NewID()}, {other.ID, c.ID}, {o.ID, "x"}} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, _, err := tx.UpdateConversation(tc.org, tc.id, doc.ID, store.ConversationUpdate{Status: status(sotto.StatusOpen)})
				return err
			})
			wantErr(t, "update of "+tc.id, err, sotto.KindNotFound, "")
		}

		// Every change appended one event with increasing seq.
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("event seqs not increasing: %v", seqs)
			}
		}
		evs, err := db.EventsAfter(ctx, o.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var convSeqs []int64
		var kinds []string
		for _, e := range evs {
			if e.ConversationID == c.ID {
				convSeqs = append(convSeqs, e.Seq)
				kinds = append(kinds, e.Kind)
			}
		}
		if !slices.Equal(convSeqs, seqs) {
			t.Fatalf("stored event seqs %v, want %v", convSeqs, seqs)
		}
		wantKinds := []string{sotto.EventConversationCreated}
		for range len(seqs) - 1 {
			wantKinds = append(wantKinds, sotto.EventConversationUpdated)
		}
		if !slices.Equal(kinds, wantKinds) {
			t.Fatalf("event kinds %v", kinds)
		}
	})
}

// inboxFixture is 25 conversations of one org across two departments, two
// assignees and five patients, created in order (conv[0] oldest).
type inboxFixture struct {
	org          *sotto.Org
	deptA, deptB *sotto.Department
	nurse, doc   *sotto.User
	patients     []*sotto.Patient
	convs        []*sotto.Conversation
}

func newInbox(t *testing.T, db *store.DB) *inboxFixture {
	t.Helper()
	f := &inboxFixture{org: mustOrg(t, db, "Test Inbox Clinic")}
	f.deptA, f.deptB = newDept(t, db, f.org.ID, "Test Dept A"), newDept(t, db, f.org.ID, "Test Dept B")
	f.nurse, f.doc = newUser(t, db, f.org.ID, sotto.RoleNurse), newUser(t, db, f.org.ID, sotto.RoleProvider)
	for range 5 {
		f.patients = append(f.patients, newPatient(t, db, f.org.ID, nil))
	}
	for i := range 25 {
		c := &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patients[i%5].ID, CreatedBy: f.nurse.ID,
			Subject: fmt.Sprintf("Test subject %02d", i), DepartmentID: f.deptA.ID, Status: sotto.StatusOpen}
		if i%2 == 1 {
			c.DepartmentID = f.deptB.ID
		}
		switch i % 3 {
		case 0:
			c.AssigneeID = f.nurse.ID
		case 1:
			c.AssigneeID = f.doc.ID
		}
		if i%4 == 3 {
			c.Status = sotto.StatusClosed
		}
		if i%5 == 0 {
			c.Category = sotto.CategoryBilling
		}
		newConv(t, db, c)
		f.convs = append(f.convs, c)
	}
	return f
}

// newestFirst returns the ids of the fixture's conversations matching
// keep, newest first (assuming creation order is activity order).
func (f *inboxFixture) newestFirst(keep func(i int, c *sotto.Conversation) bool) []string {
	var out []string
	for i := len(f.convs) - 1; i >= 0; i-- {
		if keep == nil || keep(i, f.convs[i]) {
			out = append(out, f.convs[i].ID)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func allowAll(*sotto.Conversation) bool { return true }

func TestConversationsInboxFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newInbox(t, db)
		// Another org's conversation never shows.
		o2 := mustOrg(t, db, "Test Other Clinic")
		u2 := newUser(t, db, o2.ID, sotto.RoleNurse)
		p2 := newPatient(t, db, o2.ID, nil)
		newConv(t, db, &sotto.Conversation{OrgID: o2.ID, PatientID: p2.ID, CreatedBy: u2.ID})

		list := func(flt store.ConversationFilter) []*sotto.Conversation {
			t.Helper()
			flt.OrgID, flt.Limit = f.org.ID, 100
			page, err := db.Conversations(ctx, flt, allowAll)
			if err != nil {
				t.Fatal(err)
			}
			if page.Next != 0 {
				t.Fatalf("single page: Next = %d, want 0", page.Next)
			}
			return page.Conversations
		}
		all := list(store.ConversationFilter{})
		if !slices.Equal(convIDs(all), f.newestFirst(nil)) {
			t.Fatalf("all conversations, newest first:\n got %v\nwant %v", convIDs(all), f.newestFirst(nil))
		}
		for i, c := range all {
			want := f.convs[len(f.convs)-1-i]
			if c.Subject != want.Subject || c.OrgID != f.org.ID {
				t.Fatalf("listed conversation not decrypted: %+v", c)
			}
		}
		for _, tc := range []struct {
			name string
			flt  store.ConversationFilter
			keep func(i int, c *sotto.Conversation) bool
		}{
			{"department A", store.ConversationFilter{DepartmentID: f.deptA.ID}, func(i int, _ *sotto.Conversation) bool { return i%2 == 0 }},
			{"department B", store.ConversationFilter{DepartmentID: f.deptB.ID}, func(i int, _ *sotto.Conversation) bool { return i%2 == 1 }},
			{"assignee nurse", store.ConversationFilter{AssigneeID: f.nurse.ID}, func(i int, _ *sotto.Conversation) bool { return i%3 == 0 }},
			{"assignee doc", store.ConversationFilter{AssigneeID: f.doc.ID}, func(i int, _ *sotto.Conversation) bool { return i%3 == 1 }},
			{"unassigned", store.ConversationFilter{Unassigned: true}, func(i int, _ *sotto.Conversation) bool { return i%3 == 2 }},
			{"closed", store.ConversationFilter{Status: sotto.StatusClosed}, func(i int, _ *sotto.Conversation) bool { return i%4 == 3 }},
			{"open", store.ConversationFilter{Status: sotto.StatusOpen}, func(i int, _ *sotto.Conversation) bool { return i%4 != 3 }},
			{"pending", store.ConversationFilter{Status: sotto.StatusPendingPatient}, func(int, *sotto.Conversation) bool { return false }},
			{"billing", store.ConversationFilter{Category: sotto.CategoryBilling}, func(i int, _ *sotto.Conversation) bool { return i%5 == 0 }},
			{"patient 2", store.ConversationFilter{PatientID: f.patients[2].ID}, func(i int, _ *sotto.Conversation) bool { return i%5 == 2 }},
			{"dept A, open, unassigned", store.ConversationFilter{DepartmentID: f.deptA.ID, Status: sotto.StatusOpen, Unassigned: true},
				func(i int, _ *sotto.Conversation) bool { return i%2 == 0 && i%4 != 3 && i%3 == 2 }},
			{"dept B, doc", store.ConversationFilter{DepartmentID: f.deptB.ID, AssigneeID: f.doc.ID},
				func(i int, _ *sotto.Conversation) bool { return i%2 == 1 && i%3 == 1 }},
			{"unknown department", store.ConversationFilter{DepartmentID: store.NewID()}, func(int, *sotto.Conversation) bool { return false }},
		} {
			got, want := convIDs(list(tc.flt)), f.newestFirst(tc.keep)
			if !slices.Equal(got, want) {
				t.Fatalf("%s:\n got %v\nwant %v", tc.name, got, want)
			}
		}
		// Another org's filter sees only its own.
		page, err := db.Conversations(ctx, store.ConversationFilter{OrgID: o2.ID, Limit: 100}, allowAll)
		if err != nil || len(page.Conversations) != 1 || page.Conversations[0].OrgID != o2.ID {
			t.Fatalf("org 2 inbox: %v, %v", page, err)
		}
		// The allow callback sees metadata only, never decrypted fields.
		_, err = db.Conversations(ctx, store.ConversationFilter{OrgID: f.org.ID, Limit: 100}, func(c *sotto.Conversation) bool {
			if c.Subject != "" || c.Refill != nil || c.Appointment != nil {
				t.Errorf("allow saw decrypted data: %+v", c)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestConversationsInboxActivityOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newInbox(t, db)
		first := func() []string {
			page, err := db.Conversations(ctx, store.ConversationFilter{OrgID: f.org.ID, Limit: 100}, allowAll)
			if err != nil {
				t.Fatal(err)
			}
			return convIDs(page.Conversations)
		}
		// A message to the oldest conversation moves it to the top; the rest
		// keep their order.
		oldest := f.convs[0]
		m, _ := sendMsg(t, db, oldest, &sotto.Message{SenderID: f.nurse.ID, Body: "Test bump"})
		want := append([]string{oldest.ID}, f.newestFirst(func(i int, _ *sotto.Conversation) bool { return i != 0 })...)
		if got := first(); !slices.Equal(got, want) {
			t.Fatalf("after a message to the oldest:\n got %v\nwant %v", got, want)
		}
		if got, _ := db.Conversation(ctx, f.org.ID, oldest.ID); !got.LastActivityAt.Equal(m.CreatedAt) {
			t.Fatalf("last activity %v, want the message time %v", got.LastActivityAt, m.CreatedAt)
		}
		// An update moves another to the top.
		mustWrite(t, db, func(tx *store.Tx) error {
			s := sotto.StatusPendingPatient
			_, _, err := tx.UpdateConversation(f.org.ID, f.convs[5].ID, f.doc.ID, store.ConversationUpdate{Status: &s})
			return err
		})
		want = append([]string{f.convs[5].ID, oldest.ID}, f.newestFirst(func(i int, _ *sotto.Conversation) bool { return i != 0 && i != 5 })...)
		if got := first(); !slices.Equal(got, want) {
			t.Fatalf("after an update:\n got %v\nwant %v", got, want)
		}
		// A receipt is not activity: the order stays.
		mustWrite(t, db, func(tx *store.Tx) error {
			_, err := tx.MarkReceipt(oldest, m, f.doc.ID, true)
			return err
		})
		if got := first(); !slices.Equal(got, want) {
			t.Fatalf("after a receipt:\n got %v\nwant %v", got, want)
		}
	})
}

// pageAll walks every page of flt (with its Limit) and returns the ids in
// order and the page sizes.
func pageAll(t *testing.T, db *store.DB, flt store.ConversationFilter, allow func(*sotto.Conversation) bool) (ids []string, sizes []int) {
	t.Helper()
	for range 1000 {
		page, err := db.Conversations(context.Background(), flt, allow)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, convIDs(page.Conversations)...)
		sizes = append(sizes, len(page.Conversations))
		if page.Next == 0 {
			return ids, sizes
		}
		if flt.Before != 0 && page.Next >= flt.Before {
			t.Fatalf("cursor did not move down: %d then %d", flt.Before, page.Next)
		}
		flt.Before = page.Next
	}
	t.Fatal("pagination did not end")
	return nil, nil
}

func TestConversationsInboxPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbox(t, db)
		// Activity after creation reorders; pagination must follow it.
		sendMsg(t, db, f.convs[3], &sotto.Message{SenderID: f.nurse.ID, Body: "Test bump"})
		want := append([]string{f.convs[3].ID}, f.newestFirst(func(i int, _ *sotto.Conversation) bool { return i != 3 })...)

		for _, limit := range []int{1, 7, 10, 25, 26} {
			ids, sizes := pageAll(t, db, store.ConversationFilter{OrgID: f.org.ID, Limit: limit}, allowAll)
			if !slices.Equal(ids, want) {
				t.Fatalf("limit %d: pages cover\n %v\nwant\n %v", limit, ids, want)
			}
			for i, n := range sizes[:len(sizes)-1] {
				if n != limit {
					t.Fatalf("limit %d: page %d holds %d (sizes %v)", limit, i, n, sizes)
				}
			}
		}

		// allow admits department A only: every page but the last is still
		// full, and each allowed conversation appears exactly once.
		deptA := func(c *sotto.Conversation) bool { return c.DepartmentID == f.deptA.ID }
		wantA := slices.DeleteFunc(slices.Clone(want), func(id string) bool {
			for _, c := range f.convs {
				if c.ID == id {
					return c.DepartmentID != f.deptA.ID
				}
			}
			return true
		})
		for _, limit := range []int{1, 4, 5, 13, 50} {
			ids, sizes := pageAll(t, db, store.ConversationFilter{OrgID: f.org.ID, Limit: limit}, deptA)
			if !slices.Equal(ids, wantA) {
				t.Fatalf("allow dept A, limit %d:\n got %v\nwant %v", limit, ids, wantA)
			}
			for i, n := range sizes[:len(sizes)-1] {
				if n != limit {
					t.Fatalf("allow dept A, limit %d: page %d holds %d (sizes %v)", limit, i, n, sizes)
				}
			}
		}
		// Filters and pagination combine.
		ids, _ := pageAll(t, db, store.ConversationFilter{OrgID: f.org.ID, Limit: 2, AssigneeID: f.nurse.ID}, allowAll)
		wantNurse := f.newestFirst(func(i int, _ *sotto.Conversation) bool { return i%3 == 0 })
		if !sameIDs(ids, wantNurse) || len(ids) != len(wantNurse) {
			t.Fatalf("nurse pages: %v, want %v", ids, wantNurse)
		}
		// Allowing nothing is an empty last page.
		page, err := db.Conversations(context.Background(), store.ConversationFilter{OrgID: f.org.ID, Limit: 10},
			func(*sotto.Conversation) bool { return false })
		if err != nil || len(page.Conversations) != 0 || page.Next != 0 {
			t.Fatalf("allow nothing: %+v, %v", page, err)
		}
	})
}

// TestConversationsInboxScanBound covers the case where access control
// filters out more rows than one page may scan: the page comes back short
// with a cursor, and the next page resumes the scan.
func TestConversationsInboxScanBound(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts over a thousand conversations")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		o := mustOrg(t, db, "Test Busy Clinic")
		hidden, shown := newDept(t, db, o.ID, "Test Hidden"), newDept(t, db, o.ID, "Test Shown")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		p := newPatient(t, db, o.ID, nil)
		var wantShown []string
		mustWrite(t, db, func(tx *store.Tx) error {
			// The 5 oldest are shown; the 1100 newer are hidden.
			for i := range 1105 {
				c := &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, Subject: "Test", Category: sotto.CategoryGeneral,
					CreatedBy: nurse.ID, DepartmentID: hidden.ID}
				if i < 5 {
					c.DepartmentID = shown.ID
				}
				if _, err := tx.InsertConversation(c); err != nil {
					return err
				}
				if i < 5 {
					wantShown = append([]string{c.ID}, wantShown...)
				}
			}
			return nil
		})
		allow := func(c *sotto.Conversation) bool { return c.DepartmentID == shown.ID }
		ids, sizes := pageAll(t, db, store.ConversationFilter{OrgID: o.ID, Limit: 10}, allow)
		if !slices.Equal(ids, wantShown) {
			t.Fatalf("scan-bounded pages: %v (sizes %v), want %v", ids, sizes, wantShown)
		}
		if len(sizes) < 2 || sizes[0] != 0 {
			t.Fatalf("page sizes %v: the first page should come back empty with a cursor", sizes)
		}
	})
}

// TestConversationsAllowMayQuery: the allow callback may itself read the
// store (the server's callback loads each patient's care team with
// PatientScope). Eight concurrent inbox pages, the default reader pool
// size, each inside allow at once, must not exhaust the pool.
func TestConversationsAllowMayQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newInbox(t, db)
		const callers = 8 // store.Options.Readers default
		var arrived sync.WaitGroup
		arrived.Add(callers)
		allInside := make(chan struct{})
		go func() { arrived.Wait(); close(allInside) }()
		errs := make([]error, callers) // the first error of each caller
		var done sync.WaitGroup
		for i := range callers {
			done.Add(1)
			go func() {
				defer done.Done()
				first := true
				allow := func(c *sotto.Conversation) bool {
					if errs[i] != nil {
						return false
					}
					if first {
						first = false
						arrived.Done()
						select {
						case <-allInside:
						case <-time.After(10 * time.Second):
							errs[i] = errors.New("not every caller reached allow")
							return false
						}
					}
					qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					defer cancel()
					if _, err := db.PatientScope(qctx, c.PatientID); err != nil {
						errs[i] = err
						return false
					}
					return true
				}
				page, err := db.Conversations(ctx, store.ConversationFilter{OrgID: f.org.ID, Limit: 5}, allow)
				switch {
				case errs[i] != nil:
				case err != nil:
					errs[i] = err
				case len(page.Conversations) != 5:
					errs[i] = fmt.Errorf("page of %d, want 5", len(page.Conversations))
				}
			}()
		}
		done.Wait()
		// Regression: Conversations once called allow with its rows still
		// open, so concurrent pages whose allow reads the store (as the
		// server's readable() does) exhausted the reader pool and hung.
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: allow could not read the store during an inbox page: %v", i, err)
			}
		}
	})
}
