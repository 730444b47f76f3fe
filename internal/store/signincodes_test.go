package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestSignInCodes: only the newest code works, once, before it expires;
// five wrong tries burn it; the stored hash is not the code.
func TestSignInCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Test Clinic")
		u := newUser(t, db, o.ID, sotto.RolePatient)
		redeem := func(code string) bool {
			t.Helper()
			var ok bool
			mustWrite(t, db, func(tx *store.Tx) error {
				var err error
				ok, err = tx.RedeemSignInCode(o.ID, u.ID, code)
				return err
			})
			return ok
		}
		insert := func(code string, ttl time.Duration) {
			t.Helper()
			mustWrite(t, db, func(tx *store.Tx) error {
				_, err := tx.InsertSignInCode(o.ID, u.ID, "sms", code, ttl)
				return err
			})
		}
		if redeem("123456") {
			t.Fatal("a code redeemed before any was sent")
		}
		insert("111111", 10*time.Minute)
		insert("222222", 10*time.Minute)
		if redeem("111111") {
			t.Fatal("an older code still works after a newer one was sent")
		}
		if !redeem("222222") {
			t.Fatal("the newest code did not work")
		}
		if redeem("222222") {
			t.Fatal("a code worked twice")
		}
		insert("333333", 10*time.Minute)
		for i := range 5 {
			if redeem("000000") {
				t.Fatalf("wrong code %d accepted", i)
			}
		}
		if redeem("333333") {
			t.Fatal("the right code worked after five wrong tries")
		}
		insert("444444", -time.Second)
		if redeem("444444") {
			t.Fatal("an expired code worked")
		}
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT code_hash FROM sign_in_codes ORDER BY created_at DESC LIMIT 1`).Scan(&raw); err != nil || strings.Contains(string(raw), "444444") {
			t.Fatalf("the code is stored in the clear (err %v)", err)
		}
	})
}

// TestPortalUsersByPhone finds the portal account of a patient by phone,
// across organizations, and not a patient without an account.
func TestPortalUsersByPhone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test Clinic"), mustOrg(t, db, "Test Other Clinic")
		pu := newUser(t, db, o.ID, sotto.RolePatient)
		const phone = "+15005550142"
		newPatient(t, db, o.ID, func(p *sotto.Patient) { p.Phone, p.UserID = phone, pu.ID })
		newPatient(t, db, other.ID, func(p *sotto.Patient) { p.Phone = phone }) // no portal account
		got, err := db.PortalUsersByPhone(ctx, phone)
		if err != nil || len(got) != 1 || got[0].ID != pu.ID {
			t.Fatalf("PortalUsersByPhone = %v, %v; want the one portal account", got, err)
		}
		if got, _ := db.PortalUsersByPhone(ctx, "+15005550143"); len(got) != 0 {
			t.Fatalf("another number found %d accounts", len(got))
		}
	})
}
