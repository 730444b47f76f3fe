package store

import (
	"context"
	"database/sql"

	"sotto"
)

// InsertOrg validates o, gives it an id and creation time if unset, and
// inserts it with its newly generated organization key. Errors: KindInvalid, KindConflict, KindInternal.
func (t *Tx) InsertOrg(o *sotto.Org) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.ID == "" {
		o.ID = NewID()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = t.Now()
	}
	_, err := t.Exec(`INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)`, o.ID, o.Name, micros(o.CreatedAt))
	if err != nil {
		return insertErr(err, "store.InsertOrg", "organization")
	}
	return t.insertKey(orgKeyID(o.ID), o.ID)
}

// InsertLocation inserts l into its org. Errors: KindInvalid, KindNotFound
// (unknown org), KindInternal.
func (t *Tx) InsertLocation(l *sotto.Location) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if l.ID == "" {
		l.ID = NewID()
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = t.Now()
	}
	_, err := t.Exec(`INSERT INTO locations (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		l.ID, l.OrgID, l.Name, micros(l.CreatedAt))
	return insertErr(err, "store.InsertLocation", "location")
}

// InsertDepartment inserts d into its org (and location, if set). Errors:
// KindInvalid, KindNotFound (unknown org or location), KindInternal.
func (t *Tx) InsertDepartment(d *sotto.Department) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.ID == "" {
		d.ID = NewID()
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = t.Now()
	}
	if d.LocationID != "" {
		var org string
		err := t.QueryRow(`SELECT org_id FROM locations WHERE id = $1`, d.LocationID).Scan(&org)
		if err != nil || org != d.OrgID {
			return sotto.Errorf(sotto.KindNotFound, "Location not found.")
		}
	}
	_, err := t.Exec(`INSERT INTO departments (id, org_id, location_id, name, created_at) VALUES ($1, $2, $3, $4, $5)`,
		d.ID, d.OrgID, nullString(d.LocationID), d.Name, micros(d.CreatedAt))
	return insertErr(err, "store.InsertDepartment", "department")
}

// AddDepartmentMember makes userID a member of departmentID. Both must
// belong to the same org. Adding an existing member is not an error.
// Errors: KindNotFound, KindInternal.
func (t *Tx) AddDepartmentMember(departmentID, userID string) error {
	var deptOrg, userOrg string
	if err := t.QueryRow(`SELECT org_id FROM departments WHERE id = $1`, departmentID).Scan(&deptOrg); err != nil {
		return notFound(err, "store.AddDepartmentMember", "Department not found.")
	}
	if err := t.QueryRow(`SELECT org_id FROM users WHERE id = $1`, userID).Scan(&userOrg); err != nil {
		return notFound(err, "store.AddDepartmentMember", "User not found.")
	}
	if deptOrg != userOrg {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	_, err := t.Exec(`INSERT INTO department_members (department_id, user_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (department_id, user_id) DO NOTHING`, departmentID, userID, micros(t.Now()))
	return insertErr(err, "store.AddDepartmentMember", "membership")
}

// Org reads one organization. Errors: KindNotFound, KindInternal.
func (db *DB) Org(ctx context.Context, id string) (*sotto.Org, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Organization not found.")
	}
	var o sotto.Org
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE id = $1`, id).Scan(&o.ID, &o.Name, &created)
	if err != nil {
		return nil, notFound(err, "store.Org", "Organization not found.")
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// CountOrgs returns how many organizations exist (zero on a fresh install).
func (db *DB) CountOrgs(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.CountOrgs", Err: err}
	}
	return n, nil
}

// OrgIDs lists every organization's id. Intended caller: maintenance
// commands (key rotation and status). Errors: KindInternal.
func (db *DB) OrgIDs(ctx context.Context) ([]string, error) {
	ids, err := stringsQuery(ctx, db.r, `SELECT id FROM orgs ORDER BY id`)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.OrgIDs", Err: err}
	}
	return ids, nil
}

// Departments lists an org's departments by name.
func (db *DB) Departments(ctx context.Context, orgID string) ([]*sotto.Department, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, org_id, COALESCE(location_id, ''), name, created_at
		FROM departments WHERE org_id = $1 ORDER BY name, id`, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Departments", Err: err}
	}
	defer rows.Close()
	var out []*sotto.Department
	for rows.Next() {
		var d sotto.Department
		var created int64
		if err := rows.Scan(&d.ID, &d.OrgID, &d.LocationID, &d.Name, &created); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Departments", Err: err}
		}
		d.CreatedAt = fromMicros(created)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Departments", Err: err}
	}
	return out, nil
}

// Department reads one department. Errors: KindNotFound, KindInternal.
func (db *DB) Department(ctx context.Context, id string) (*sotto.Department, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Department not found.")
	}
	var d sotto.Department
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT id, org_id, COALESCE(location_id, ''), name, created_at FROM departments WHERE id = $1`, id).
		Scan(&d.ID, &d.OrgID, &d.LocationID, &d.Name, &created)
	if err != nil {
		return nil, notFound(err, "store.Department", "Department not found.")
	}
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// DepartmentMembers lists the user ids in a department.
func (db *DB) DepartmentMembers(ctx context.Context, departmentID string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT user_id FROM department_members WHERE department_id = $1 ORDER BY user_id`, departmentID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.DepartmentMembers", Err: err}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.DepartmentMembers", Err: err}
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// insertErr classifies an insert failure.
func insertErr(err error, op, what string) error {
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return &sotto.Error{Kind: sotto.KindConflict, Op: op, Msg: "That " + what + " already exists.", Err: err}
	case isForeignKeyViolation(err):
		return &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: "A referenced record was not found.", Err: err}
	}
	return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
}

// Locations lists an org's locations by name. Errors: KindInternal.
func (db *DB) Locations(ctx context.Context, orgID string) ([]*sotto.Location, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, org_id, name, created_at FROM locations WHERE org_id = $1 ORDER BY name, id`, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Locations", Err: err}
	}
	defer rows.Close()
	out := []*sotto.Location{}
	for rows.Next() {
		var l sotto.Location
		var created int64
		if err := rows.Scan(&l.ID, &l.OrgID, &l.Name, &created); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Locations", Err: err}
		}
		l.CreatedAt = fromMicros(created)
		out = append(out, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.Locations", Err: err}
	}
	return out, nil
}
