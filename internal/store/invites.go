package store

import (
	"context"
	"time"

	"sotto"
)

// Invite is a patient portal invitation as stored (the token itself is
// never stored, only its hash).
type Invite struct {
	OrgID     string
	PatientID string
	CreatedBy string
	ExpiresAt time.Time
	Attempts  int
	// Proxy marks an invitation for someone acting for the patient (a
	// parent, a caregiver) rather than for the patient; Relationship says
	// who they are to the patient.
	Proxy        bool
	Relationship string
}

// Invitation kinds as stored.
const (
	inviteKindPatient = "patient"
	inviteKindProxy   = "proxy"
)

// MaxInviteAttempts is how many wrong birth dates an invitation tolerates
// before it is revoked.
const MaxInviteAttempts = 5

// errInviteUnusable is the one answer for any invitation that cannot be
// used: unknown, used, expired or revoked.
var errInviteUnusable = &sotto.Error{Kind: sotto.KindNotFound, Code: "invite_invalid", Msg: "This invitation link is invalid, used or expired. Ask the practice for a new one."}

// InsertInvite stores an invitation for inv.PatientID; a new patient
// invitation revokes the patient's earlier unused ones (proxy invitations
// stand alone: a patient may have several proxies). Errors: KindNotFound (patient not in org),
// KindInternal.
func (t *Tx) InsertInvite(hash []byte, inv *Invite) error {
	const op = "store.InsertInvite"
	var n int
	if !ValidID(inv.PatientID) || t.QueryRow(`SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, inv.PatientID, inv.OrgID).Scan(&n) != nil || n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	now := micros(t.Now())
	kind := inviteKindPatient
	if inv.Proxy {
		kind = inviteKindProxy
	} else if _, err := t.Exec(`UPDATE invites SET revoked_at = $1 WHERE patient_id = $2 AND kind = $3 AND used_at IS NULL AND revoked_at IS NULL`,
		now, inv.PatientID, inviteKindPatient); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	_, err := t.Exec(`INSERT INTO invites (hash, org_id, patient_id, created_by, created_at, expires_at, kind, relationship) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		hash, inv.OrgID, inv.PatientID, inv.CreatedBy, now, micros(inv.ExpiresAt), kind, inv.Relationship)
	return insertErr(err, op, "invitation")
}

// UsableInvite returns the invitation with this hash if it can still be
// used at now. Errors: KindNotFound code invite_invalid, KindInternal.
func (db *DB) UsableInvite(ctx context.Context, hash []byte, now time.Time) (*Invite, error) {
	return usableInvite(ctx, db.r, hash, now)
}

func usableInvite(ctx context.Context, q querier, hash []byte, now time.Time) (*Invite, error) {
	var inv Invite
	var exp int64
	var kind string
	err := q.QueryRowContext(ctx, `SELECT org_id, patient_id, created_by, expires_at, attempts, kind, relationship FROM invites
		WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, hash, micros(now)).
		Scan(&inv.OrgID, &inv.PatientID, &inv.CreatedBy, &exp, &inv.Attempts, &kind, &inv.Relationship)
	inv.Proxy = kind == inviteKindProxy
	if err != nil {
		if e := notFound(err, "store.UsableInvite", ""); sotto.ErrorKind(e) == sotto.KindNotFound {
			return nil, errInviteUnusable
		}
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.UsableInvite", Err: err}
	}
	inv.ExpiresAt = fromMicros(exp)
	return &inv, nil
}

// FailInviteAttempt counts a wrong answer; at MaxInviteAttempts the
// invitation is revoked. It reports whether the invitation is now revoked.
// Errors: KindInternal.
func (t *Tx) FailInviteAttempt(hash []byte) (revoked bool, err error) {
	var attempts int
	err = t.QueryRow(`UPDATE invites SET attempts = attempts + 1 WHERE hash = $1 RETURNING attempts`, hash).Scan(&attempts)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.FailInviteAttempt", Err: err}
	}
	if attempts < MaxInviteAttempts {
		return false, nil
	}
	_, err = t.Exec(`UPDATE invites SET revoked_at = $1 WHERE hash = $2`, micros(t.Now()), hash)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.FailInviteAttempt", Err: err}
	}
	return true, nil
}

// AcceptInvite uses the invitation with this hash: it must still be
// usable at now. A patient invitation creates the patient's portal user
// (role patient; the patient must not have one yet) and links it; a proxy
// invitation creates a proxy user (role proxy) acting for the patient.
// Errors: KindNotFound code invite_invalid, KindConflict (the patient or
// the e-mail already has an account), KindInvalid, KindInternal.
func (t *Tx) AcceptInvite(hash []byte, now time.Time, u *sotto.User, c Credentials) (*Invite, error) {
	const op = "store.AcceptInvite"
	inv, err := usableInvite(t.ctx, txq{t}, hash, now)
	if err != nil {
		return nil, err
	}
	if inv.Proxy {
		u.OrgID, u.Role = inv.OrgID, sotto.RoleProxy
		if err := t.InsertUser(u, c); err != nil {
			return nil, err
		}
		if _, err := t.Exec(`INSERT INTO patient_proxies (patient_id, user_id, relationship, created_at) VALUES ($1, $2, $3, $4)`,
			inv.PatientID, u.ID, inv.Relationship, micros(t.Now())); err != nil {
			return nil, insertErr(err, op, "proxy")
		}
	} else {
		var existing *string
		if err := t.QueryRow(`SELECT user_id FROM patients WHERE id = $1`, inv.PatientID).Scan(&existing); err != nil {
			return nil, notFound(err, op, "Patient not found.")
		}
		if existing != nil {
			return nil, &sotto.Error{Kind: sotto.KindConflict, Code: "already_registered", Msg: "This patient already has a portal account. Sign in instead."}
		}
		u.OrgID, u.Role = inv.OrgID, sotto.RolePatient
		if err := t.InsertUser(u, c); err != nil {
			return nil, err
		}
		if _, err := t.Exec(`UPDATE patients SET user_id = $1, updated_at = $2 WHERE id = $3`, u.ID, micros(t.Now()), inv.PatientID); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	if _, err := t.Exec(`UPDATE invites SET used_at = $1 WHERE hash = $2`, micros(t.Now()), hash); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return inv, nil
}
