package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// riverSchemaVersion is the River schema version Migrate installs. It is
// pinned, not "latest", so that a given sotto version always has the same
// schema; a River upgrade that adds schema versions raises it.
const riverSchemaVersion = 8

// Enqueue records a durable job to be inserted in the same transaction as
// the rest of this function's work: it commits with it or not at all, and
// once Write has returned nil the job is durable. Job arguments are stored
// in plaintext by River: they must hold ids only, never personal data.
// Callers: any Write function (notifications, reminders).
func (t *Tx) Enqueue(args river.JobArgs, opts *river.InsertOpts) {
	t.jobs = append(t.jobs, river.InsertManyParams{Args: args, InsertOpts: opts})
}

// insertJobs inserts the jobs of the batch's successful callers on sqlTx,
// with one statement per batch, just before the commit.
func (db *DB) insertJobs(ctx context.Context, sqlTx *sql.Tx, batch []*writeReq) error {
	var params []river.InsertManyParams
	for _, r := range batch {
		if r.err == nil {
			params = append(params, r.jobs...)
		}
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := db.inserter.InsertManyTx(ctx, sqlTx, params); err != nil {
		return fmt.Errorf("store: enqueue %d jobs: %w", len(params), err)
	}
	return nil
}

// driverName is the database/sql driver of the dialect.
func (db *DB) driverName() string {
	if db.dialect == Postgres {
		return "pgx"
	}
	return "sqlite"
}

// riverDriver returns the River driver for this dialect over pool.
func riverDriver(d Dialect, pool *sql.DB) riverdriver.Driver[*sql.Tx] {
	if d == Postgres {
		return riverdatabasesql.New(pool)
	}
	return riversqlite.New(pool)
}

// newInserter makes the insert-only River client the writer uses.
func (db *DB) newInserter() error {
	c, err := river.NewClient(riverDriver(db.dialect, db.w), &river.Config{})
	if err != nil {
		return fmt.Errorf("store: job inserter: %w", err)
	}
	db.inserter = c
	return nil
}

// JobClient builds a River client that works jobs of this database with
// cfg (queues, workers, retention). On SQLite it shares the single writer
// connection: River's statements then queue behind group commits instead of
// fighting them for the file lock, and a Write function must never call
// River except through Tx.Enqueue. On PostgreSQL it gets its own small pool
// and a one-connection pgx pool for LISTEN/NOTIFY, so jobs start at once.
// The returned close function releases those pools after the client has
// stopped. Callers: the jobs package, once at start-up.
func (db *DB) JobClient(ctx context.Context, cfg *river.Config) (*river.Client[*sql.Tx], func() error, error) {
	if db.dialect == SQLite {
		c, err := river.NewClient(riversqlite.New(db.w), cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("store: job client: %w", err)
		}
		return c, func() error { return nil }, nil
	}
	pool, err := sql.Open("pgx", db.dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("store: job pool: %w", redact(err, db.dsn))
	}
	pool.SetMaxOpenConns(4)
	pcfg, err := pgxpool.ParseConfig(db.dsn)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("store: job listener: %w", redact(err, db.dsn))
	}
	pcfg.MaxConns = 1
	listener, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("store: job listener: %w", redact(err, db.dsn))
	}
	c, err := river.NewClient(riverdatabasesql.NewWithPgxListener(pool, listener), cfg)
	if err != nil {
		listener.Close()
		pool.Close()
		return nil, nil, fmt.Errorf("store: job client: %w", err)
	}
	return c, func() error { listener.Close(); return pool.Close() }, nil
}

// migrateRiver installs River's schema (its tables, indexes and, on
// PostgreSQL, enum types and notify triggers) up to riverSchemaVersion,
// after our own migrations. River's migrator applies each of its versions
// in its own transaction (on PostgreSQL one version adds an enum value that
// a later one uses, which cannot share a transaction) and records what it
// applied, so re-running is harmless. It runs outside goose: goose holds
// the writer's only connection while it migrates.
func (db *DB) migrateRiver(ctx context.Context) (int, error) {
	pool, err := sql.Open(db.driverName(), db.dsn)
	if err != nil {
		return 0, fmt.Errorf("store: river schema: %w", redact(err, db.dsn))
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	m, err := rivermigrate.New(riverDriver(db.dialect, pool), nil)
	if err != nil {
		return 0, fmt.Errorf("store: river schema: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: riverSchemaVersion})
	if err != nil {
		return 0, fmt.Errorf("store: river schema: %w", err)
	}
	return len(res.Versions), nil
}

// riverVersion reports the newest River schema version applied (0 when
// none is).
func (db *DB) riverVersion(ctx context.Context) (int, error) {
	m, err := rivermigrate.New(riverDriver(db.dialect, db.r.DB), nil)
	if err != nil {
		return 0, fmt.Errorf("store: river schema: %w", err)
	}
	vs, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: river schema: %w", err)
	}
	v := 0
	for _, x := range vs {
		v = max(v, x.Version)
	}
	return v, nil
}
