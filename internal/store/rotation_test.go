package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sotto"
	"sotto/internal/crypt"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// Every encrypted column of the schema (named *_enc) is one the org key
// rotation looks through; a new one that is not would be left under a
// retired key and become unreadable.
func TestSealedColumnsCoverEveryEncryptedColumn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		q := `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND p.name LIKE '%\_enc' ESCAPE '\'`
		if db.Dialect() == store.Postgres {
			q = `SELECT table_name || '.' || column_name FROM information_schema.columns
				WHERE table_schema = current_schema() AND column_name LIKE '%\_enc'`
		}
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		known := store.SealedColumnsForTest()
		n := 0
		for rows.Next() {
			var col string
			if err := rows.Scan(&col); err != nil {
				t.Fatal(err)
			}
			n++
			if !known[col] {
				t.Errorf("encrypted column %s is not in store.sealedColumns: an org key rotation would leave it under the retired key", col)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 10 {
			t.Fatalf("found only %d encrypted columns; the catalog query is wrong", n)
		}
	})
}

// rotationFixture is an org with records sealed under its key (staff,
// on-call phone, a conversation without a patient) and under patient data
// keys (demographics, conversations, messages).
type rotationFixture struct {
	org       string
	nurse     *sotto.User
	patients  []*sotto.Patient
	convs     []*sotto.Conversation
	staffRoom *sotto.Conversation
}

func newRotationFixture(t *testing.T, db *store.DB) *rotationFixture {
	t.Helper()
	f := &rotationFixture{}
	o := &sotto.Org{Name: "Rotation Test Clinic"}
	mustWrite(t, db, func(tx *store.Tx) error { return tx.InsertOrg(o) })
	f.org = o.ID
	f.nurse = newUser(t, db, f.org, sotto.RoleNurse)
	mustWrite(t, db, func(tx *store.Tx) error {
		return tx.SetOnCall(f.org, store.OnCall{UserID: f.nurse.ID, Phone: "+15550100999"}, f.nurse.ID)
	})
	for range 5 {
		p := newPatient(t, db, f.org, nil)
		c, _ := newConv(t, db, &sotto.Conversation{OrgID: f.org, PatientID: p.ID, CreatedBy: f.nurse.ID})
		sendMsg(t, db, c, &sotto.Message{OrgID: f.org, ConversationID: c.ID, PatientID: p.ID, SenderID: f.nurse.ID, Body: "before rotation " + p.ID})
		f.patients, f.convs = append(f.patients, p), append(f.convs, c)
	}
	f.staffRoom, _ = newConv(t, db, &sotto.Conversation{OrgID: f.org, CreatedBy: f.nurse.ID, Category: sotto.CategoryInternal, Subject: "Staff only"})
	sendMsg(t, db, f.staffRoom, &sotto.Message{OrgID: f.org, ConversationID: f.staffRoom.ID, SenderID: f.nurse.ID, Body: "staff note before rotation"})
	return f
}

// countPrefix counts blobs of the org's encrypted columns made by Tink key id.
func countPrefix(t *testing.T, db *store.DB, org string, id uint32) int {
	t.Helper()
	use, err := db.OrgKeyUse(context.Background(), org, []crypt.KeyVersion{{ID: id}})
	if err != nil {
		t.Fatal(err)
	}
	return use[id]
}

// An org key rotation while staff keep sending and reading: every record
// stays readable, nothing is left under the old version, which is then
// retired, and what it sealed no longer opens with it.
func TestRotateOrgKeyUnderConcurrentWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db)

		var emailBefore []byte
		if err := db.QueryRow(ctx, `SELECT email_enc FROM users WHERE id = $1`, f.nurse.ID).Scan(&emailBefore); err != nil {
			t.Fatal(err)
		}
		var oldID, newID uint32
		var sent atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var failures atomic.Int64
		var firstErr atomic.Value
		fail := func(err error) {
			if failures.Add(1) == 1 {
				firstErr.Store(err)
			}
		}
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					c := f.convs[(w+i)%len(f.convs)]
					if i%3 == 2 {
						c = f.staffRoom
					}
					m := &sotto.Message{OrgID: f.org, ConversationID: c.ID, PatientID: c.PatientID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse,
						Body: fmt.Sprintf("during rotation %d/%d", w, i), IdempotencyKey: store.NewID()}
					if err := db.Write(ctx, func(tx *store.Tx) error { _, _, err := tx.InsertMessage(c, m, nil); return err }); err != nil {
						fail(err)
						return
					}
					sent.Add(1)
					if _, err := db.Messages(ctx, f.org, c.ID, store.MessagePage{Limit: 5, Internal: true}); err != nil {
						fail(err)
						return
					}
				}
			}()
		}

		mustWrite(t, db, func(tx *store.Tx) (err error) { oldID, newID, err = tx.RotateOrgKey(f.org); return err })
		if oldID == newID {
			t.Fatal("RotateOrgKey kept the same primary")
		}
		if _, err := db.RewrapDataKeys(ctx, f.org, oldID, nil); err != nil {
			t.Fatal(err)
		}
		if _, skipped, err := db.ResealOrgRecords(ctx, f.org, oldID, nil); err != nil || skipped != 0 {
			t.Fatalf("ResealOrgRecords: skipped %d, %v", skipped, err)
		}
		close(stop)
		wg.Wait()
		if failures.Load() > 0 {
			t.Fatalf("%d concurrent writes or reads failed during the rotation; first: %v", failures.Load(), firstErr.Load())
		}
		if sent.Load() == 0 {
			t.Fatal("no message was sent during the rotation")
		}

		// Only now, with the writers stopped, is the old version guaranteed
		// unused; the retirement counts inside its own transaction.
		var remaining int
		mustWrite(t, db, func(tx *store.Tx) (err error) { remaining, err = tx.RetireOrgKey(f.org, oldID, false); return err })
		if remaining != 0 || countPrefix(t, db, f.org, oldID) != 0 {
			t.Fatalf("after retirement %d blobs are under the old version", countPrefix(t, db, f.org, oldID))
		}
		if countPrefix(t, db, f.org, newID) == 0 {
			t.Fatal("nothing is under the new version")
		}
		vs, err := db.OrgKeyVersions(ctx, f.org)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if (v.ID == oldID && v.Status != crypt.StatusDisabled) || (v.ID == newID && v.Status != crypt.StatusPrimary) {
				t.Errorf("versions after retirement: %+v", vs)
			}
		}

		// Everything reads back: patients, every message, staff contact points.
		total := 0
		for i, c := range append(f.convs, f.staffRoom) {
			ms, err := db.Messages(ctx, f.org, c.ID, store.MessagePage{Limit: 10000, Internal: true})
			if err != nil {
				t.Fatalf("conversation %d after rotation: %v", i, err)
			}
			total += len(ms)
			for _, m := range ms {
				if !strings.Contains(m.Body, "rotation") {
					t.Fatalf("message body after rotation = %q", m.Body)
				}
			}
		}
		if want := int64(len(f.convs)+1) + sent.Load(); int64(total) != want {
			t.Fatalf("%d messages read back, want %d", total, want)
		}
		for _, p := range f.patients {
			got, err := db.Patient(ctx, f.org, p.ID)
			if err != nil || got.MRN != p.MRN {
				t.Fatalf("patient after rotation: %v", err)
			}
		}
		if u, err := db.User(ctx, f.org, f.nurse.ID); err != nil || u.Email != f.nurse.Email {
			t.Fatalf("staff user after rotation: %v", err)
		}
		if oc, err := db.OnCall(ctx, f.org); err != nil || oc.Phone != "+15550100999" {
			t.Fatalf("on-call phone after rotation: %q, %v", oc.Phone, err)
		}

		// A copy of a record taken before the rotation (a backup) no longer
		// opens: the retirement is real. The live row opens.
		k, err := db.OrgKey(ctx, f.org)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Open(emailBefore, crypt.AD("users", "email", f.nurse.ID)); !errors.Is(err, crypt.ErrTampered) {
			t.Errorf("a pre-rotation ciphertext opened after retirement: %v", err)
		}
		var emailAfter []byte
		if err := db.QueryRow(ctx, `SELECT email_enc FROM users WHERE id = $1`, f.nurse.ID).Scan(&emailAfter); err != nil {
			t.Fatal(err)
		}
		if id := binary.BigEndian.Uint32(emailAfter[1:5]); id != newID {
			t.Errorf("staff e-mail is under key %d, want the new primary %d", id, newID)
		}
	})
}

// Retirement refuses while anything is still sealed under the old version,
// and refuses to retire the primary.
func TestRetireOrgKeyRefusesWhileInUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newRotationFixture(t, db)
		var oldID, newID uint32
		mustWrite(t, db, func(tx *store.Tx) (err error) { oldID, newID, err = tx.RotateOrgKey(f.org); return err })
		err := db.Write(context.Background(), func(tx *store.Tx) error { _, err := tx.RetireOrgKey(f.org, oldID, false); return err })
		wantErr(t, "retire before re-wrapping", err, sotto.KindConflict, "key_in_use")
		err = db.Write(context.Background(), func(tx *store.Tx) error { _, err := tx.RetireOrgKey(f.org, newID, false); return err })
		wantErr(t, "retire the primary", err, sotto.KindConflict, "key_primary")
		// Nothing changed: everything still opens.
		if _, err := db.Patient(context.Background(), f.org, f.patients[0].ID); err != nil {
			t.Fatal(err)
		}
		if n := countPrefix(t, db, f.org, oldID); n == 0 {
			t.Fatal("no blob under the old version before re-wrapping")
		}
	})
}
