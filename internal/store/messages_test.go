package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// msgFixture is one org with a patient who has a portal account and a
// proxy, a nurse and a provider, and one conversation about the patient.
type msgFixture struct {
	org             *sotto.Org
	nurse, doc      *sotto.User
	portal, proxy   *sotto.User
	patient, other  *sotto.Patient
	conv, otherConv *sotto.Conversation
	dept            *sotto.Department
}

func newMsgFixture(t *testing.T, db *store.DB) *msgFixture {
	t.Helper()
	f := &msgFixture{org: mustOrg(t, db, "Test Clinic")}
	f.dept = newDept(t, db, f.org.ID, "Test Nursing")
	f.nurse, f.doc = newUser(t, db, f.org.ID, sotto.RoleNurse), newUser(t, db, f.org.ID, sotto.RoleProvider)
	f.portal, f.proxy = newUser(t, db, f.org.ID, sotto.RolePatient), newUser(t, db, f.org.ID, sotto.RoleProxy)
	f.patient = newPatient(t, db, f.org.ID, func(p *sotto.Patient) { p.UserID = f.portal.ID })
	f.other = newPatient(t, db, f.org.ID, func(p *sotto.Patient) { p.GivenName = "Tessa" })
	mustWrite(t, db, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO patient_proxies (patient_id, user_id, relationship, created_at) VALUES ($1, $2, $3, $4)`,
			f.patient.ID, f.proxy.ID, "parent", 1)
		return err
	})
	f.conv, _ = newConv(t, db, &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patient.ID, DepartmentID: f.dept.ID,
		CreatedBy: f.nurse.ID, Subject: "Test question"})
	f.otherConv, _ = newConv(t, db, &sotto.Conversation{OrgID: f.org.ID, PatientID: f.patient.ID, DepartmentID: f.dept.ID,
		CreatedBy: f.nurse.ID, Subject: "Test other question"})
	return f
}

// insertMsg runs InsertMessage in its own write and returns everything.
func insertMsg(db *store.DB, conv *sotto.Conversation, m *sotto.Message, recipients ...string) (bool, *sotto.Event, error) {
	var existing bool
	var ev *sotto.Event
	err := db.Write(context.Background(), func(tx *store.Tx) (err error) {
		existing, ev, err = tx.InsertMessage(conv, m, recipients)
		return err
	})
	return existing, ev, err
}

func TestInsertMessageAndReceipts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newMsgFixture(t, db)

		var recipients []string
		mustWrite(t, db, func(tx *store.Tx) (err error) { recipients, err = tx.PatientRecipients(f.patient.ID); return err })
		if !sameIDs(recipients, []string{f.portal.ID, f.proxy.ID}) {
			t.Fatalf("PatientRecipients = %v, want the portal user and the proxy", recipients)
		}
		mustWrite(t, db, func(tx *store.Tx) error {
			r, err := tx.PatientRecipients(f.other.ID)
			if err == nil && len(r) != 0 {
				err = fmt.Errorf("patient without an account has recipients %v", r)
			}
			return err
		})

		m := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Testy, your test results are normal.", IdempotencyKey: "key-1"}
		existing, ev, err := insertMsg(db, f.conv, m, recipients...)
		if err != nil || existing || ev == nil {
			t.Fatalf("InsertMessage: existing=%v ev=%v err=%v", existing, ev, err)
		}
		if !store.ValidID(m.ID) || m.OrgID != f.org.ID || m.ConversationID != f.conv.ID || m.PatientID != f.patient.ID ||
			m.Seq != ev.Seq || !m.CreatedAt.Equal(ev.CreatedAt) || m.AttachmentIDs == nil || len(m.Receipts) != 2 {
			t.Fatalf("inserted message %+v", m)
		}
		if ev.Kind != sotto.EventMessageCreated || ev.MessageID != m.ID || ev.ConversationID != f.conv.ID || ev.PatientID != f.patient.ID ||
			ev.DepartmentID != f.dept.ID || ev.Category != sotto.CategoryGeneral || ev.CreatedBy != f.nurse.ID || ev.Internal || ev.OrgID != f.org.ID {
			t.Fatalf("message event %+v", ev)
		}
		got, err := db.Message(ctx, f.org.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Body != m.Body || got.SenderID != f.nurse.ID || got.SenderRole != sotto.RoleNurse || got.ConversationID != f.conv.ID ||
			got.PatientID != f.patient.ID || got.Seq != m.Seq || !got.CreatedAt.Equal(m.CreatedAt) || got.IdempotencyKey != "key-1" ||
			got.Internal || got.Corrects != "" || got.RetractedAt != nil || got.OnBehalfOf != "" || got.AttachmentIDs == nil || len(got.AttachmentIDs) != 0 {
			t.Fatalf("read back %+v", got)
		}
		if len(got.Receipts) != 2 {
			t.Fatalf("receipts %+v", got.Receipts)
		}
		for _, r := range got.Receipts {
			if !slices.Contains(recipients, r.UserID) || r.DeliveredAt != nil || r.ReadAt != nil {
				t.Fatalf("fresh receipt %+v", r)
			}
		}
		if c, _ := db.Conversation(ctx, f.org.ID, f.conv.ID); !c.LastActivityAt.Equal(m.CreatedAt) {
			t.Fatalf("conversation activity %v, want %v", c.LastActivityAt, m.CreatedAt)
		}
		// Another org, unknown and malformed ids are not found.
		o2 := mustOrg(t, db, "Test Other Clinic")
		for _, tc := range []struct{ org, id string }{{o2.ID, m.ID}, {f.org.ID, store.NewID()}, {f.org.ID, "x"}} {
			if _, err := db.Message(ctx, tc.org, tc.id); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("Message(%s, %s): %v", tc.org, tc.id, err)
			}
		}
		if ms, err := db.Messages(ctx, o2.ID, f.conv.ID, store.MessagePage{Limit: 10}); err != nil || len(ms) != 0 {
			t.Fatalf("Messages from another org: %v, %v", ms, err)
		}

		// A proxy writes on behalf of the patient.
		pm, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.proxy.ID, SenderRole: sotto.RoleProxy, OnBehalfOf: f.patient.ID,
			Body: "Test reply from the proxy"}, f.nurse.ID)
		if got, err := db.Message(ctx, f.org.ID, pm.ID); err != nil || got.OnBehalfOf != f.patient.ID || got.SenderRole != sotto.RoleProxy {
			t.Fatalf("proxy message %+v, %v", got, err)
		}

		// Receipts: delivered, then read; repeats change nothing.
		mark := func(userID string, read bool) *sotto.Event {
			t.Helper()
			var ev *sotto.Event
			mustWrite(t, db, func(tx *store.Tx) (err error) { ev, err = tx.MarkReceipt(f.conv, m, userID, read); return err })
			return ev
		}
		ev = mark(f.portal.ID, false)
		if ev == nil || ev.Kind != sotto.EventReceiptUpdated || ev.UserID != f.portal.ID || ev.MessageID != m.ID ||
			ev.ConversationID != f.conv.ID || ev.CreatedBy != f.portal.ID || ev.Seq <= m.Seq {
			t.Fatalf("delivered event %+v", ev)
		}
		if again := mark(f.portal.ID, false); again != nil {
			t.Fatalf("repeated delivery returned event %+v", again)
		}
		readEv := mark(f.portal.ID, true)
		if readEv == nil || readEv.Seq <= ev.Seq || readEv.UserID != f.portal.ID {
			t.Fatalf("read event %+v", readEv)
		}
		if again := mark(f.portal.ID, true); again != nil {
			t.Fatalf("repeated read returned event %+v", again)
		}
		if again := mark(f.portal.ID, false); again != nil {
			t.Fatalf("delivery after read returned event %+v", again)
		}
		// Read without a prior delivery implies delivery.
		if mark(f.proxy.ID, true) == nil {
			t.Fatal("first read by the proxy returned no event")
		}
		got, err = db.Message(ctx, f.org.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Receipts {
			if r.DeliveredAt == nil || r.ReadAt == nil {
				t.Fatalf("receipt %+v: want delivered and read", r)
			}
			if r.ReadAt.Before(*r.DeliveredAt) {
				t.Fatalf("receipt %+v: read before delivered", r)
			}
			if r.UserID == f.proxy.ID && !r.ReadAt.Equal(*r.DeliveredAt) {
				t.Fatalf("proxy receipt %+v: read implies delivery at the same time", r)
			}
		}
		// Exactly one event per change.
		if n := count(t, db, `SELECT COUNT(*) FROM events WHERE kind = $1 AND message_id = $2`, sotto.EventReceiptUpdated, m.ID); n != 3 {
			t.Fatalf("receipt events = %d, want 3", n)
		}

		// An internal note's receipt event is flagged internal.
		note, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test internal note", Internal: true}, f.doc.ID)
		var noteEv *sotto.Event
		mustWrite(t, db, func(tx *store.Tx) (err error) { noteEv, err = tx.MarkReceipt(f.conv, note, f.doc.ID, true); return err })
		if noteEv == nil || !noteEv.Internal {
			t.Fatalf("internal note receipt event %+v", noteEv)
		}
	})
}

func TestInsertMessageIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newMsgFixture(t, db)
		first := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test first send", IdempotencyKey: "retry-key"}
		if _, _, err := insertMsg(db, f.conv, first, f.portal.ID); err != nil {
			t.Fatal(err)
		}
		events := count(t, db, `SELECT COUNT(*) FROM events`)

		retry := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test retried send", IdempotencyKey: "retry-key"}
		existing, ev, err := insertMsg(db, f.conv, retry, f.portal.ID)
		if err != nil || !existing || ev != nil {
			t.Fatalf("retry: existing=%v ev=%v err=%v", existing, ev, err)
		}
		if retry.ID != first.ID || retry.Body != "Test first send" || retry.Seq != first.Seq || !retry.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("retry returned %+v, want the first message %+v", retry, first)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE idempotency_key = $1`, "retry-key"); n != 1 {
			t.Fatalf("messages with the key = %d, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != events {
			t.Fatalf("retry appended %d events", n-events)
		}

		// The same key for another conversation is a conflict.
		elsewhere := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test", IdempotencyKey: "retry-key"}
		_, _, err = insertMsg(db, f.otherConv, elsewhere)
		wantErr(t, "key reused for another conversation", err, sotto.KindConflict, "idempotency_key_reused")
		// Another sender may use the same key.
		mine := &sotto.Message{SenderID: f.doc.ID, SenderRole: sotto.RoleProvider, Body: "Test", IdempotencyKey: "retry-key"}
		if existing, _, err := insertMsg(db, f.conv, mine); err != nil || existing || mine.ID == first.ID {
			t.Fatalf("another sender's key: existing=%v err=%v", existing, err)
		}

		// Concurrent retries (one batch) store one message.
		const n = 20
		var wg sync.WaitGroup
		ids := make([]string, n)
		news := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: fmt.Sprintf("Test burst %d", i), IdempotencyKey: "burst-key"}
				existing, _, err := insertMsg(db, f.conv, m, f.portal.ID)
				ids[i], news[i], errs[i] = m.ID, !existing, err
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("burst %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("burst returned different ids: %v", ids)
			}
			if news[i] {
				created++
			}
		}
		if created != 1 || count(t, db, `SELECT COUNT(*) FROM messages WHERE idempotency_key = $1`, "burst-key") != 1 {
			t.Fatalf("burst created %d messages", created)
		}
		if ms, err := db.Messages(ctx, f.org.ID, f.conv.ID, store.MessagePage{Limit: 100}); err != nil || len(ms) != 3 {
			t.Fatalf("messages after retries: %d, %v", len(ms), err)
		}
	})
}

func TestMessagesPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newMsgFixture(t, db)
		var all, public []*sotto.Message // oldest first
		for i := range 12 {
			m, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: fmt.Sprintf("Test message %02d", i), Internal: i%4 == 1})
			all = append(all, m)
			if !m.Internal {
				public = append(public, m)
			}
			// Noise in another conversation.
			sendMsg(t, db, f.otherConv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test noise"})
		}
		walk := func(internal bool, limit int) []*sotto.Message {
			var out []*sotto.Message
			before := int64(0)
			for range 100 {
				page, err := db.Messages(ctx, f.org.ID, f.conv.ID, store.MessagePage{Before: before, Limit: limit, Internal: internal})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d with limit %d", len(page), limit)
				}
				out = append(out, page...)
				if len(page) < limit {
					return out
				}
				before = page[len(page)-1].Seq
			}
			t.Fatal("pagination did not end")
			return nil
		}
		for _, tc := range []struct {
			internal bool
			want     []*sotto.Message
		}{{false, public}, {true, all}} {
			for _, limit := range []int{1, 3, 5, 100} {
				got := walk(tc.internal, limit)
				if len(got) != len(tc.want) {
					t.Fatalf("internal=%v limit %d: %d messages, want %d", tc.internal, limit, len(got), len(tc.want))
				}
				for i, m := range got {
					w := tc.want[len(tc.want)-1-i]
					if m.ID != w.ID || m.Body != w.Body || m.Seq != w.Seq || m.Internal != w.Internal || m.ConversationID != f.conv.ID {
						t.Fatalf("internal=%v limit %d: message %d = %+v, want %+v", tc.internal, limit, i, m, w)
					}
				}
			}
		}
		// Before is exclusive.
		mid := all[6]
		page, err := db.Messages(ctx, f.org.ID, f.conv.ID, store.MessagePage{Before: mid.Seq, Limit: 100, Internal: true})
		if err != nil || len(page) != 6 || page[0].ID != all[5].ID {
			t.Fatalf("before message 6: %d messages, %v", len(page), err)
		}
	})
}

func TestInsertMessageCorrects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newMsgFixture(t, db)
		orig, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test dose 10 mg"})
		elsewhere, _ := sendMsg(t, db, f.otherConv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test elsewhere"})
		fix, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test correction: dose 5 mg", Corrects: orig.ID})
		if got, err := db.Message(ctx, f.org.ID, fix.ID); err != nil || got.Corrects != orig.ID {
			t.Fatalf("correction read back %+v, %v", got, err)
		}
		before := count(t, db, `SELECT COUNT(*) FROM messages`)
		for _, target := range []string{elsewhere.ID, store.NewID(), "not-an-id"} {
			m := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test bad correction", IdempotencyKey: "k-" + target, Corrects: target}
			_, _, err := insertMsg(db, f.conv, m)
			wantErr(t, "corrects "+target, err, sotto.KindInvalid, "")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != before {
			t.Fatalf("rejected corrections wrote %d messages", n-before)
		}
	})
}

func TestInsertMessageAttachments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newMsgFixture(t, db)
		pdf := []byte("%PDF-1.4 test lab report")
		a1 := newAttachment(t, db, f.org.ID, f.patient.ID, f.nurse.ID, "test-lab-report.pdf", pdf)
		a2 := newAttachment(t, db, f.org.ID, f.patient.ID, f.nurse.ID, "test-second.pdf", []byte("%PDF-1.4 second"))
		a3 := newAttachment(t, db, f.org.ID, f.patient.ID, f.nurse.ID, "test-third.pdf", []byte("%PDF-1.4 third"))
		byDoc := newAttachment(t, db, f.org.ID, f.patient.ID, f.doc.ID, "test-doc.pdf", []byte("%PDF-1.4 doc"))
		otherPatient := newAttachment(t, db, f.org.ID, f.other.ID, f.nurse.ID, "test-other.pdf", []byte("%PDF-1.4 other"))
		noPatient := newAttachment(t, db, f.org.ID, "", f.nurse.ID, "test-staff.pdf", []byte("%PDF-1.4 staff"))

		// Round trip of an unlinked upload.
		got, data, err := db.Attachment(ctx, f.org.ID, a1.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "test-lab-report.pdf" || got.ContentType != "application/pdf" || got.Size != int64(len(pdf)) || got.UploaderID != f.nurse.ID ||
			got.PatientID != f.patient.ID || got.MessageID != "" || !got.CreatedAt.Equal(a1.CreatedAt) || string(data) != string(pdf) {
			t.Fatalf("attachment %+v data %q", got, data)
		}
		if _, data, err := db.Attachment(ctx, f.org.ID, a1.ID, false); err != nil || data != nil {
			t.Fatalf("metadata-only read returned %q, %v", data, err)
		}
		o2 := mustOrg(t, db, "Test Other Clinic")
		for _, tc := range []struct{ org, id string }{{o2.ID, a1.ID}, {f.org.ID, store.NewID()}, {f.org.ID, "x"}} {
			if _, _, err := db.Attachment(ctx, tc.org, tc.id, true); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("Attachment(%s, %s): %v", tc.org, tc.id, err)
			}
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertAttachment(&sotto.Attachment{OrgID: f.org.ID, PatientID: store.NewID(), UploaderID: f.nurse.ID, Name: "x.pdf", ContentType: "application/pdf"}, pdf)
		})
		wantErr(t, "attachment for an unknown patient", err, sotto.KindNotFound, "")

		m, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: "Test see attached", AttachmentIDs: []string{a1.ID}})
		if got, err := db.Message(ctx, f.org.ID, m.ID); err != nil || !slices.Equal(got.AttachmentIDs, []string{a1.ID}) {
			t.Fatalf("message attachments %v, %v", got, err)
		}
		if got, _, _ := db.Attachment(ctx, f.org.ID, a1.ID, false); got.MessageID != m.ID {
			t.Fatalf("attachment linked to %q, want %q", got.MessageID, m.ID)
		}

		msgs, events := count(t, db, `SELECT COUNT(*) FROM messages`), count(t, db, `SELECT COUNT(*) FROM events`)
		for _, tc := range []struct {
			name   string
			sender *sotto.User
			conv   *sotto.Conversation
			ids    []string
		}{
			{"already sent", f.nurse, f.conv, []string{a1.ID}},
			{"someone else's upload", f.nurse, f.conv, []string{a2.ID, byDoc.ID}},
			{"another patient's upload", f.nurse, f.conv, []string{a2.ID, otherPatient.ID}},
			{"an upload with no patient", f.nurse, f.conv, []string{a2.ID, noPatient.ID}},
			{"unknown id", f.nurse, f.conv, []string{a2.ID, store.NewID()}},
			{"the same upload twice", f.nurse, f.conv, []string{a2.ID, a2.ID}},
			{"uploader is not the sender", f.doc, f.conv, []string{a3.ID}},
		} {
			m := &sotto.Message{SenderID: tc.sender.ID, SenderRole: tc.sender.Role, Body: "Test", IdempotencyKey: "k-" + store.NewID(), AttachmentIDs: tc.ids}
			_, _, err := insertMsg(db, tc.conv, m, f.portal.ID)
			wantErr(t, tc.name, err, sotto.KindInvalid, "")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != msgs {
			t.Fatalf("rejected sends wrote %d messages", n-msgs)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM events`); n != events {
			t.Fatalf("rejected sends appended %d events", n-events)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM receipts WHERE message_id <> $1`, m.ID); n != 0 {
			t.Fatalf("rejected sends wrote %d receipts", n)
		}
		for _, a := range []*sotto.Attachment{a2, a3, byDoc, otherPatient, noPatient} {
			if got, _, err := db.Attachment(ctx, f.org.ID, a.ID, false); err != nil || got.MessageID != "" {
				t.Fatalf("rejected sends linked attachment %s: %+v, %v", a.Name, got, err)
			}
		}

		// Several own uploads in one message; a staff thread with no patient
		// takes uploads with no patient.
		m2, _ := sendMsg(t, db, f.conv, &sotto.Message{SenderID: f.nurse.ID, Body: "", AttachmentIDs: []string{a3.ID, a2.ID}})
		if got, err := db.Message(ctx, f.org.ID, m2.ID); err != nil || !sameIDs(got.AttachmentIDs, []string{a2.ID, a3.ID}) || got.Body != "" {
			t.Fatalf("two attachments: %+v, %v", got, err)
		}
		staff, _ := newConv(t, db, &sotto.Conversation{OrgID: f.org.ID, Category: sotto.CategoryInternal, CreatedBy: f.nurse.ID, Subject: "Test staff thread"})
		m3, _ := sendMsg(t, db, staff, &sotto.Message{SenderID: f.nurse.ID, Body: "Test staff file", Internal: true, AttachmentIDs: []string{noPatient.ID}})
		if got, err := db.Message(ctx, f.org.ID, m3.ID); err != nil || !slices.Equal(got.AttachmentIDs, []string{noPatient.ID}) || got.PatientID != "" {
			t.Fatalf("staff thread attachment: %+v, %v", got, err)
		}
		if _, data, err := db.Attachment(ctx, f.org.ID, noPatient.ID, true); err != nil || string(data) != "%PDF-1.4 staff" {
			t.Fatalf("org-key attachment: %q, %v", data, err)
		}
		// A patient upload cannot go into the staff thread either.
		bad := &sotto.Message{SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "Test", IdempotencyKey: "k-staff", AttachmentIDs: []string{otherPatient.ID}}
		_, _, err = insertMsg(db, staff, bad)
		wantErr(t, "patient upload in a staff thread", err, sotto.KindInvalid, "")
	})
}
