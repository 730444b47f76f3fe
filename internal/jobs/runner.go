// Package jobs runs sotto's durable background work on River: notification
// planning and dispatch, unread nudges. Jobs are inserted by store.Tx.Enqueue
// inside the transaction of the action that causes them, so a committed
// message always has its notification job; the Runner works them with
// retries, exponential backoff with jitter, and a dead-letter state.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"sotto/internal/store"
)

// Options tune a Runner. The zero value is the production default.
type Options struct {
	// Workers is how many jobs run at once (default 10).
	Workers int
	// RetryBase is the first retry delay; each later one doubles, up to
	// RetryMax, with ±20 % jitter (default 10 s, max 1 h).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often idle workers look for due jobs (default 1 s;
	// PostgreSQL is also woken by LISTEN/NOTIFY).
	PollInterval time.Duration
	// Logger receives River's own log lines (job kinds, ids, error classes:
	// no PHI is ever in a job's arguments or errors).
	Logger *slog.Logger
}

// Runner works the durable jobs of one database.
type Runner struct {
	client *river.Client[*sql.Tx]
	close  func() error
}

// Start registers the notification workers of n and starts working jobs.
// Callers: serve, once, after migrations. Stop it before closing db.
func Start(ctx context.Context, db *store.DB, n *Notifier, opts Options) (*Runner, error) {
	if opts.Workers <= 0 {
		opts.Workers = 10
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 10 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Hour
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	if err := n.register(workers); err != nil {
		return nil, err
	}
	cfg := &river.Config{
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:                     workers,
		Logger:                      opts.Logger,
		FetchPollInterval:           opts.PollInterval,
		FetchCooldown:               min(opts.PollInterval, 100*time.Millisecond),
		RetryPolicy:                 &backoff{base: opts.RetryBase, max: opts.RetryMax},
		CompletedJobRetentionPeriod: 24 * time.Hour,
		// Our notifications table keeps the dead letters an admin sees;
		// River's own rows of failed jobs are kept a month for diagnosis.
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
		CancelledJobRetentionPeriod: 30 * 24 * time.Hour,
		JobTimeout:                  2 * time.Minute,
	}
	if db.Dialect() == store.SQLite {
		// River's reindexer knows PostgreSQL only.
		cfg.ReindexerIndexNames = []string{}
	}
	client, closePools, err := db.JobClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		closePools()
		return nil, fmt.Errorf("jobs: start: %w", err)
	}
	return &Runner{client: client, close: closePools}, nil
}

// Stop lets running jobs finish until ctx is done, then cancels them (they
// return to the queue and run again later, unpenalized), and releases the
// job pools. Callers: serve at shutdown, after the HTTP server stopped and
// before the store closes.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = r.client.StopAndCancel(hard)
	}
	return errors.Join(err, r.close())
}

// backoff is exponential backoff with jitter: base, 2×base, 4×base... up
// to max, each ±20 %.
type backoff struct{ base, max time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(b.delay(len(job.Errors) + 1))
}

func (b *backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
