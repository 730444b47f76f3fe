package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"sotto"
)

// Tx is the transaction a Write function runs in. Its statements run inside
// the caller's own savepoint: if the function returns an error, only its own
// work is rolled back. A Tx must not be used after the function returns.
type Tx struct {
	tx      *sql.Tx
	ctx     context.Context
	db      *DB
	after   []func()
	ordered []func()
	jobs    []river.InsertManyParams
	staged  []staged
	memo    *txKeys // shared by the batch's callers; nil: nothing remembered
}

// Flusher writes, once per batch and just before it commits, what the
// batch's successful callers staged with Tx.Stage, in caller order. An
// error fails the whole batch (nothing of it is committed). Implemented
// by the audit trail, whose hash chain is cheaper to extend once per
// batch than once per caller. Flushers must be comparable (a struct value).
type Flusher interface {
	Flush(tx *Tx, items []any) error
}

// staged is one item a caller staged for a Flusher.
type staged struct {
	f    Flusher
	item any
}

// Stage hands item to f, to be written with the rest of the batch just
// before commit, only if this caller's function succeeds. Callers: a
// package whose rows are cheaper written per batch (audit.Append).
func (t *Tx) Stage(f Flusher, item any) { t.staged = append(t.staged, staged{f, item}) }

// Exec runs a statement that returns no rows.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	if st := t.txStmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

// Query runs a statement that returns rows, inside the transaction.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	if st := t.txStmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, query, args...)
}

// QueryRow runs a statement that returns at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	if st := t.txStmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// Dialect reports the database behind the transaction.
func (t *Tx) Dialect() Dialect { return t.db.dialect }

// Now returns the store clock (microsecond precision).
func (t *Tx) Now() time.Time { return t.db.Now() }

// AfterCommit registers f to run, in the caller's goroutine, after the
// transaction holding this function's work has committed durably. It does
// not run if the work is rolled back.
func (t *Tx) AfterCommit(f func()) { t.after = append(t.after, f) }

// AfterCommitOrdered registers f to run after the transaction holding this
// function's work has committed durably, on the writer goroutine, in commit
// order: functions of earlier commits (and of earlier callers in the same
// batch) run first. f must be quick and must not block or call Write: it
// holds up every writer. Intended for publishing committed events in
// sequence order.
func (t *Tx) AfterCommitOrdered(f func()) { t.ordered = append(t.ordered, f) }

type writeReq struct {
	ctx     context.Context
	fn      func(*Tx) error
	err     error
	after   []func()
	ordered []func()
	jobs    []river.InsertManyParams
	staged  []staged
	done    chan struct{}
}

// Write runs fn inside a write transaction and returns once that
// transaction has committed durably (or failed). Concurrent calls are
// grouped into one transaction and one fsync. A batch first runs without
// savepoints; if any fn fails, it is rolled back and run again with each
// fn in its own savepoint, so an error from one fn rolls back only that
// fn's work and is returned to its caller alone. fn may therefore run more
// than once, and only its last run counts: it must keep its effects inside
// the Tx (and AfterCommit hooks), or make them safe to repeat. If the commit itself fails, every caller
// in the batch gets an error. After a successful commit, functions
// registered with Tx.AfterCommit run before Write returns.
//
// A caller whose ctx is done before its turn is skipped and gets ctx's
// error; once fn has started it is not interrupted. Write returns a
// KindUnavailable *sotto.Error after Close.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return sotto.Errorf(sotto.KindUnavailable, "The server is shutting down.")
	}
	select {
	case db.reqs <- r:
		db.closeMu.RUnlock()
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return ctx.Err()
	}
	<-r.done
	if r.err != nil {
		return r.err
	}
	for _, f := range r.after {
		f()
	}
	return nil
}

// writer is one writer goroutine: it takes the first pending request, then
// whatever else is already queued (up to maxBatch), and commits them as one.
func (db *DB) writer() {
	defer db.wg.Done()
	batch := make([]*writeReq, 0, db.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-db.reqs:
			batch = append(batch, r)
		case <-db.stop:
			// Drain what was queued before Close, then exit.
			for {
				select {
				case r := <-db.reqs:
					db.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < db.maxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// commit runs one batch in one transaction and answers every request.
func (db *DB) commit(batch []*writeReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(batch) > 1 && db.commitOptimistic(ctx, batch) {
		return
	}
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		failAll(batch, fmt.Errorf("store: begin: %w", err))
		return
	}
	useSavepoints := len(batch) > 1
	memo := newTxKeys()
	ran := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if useSavepoints {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				sqlTx.Rollback()
				failAll(batch, fmt.Errorf("store: savepoint: %w", err))
				return
			}
		}
		t := &Tx{tx: sqlTx, ctx: ctx, db: db, memo: memo}
		r.err = run(r.fn, t)
		switch {
		case r.err != nil && !useSavepoints:
			sqlTx.Rollback()
			return
		case r.err != nil:
			memo.reset() // what the rolled-back caller unwrapped or changed is gone
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				sqlTx.Rollback()
				failAll(batch, fmt.Errorf("store: rollback to savepoint: %w", err))
				return
			}
			if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				sqlTx.Rollback()
				failAll(batch, fmt.Errorf("store: release savepoint: %w", err))
				return
			}
		default:
			r.after, r.ordered, r.jobs, r.staged = t.after, t.ordered, t.jobs, t.staged
			ran++
			if useSavepoints {
				if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
					sqlTx.Rollback()
					failAll(batch, fmt.Errorf("store: release savepoint: %w", err))
					return
				}
			}
		}
	}
	if ran == 0 {
		sqlTx.Rollback()
		return
	}
	if err := db.beforeCommit(ctx, sqlTx, batch); err != nil {
		sqlTx.Rollback()
		failAll(batch, err)
		return
	}
	if err := sqlTx.Commit(); err != nil {
		failAll(batch, fmt.Errorf("store: commit: %w", err))
		return
	}
	db.afterCommit(ctx, batch)
}

// runOrdered runs an ordered after-commit function; a panic is contained
// so that it cannot stop the writer.
func runOrdered(f func()) {
	defer func() { _ = recover() }()
	f()
}

// commitOptimistic runs a batch without savepoints, the common case where
// every caller succeeds: a savepoint and its release cost two statements
// (two round trips on PostgreSQL) per caller. If any caller fails, the
// whole transaction is rolled back, nothing is answered, and it reports
// false: the caller then re-runs the batch with a savepoint per caller.
// It reports true when the batch is finished (committed, or failed as a
// whole).
func (db *DB) commitOptimistic(ctx context.Context, batch []*writeReq) bool {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		failAll(batch, fmt.Errorf("store: begin: %w", err))
		return true
	}
	ran := 0
	memo := newTxKeys()
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		t := &Tx{tx: sqlTx, ctx: ctx, db: db, memo: memo}
		if err := run(r.fn, t); err != nil {
			sqlTx.Rollback()
			for _, r := range batch {
				r.err, r.after, r.ordered, r.jobs, r.staged = nil, nil, nil, nil, nil
			}
			return false
		}
		r.after, r.ordered, r.jobs, r.staged = t.after, t.ordered, t.jobs, t.staged
		ran++
	}
	if ran == 0 {
		sqlTx.Rollback()
		return true
	}
	if err := db.beforeCommit(ctx, sqlTx, batch); err != nil {
		sqlTx.Rollback()
		failAll(batch, err)
		return true
	}
	if err := sqlTx.Commit(); err != nil {
		failAll(batch, fmt.Errorf("store: commit: %w", err))
		return true
	}
	db.afterCommit(ctx, batch)
	return true
}

// afterCommit runs the ordered hooks of a committed batch, in order, and
// prepares the statements its callers used.
func (db *DB) afterCommit(ctx context.Context, batch []*writeReq) {
	for _, r := range batch {
		if r.err == nil {
			for _, f := range r.ordered {
				runOrdered(f)
			}
		}
	}
	db.prepareWriterStmts(ctx)
}

// run calls fn, turning a panic into an internal error so that one bad
// caller cannot take down the writer.
func run(fn func(*Tx) error, t *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &sotto.Error{Kind: sotto.KindInternal, Op: "store.Write", Err: fmt.Errorf("write function panicked (%T)", p)}
		}
	}()
	return fn(t)
}

// failAll gives err to every request that has no error of its own yet (or
// whose work was rolled back with the transaction).
func failAll(batch []*writeReq, err error) {
	for _, r := range batch {
		if r.err == nil {
			r.err = &sotto.Error{Kind: sotto.KindInternal, Op: "store.Write", Err: err}
		}
		r.after, r.ordered, r.jobs, r.staged = nil, nil, nil, nil
	}
}

// beforeCommit writes what the batch's successful callers left for the end
// of the batch: staged items (audit entries), then jobs.
func (db *DB) beforeCommit(ctx context.Context, sqlTx *sql.Tx, batch []*writeReq) error {
	if err := db.flushStaged(ctx, sqlTx, batch); err != nil {
		return err
	}
	return db.insertJobs(ctx, sqlTx, batch)
}

// flushStaged hands each Flusher the items the batch's successful callers
// staged for it, in caller order, on the batch's transaction.
func (db *DB) flushStaged(ctx context.Context, sqlTx *sql.Tx, batch []*writeReq) error {
	var order []Flusher
	items := map[Flusher][]any{}
	for _, r := range batch {
		if r.err != nil {
			continue
		}
		for _, st := range r.staged {
			if _, ok := items[st.f]; !ok {
				order = append(order, st.f)
			}
			items[st.f] = append(items[st.f], st.item)
		}
	}
	for _, f := range order {
		if err := f.Flush(&Tx{tx: sqlTx, ctx: ctx, db: db}, items[f]); err != nil {
			return err
		}
	}
	return nil
}
