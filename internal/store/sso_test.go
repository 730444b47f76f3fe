package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestSSOConfig: an organization's single sign-on is stored with its
// client secret sealed, read back by organization and by sign-in name,
// replaced (keeping the secret when none is given), kept apart from
// another organization's, and deleted.
func TestSSOConfig(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o, other := mustOrg(t, db, "Test SSO Clinic"), mustOrg(t, db, "Test SSO Other Clinic")
		admin := newUser(t, db, o.ID, sotto.RoleAdmin)
		const secret = "test-client-secret-canary-7d1e"

		if _, err := db.SSOConfig(ctx, o.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("no settings yet: err = %v, want not found", err)
		}
		if _, err := db.SSOConfigByName(ctx, "test-sso"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("no settings yet by name: err = %v, want not found", err)
		}
		// The first settings need a secret.
		noSecret := &store.SSOConfig{OrgID: o.ID, SignInName: "test-sso", Issuer: "https://idp.example.test", ClientID: "sotto-test", Enabled: true}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.PutSSOConfig(noSecret, admin.ID) }); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("first settings without a secret: err = %v, want invalid", err)
		}

		want := &store.SSOConfig{OrgID: o.ID, SignInName: "test-sso", Issuer: "https://idp.example.test", ClientID: "sotto-test",
			ClientSecret: secret, Enabled: true}
		mustWrite(t, db, func(tx *store.Tx) error { return tx.PutSSOConfig(want, admin.ID) })
		got, err := db.SSOConfig(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SignInName != "test-sso" || got.Issuer != want.Issuer || got.ClientID != "sotto-test" || got.ClientSecret != secret ||
			!got.Enabled || got.TrustIdPMFA || got.UpdatedBy != admin.ID || got.UpdatedAt.IsZero() {
			t.Fatalf("SSOConfig = %v (secret ok %t), want %v", got, got.ClientSecret == secret, want)
		}
		byName, err := db.SSOConfigByName(ctx, "test-sso")
		if err != nil || byName.OrgID != o.ID {
			t.Fatalf("SSOConfigByName = %v, %v", byName, err)
		}

		// Sealed at rest, and never printed.
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT client_secret_enc FROM org_sso WHERE org_id = $1`, o.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the client secret is stored in the clear")
		}
		for _, s := range []string{got.String(), fmt.Sprintf("%v", got), fmt.Sprintf("%+v", *got), fmt.Sprintf("%#v", *got)} {
			if strings.Contains(s, secret) {
				t.Fatalf("printing the settings shows the secret: %s", s)
			}
		}

		// Replaced without a secret: the stored one stays.
		mustWrite(t, db, func(tx *store.Tx) error {
			return tx.PutSSOConfig(&store.SSOConfig{OrgID: o.ID, SignInName: "test-sso-2", Issuer: "https://idp2.example.test",
				ClientID: "sotto-test-2", TrustIdPMFA: true}, admin.ID)
		})
		got, err = db.SSOConfig(ctx, o.ID)
		if err != nil || got.SignInName != "test-sso-2" || got.ClientID != "sotto-test-2" || got.ClientSecret != secret || !got.TrustIdPMFA || got.Enabled {
			t.Fatalf("after replacing: %v (secret kept %t), %v", got, got != nil && got.ClientSecret == secret, err)
		}
		if _, err := db.SSOConfigByName(ctx, "test-sso"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("the old sign-in name still answers: %v", err)
		}

		// Another organization cannot take the name, and keeps its own.
		taken := &store.SSOConfig{OrgID: other.ID, SignInName: "test-sso-2", Issuer: "https://idp.example.test", ClientID: "x", ClientSecret: "y", Enabled: true}
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.PutSSOConfig(taken, admin.ID) })
		if sotto.ErrorKind(err) != sotto.KindConflict || sotto.ErrorCode(err) != "sso_name_taken" {
			t.Fatalf("a taken sign-in name: err = %v, want sso_name_taken", err)
		}
		taken.SignInName = "test-sso-other"
		mustWrite(t, db, func(tx *store.Tx) error { return tx.PutSSOConfig(taken, admin.ID) })
		if c, err := db.SSOConfigByName(ctx, "test-sso-other"); err != nil || c.OrgID != other.ID || c.ClientSecret != "y" {
			t.Fatalf("the other organization's settings = %v, %v", c, err)
		}

		// A sealed secret moved to another organization's row does not open.
		mustWrite(t, db, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE org_sso SET client_secret_enc = $1 WHERE org_id = $2`, raw, other.ID)
			return err
		})
		if _, err := db.SSOConfig(ctx, other.ID); sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("a moved ciphertext opened: err = %v", err)
		}

		// Deleted.
		var existed bool
		mustWrite(t, db, func(tx *store.Tx) (err error) { existed, err = tx.DeleteSSOConfig(o.ID); return err })
		if !existed {
			t.Fatal("DeleteSSOConfig reported nothing deleted")
		}
		mustWrite(t, db, func(tx *store.Tx) (err error) { existed, err = tx.DeleteSSOConfig(o.ID); return err })
		if existed {
			t.Fatal("DeleteSSOConfig deleted twice")
		}
		if _, err := db.SSOConfig(ctx, o.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("after delete: err = %v, want not found", err)
		}
	})
}
