package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"sotto/internal/crypt"
)

// TestStatementCachesAreBoundedAndCorrect: many distinct queries all run
// (prepared or not), cached statements give the same answers as fresh
// ones, and neither cache grows past its bound.
func TestStatementCachesAreBoundedAndCorrect(t *testing.T) {
	ctx := context.Background()
	master, err := crypt.OpenMasterFile(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{Keys: crypt.NewKeyring(master, 16)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 3 { // the second and third rounds run prepared statements
		for i := range maxCachedStmts + 50 {
			q := fmt.Sprintf("SELECT $1 + %d", i)
			var got int
			if err := db.QueryRow(ctx, q, round).Scan(&got); err != nil || got != round+i {
				t.Fatalf("read %q round %d: %d, %v", q, round, got, err)
			}
			err := db.Write(ctx, func(tx *Tx) error {
				var w int
				if err := tx.QueryRow(q, round).Scan(&w); err != nil || w != round+i {
					return fmt.Errorf("write-side %q: %d, %v", q, w, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(db.r.stmts.m); n > maxCachedStmts || n == 0 {
		t.Fatalf("reader cache holds %d statements, want 1..%d", n, maxCachedStmts)
	}
	if n := len(db.wstmts.m); n > maxCachedStmts || n == 0 {
		t.Fatalf("writer cache holds %d statements, want 1..%d", n, maxCachedStmts)
	}
}
