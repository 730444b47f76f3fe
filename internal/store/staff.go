package store

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"sotto"
)

// StaffMember is a staff user as the organization's administrators see
// the account: the user, whether an authenticator app is enrolled, and the
// departments (queues) they belong to.
type StaffMember struct {
	sotto.User
	MFAEnrolled   bool     `json:"mfa_enrolled"`
	DepartmentIDs []string `json:"department_ids"`
}

// StaffUsers reads and decrypts the staff users of orgID (patients and
// proxies are left out), disabled ones included, ordered by name and then
// id. Callers: the admin API and console. Errors: KindInternal.
func (db *DB) StaffUsers(ctx context.Context, orgID string) ([]*StaffMember, error) {
	const op = "store.StaffUsers"
	args := []any{orgID}
	var roles []string
	for _, r := range sotto.StaffRoles {
		args = append(args, string(r))
		roles = append(roles, placeholder(len(args)))
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, org_id, role, email_enc, name_enc, disabled, created_at, totp_enrolled
		FROM users WHERE org_id = $1 AND role IN (`+strings.Join(roles, ", ")+`)`, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	type sealed struct {
		m           *StaffMember
		email, name []byte
	}
	var found []sealed
	for rows.Next() {
		var s sealed
		s.m = &StaffMember{DepartmentIDs: []string{}}
		var created int64
		if err := rows.Scan(&s.m.ID, &s.m.OrgID, &s.m.Role, &s.email, &s.name, &s.m.Disabled, &created, &s.m.MFAEnrolled); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		s.m.CreatedAt = fromMicros(created)
		found = append(found, s)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if len(found) == 0 {
		return []*StaffMember{}, nil
	}
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]*StaffMember, 0, len(found))
	byID := map[string]*StaffMember{}
	for _, s := range found {
		if err := openUser(op, ok, &s.m.User, s.email, s.name); err != nil {
			return nil, err
		}
		out = append(out, s.m)
		byID[s.m.ID] = s.m
	}
	if err := db.staffDepartments(ctx, orgID, byID); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *StaffMember) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// staffDepartments fills in the department ids of the members in byID,
// from orgID's departments.
func (db *DB) staffDepartments(ctx context.Context, orgID string, byID map[string]*StaffMember) error {
	const op = "store.StaffUsers"
	rows, err := db.r.QueryContext(ctx, `SELECT m.user_id, m.department_id FROM department_members m
		JOIN departments d ON d.id = m.department_id WHERE d.org_id = $1 ORDER BY m.department_id`, orgID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var user, dept string
		if err := rows.Scan(&user, &dept); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		if m := byID[user]; m != nil {
			m.DepartmentIDs = append(m.DepartmentIDs, dept)
		}
	}
	if err := rows.Err(); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}

// RemoveDepartmentMember takes userID out of departmentID; both must
// belong to orgID. Removing someone who is not a member is not an error.
// The caller audits the change. Errors: KindNotFound, KindInternal.
func (t *Tx) RemoveDepartmentMember(orgID, departmentID, userID string) error {
	const op = "store.RemoveDepartmentMember"
	if !ValidID(departmentID) || !ValidID(userID) {
		return sotto.Errorf(sotto.KindNotFound, "Department or user not found.")
	}
	var n int
	err := t.QueryRow(`SELECT COUNT(*) FROM departments d, users u WHERE d.id = $1 AND u.id = $2 AND d.org_id = $3 AND u.org_id = $3`,
		departmentID, userID, orgID).Scan(&n)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "Department or user not found.")
	}
	if _, err := t.Exec(`DELETE FROM department_members WHERE department_id = $1 AND user_id = $2`, departmentID, userID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}
