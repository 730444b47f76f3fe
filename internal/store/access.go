package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"sotto"
)

// Actor builds the access-control view of user u at time now: their
// departments (staff), the patients they act for (patient: themselves;
// proxy: the patients they are proxy of) and their active break-glass
// grants. Errors: KindInternal.
func (db *DB) Actor(ctx context.Context, u *sotto.User, now time.Time) (sotto.Actor, error) {
	a := sotto.Actor{UserID: u.ID, OrgID: u.OrgID, Role: u.Role}
	var err error
	switch {
	case u.Role.IsStaff():
		if a.DepartmentIDs, err = stringsQuery(ctx, db.r, `SELECT department_id FROM department_members WHERE user_id = $1 ORDER BY department_id`, u.ID); err != nil {
			return a, err
		}
		a.BreakGlass, err = stringsQuery(ctx, db.r, `SELECT DISTINCT patient_id FROM break_glass WHERE user_id = $1 AND expires_at > $2`, u.ID, micros(now))
	case u.Role == sotto.RolePatient:
		a.PatientIDs, err = stringsQuery(ctx, db.r, `SELECT id FROM patients WHERE user_id = $1 AND org_id = $2`, u.ID, u.OrgID)
	case u.Role == sotto.RoleProxy:
		a.PatientIDs, err = stringsQuery(ctx, db.r, `SELECT pp.patient_id FROM patient_proxies pp JOIN patients p ON p.id = pp.patient_id
			WHERE pp.user_id = $1 AND p.org_id = $2 ORDER BY pp.patient_id`, u.ID, u.OrgID)
	}
	return a, err
}

// Permissions returns orgID's permission matrix: the stored one, or the
// default when the org never changed it. Errors: KindInternal.
func (db *DB) Permissions(ctx context.Context, orgID string) (sotto.Permissions, error) {
	var raw string
	err := db.r.QueryRowContext(ctx, `SELECT matrix FROM permission_sets WHERE org_id = $1`, orgID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return sotto.DefaultPermissions(), nil
	}
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Permissions", Err: err}
	}
	var p sotto.Permissions
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Permissions", Err: err}
	}
	return p, nil
}

// SetPermissions validates p and stores it as orgID's matrix. The caller
// audits the change. Errors: KindInvalid, KindInternal.
func (t *Tx) SetPermissions(orgID string, p sotto.Permissions) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	_, err := t.Exec(`INSERT INTO permission_sets (org_id, matrix, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET matrix = excluded.matrix, updated_at = excluded.updated_at`, orgID, string(b), micros(t.Now()))
	return insertErr(err, "store.SetPermissions", "permission set")
}

// BreakGlass is one emergency-access grant. Reason is sealed under the
// patient's data key (it may describe the patient's condition).
type BreakGlass struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	PatientID string    `json:"patient_id"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// InsertBreakGlass records grant g (ID, CreatedAt set here). The caller
// validates the reason and audits the grant. Errors: KindNotFound (unknown
// or erased patient), KindInternal.
func (t *Tx) InsertBreakGlass(g *BreakGlass) error {
	const op = "store.InsertBreakGlass"
	k, err := t.sealerFor(g.OrgID, g.PatientID)
	if err != nil {
		return err
	}
	g.ID, g.CreatedAt = NewID(), t.Now()
	reason, err := seal(k, op, []byte(g.Reason), "break_glass", "reason", g.ID)
	if err != nil {
		return err
	}
	_, err = t.Exec(`INSERT INTO break_glass (id, org_id, user_id, patient_id, reason_enc, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		g.ID, g.OrgID, g.UserID, g.PatientID, reason, micros(g.CreatedAt), micros(g.ExpiresAt))
	return insertErr(err, op, "break-glass grant")
}

// BreakGlassGrants lists orgID's grants created at or after since, newest
// first, with reasons decrypted (a shredded patient's reason reads as
// empty), at most limit. For the compliance officer. Errors: KindInternal.
func (db *DB) BreakGlassGrants(ctx context.Context, orgID string, since time.Time, limit int) ([]*BreakGlass, error) {
	const op = "store.BreakGlassGrants"
	rows, err := db.r.QueryContext(ctx, `SELECT id, org_id, user_id, patient_id, reason_enc, created_at, expires_at FROM break_glass
		WHERE org_id = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT $3`, orgID, micros(since), limit)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	type raw struct {
		g      *BreakGlass
		reason []byte
	}
	var rs []raw
	for rows.Next() {
		var g BreakGlass
		var reason []byte
		var c, e int64
		if err := rows.Scan(&g.ID, &g.OrgID, &g.UserID, &g.PatientID, &reason, &c, &e); err != nil {
			rows.Close()
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		g.CreatedAt, g.ExpiresAt = fromMicros(c), fromMicros(e)
		rs = append(rs, raw{&g, reason})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	out := make([]*BreakGlass, 0, len(rs))
	for _, r := range rs {
		k, err := db.sealerFor(ctx, db.r, orgID, r.g.PatientID)
		if err == nil {
			var b []byte
			if b, err = open(k, op, r.reason, "break_glass", "reason", r.g.ID); err == nil {
				r.g.Reason = string(b)
			}
		}
		if err != nil && sotto.ErrorCode(err) != "shredded" {
			return nil, err
		}
		out = append(out, r.g)
	}
	return out, nil
}

// DepartmentIDsOf lists the departments user id belongs to. Errors:
// KindInternal.
func (db *DB) DepartmentIDsOf(ctx context.Context, id string) ([]string, error) {
	return stringsQuery(ctx, db.r, `SELECT department_id FROM department_members WHERE user_id = $1 ORDER BY department_id`, id)
}
