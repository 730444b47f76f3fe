package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"sotto"
	"sotto/internal/crypt"
)

// Session is one sign-in session as stored. The bearer token itself is
// never stored: TokenHash is auth.HashToken of it.
type Session struct {
	TokenHash  []byte
	UserID     string
	OrgID      string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time // zero while the session is live
}

// Revoked reports whether the session was signed out or revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// instanceKey reads and unwraps the instance key on the reader pool. No
// instance key means no user has ever been created: KindNotFound.
func (db *DB) instanceKey(ctx context.Context, op string) (*crypt.OrgKey, error) {
	return db.unwrapKeyRow(op, InstanceKeyID, "User not found.",
		db.r.QueryRowContext(ctx, `SELECT wrapped FROM keys WHERE id = $1`, InstanceKeyID))
}

// UserForLogin finds the user signing in with email (normalized here)
// through the instance key's blind index, and returns the decrypted user,
// its decrypted credentials and the step of its last used TOTP code.
// Disabled users are returned too; the caller decides. Errors:
// KindNotFound (no such user), KindInternal. Messages never repeat the
// address.
func (db *DB) UserForLogin(ctx context.Context, email string) (*sotto.User, Credentials, int64, error) {
	const op = "store.UserForLogin"
	email = sotto.NormalizeEmail(email)
	if email == "" || len(email) > sotto.MaxEmailLen {
		return nil, Credentials{}, 0, sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	ik, err := db.instanceKey(ctx, op)
	if err != nil {
		return nil, Credentials{}, 0, err
	}
	var u sotto.User
	var emailEnc, nameEnc, totpEnc []byte
	var pwHash string
	var created, lastStep int64
	var enrolled bool
	err = db.r.QueryRowContext(ctx, `SELECT id, org_id, role, email_enc, name_enc, password_hash, totp_secret_enc, totp_enrolled, totp_last_step, disabled, created_at
		FROM users WHERE email_idx = $1`, ik.BlindIndex("email", email)).
		Scan(&u.ID, &u.OrgID, &u.Role, &emailEnc, &nameEnc, &pwHash, &totpEnc, &enrolled, &lastStep, &u.Disabled, &created)
	if err != nil {
		return nil, Credentials{}, 0, notFound(err, op, "User not found.")
	}
	ok, err := db.OrgKey(ctx, u.OrgID)
	if err != nil {
		return nil, Credentials{}, 0, err
	}
	if err := openUser(op, ok, &u, emailEnc, nameEnc); err != nil {
		return nil, Credentials{}, 0, err
	}
	c := Credentials{PasswordHash: pwHash, TOTPEnrolled: enrolled}
	if totpEnc != nil {
		if c.TOTPSecret, err = ok.Open(totpEnc, crypt.AD("users", "totp_secret", u.ID)); err != nil {
			return nil, Credentials{}, 0, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	u.CreatedAt = fromMicros(created)
	return &u, c, lastStep, nil
}

// SetTOTPLastStep records step as the user's last used TOTP step, only if
// it is later than the one stored: it reports false when the step was
// already used (a replay, or a concurrent sign-in with the same code).
func (t *Tx) SetTOTPLastStep(userID string, step int64) (bool, error) {
	res, err := t.Exec(`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, userID)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.SetTOTPLastStep", Err: err}
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.SetTOTPLastStep", Err: err}
	}
	return n == 1, nil
}

// InsertSession stores a new session under the token's hash. Errors:
// KindInvalid (empty hash), KindConflict, KindNotFound (unknown user),
// KindInternal.
func (t *Tx) InsertSession(hash []byte, userID, orgID string, now, expires time.Time) error {
	if len(hash) == 0 {
		return sotto.Errorf(sotto.KindInvalid, "A session token hash is required.")
	}
	_, err := t.Exec(`INSERT INTO sessions (token_hash, user_id, org_id, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, hash, userID, orgID, micros(now), micros(expires))
	if isUniqueViolation(err) {
		return &sotto.Error{Kind: sotto.KindConflict, Op: "store.InsertSession", Msg: "The session already exists.", Err: err}
	}
	return insertErr(err, "store.InsertSession", "session")
}

// SessionByHash reads the session stored under hash, revoked or not.
// Errors: KindNotFound, KindInternal.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*Session, error) {
	if len(hash) == 0 {
		return nil, sotto.Errorf(sotto.KindNotFound, "Session not found.")
	}
	var s Session
	var created, seen, expires int64
	var revoked sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT token_hash, user_id, org_id, created_at, last_seen_at, expires_at, revoked_at
		FROM sessions WHERE token_hash = $1`, hash).
		Scan(&s.TokenHash, &s.UserID, &s.OrgID, &created, &seen, &expires, &revoked)
	if err != nil {
		return nil, notFound(err, "store.SessionByHash", "Session not found.")
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	if revoked.Valid {
		s.RevokedAt = fromMicros(revoked.Int64)
	}
	return &s, nil
}

// TouchSession records activity on a live session: last_seen_at = now and
// the new expiry. A revoked or missing session is KindNotFound.
func (t *Tx) TouchSession(hash []byte, now, expires time.Time) error {
	res, err := t.Exec(`UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3 AND revoked_at IS NULL`,
		micros(now), micros(expires), hash)
	return oneRow(res, err, "store.TouchSession", "Session not found.")
}

// RevokeSession ends a live session at now. A revoked or missing session
// is KindNotFound.
func (t *Tx) RevokeSession(hash []byte, now time.Time) error {
	res, err := t.Exec(`UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL`, micros(now), hash)
	return oneRow(res, err, "store.RevokeSession", "Session not found.")
}

// RevokeUserSessions ends every live session of a user at now and returns
// how many it ended.
func (t *Tx) RevokeUserSessions(userID string, now time.Time) (int64, error) {
	res, err := t.Exec(`UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, micros(now), userID)
	if err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.RevokeUserSessions", Err: err}
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.RevokeUserSessions", Err: err}
	}
	return n, nil
}

// oneRow turns an UPDATE result into nil when it changed exactly one row,
// KindNotFound when none, KindInternal on failure.
func oneRow(res sql.Result, err error, op, msg string) error {
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	n, err := res.RowsAffected()
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n == 0 {
		return &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: msg, Err: errors.New("no row changed")}
	}
	return nil
}
