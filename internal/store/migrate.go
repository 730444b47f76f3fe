package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration reports one applied migration.
type Migration struct {
	Version  int64  `json:"version"`
	Name     string `json:"name"`
	Duration string `json:"duration,omitempty"`
}

// MigrationState reports the schema version in the database and the newest
// version this binary knows.
type MigrationState struct {
	Current int64 `json:"current"`
	Latest  int64 `json:"latest"`
	// Jobs and JobsLatest are the job queue's (River's) schema versions.
	Jobs       int `json:"jobs"`
	JobsLatest int `json:"jobs_latest"`
}

// UpToDate reports whether no migration is pending.
func (s MigrationState) UpToDate() bool { return s.Current == s.Latest && s.Jobs >= s.JobsLatest }

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.w, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns those it applied.
// It is safe to run from several processes at once. Callers: serve at
// start-up and the migrate command.
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	out := make([]Migration, 0, len(res)+1)
	for _, r := range res {
		out = append(out, Migration{Version: r.Source.Version, Name: r.Source.Path, Duration: r.Duration.String()})
	}
	start := time.Now()
	n, err := db.migrateRiver(ctx)
	if err != nil {
		return out, err
	}
	if n > 0 {
		out = append(out, Migration{Name: fmt.Sprintf("river job queue schema (%d versions, now %d)", n, riverSchemaVersion), Duration: time.Since(start).String()})
	}
	return out, nil
}

// MigrationState reports the current and latest schema versions; readiness
// checks use it.
func (db *DB) MigrationState(ctx context.Context) (MigrationState, error) {
	p, err := db.provider()
	if err != nil {
		return MigrationState{}, err
	}
	cur, latest, err := p.GetVersions(ctx)
	if err != nil {
		return MigrationState{}, fmt.Errorf("store: migration state: %w", err)
	}
	jobs, err := db.riverVersion(ctx)
	if err != nil {
		return MigrationState{}, err
	}
	return MigrationState{Current: cur, Latest: latest, Jobs: jobs, JobsLatest: riverSchemaVersion}, nil
}
