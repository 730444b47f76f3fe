package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPasskeys: a passkey is stored with its name sealed, found by its
// credential id in any organization, listed per user, refused twice,
// refused for a user of another organization; the signature counter only
// moves forward; a user deletes only their own; a reset deletes them all.
func TestPasskeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		nurse := newUser(t, db, o.ID, sotto.RoleNurse)
		admin := newUser(t, db, o.ID, sotto.RoleAdmin)
		insert := func(p *store.Passkey) error {
			t.Helper()
			return db.Write(ctx, func(tx *store.Tx) error { return tx.InsertPasskey(p) })
		}
		first := &store.Passkey{OrgID: o.ID, UserID: nurse.ID, CredentialID: []byte("credential-one"), PublicKey: []byte{0xa5, 1, 2},
			AttestationType: "none", AAGUID: make([]byte, 16), SignCount: 7, BackupEligible: true, BackupState: true,
			Transports: []string{"internal", "hybrid"}, Name: "Test work laptop"}
		if err := insert(first); err != nil {
			t.Fatal(err)
		}
		if !store.ValidID(first.ID) || first.CreatedAt.IsZero() {
			t.Fatalf("insert assigned id %q, created %v", first.ID, first.CreatedAt)
		}
		second := &store.Passkey{OrgID: o.ID, UserID: nurse.ID, CredentialID: []byte("credential-two"), PublicKey: []byte{0xa5}, Name: "Test phone"}
		if err := insert(second); err != nil {
			t.Fatal(err)
		}
		if err := insert(&store.Passkey{OrgID: o.ID, UserID: admin.ID, CredentialID: []byte("credential-one"), PublicKey: []byte{1}, Name: "Test copy"}); sotto.ErrorKind(err) != sotto.KindConflict {
			t.Fatalf("a credential registered twice: %v, want conflict", err)
		}
		if err := insert(&store.Passkey{OrgID: other.ID, UserID: nurse.ID, CredentialID: []byte("credential-x"), PublicKey: []byte{1}, Name: "Test x"}); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("a passkey for a user of another organization: %v, want not found", err)
		}
		if err := insert(&store.Passkey{OrgID: o.ID, UserID: nurse.ID, CredentialID: []byte("credential-y"), PublicKey: []byte{1}}); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("a passkey without a name: %v, want invalid", err)
		}

		got, err := db.PasskeyByCredentialID(ctx, []byte("credential-one"))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != first.ID || got.UserID != nurse.ID || got.OrgID != o.ID || got.Name != "Test work laptop" || got.SignCount != 7 ||
			!got.BackupEligible || !got.BackupState || strings.Join(got.Transports, ",") != "internal,hybrid" || got.AttestationType != "none" ||
			!bytes.Equal(got.PublicKey, []byte{0xa5, 1, 2}) || len(got.AAGUID) != 16 || !got.LastUsedAt.IsZero() {
			t.Fatalf("read back %+v", got)
		}
		if _, err := db.PasskeyByCredentialID(ctx, []byte("no-such-credential")); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("unknown credential: %v, want not found", err)
		}
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT name_enc FROM passkeys WHERE id = $1`, first.ID).Scan(&raw); err != nil || bytes.Contains(raw, []byte("laptop")) {
			t.Fatalf("the passkey name is stored in the clear (err %v)", err)
		}

		list, err := db.Passkeys(ctx, o.ID, nurse.ID)
		if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID || list[1].Name != "Test phone" {
			t.Fatalf("nurse's passkeys = %v (%v)", list, err)
		}
		if list, err := db.Passkeys(ctx, other.ID, nurse.ID); err != nil || len(list) != 0 {
			t.Fatalf("another organization lists the nurse's passkeys: %v (%v)", list, err)
		}

		use := func(id string, n uint32) bool {
			t.Helper()
			var ok bool
			mustWrite(t, db, func(tx *store.Tx) error {
				var err error
				ok, err = tx.UsePasskey(id, n, false)
				return err
			})
			return ok
		}
		if !use(first.ID, 8) {
			t.Fatal("a counter that advanced was refused")
		}
		if use(first.ID, 8) || use(first.ID, 3) || use(first.ID, 0) {
			t.Fatal("a counter that did not advance was accepted")
		}
		for range 2 {
			if !use(second.ID, 0) {
				t.Fatal("an authenticator without a counter (always 0) was refused")
			}
		}
		got, _ = db.PasskeyByCredentialID(ctx, []byte("credential-one"))
		if got.SignCount != 8 || got.BackupState || got.LastUsedAt.IsZero() {
			t.Fatalf("after use: count %d, backup %v, last used %v", got.SignCount, got.BackupState, got.LastUsedAt)
		}

		del := func(userID, id string) error {
			return db.Write(ctx, func(tx *store.Tx) error { return tx.DeletePasskey(o.ID, userID, id) })
		}
		if err := del(admin.ID, first.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("someone else's passkey deleted: %v, want not found", err)
		}
		if err := del(nurse.ID, "not-an-id"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("a malformed id: %v, want not found", err)
		}
		if err := del(nurse.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if err := del(nurse.ID, first.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("deleted twice: %v, want not found", err)
		}
		var n int64
		mustWrite(t, db, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeletePasskeysOf(o.ID, nurse.ID)
			return err
		})
		if list, _ := db.Passkeys(ctx, o.ID, nurse.ID); n != 1 || len(list) != 0 {
			t.Fatalf("reset removed %d, %d left", n, len(list))
		}
	})
}

// TestResetMFA removes a user's authenticator app, recovery codes and
// passkeys, and nobody else's; another organization's user is not found.
func TestResetMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		u, bystander := newUser(t, db, o.ID, sotto.RoleNurse), newUser(t, db, o.ID, sotto.RoleNurse)
		for i, x := range []*sotto.User{u, bystander} {
			mustWrite(t, db, func(tx *store.Tx) error {
				if err := tx.SetPendingTOTP(o.ID, x.ID, []byte("0123456789abcdef0123")); err != nil {
					return err
				}
				if err := tx.ConfirmTOTP(x.ID, 1, []string{"hash-a", "hash-b"}); err != nil {
					return err
				}
				return tx.InsertPasskey(&store.Passkey{OrgID: o.ID, UserID: x.ID, CredentialID: []byte{byte(i), 1, 2}, PublicKey: []byte{1}, Name: "Test key"})
			})
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.ResetMFA(other.ID, u.ID); return err }); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("reset from another organization: %v, want not found", err)
		}
		var n int64
		mustWrite(t, db, func(tx *store.Tx) error {
			var err error
			n, err = tx.ResetMFA(o.ID, u.ID)
			return err
		})
		_, creds, _, err := db.UserForLogin(ctx, u.Email)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := db.RecoveryCodesLeft(ctx, u.ID)
		keys, _ := db.Passkeys(ctx, o.ID, u.ID)
		if n != 1 || creds.TOTPEnrolled || creds.TOTPSecret != nil || left != 0 || len(keys) != 0 {
			t.Fatalf("after reset: %d passkeys removed, enrolled %v, secret %v, %d codes and %d passkeys left", n, creds.TOTPEnrolled, creds.TOTPSecret != nil, left, len(keys))
		}
		_, creds, _, _ = db.UserForLogin(ctx, bystander.Email)
		left, _ = db.RecoveryCodesLeft(ctx, bystander.ID)
		keys, _ = db.Passkeys(ctx, o.ID, bystander.ID)
		if !creds.TOTPEnrolled || left != 2 || len(keys) != 1 {
			t.Fatalf("the bystander lost factors: enrolled %v, %d codes, %d passkeys", creds.TOTPEnrolled, left, len(keys))
		}
	})
}
