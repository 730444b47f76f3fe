package store_test

import (
	"context"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestNotifyTemplatesPerOrg stores, replaces, lists and deletes an
// organization's own templates, and proves another organization sees none.
func TestNotifyTemplatesPerOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		admin := newUser(t, db, o.ID, sotto.RoleAdmin)
		if _, err := db.NotifyTemplate(ctx, o.ID, "new_message", "en"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("no template yet: err = %v, want not found", err)
		}
		set := func(lang, text string) {
			mustWrite(t, db, func(tx *store.Tx) error { return tx.SetNotifyTemplate(o.ID, "new_message", lang, text, admin.ID) })
		}
		set("en", "First {{link}}")
		set("en", "Second {{link}}")
		set("es", "Nuevo {{link}}")
		got, err := db.NotifyTemplate(ctx, o.ID, "new_message", "en")
		if err != nil || got.Text != "Second {{link}}" || got.UpdatedBy != admin.ID {
			t.Fatalf("NotifyTemplate = %+v, %v", got, err)
		}
		list, err := db.NotifyTemplates(ctx, o.ID)
		if err != nil || len(list) != 2 || list[0].Lang != "en" || list[1].Lang != "es" {
			t.Fatalf("NotifyTemplates = %+v, %v", list, err)
		}
		if list, _ := db.NotifyTemplates(ctx, other.ID); len(list) != 0 {
			t.Fatalf("another org sees %d templates", len(list))
		}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.DeleteNotifyTemplate(o.ID, "new_message", "en") })
		if _, err := db.NotifyTemplate(ctx, o.ID, "new_message", "en"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("after delete: err = %v", err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteNotifyTemplate(o.ID, "new_message", "en") })
		wantErr(t, "second delete", err, sotto.KindNotFound, "")
	})
}

// TestOnCallAndStaffAlertTargets checks the sealed on-call number and who
// hears of a new item: the assignee, else the department's active members,
// narrowed to those with push subscriptions on request.
func TestOnCallAndStaffAlertTargets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		admin := newUser(t, db, o.ID, sotto.RoleAdmin)
		nurse, colleague, away := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleNurse)
		nursing := newDept(t, db, o.ID, "Test Nursing")
		for _, u := range []*sotto.User{nurse, colleague, away} {
			addMember(t, db, nursing.ID, u.ID)
		}
		mustWrite(t, db, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE users SET disabled = $1 WHERE id = $2`, true, away.ID)
			return err
		})

		if _, err := db.OnCall(ctx, o.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("nobody on call: err = %v", err)
		}
		const phone = "+15005550199"
		mustWrite(t, db, func(tx *store.Tx) error {
			return tx.SetOnCall(o.ID, store.OnCall{UserID: nurse.ID, Phone: phone}, admin.ID)
		})
		oc, err := db.OnCall(ctx, o.ID)
		if err != nil || oc.UserID != nurse.ID || oc.Phone != phone {
			t.Fatalf("OnCall = %+v, %v", oc, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM on_call WHERE phone_enc IS NOT NULL`); n != 1 {
			t.Fatalf("sealed rows = %d", n)
		}
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT phone_enc FROM on_call WHERE org_id = $1`, o.ID).Scan(&raw); err != nil || strings.Contains(string(raw), phone) {
			t.Fatalf("the on-call number is stored in plaintext (err %v)", err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.SetOnCall(other.ID, store.OnCall{UserID: nurse.ID}, admin.ID) })
		wantErr(t, "another org's user", err, sotto.KindNotFound, "")
		mustWrite(t, db, func(tx *store.Tx) error { return tx.ClearOnCall(o.ID) })
		if _, err := db.OnCall(ctx, o.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("cleared: err = %v", err)
		}

		p := newPatient(t, db, o.ID, nil)
		queued, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: nursing.ID, Category: sotto.CategoryGeneral, CreatedBy: admin.ID})
		mine, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, DepartmentID: nursing.ID, AssigneeID: colleague.ID, Category: sotto.CategoryGeneral, CreatedBy: admin.ID})
		targets := func(convID string, pushOnly bool) []string {
			t.Helper()
			ids, err := db.StaffAlertTargets(ctx, o.ID, convID, pushOnly)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if got := targets(queued.ID, false); !sameIDs(got, []string{nurse.ID, colleague.ID}) {
			t.Fatalf("queue targets = %v, want the two active nurses", got)
		}
		if got := targets(mine.ID, false); !sameIDs(got, []string{colleague.ID}) {
			t.Fatalf("assigned targets = %v, want the assignee", got)
		}
		if got := targets(queued.ID, true); len(got) != 0 {
			t.Fatalf("push-only targets without subscriptions = %v", got)
		}
		if has, err := db.HasStaffPush(ctx, o.ID); err != nil || has {
			t.Fatalf("HasStaffPush = %v, %v", has, err)
		}
		mustWrite(t, db, func(tx *store.Tx) error {
			_, err := tx.AddPushSubscription(o.ID, nurse.ID, "https://push.example.test/1", []byte(`{"endpoint":"https://push.example.test/1"}`))
			return err
		})
		if got := targets(queued.ID, true); !sameIDs(got, []string{nurse.ID}) {
			t.Fatalf("push-only targets = %v, want the subscribed nurse", got)
		}
		if has, err := db.HasStaffPush(ctx, o.ID); err != nil || !has {
			t.Fatalf("HasStaffPush after subscribing = %v, %v", has, err)
		}
		if has, _ := db.HasStaffPush(ctx, other.ID); has {
			t.Fatal("another org has staff push")
		}
	})
}
