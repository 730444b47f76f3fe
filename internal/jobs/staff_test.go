package jobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/jobs"
	"sotto/internal/notify/push"
	"sotto/internal/notify/push/pushtest"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

const onCallPhone = "+15005550123"

// staffFixture adds a Nursing department (the fixture's nurse and a
// colleague) and a conversation of category cat addressed to it.
func (f *fixture) staffConv(t *testing.T, cat sotto.Category) (*sotto.Conversation, *sotto.User) {
	t.Helper()
	dept := &sotto.Department{OrgID: f.org.ID, Name: "Test Nursing"}
	colleague := &sotto.User{OrgID: f.org.ID, Role: sotto.RoleNurse, Email: "colleague." + store.NewID() + "@example.test", Name: "Test Colleague"}
	write(t, f.db, func(tx *store.Tx) error {
		if err := tx.InsertDepartment(dept); err != nil {
			return err
		}
		if err := tx.InsertUser(colleague, store.Credentials{}); err != nil {
			return err
		}
		for _, u := range []*sotto.User{f.nurse, colleague} {
			if err := tx.AddDepartmentMember(dept.ID, u.ID); err != nil {
				return err
			}
		}
		return nil
	})
	conv := &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patient.ID, DepartmentID: dept.ID, Subject: "Test question",
		Category: cat, CreatedBy: f.puser.ID}
	write(t, f.db, func(tx *store.Tx) error { _, err := tx.InsertConversation(conv); return err })
	return conv, colleague
}

// patientSends stores the patient's message in conv and, as the send path
// does, asks for staff alerts when the notifier wants them.
func (f *fixture) patientSends(t *testing.T, n *jobs.Notifier, conv *sotto.Conversation) (*sotto.Message, bool) {
	t.Helper()
	want, err := n.WantsStaffAlerts(context.Background(), f.org.ID, conv.Category == sotto.CategoryUrgent)
	if err != nil {
		t.Fatal(err)
	}
	m := &sotto.Message{Body: secretText, IdempotencyKey: "k-" + store.NewID(), SenderID: f.puser.ID, SenderRole: sotto.RolePatient}
	write(t, f.db, func(tx *store.Tx) error {
		if _, _, err := tx.InsertMessage(conv, m, nil); err != nil {
			return err
		}
		if want {
			jobs.EnqueueStaff(tx, f.org.ID, m.ID)
		}
		return nil
	})
	return m, want
}

// TestStaffPushForANewQueueItem: a patient's message in the Nursing queue
// reaches, by push, the nurse who subscribed and nobody else; the text is
// PHI-free and links to the conversation in the inbox.
func TestStaffPushForANewQueueItem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		conv, _ := f.staffConv(t, sotto.CategoryGeneral)
		svc := pushtest.NewServer(t)
		keys, err := push.GenerateVAPID()
		if err != nil {
			t.Fatal(err)
		}
		sender, err := push.NewSender(keys, "mailto:ops@lakeside.example", svc.Client())
		if err != nil {
			t.Fatal(err)
		}
		n := startRunner(t, db, jobs.Channels{Push: sender}, noon, 0)
		if _, want := f.patientSends(t, n, conv); want {
			t.Fatal("staff alerts wanted although no staff member subscribed to push")
		}

		sub, dev := svc.Subscribe()
		raw, _ := json.Marshal(sub)
		write(t, db, func(tx *store.Tx) error {
			_, err := tx.AddPushSubscription(f.org.ID, f.nurse.ID, sub.Endpoint, raw)
			return err
		})
		n.ForgetStaffAlerts(f.org.ID)
		m, want := f.patientSends(t, n, conv)
		if !want {
			t.Fatal("staff alerts not wanted after a nurse subscribed")
		}
		got := f.notifications(t, m, 1, settled)[0]
		if got.UserID != f.nurse.ID || got.Kind != sotto.NotifyStaffQueue || got.Channel != "push" || got.Status != sotto.NotifySent || got.Urgent {
			t.Fatalf("notification = %+v; want one push to the subscribed nurse", got)
		}
		rcv := dev.Received()
		if len(rcv) != 1 {
			t.Fatalf("device received %d pushes; want 1", len(rcv))
		}
		var payload map[string]string
		if err := json.Unmarshal(rcv[0], &payload); err != nil {
			t.Fatal(err)
		}
		body := payload["body"]
		if strings.Contains(body, secretText) || strings.Contains(body, "Testy") || strings.Contains(body, "Test question") {
			t.Fatalf("staff alert discloses PHI: %q", body)
		}
		if !strings.Contains(body, practice) || !strings.Contains(body, "https://msg.lakeside.example/inbox/c/"+conv.ID) {
			t.Fatalf("staff alert %q lacks the practice or the inbox link", body)
		}
	})
}

// TestUrgentItemTextsTheOnCallPerson: an urgent patient message texts the
// on-call number, in the practice's own wording, even at night; a
// non-urgent one does not; a STOP from that number silences it.
func TestUrgentItemTextsTheOnCallPerson(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, "America/Chicago")
		urgent, _ := f.staffConv(t, sotto.CategoryUrgent)
		general := &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patient.ID, DepartmentID: urgent.DepartmentID, Subject: "Test other",
			Category: sotto.CategoryGeneral, CreatedBy: f.puser.ID}
		write(t, db, func(tx *store.Tx) error { _, err := tx.InsertConversation(general); return err })
		write(t, db, func(tx *store.Tx) error {
			if err := tx.SetOnCall(f.org.ID, store.OnCall{UserID: f.nurse.ID, Phone: onCallPhone}, f.nurse.ID); err != nil {
				return err
			}
			return tx.SetNotifyTemplate(f.org.ID, "staff_urgent", "en", "ON CALL: urgent item at {{practice_name}} {{link}}", f.nurse.ID)
		})
		fake, ch := smsChannel(t)
		midnight := func() time.Time { return time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC) } // 00:00 in Chicago
		n := startRunner(t, db, ch, midnight, 0)

		if _, want := f.patientSends(t, n, general); want {
			t.Fatal("a non-urgent message wants staff alerts with only on-call SMS configured")
		}
		m, want := f.patientSends(t, n, urgent)
		if !want {
			t.Fatal("an urgent message does not want staff alerts")
		}
		got := f.notifications(t, m, 1, settled)[0]
		if got.Channel != "sms" || got.Status != sotto.NotifySent || !got.Urgent || got.UserID != f.nurse.ID {
			t.Fatalf("notification = %+v; want an urgent SMS to the on-call nurse", got)
		}
		msgs := fake.Messages()
		if len(msgs) != 1 || msgs[0].To != onCallPhone {
			t.Fatalf("SMS sent = %+v; want one to the on-call number", msgs)
		}
		want1 := "ON CALL: urgent item at " + practice + " https://msg.lakeside.example/inbox/c/" + urgent.ID
		if msgs[0].Body != want1 {
			t.Fatalf("SMS text = %q, want the practice's template %q", msgs[0].Body, want1)
		}

		write(t, db, func(tx *store.Tx) error { _, err := tx.SetSMSOptOut(onCallPhone, true, "STOP"); return err })
		m2, _ := f.patientSends(t, n, urgent)
		got = f.notifications(t, m2, 1, settled)[0]
		if got.Status != sotto.NotifySuppressed || got.ErrorCode != "opted_out" {
			t.Fatalf("after STOP: notification = %+v; want suppressed opted_out", got)
		}
		if len(fake.Messages()) != 1 {
			t.Fatal("a text went to a number that opted out")
		}
	})
}
