package store_test

import (
	"context"
	"testing"
	"time"

	"sotto"
	"sotto/internal/auth"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestStaffInvitesLifecycle: an invitation is found by its hash only while
// usable; a newer one revokes the older; accepting it sets the password
// once and kills every link; expiry, disabled accounts, accounts with a
// password, patients and other organizations' users are refused; the
// pending listing follows all of it. Both databases.
func TestStaffInvitesLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Org A"), mustOrg(t, db, "Org B")
		admin := newUser(t, db, a.ID, sotto.RoleAdmin)
		nurse := newUser(t, db, a.ID, sotto.RoleNurse)
		patient := newUser(t, db, a.ID, sotto.RolePatient)
		otherOrg := newUser(t, db, b.ID, sotto.RoleNurse)
		now := time.Now().UTC()
		hash := func(tag string) []byte {
			_, h, err := auth.NewToken()
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		invite := func(userID, orgID string, h []byte, exp time.Time) error {
			return db.Write(ctx, func(tx *store.Tx) error {
				return tx.InsertStaffInvite(h, &store.StaffInvite{OrgID: orgID, UserID: userID, CreatedBy: admin.ID, ExpiresAt: exp})
			})
		}

		first, second := hash("first"), hash("second")
		if err := invite(nurse.ID, a.ID, first, now.Add(7*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := db.UsableStaffInvite(ctx, first, now)
		if err != nil || got.UserID != nurse.ID || got.OrgID != a.ID || got.CreatedBy != admin.ID {
			t.Fatalf("usable invite = %+v, %v", got, err)
		}
		pending, err := db.PendingStaffInvites(ctx, a.ID)
		if err != nil || len(pending) != 1 || pending[nurse.ID].IsZero() {
			t.Fatalf("pending = %v, %v", pending, err)
		}
		// A second invitation revokes the first.
		if err := invite(nurse.ID, a.ID, second, now.Add(7*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, err = db.UsableStaffInvite(ctx, first, now)
		wantErr(t, "the revoked first link", err, sotto.KindNotFound, "invite_invalid")
		// Expired at the given time.
		_, err = db.UsableStaffInvite(ctx, second, now.Add(8*24*time.Hour))
		wantErr(t, "an expired link", err, sotto.KindNotFound, "invite_invalid")
		// An unknown hash.
		_, err = db.UsableStaffInvite(ctx, hash("unknown"), now)
		wantErr(t, "an unknown link", err, sotto.KindNotFound, "invite_invalid")

		// Refused targets.
		wantErr(t, "a patient", invite(patient.ID, a.ID, hash("p"), now.Add(time.Hour)), sotto.KindNotFound, "")
		wantErr(t, "another organization's user", invite(otherOrg.ID, a.ID, hash("o"), now.Add(time.Hour)), sotto.KindNotFound, "")
		wantErr(t, "a malformed id", invite("not-an-id", a.ID, hash("m"), now.Add(time.Hour)), sotto.KindNotFound, "")

		// A disabled account's link does not work, and it cannot be re-invited.
		mustWrite(t, db, func(tx *store.Tx) error { return tx.SetUserDisabled(a.ID, nurse.ID, true) })
		_, err = db.UsableStaffInvite(ctx, second, now)
		wantErr(t, "a disabled account's link", err, sotto.KindNotFound, "invite_invalid")
		wantErr(t, "inviting a disabled account", invite(nurse.ID, a.ID, hash("d"), now.Add(time.Hour)), sotto.KindConflict, "user_disabled")
		mustWrite(t, db, func(tx *store.Tx) error { return tx.SetUserDisabled(a.ID, nurse.ID, false) })

		// Accepting sets the password and kills the link; a second use fails.
		var inv *store.StaffInvite
		mustWrite(t, db, func(tx *store.Tx) error {
			var err error
			inv, err = tx.AcceptStaffInvite(second, now, "$argon2id$test-hash")
			return err
		})
		if inv.UserID != nurse.ID {
			t.Fatalf("accepted = %+v", inv)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash = '$argon2id$test-hash'`, nurse.ID); n != 1 {
			t.Fatal("the password was not set")
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.AcceptStaffInvite(second, now, "$argon2id$other")
			return err
		})
		wantErr(t, "a used link", err, sotto.KindNotFound, "invite_invalid")
		if n := count(t, db, `SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash = '$argon2id$test-hash'`, nurse.ID); n != 1 {
			t.Fatal("a used link changed the password")
		}
		wantErr(t, "inviting an account with a password", invite(nurse.ID, a.ID, hash("again"), now.Add(time.Hour)), sotto.KindConflict, "already_set_up")
		if pending, err := db.PendingStaffInvites(ctx, a.ID); err != nil || len(pending) != 0 {
			t.Fatalf("pending after acceptance = %v, %v", pending, err)
		}
		if pending, err := db.PendingStaffInvites(ctx, b.ID); err != nil || len(pending) != 0 {
			t.Fatalf("org B pending = %v, %v", pending, err)
		}
		// Only hashes are stored.
		if n := count(t, db, `SELECT COUNT(*) FROM staff_invites WHERE user_id = $1`, nurse.ID); n != 2 {
			t.Fatalf("%d invitations stored, want 2", n)
		}
	})
}
