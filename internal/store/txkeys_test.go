package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// Keys remembered within one transaction are forgotten when the
// transaction shreds or rotates them.
func TestTxKeysForgetShreddedAndRotatedKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db)
		c := f.convs[0]
		err := db.Write(ctx, func(tx *store.Tx) error {
			m := &sotto.Message{OrgID: f.org, ConversationID: c.ID, PatientID: c.PatientID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "before the shred", IdempotencyKey: store.NewID()}
			if _, _, err := tx.InsertMessage(c, m, nil); err != nil {
				return err
			}
			if err := tx.ShredPatient(f.org, c.PatientID); err != nil {
				return err
			}
			m2 := &sotto.Message{OrgID: f.org, ConversationID: c.ID, PatientID: c.PatientID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "after the shred", IdempotencyKey: store.NewID()}
			_, _, err := tx.InsertMessage(c, m2, nil)
			return err
		})
		wantErr(t, "a message sealed after its patient's key was shredded in the same transaction", err, sotto.KindNotFound, "shredded")

		var newID uint32
		var body []byte
		mustWrite(t, db, func(tx *store.Tx) error {
			m := &sotto.Message{OrgID: f.org, ConversationID: f.staffRoom.ID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "before", IdempotencyKey: store.NewID()}
			if _, _, err := tx.InsertMessage(f.staffRoom, m, nil); err != nil {
				return err
			}
			var err error
			if _, newID, err = tx.RotateOrgKey(f.org); err != nil {
				return err
			}
			m2 := &sotto.Message{OrgID: f.org, ConversationID: f.staffRoom.ID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse, Body: "after", IdempotencyKey: store.NewID()}
			if _, _, err := tx.InsertMessage(f.staffRoom, m2, nil); err != nil {
				return err
			}
			return tx.QueryRow(`SELECT body_enc FROM messages WHERE id = $1`, m2.ID).Scan(&body)
		})
		if id := binary.BigEndian.Uint32(body[1:5]); id != newID {
			t.Fatalf("a message sealed after the rotation in the same transaction is under key %d, want the new primary %d", id, newID)
		}
	})
}

// A caller rolled back to its savepoint takes the keys it created with it:
// callers batched after it never seal under a key that was not committed.
func TestTxKeysForgetARolledBackRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db)
		const n = 48
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx *store.Tx) error {
					if i%4 == 0 {
						if _, _, err := tx.RotateOrgKey(f.org); err != nil {
							return err
						}
						return sotto.Errorf(sotto.KindInvalid, "caller %d changes its mind", i)
					}
					m := &sotto.Message{OrgID: f.org, ConversationID: f.staffRoom.ID, SenderID: f.nurse.ID, SenderRole: sotto.RoleNurse,
						Body: fmt.Sprintf("note %d", i), IdempotencyKey: store.NewID()}
					_, _, err := tx.InsertMessage(f.staffRoom, m, nil)
					return err
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%4 == 0) != (err != nil) {
				t.Fatalf("caller %d: err = %v", i, err)
			}
		}
		ms, err := db.Messages(ctx, f.org, f.staffRoom.ID, store.MessagePage{Limit: 1000, Internal: true})
		if err != nil {
			t.Fatalf("messages after rolled-back rotations: %v", err)
		}
		if len(ms) != 1+n-n/4 {
			t.Fatalf("%d messages, want %d", len(ms), 1+n-n/4)
		}
		vs, err := db.OrgKeyVersions(ctx, f.org)
		if err != nil || len(vs) != 1 {
			t.Fatalf("key versions after only rolled-back rotations: %v, %v", vs, err)
		}
	})
}
