package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestUserForLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// No user yet, so no instance key: not found.
		if _, _, _, err := db.UserForLogin(ctx, "a@example.test"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("empty database: err = %v, want not found", err)
		}
		o := mustOrg(t, db, "Login Org")
		u := &sotto.User{OrgID: o.ID, Role: sotto.RoleProvider, Email: "Doc.Login@Example.TEST", Name: "Doc Login"}
		secret := bytes.Repeat([]byte{7}, 20)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertUser(u, store.Credentials{PasswordHash: "$argon2id$stub", TOTPSecret: secret})
		}); err != nil {
			t.Fatal(err)
		}
		got, c, step, err := db.UserForLogin(ctx, "  doc.login@example.test ")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.OrgID != o.ID || got.Email != "doc.login@example.test" || got.Name != "Doc Login" ||
			c.PasswordHash != "$argon2id$stub" || !bytes.Equal(c.TOTPSecret, secret) || step != 0 {
			t.Fatalf("UserForLogin = %+v %+v %d", got, c, step)
		}
		_, _, _, err = db.UserForLogin(ctx, "other@example.test")
		if sotto.ErrorKind(err) != sotto.KindNotFound || bytes.Contains([]byte(err.Error()), []byte("other@")) {
			t.Fatalf("unknown e-mail: err = %v", err)
		}

		// TOTP steps only move forward.
		for _, tc := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}} {
			var ok bool
			if err := db.Write(ctx, func(tx *store.Tx) (err error) { ok, err = tx.SetTOTPLastStep(u.ID, tc.step); return err }); err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Fatalf("SetTOTPLastStep(%d) = %v, want %v", tc.step, ok, tc.want)
			}
		}
		if _, _, step, _ := db.UserForLogin(ctx, u.Email); step != 101 {
			t.Fatalf("last step = %d", step)
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := mustOrg(t, db, "Session Org")
		u := &sotto.User{OrgID: o.ID, Role: sotto.RoleNurse, Email: "sess@example.test", Name: "Sess Nurse"}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertUser(u, store.Credentials{}) }); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
		write := func(f func(tx *store.Tx) error) error { return db.Write(ctx, f) }
		if err := write(func(tx *store.Tx) error {
			if err := tx.InsertSession(h1, u.ID, o.ID, now, now.Add(15*time.Minute)); err != nil {
				return err
			}
			return tx.InsertSession(h2, u.ID, o.ID, now, now.Add(15*time.Minute))
		}); err != nil {
			t.Fatal(err)
		}
		err := write(func(tx *store.Tx) error { return tx.InsertSession(h1, u.ID, o.ID, now, now) })
		if sotto.ErrorKind(err) != sotto.KindConflict {
			t.Fatalf("duplicate session: %v", err)
		}
		err = write(func(tx *store.Tx) error {
			return tx.InsertSession(bytes.Repeat([]byte{3}, 32), store.NewID(), o.ID, now, now)
		})
		if sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("session of unknown user: %v", err)
		}
		s, err := db.SessionByHash(ctx, h1)
		if err != nil {
			t.Fatal(err)
		}
		if s.UserID != u.ID || s.OrgID != o.ID || !s.CreatedAt.Equal(now) || !s.LastSeenAt.Equal(now) || !s.ExpiresAt.Equal(now.Add(15*time.Minute)) || s.Revoked() {
			t.Fatalf("session = %+v", s)
		}
		later := now.Add(5 * time.Minute)
		if err := write(func(tx *store.Tx) error { return tx.TouchSession(h1, later, later.Add(15*time.Minute)) }); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.SessionByHash(ctx, h1); !s.LastSeenAt.Equal(later) || !s.ExpiresAt.Equal(later.Add(15*time.Minute)) {
			t.Fatalf("touched session = %+v", s)
		}
		if err := write(func(tx *store.Tx) error { return tx.RevokeSession(h1, later) }); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.SessionByHash(ctx, h1); !s.Revoked() || !s.RevokedAt.Equal(later) {
			t.Fatalf("revoked session = %+v", s)
		}
		for name, f := range map[string]func(tx *store.Tx) error{
			"touch revoked":  func(tx *store.Tx) error { return tx.TouchSession(h1, later, later) },
			"revoke revoked": func(tx *store.Tx) error { return tx.RevokeSession(h1, later) },
		} {
			if err := write(f); sotto.ErrorKind(err) != sotto.KindNotFound {
				t.Fatalf("%s: %v", name, err)
			}
		}
		var n int64
		if err := write(func(tx *store.Tx) (err error) { n, err = tx.RevokeUserSessions(u.ID, later); return err }); err != nil || n != 1 {
			t.Fatalf("RevokeUserSessions = %d, %v", n, err)
		}
		if s, _ := db.SessionByHash(ctx, h2); !s.Revoked() {
			t.Fatal("user session not revoked")
		}
		if _, err := db.SessionByHash(ctx, bytes.Repeat([]byte{9}, 32)); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("unknown session: %v", err)
		}
	})
}
