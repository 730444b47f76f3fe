// Package store persists sotto's data in SQLite or PostgreSQL through one
// set of database/sql code. Every write goes through DB.Write, which groups
// concurrent callers into one transaction and one fsync (group commit);
// reads go to a separate reader pool and never wait for the writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/riverqueue/river"

	"sotto/internal/crypt"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune a DB. The zero value is the production default.
type Options struct {
	// MaxBatch bounds how many Write calls share one transaction.
	// Zero means 128; one disables group commit (one transaction per write).
	MaxBatch int
	// Writers is the number of concurrent writer goroutines. SQLite always
	// uses one. PostgreSQL defaults to one as well: per-organization chains
	// (audit, event log) lock a head row, and one writer keeps those locks
	// deadlock-free while group commit supplies the throughput.
	Writers int
	// Readers bounds the reader pool (default 8).
	Readers int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keys unwraps the organization keys that encrypt personal data. A DB
	// without Keys can run migrations and read non-personal tables only.
	Keys *crypt.Keyring
}

// DB is a handle on the sotto database. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	w       *sql.DB     // writer connection(s)
	r       *readerPool // reader pool, with prepared statements
	wstmts  stmtCache   // statements prepared on the writer connection(s)
	now     func() time.Time
	keys    *crypt.Keyring
	// plaintext makes sealerFor hand out a sealer that does not encrypt.
	// Only the benchmark measuring what encryption costs sets it (through
	// export_test.go); nothing else can.
	plaintext bool
	dsn       string // the writer's DSN, for the job client's and River migration's own pools; never logged
	// inserter is an insert-only River client: the writer inserts the
	// jobs of each batch with it just before the commit.
	inserter *river.Client[*sql.Tx]

	reqs     chan *writeReq
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool
}

// IsPostgresDSN reports whether dsn names a PostgreSQL server rather than
// a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by dsn: a postgres:// URL, or a
// SQLite file path (optionally prefixed with "sqlite:"). A SQLite file's
// directory must exist. Open does not apply migrations; see Migrate.
// Errors are *sotto.Error-free plain errors for the operator; they never
// contain the DSN's password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	if opts.Readers <= 0 {
		opts.Readers = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db := &DB{now: opts.Now, keys: opts.Keys, maxBatch: opts.MaxBatch, stop: make(chan struct{}), dsn: dsn}
	var err error
	if IsPostgresDSN(dsn) {
		db.dialect = Postgres
		if opts.Writers <= 0 {
			opts.Writers = 1
		}
		err = db.openPostgres(ctx, dsn, opts)
	} else {
		db.dialect = SQLite
		opts.Writers = 1
		err = db.openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), opts)
	}
	if err != nil {
		return nil, err
	}
	if err := db.newInserter(); err != nil {
		db.r.Close()
		db.w.Close()
		return nil, err
	}
	db.reqs = make(chan *writeReq, opts.MaxBatch*opts.Writers*2)
	for range opts.Writers {
		db.wg.Add(1)
		go db.writer()
	}
	return db, nil
}

func (db *DB) openSQLite(ctx context.Context, path string, opts Options) error {
	if path == "" {
		return errors.New("store: empty SQLite path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: sqlite path: %w", err)
	}
	if _, err := os.Stat(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("store: sqlite directory: %w", err)
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)"
	u := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?"
	db.dsn = u + pragmas + "&_txlock=immediate"
	db.w, err = sql.Open("sqlite", db.dsn)
	if err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers open it read-only.
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return fmt.Errorf("store: connect sqlite: %w", err)
	}
	if err := os.Chmod(abs, 0o600); err != nil {
		db.w.Close()
		return fmt.Errorf("store: protect sqlite file: %w", err)
	}
	r, err := sql.Open("sqlite", u+pragmas+"&_pragma=query_only(1)")
	db.r = &readerPool{DB: r}
	if err != nil {
		db.w.Close()
		return fmt.Errorf("store: open sqlite readers: %w", err)
	}
	db.r.SetMaxOpenConns(opts.Readers)
	db.r.SetMaxIdleConns(opts.Readers)
	return nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string, opts Options) error {
	var err error
	db.w, err = sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", redact(err, dsn))
	}
	db.w.SetMaxOpenConns(opts.Writers)
	db.w.SetMaxIdleConns(opts.Writers)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return fmt.Errorf("store: connect postgres: %w", redact(err, dsn))
	}
	r, err := sql.Open("pgx", dsn)
	db.r = &readerPool{DB: r}
	if err != nil {
		db.w.Close()
		return fmt.Errorf("store: open postgres readers: %w", redact(err, dsn))
	}
	db.r.SetMaxOpenConns(opts.Readers)
	db.r.SetMaxIdleConns(opts.Readers)
	return nil
}

// redact removes a DSN's password from an error text.
func redact(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// Dialect reports which database db talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Now returns the store's clock reading, truncated to microseconds (the
// precision times are stored at).
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.r.PingContext(ctx) }

// Close stops the writers after the queued writes finish, then closes the
// connections. Writes after Close fail with KindUnavailable.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	close(db.stop)
	db.closeMu.Unlock()
	db.wg.Wait()
	db.wstmts.closeAll()
	return errors.Join(db.r.Close(), db.w.Close())
}

// Query runs a read-only query on the reader pool. Packages that keep their
// own tables (audit, for one) read through it; writes go through Write.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.r.QueryContext(ctx, query, args...)
}

// QueryRow runs a read-only single-row query on the reader pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, query, args...)
}
