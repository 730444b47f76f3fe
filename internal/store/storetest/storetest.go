// Package storetest opens fresh, migrated stores for tests: a new SQLite
// file per test, and a new database on the PostgreSQL server named by
// SOTTO_TEST_POSTGRES. Only tests may import it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"sotto/internal/crypt"
	"sotto/internal/store"
)

// EnvPostgres names the environment variable holding the admin DSN of the
// PostgreSQL server tests use. `make test` sets it.
const EnvPostgres = "SOTTO_TEST_POSTGRES"

// Each runs f once against a fresh SQLite store and once against a fresh
// PostgreSQL store, as subtests "sqlite" and "postgres".
func Each(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t, store.Options{})) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t, store.Options{})) })
}

// SQLiteDSN returns the path of a fresh SQLite file in a test temp dir.
func SQLiteDSN(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "sotto.db")
}

// SQLite opens and migrates a fresh SQLite store, closed at cleanup.
func SQLite(tb testing.TB, opts store.Options) *store.DB {
	tb.Helper()
	return open(tb, SQLiteDSN(tb), opts)
}

// PostgresDSN creates a fresh database on the test server and returns its
// DSN; the database is dropped at cleanup. Without SOTTO_TEST_POSTGRES the
// test is skipped, except under CI=true, where it fails: CI must never skip
// the PostgreSQL suite.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: CI must run the PostgreSQL suite (run tests through `make test`)", EnvPostgres)
		}
		tb.Skipf("%s is not set; run `make test` to include PostgreSQL", EnvPostgres)
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	var b [8]byte
	rand.Read(b[:])
	name := "sotto_test_" + hex.EncodeToString(b[:])
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("open admin connection: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		adb.Close()
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := adb.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
		adb.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// Postgres opens and migrates a fresh PostgreSQL store, closed at cleanup.
func Postgres(tb testing.TB, opts store.Options) *store.DB {
	tb.Helper()
	return open(tb, PostgresDSN(tb), opts)
}

// Keyring returns a keyring over a fresh master key file in a temp dir.
func Keyring(tb testing.TB) *crypt.Keyring {
	tb.Helper()
	m, err := crypt.OpenMasterFile(filepath.Join(tb.TempDir(), "master.key"))
	if err != nil {
		tb.Fatalf("master key: %v", err)
	}
	return crypt.NewKeyring(m, 1000)
}

func open(tb testing.TB, dsn string, opts store.Options) *store.DB {
	tb.Helper()
	ctx := context.Background()
	if opts.Keys == nil {
		opts.Keys = Keyring(tb)
	}
	db, err := store.Open(ctx, dsn, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	// Registered before the database drop (cleanups run last-in first-out).
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}
