package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestMigrateIsIdempotentAndCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st, err := db.MigrationState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.UpToDate() || st.Latest < 1 {
			t.Fatalf("state after migrate = %+v", st)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v", again, err)
		}
	})
}

func TestOpenSQLiteCreatesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("database mode = %v, want 0600", fi.Mode().Perm())
	}
	st, err := db.MigrationState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.UpToDate() {
		t.Fatalf("fresh database reports up to date: %+v", st)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, filepath.Join(t.TempDir(), "missing", "x.db"), store.Options{}); err == nil {
		t.Fatal("open in a missing directory succeeded")
	}
	_, err := store.Open(ctx, "postgres://sotto:s3cretpw@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", store.Options{})
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cretpw") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
