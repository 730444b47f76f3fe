package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"sotto"
	"sotto/internal/store"
)

// Forwarder defaults.
const (
	forwardBatch        = 100
	forwardPoll         = time.Second
	forwardMinBackoff   = time.Second
	forwardMaxBackoff   = time.Minute
	forwardResendWindow = 30 * time.Second
)

// ForwarderOptions tune a Forwarder. The zero value is the production
// default.
type ForwarderOptions struct {
	// Batch is how many entries of one org are read and sent before the
	// cursor is stored (default 100, at most MaxLimit).
	Batch int
	// Poll is how often a caught-up forwarder looks for new entries
	// (default 1 s).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure: it starts
	// at MinBackoff (1 s) and doubles up to MaxBackoff (1 min).
	MinBackoff, MaxBackoff time.Duration
	// ResendWindow: when a connection is lost, the entries written on it
	// this recently are sent again (default 30 s; see Forwarder).
	ResendWindow time.Duration
	// Logger receives failures and recoveries, with counts and error
	// causes, never event contents. Nil discards.
	Logger *slog.Logger
}

// Forwarder copies every organization's audit trail, in Seq order, to a
// SIEM through a SyslogSink, at least once, without ever touching the
// writes that append entries: it reads the committed trail, a batch at a
// time, and keeps its position per org in the store (audit_forward), so it
// resumes where it stopped after a collector outage or a restart.
//
// The stored cursor is the last Seq written to the collector; it advances
// after each batch. Entries sent after the cursor when the forwarder stops
// or fails (the in-flight batch) are sent again. RFC 5425 has no
// acknowledgements, and a collector that drops a connection drops what it
// had not read yet: so when the connection is lost, each org also goes
// back over the batches it wrote on it within ResendWindow and sends them
// again (a connection closed while idle for longer, as by a load
// balancer's idle timeout, costs nothing). The SIEM may therefore see an
// entry twice, never a gap; org, seq and id identify duplicates.
//
// Run one Forwarder per deployment (one node of a cluster), on a sink no
// one else sends to.
type Forwarder struct {
	db   *store.DB
	sink *SyslogSink
	opts ForwarderOptions
	log  *slog.Logger
	lag  atomic.Int64

	// Run's state, owned by its goroutine.
	orgs map[string]*forwardPos
	conn net.Conn // the sink's connection the last entries went out on
}

// forwardPos is one org's position.
type forwardPos struct {
	head   int64 // chain head at the last look
	stored int64 // cursor in the store
	sent   int64 // last Seq written in this run; below stored after a loss
	// batches written on conn within ResendWindow, oldest first
	recent []sentBatch
}

// sentBatch records one batch written on the current connection.
type sentBatch struct {
	at   time.Time // when its last entry was written
	from int64     // the org's position before it
}

// NewForwarder returns a forwarder of db's audit trails to sink. It does
// nothing until Run. Callers: serve, when a SIEM is configured; it owns
// sink from then on (Close the sink after Run returns).
func NewForwarder(db *store.DB, sink *SyslogSink, opts ForwarderOptions) *Forwarder {
	if opts.Batch <= 0 {
		opts.Batch = forwardBatch
	}
	opts.Batch = min(opts.Batch, MaxLimit)
	if opts.Poll <= 0 {
		opts.Poll = forwardPoll
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = forwardMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(forwardMaxBackoff, opts.MinBackoff)
	}
	if opts.ResendWindow <= 0 {
		opts.ResendWindow = forwardResendWindow
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{db: db, sink: sink, opts: opts, log: log, orgs: map[string]*forwardPos{}}
}

// Lag returns how many audit entries, over all orgs, were not yet
// forwarded at the forwarder's last look (every Poll while it keeps up,
// every retry during an outage; 0 before the first). Safe for concurrent
// use. Callers: readiness reporting.
func (f *Forwarder) Lag() int64 { return f.lag.Load() }

// Run forwards until ctx is done, then returns; it is the forwarder's only
// goroutine and must not be called twice at once. Failures (collector
// unreachable or lost, store errors) are logged and retried after a
// backoff; they never reach the writers of the trail. Callers: serve, in a
// goroutine stopped before the store closes.
func (f *Forwarder) Run(ctx context.Context) {
	var backoff time.Duration
	for ctx.Err() == nil {
		busy, err := f.cycle(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := f.opts.Poll
		switch {
		case err != nil:
			backoff = min(max(2*backoff, f.opts.MinBackoff), f.opts.MaxBackoff)
			wait = backoff
			f.log.Warn("SIEM forwarding failed; will retry", "kind", string(sotto.ErrorKind(err)),
				"error", err.Error(), "lag", f.Lag(), "retry_in", wait.String())
		case backoff != 0:
			backoff = 0
			f.log.Info("SIEM forwarding resumed", "lag", f.Lag())
		}
		if busy && err == nil {
			continue // more may be pending: no pause
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// cycle reads every org's head and cursor, checks the connection, then
// sends one batch of each org that is behind. It reports whether it sent
// anything.
func (f *Forwarder) cycle(ctx context.Context) (bool, error) {
	states, err := f.db.AuditForwardState(ctx)
	if err != nil {
		return false, err
	}
	for _, st := range states {
		p := f.orgs[st.OrgID]
		if p == nil {
			p = &forwardPos{stored: st.Cursor, sent: st.Cursor}
			f.orgs[st.OrgID] = p
		}
		p.head = st.Head
		if st.Cursor != p.stored {
			// Someone moved the cursor (an operator re-sending history):
			// follow it.
			p.stored, p.sent, p.recent = st.Cursor, st.Cursor, nil
		}
		if st.Cursor > st.Head {
			// The trail is shorter than what was sent: the database was
			// restored from an older backup. Its new entries reuse those
			// seqs; send them when they come.
			f.log.Warn("audit trail is behind the SIEM cursor (database restored?); forwarding from its head",
				"org", st.OrgID, "head", st.Head, "cursor", st.Cursor)
			if err := f.store(ctx, st.OrgID, st.Head); err != nil {
				return false, err
			}
			p.sent, p.recent = st.Head, nil
		}
	}
	f.updateLag()
	// A connection lost while idle: what it carried last may be unread.
	if f.conn != nil && f.sink.connection() != f.conn {
		if err := f.lost(ctx, nil, 0); err != nil {
			return false, err
		}
	}
	busy := false
	for _, st := range states {
		p := f.orgs[st.OrgID]
		if p.sent >= p.head {
			continue
		}
		sent, err := f.sendBatch(ctx, st.OrgID, p)
		busy = busy || sent
		if err != nil {
			return busy, err
		}
	}
	return busy, nil
}

// sendBatch sends the org's next batch and stores the cursor after it.
// It reports whether it sent anything. After a failure the org's position
// is unchanged, so the batch is sent again.
func (f *Forwarder) sendBatch(ctx context.Context, orgID string, p *forwardPos) (bool, error) {
	from := p.sent
	events, err := List(ctx, f.db, Filter{OrgID: orgID, AfterSeq: from, Limit: f.opts.Batch})
	if err != nil || len(events) == 0 {
		return false, err
	}
	for i, e := range events {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		// Only a forwarder without a connection (the first, or since a
		// loss was handled) may open one: a connection that died under it
		// must be handled (lost, below or next cycle) before anything
		// newer goes out, or the entries it dropped would arrive late.
		if err := f.sink.send(ctx, e, f.conn == nil); err != nil {
			if f.conn != nil {
				// The connection died under us: go back over what it
				// carried now, so the next cycle starts a fresh one there.
				if lerr := f.lost(ctx, nil, i); lerr != nil {
					return true, lerr
				}
			}
			return true, err
		}
		switch c := f.sink.connection(); {
		case c != nil && c == f.conn:
		case c != nil && f.conn == nil: // the first connection, or the first since a loss
			f.conn = c
		default:
			// The connection is gone (c nil), or the sink replaced it:
			// entries of this batch, and recent batches, went out on one
			// that is lost. Go back, and start over.
			return true, f.lost(ctx, c, i+1)
		}
	}
	now := time.Now()
	p.sent = events[len(events)-1].Seq
	p.recent = append(p.recent, sentBatch{at: now, from: from})
	for len(p.recent) > 0 && now.Sub(p.recent[0].at) > f.opts.ResendWindow {
		p.recent = p.recent[1:]
	}
	if p.sent > p.stored {
		// Stored even when Run is being stopped: the batch went out.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := f.store(sctx, orgID, p.sent); err != nil {
			return true, err
		}
	}
	return true, nil
}

// lost handles the loss of the connection entries last went out on; c is
// the sink's connection now (nil for none). The entries written on the lost
// one within ResendWindow may not have been read: each org goes back to the
// first of them and stores that cursor. inBatch is how many entries of the
// current batch were sent (the caller starts that batch over). Unless
// nothing needs sending again (a connection closed while idle), lost
// returns a KindUnavailable error, so that Run logs it and pauses.
func (f *Forwarder) lost(ctx context.Context, c net.Conn, inBatch int) error {
	f.conn = c
	since := time.Now().Add(-f.opts.ResendWindow)
	n := int64(inBatch)
	for orgID, p := range f.orgs {
		for _, b := range p.recent {
			if !b.at.Before(since) {
				n += p.sent - b.from
				p.sent = b.from
				break
			}
		}
		p.recent = nil
		if p.sent < p.stored {
			if err := f.store(ctx, orgID, p.sent); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return nil
	}
	return &sotto.Error{Kind: sotto.KindUnavailable, Op: "audit.Forwarder",
		Msg: fmt.Sprintf("The connection to the audit collector was lost; %d recent entries are sent again.", n)}
}

// store writes orgID's cursor and updates the lag.
func (f *Forwarder) store(ctx context.Context, orgID string, seq int64) error {
	err := f.db.Write(ctx, func(tx *store.Tx) error { return tx.SetAuditForwarded(orgID, seq) })
	if err != nil {
		return err
	}
	f.orgs[orgID].stored = seq
	f.updateLag()
	return nil
}

func (f *Forwarder) updateLag() {
	var lag int64
	for _, p := range f.orgs {
		lag += max(0, p.head-p.stored)
	}
	f.lag.Store(lag)
}

// connection returns the sink's connection, nil when it has none or the
// collector closed it. Callers: Forwarder, to notice that the sink
// reconnected or lost its connection.
func (s *SyslogSink) connection() net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || !s.alive() {
		return nil
	}
	return s.conn
}
