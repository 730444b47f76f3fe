package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

// TestSeed fills a fresh data directory with a small practice, then a
// second one into the same directory, and counts what the store holds.
func TestSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	for range 2 {
		if err := run(ctx, []string{"--data", dir, "--conversations", "30", "--messages-per-conversation", "3", "--writers", "2"}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	db, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT COUNT(*) FROM orgs`, 2},
		{`SELECT COUNT(*) FROM patients`, 6}, // one per ten conversations
		{`SELECT COUNT(*) FROM conversations`, 60},
		{`SELECT COUNT(*) FROM messages`, 180},
	} {
		var n int
		if err := db.QueryRow(ctx, c.query).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s = %d (%v), want %d", c.query, n, err, c.want)
		}
	}
	for _, args := range [][]string{nil, {"--data", dir, "--conversations", "0"}, {"--data", dir, "extra"}} {
		if err := run(ctx, args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want a usage error", args)
		}
	}
}
