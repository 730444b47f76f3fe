package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func mustOrg(t *testing.T, db *store.DB, name string) *sotto.Org {
	t.Helper()
	o := &sotto.Org{Name: name}
	if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.InsertOrg(o) }); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestUsersEncryptedAndScoped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Org A"), mustOrg(t, db, "Org B")
		u := &sotto.User{OrgID: a.ID, Role: sotto.RoleNurse, Email: " Canary.Nurse@Example.TEST ", Name: "Canaryname Testnurse"}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertUser(u, store.Credentials{}) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.User(ctx, a.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "canary.nurse@example.test" || got.Name != u.Name || got.Role != sotto.RoleNurse {
			t.Fatalf("read back %+v", got)
		}
		if _, err := db.User(ctx, b.ID, u.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("cross-org read: err = %v, want not found", err)
		}
		dup := &sotto.User{OrgID: b.ID, Role: sotto.RoleAdmin, Email: "canary.nurse@example.test", Name: "Other Person"}
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.InsertUser(dup, store.Credentials{}) })
		if sotto.ErrorKind(err) != sotto.KindConflict {
			t.Fatalf("duplicate e-mail: err = %v, want conflict", err)
		}
		if bytes.Contains([]byte(sotto.ErrorMessage(err)), []byte("canary")) {
			t.Fatal("conflict message repeats the e-mail address")
		}
		bad := &sotto.User{OrgID: a.ID, Role: "surgeon", Email: "x@example.test", Name: "X Y"}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertUser(bad, store.Credentials{}) }); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("bad role: err = %v", err)
		}
	})
}

// TestSQLiteFilesHoldNoPlaintext writes canary personal data and scans the
// database file and its WAL for it.
func TestSQLiteFilesHoldNoPlaintext(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "sotto.db"), store.Options{Keys: storetest.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := mustOrg(t, db, "Canary Org")
	u := &sotto.User{OrgID: o.ID, Role: sotto.RoleProvider, Email: "zqcanarymail@example.test", Name: "Zqcanaryname Doctor"}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertUser(u, store.Credentials{TOTPSecret: []byte("zqcanarytotp")})
	}); err != nil {
		t.Fatal(err)
	}
	scan := func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"zqcanarymail", "Zqcanaryname", "zqcanarytotp"} {
				if bytes.Contains(b, []byte(c)) {
					t.Errorf("%s holds plaintext %q", e.Name(), c)
				}
			}
		}
	}
	scan() // WAL present
	db.Close()
	scan() // checkpointed into the main file
}
