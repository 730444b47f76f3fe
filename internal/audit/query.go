package audit

import (
	"context"
	"database/sql"
	"errors"
	"iter"
	"strconv"
	"strings"
	"time"

	"sotto"
	"sotto/internal/store"
)

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects an org's audit entries. Empty fields do not filter.
type Filter struct {
	OrgID     string    // required
	PatientID string    // entries about this patient
	ActorID   string    // entries by this actor
	Action    string    // entries with this action
	From, To  time.Time // From <= At < To
	AfterSeq  int64     // cursor: entries with Seq > AfterSeq
	Limit     int       // 0 means DefaultLimit; more than MaxLimit means MaxLimit
}

// List returns up to f.Limit of the entries f selects, oldest first (by
// Seq). To page, pass the last entry's Seq as the next AfterSeq.
//
// Callers: the compliance pages and API (which must check the caller may
// read the org's trail, and audit that read). Errors: KindInvalid (bad
// filter), KindInternal.
func List(ctx context.Context, db *store.DB, f Filter) ([]*sotto.AuditEvent, error) {
	const op = "audit.List"
	if err := f.validate(op); err != nil {
		return nil, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	out := make([]*sotto.AuditEvent, 0, min(limit, 64))
	if f.PatientID == "" {
		q, args := f.query(limit, 0)
		return scanEntries(ctx, db, f.OrgID, out, q, args)
	}
	// A patient's entries: from the per-patient index as far as it
	// reaches, then from the chain itself beyond it (at most a few hundred
	// entries). The index only grows, so reading how far it reaches first
	// and the chain beyond that point later misses nothing.
	var indexed int64
	err := db.QueryRow(ctx, `SELECT indexed_seq FROM audit_heads WHERE org_id = $1`, f.OrgID).Scan(&indexed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, internal(op, "query", err)
	}
	if f.AfterSeq < indexed {
		q, args := f.query(limit, indexed)
		if out, err = scanEntries(ctx, db, f.OrgID, out, q, args); err != nil || len(out) == limit {
			return out, err
		}
	}
	tail := f
	tail.AfterSeq = max(f.AfterSeq, indexed)
	q, args := tail.query(limit-len(out), 0)
	return scanEntries(ctx, db, f.OrgID, out, q, args)
}

// scanEntries runs q and appends the entries it reads to out.
func scanEntries(ctx context.Context, db *store.DB, orgID string, out []*sotto.AuditEvent, q string, args []any) ([]*sotto.AuditEvent, error) {
	const op = "audit.List"
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, internal(op, "query", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := &sotto.AuditEvent{OrgID: orgID}
		var at int64
		if err := rows.Scan(&e.Seq, &e.ID, &at, &e.ActorID, &e.ActorRole, &e.Action, &e.TargetType, &e.TargetID,
			&e.PatientID, &e.Outcome, &e.SourceIP, &e.UserAgent, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
			return nil, internal(op, "scan", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(op, "query", err)
	}
	return out, nil
}

// Events yields every entry f selects, oldest first, reading MaxLimit at a
// time; f.Limit is ignored. It stops after the first error, which it
// yields with a nil event. Callers: exports. Errors: as List.
func Events(ctx context.Context, db *store.DB, f Filter) iter.Seq2[*sotto.AuditEvent, error] {
	return func(yield func(*sotto.AuditEvent, error) bool) {
		f.Limit = MaxLimit
		for {
			page, err := List(ctx, db, f)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < MaxLimit {
				return
			}
			f.AfterSeq = page[len(page)-1].Seq
		}
	}
}

func (f *Filter) validate(op string) error {
	switch {
	case !validOrgID(f.OrgID):
		return invalid(op, "The organization id is not valid.")
	case f.Limit < 0:
		return invalid(op, "limit must not be negative.")
	case f.AfterSeq < 0:
		return invalid(op, "after_seq must not be negative.")
	case len(f.PatientID) > sotto.MaxAuditIDLen || len(f.ActorID) > sotto.MaxAuditIDLen:
		return invalid(op, "The id filter is too long.")
	case len(f.Action) > sotto.MaxAuditTokenLen:
		return invalid(op, "The action filter is too long.")
	}
	return nil
}

// query builds the SELECT for f; every condition is a bound parameter.
// With indexed > 0 it reads f.PatientID's entries up to seq indexed
// through the per-patient index.
func (f *Filter) query(limit int, indexed int64) (string, []any) {
	var b strings.Builder
	args := []any{f.OrgID, f.AfterSeq}
	b.WriteString(`SELECT ` + entryCols + ` FROM audit_events WHERE org_id = $1 AND seq > $2`)
	add := func(cond string, v any) {
		args = append(args, v)
		b.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.PatientID != "" && indexed > 0 {
		args = append(args, f.PatientID, indexed)
		p, n := "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
		b.WriteString(" AND seq <= " + n + " AND seq IN (SELECT seq FROM audit_patient_index WHERE org_id = $1 AND patient_id = " +
			p + " AND seq > $2 AND seq <= " + n + ")")
	}
	if f.PatientID != "" {
		add("patient_id =", f.PatientID)
	}
	if f.ActorID != "" {
		add("actor_id =", f.ActorID)
	}
	if f.Action != "" {
		add("action =", f.Action)
	}
	if !f.From.IsZero() {
		add("at >=", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add("at <", f.To.UnixMicro())
	}
	args = append(args, limit)
	b.WriteString(" ORDER BY seq LIMIT $" + strconv.Itoa(len(args)))
	return b.String(), args
}
