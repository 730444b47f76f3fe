package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

func TestWriteIsolatesFailingCallers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 64
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx *store.Tx) error {
					o := &sotto.Org{Name: fmt.Sprintf("Org %d", i)}
					if err := tx.InsertOrg(o); err != nil {
						return err
					}
					if i%3 == 0 {
						return sotto.Errorf(sotto.KindInvalid, "caller %d fails", i)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		want := 0
		for i, err := range errs {
			if i%3 == 0 {
				if sotto.ErrorKind(err) != sotto.KindInvalid {
					t.Errorf("caller %d: err = %v, want its own invalid error", i, err)
				}
				continue
			}
			want++
			if err != nil {
				t.Errorf("caller %d: unexpected error %v", i, err)
			}
		}
		got, err := db.CountOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("orgs = %d, want %d (failing callers' rows must be rolled back alone)", got, want)
		}
	})
}

func TestWriteSQLErrorInBatchRollsBackOnlyThatCaller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := &sotto.Org{Name: "Lakeside Test"}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(o) }); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var dupErr error
		okErrs := make([]error, 16)
		for i := range okErrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				okErrs[i] = db.Write(ctx, func(tx *store.Tx) error {
					return tx.InsertDepartment(&sotto.Department{OrgID: o.ID, Name: fmt.Sprintf("Dept %d", i)})
				})
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dupErr = db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.InsertDepartment(&sotto.Department{OrgID: o.ID, Name: "Half done"}); err != nil {
					return err
				}
				return tx.InsertOrg(&sotto.Org{ID: o.ID, Name: "Duplicate"}) // primary key clash
			})
		}()
		wg.Wait()
		if sotto.ErrorKind(dupErr) != sotto.KindConflict {
			t.Fatalf("duplicate insert: err = %v, want conflict", dupErr)
		}
		for i, err := range okErrs {
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}
		depts, err := db.Departments(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(depts) != len(okErrs) {
			t.Fatalf("departments = %d, want %d", len(depts), len(okErrs))
		}
		for _, d := range depts {
			if d.Name == "Half done" {
				t.Fatal("the failing caller's first insert survived its rollback")
			}
		}
	})
}

func TestWriteAfterCommitAndPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ran := false
		err := db.Write(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return tx.InsertOrg(&sotto.Org{Name: "After Commit Org"})
		})
		if err != nil || !ran {
			t.Fatalf("err = %v, after-commit ran = %v", err, ran)
		}
		ran = false
		err = db.Write(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return errors.New("boom")
		})
		if err == nil || ran {
			t.Fatalf("failed write: err = %v, after-commit ran = %v", err, ran)
		}
		err = db.Write(ctx, func(tx *store.Tx) error { panic("write function bug") })
		if sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("panicking write: err = %v, want internal", err)
		}
		// The writer survives the panic.
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(&sotto.Org{Name: "Still Works"}) }); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountOrgs(ctx); n != 2 {
			t.Fatalf("orgs = %d, want 2", n)
		}
	})
}

func TestWriteCancelledContextIsSkipped(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := db.Write(ctx, func(tx *store.Tx) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Fatalf("err = %v, called = %v", err, called)
	}
}

func TestWriteAfterClose(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.Write(context.Background(), func(tx *store.Tx) error { return nil })
	if sotto.ErrorKind(err) != sotto.KindUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func TestWriteIsDurableAcrossReopen(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	ctx := context.Background()
	keys := storetest.Keyring(t)
	db, err := store.Open(ctx, dsn, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := &sotto.Org{Name: "Durable Clinic"}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertOrg(o) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(ctx, dsn, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Org(ctx, o.ID)
	if err != nil || got.Name != o.Name {
		t.Fatalf("reopened: %v, %v", got, err)
	}
}
