package store

import (
	"context"
	"time"

	"sotto"
)

// StaffInvite is a staff account invitation as stored: an administrator
// created (or re-invited) staff member UserID, who has no password yet and
// chooses one through a single-use link. The link's token is never
// stored, only its hash.
type StaffInvite struct {
	OrgID     string
	UserID    string
	CreatedBy string
	ExpiresAt time.Time
}

// Staff invitation errors. errStaffInviteUnusable is the one answer for
// any link that cannot be used: unknown, used, revoked or expired, or
// whose account was disabled or already has a password.
var (
	errStaffInviteUnusable = &sotto.Error{Kind: sotto.KindNotFound, Code: "invite_invalid",
		Msg: "This invitation link is invalid, used or expired. Ask your practice's administrator for a new one."}
	errAlreadySetUp = &sotto.Error{Kind: sotto.KindConflict, Code: "already_set_up",
		Msg: "This account already has a password: it needs no invitation. The person signs in (or asks for an MFA reset)."}
	errInviteDisabled = &sotto.Error{Kind: sotto.KindConflict, Code: "user_disabled",
		Msg: "This account is disabled: enable it before sending an invitation."}
)

// InsertStaffInvite stores invitation inv for staff member inv.UserID of
// inv.OrgID and revokes the member's earlier unused invitations, so only
// the newest link works. The member must be a staff user of that
// organization, enabled, without a password. Callers: the staff
// invitation API and admin console, inside the Write that also sends the
// link. Errors: KindNotFound (no such staff member in the organization),
// KindConflict code already_set_up (the member has a password) or
// user_disabled, KindInternal.
func (t *Tx) InsertStaffInvite(hash []byte, inv *StaffInvite) error {
	const op = "store.InsertStaffInvite"
	if !ValidID(inv.UserID) {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	var role, pwHash string
	var disabled bool
	err := t.QueryRow(`SELECT role, password_hash, disabled FROM users WHERE id = $1 AND org_id = $2`, inv.UserID, inv.OrgID).
		Scan(&role, &pwHash, &disabled)
	if err != nil {
		return notFound(err, op, "User not found.")
	}
	switch {
	case !sotto.Role(role).IsStaff():
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	case pwHash != "":
		return errAlreadySetUp
	case disabled:
		return errInviteDisabled
	}
	now := micros(t.Now())
	if _, err := t.Exec(`UPDATE staff_invites SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL`,
		now, inv.UserID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	_, err = t.Exec(`INSERT INTO staff_invites (hash, org_id, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, inv.OrgID, inv.UserID, inv.CreatedBy, now, micros(inv.ExpiresAt))
	return insertErr(err, op, "invitation")
}

// UsableStaffInvite returns the invitation with this hash if it can still
// be used at now: not used, revoked or expired, its account enabled and
// still without a password. Callers: the welcome page. Errors:
// KindNotFound code invite_invalid, KindInternal.
func (db *DB) UsableStaffInvite(ctx context.Context, hash []byte, now time.Time) (*StaffInvite, error) {
	return usableStaffInvite(ctx, db.r, hash, now)
}

func usableStaffInvite(ctx context.Context, q querier, hash []byte, now time.Time) (*StaffInvite, error) {
	const op = "store.UsableStaffInvite"
	var inv StaffInvite
	var exp int64
	err := q.QueryRowContext(ctx, `SELECT i.org_id, i.user_id, i.created_by, i.expires_at FROM staff_invites i
		JOIN users u ON u.id = i.user_id AND u.org_id = i.org_id
		WHERE i.hash = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
		AND u.disabled = $3 AND u.password_hash = ''`, hash, micros(now), false).
		Scan(&inv.OrgID, &inv.UserID, &inv.CreatedBy, &exp)
	if err != nil {
		if sotto.ErrorKind(notFound(err, op, "")) == sotto.KindNotFound {
			return nil, errStaffInviteUnusable
		}
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	inv.ExpiresAt = fromMicros(exp)
	return &inv, nil
}

// AcceptStaffInvite uses the invitation with this hash, which must still
// be usable at now: the member's password becomes passwordHash (an
// argon2id PHC string), the invitation is marked used and the member's
// other invitations are revoked, so every link dies. Callers: the welcome
// page, inside the Write that audits it. Errors: KindNotFound code
// invite_invalid, KindInternal.
func (t *Tx) AcceptStaffInvite(hash []byte, now time.Time, passwordHash string) (*StaffInvite, error) {
	const op = "store.AcceptStaffInvite"
	inv, err := usableStaffInvite(t.ctx, txq{t}, hash, now)
	if err != nil {
		return nil, err
	}
	at := micros(t.Now())
	res, err := t.Exec(`UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND org_id = $4 AND password_hash = ''`,
		passwordHash, at, inv.UserID, inv.OrgID)
	if err := oneRow(res, err, op, ""); err != nil {
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			return nil, errStaffInviteUnusable
		}
		return nil, err
	}
	res, err = t.Exec(`UPDATE staff_invites SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND revoked_at IS NULL`, at, hash)
	if err := oneRow(res, err, op, ""); err != nil {
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			return nil, errStaffInviteUnusable
		}
		return nil, err
	}
	if _, err := t.Exec(`UPDATE staff_invites SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL`,
		at, inv.UserID); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return inv, nil
}

// PendingStaffInvites maps each staff member of orgID who was invited and
// has not set a password yet to the expiry of their newest invitation
// (which may have passed: the administrator then sends a new one).
// Callers: the staff listing of the API and the admin console. Errors:
// KindInternal.
func (db *DB) PendingStaffInvites(ctx context.Context, orgID string) (map[string]time.Time, error) {
	const op = "store.PendingStaffInvites"
	rows, err := db.r.QueryContext(ctx, `SELECT i.user_id, MAX(i.expires_at) FROM staff_invites i
		JOIN users u ON u.id = i.user_id AND u.org_id = i.org_id
		WHERE i.org_id = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND u.password_hash = ''
		GROUP BY i.user_id`, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var exp int64
		if err := rows.Scan(&id, &exp); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		out[id] = fromMicros(exp)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return out, nil
}
