package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestReadyzReportsPendingMigrationsAndClosedDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"), store.Options{Keys: storetest.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 503 || !strings.Contains(body, "migrations_pending") {
		t.Fatalf("unmigrated: %d %s", code, body)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != 200 {
		t.Fatalf("migrated: %d %s", code, body)
	}
	db.Close()
	if code, body := get(); code != 503 || !strings.Contains(body, "database_unreachable") {
		t.Fatalf("closed database: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz with a closed database: %d", rec.Code)
	}
}
