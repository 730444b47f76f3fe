package store_test

import (
	"context"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestMessagesNotified: a thread's patient-side notification statuses come
// back per message in one query; staff alerts and other orgs are left out.
func TestMessagesNotified(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		p := newPatient(t, db, o.ID, nil)
		conv, _ := newConv(t, db, &sotto.Conversation{OrgID: o.ID, PatientID: p.ID, Category: sotto.CategoryGeneral, CreatedBy: nurse.ID})
		m1, _ := sendMsg(t, db, conv, &sotto.Message{Body: "Test one", IdempotencyKey: "k1", SenderID: nurse.ID, SenderRole: sotto.RoleNurse})
		m2, _ := sendMsg(t, db, conv, &sotto.Message{Body: "Test two", IdempotencyKey: "k2", SenderID: nurse.ID, SenderRole: sotto.RoleNurse})
		otherNurse := newUser(t, db, other.ID, sotto.RoleNurse)
		add := func(orgID, userID, msgID, channel string, kind sotto.NotificationKind, st sotto.NotificationStatus) {
			mustWrite(t, db, func(tx *store.Tx) error {
				n := &sotto.Notification{OrgID: orgID, UserID: userID, MessageID: msgID, Kind: kind, Channel: channel, Status: st}
				return tx.InsertNotification(n)
			})
		}
		add(o.ID, nurse.ID, m1.ID, "sms", sotto.NotifyNewMessage, sotto.NotifyQueued)
		add(o.ID, nurse.ID, m1.ID, "push", sotto.NotifyNewMessage, sotto.NotifyQueued)
		add(o.ID, nurse.ID, m1.ID, "push", sotto.NotifyStaffQueue, sotto.NotifyQueued)
		add(other.ID, otherNurse.ID, m2.ID, "sms", sotto.NotifyNewMessage, sotto.NotifyQueued)
		got, err := db.MessagesNotified(ctx, o.ID, []string{m1.ID, m2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got[m1.ID]) != 2 || got[m1.ID][0].Channel != "sms" || got[m1.ID][1].Channel != "push" || len(got[m2.ID]) != 0 {
			t.Fatalf("MessagesNotified = %+v", got)
		}
		if none, err := db.MessagesNotified(ctx, o.ID, nil); err != nil || len(none) != 0 {
			t.Fatalf("no ids: %v, %v", none, err)
		}
	})
}
