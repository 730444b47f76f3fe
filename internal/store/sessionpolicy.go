package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"sotto"
)

// IdleTimeouts is an organization's automatic logoff: how long a staff
// session and a patient (or proxy) session may sit idle. Zero fields mean
// the server's defaults.
type IdleTimeouts struct {
	Staff   time.Duration
	Patient time.Duration
}

// IdleTimeouts reads orgID's automatic logoff setting; the zero value when
// the organization kept the defaults. Callers: the session checks (cached)
// and the admin API. Errors: KindInternal.
func (db *DB) IdleTimeouts(ctx context.Context, orgID string) (IdleTimeouts, error) {
	var staff, patient int64
	err := db.r.QueryRowContext(ctx, `SELECT staff_idle_seconds, patient_idle_seconds FROM org_session_policy WHERE org_id = $1`, orgID).
		Scan(&staff, &patient)
	if errors.Is(err, sql.ErrNoRows) {
		return IdleTimeouts{}, nil
	}
	if err != nil {
		return IdleTimeouts{}, &sotto.Error{Kind: sotto.KindInternal, Op: "store.IdleTimeouts", Err: err}
	}
	return IdleTimeouts{Staff: time.Duration(staff) * time.Second, Patient: time.Duration(patient) * time.Second}, nil
}

// SetIdleTimeouts stores orgID's automatic logoff (validated by the
// caller); by is the admin's user id. Errors: KindInternal.
func (t *Tx) SetIdleTimeouts(orgID string, it IdleTimeouts, by string) error {
	_, err := t.Exec(`INSERT INTO org_session_policy (org_id, staff_idle_seconds, patient_idle_seconds, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id) DO UPDATE SET staff_idle_seconds = excluded.staff_idle_seconds,
			patient_idle_seconds = excluded.patient_idle_seconds, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		orgID, int64(it.Staff/time.Second), int64(it.Patient/time.Second), micros(t.Now()), by)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.SetIdleTimeouts", Err: err}
	}
	return nil
}
