package store

import (
	"context"

	"sotto"
	"sotto/internal/crypt"
)

// Credentials are a user's secrets as stored: a password hash (argon2id
// PHC string, empty for none) and a TOTP secret (encrypted at rest).
type Credentials struct {
	PasswordHash string
	TOTPSecret   []byte
	// TOTPEnrolled is set when TOTPSecret is confirmed. InsertUser marks
	// a given secret enrolled (its creator showed it to the user); a
	// secret set by SetPendingTOTP is enrolled once ConfirmTOTP runs.
	TOTPEnrolled bool
}

// InsertUser validates u (whose Email is normalized here), encrypts its
// e-mail and name under its org's key, indexes the e-mail with the instance
// key's blind index, and inserts it. Errors: KindInvalid, KindConflict (the
// e-mail is taken anywhere in this deployment), KindNotFound (unknown org),
// KindInternal. The conflict message never repeats the address.
func (t *Tx) InsertUser(u *sotto.User, c Credentials) error {
	u.Email = sotto.NormalizeEmail(u.Email)
	if err := u.Validate(); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = NewID()
	}
	now := t.Now()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	ok, err := t.orgKey(u.OrgID)
	if err != nil {
		return err
	}
	ik, err := t.orgKey(InstanceKeyID)
	if err != nil {
		return err
	}
	emailEnc, err := ok.Seal([]byte(u.Email), crypt.AD("users", "email", u.ID))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.InsertUser", Err: err}
	}
	nameEnc, err := ok.Seal([]byte(u.Name), crypt.AD("users", "name", u.ID))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.InsertUser", Err: err}
	}
	var totpEnc []byte
	if c.TOTPSecret != nil {
		if totpEnc, err = ok.Seal(c.TOTPSecret, crypt.AD("users", "totp_secret", u.ID)); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: "store.InsertUser", Err: err}
		}
	}
	_, err = t.Exec(`INSERT INTO users (id, org_id, role, email_idx, email_enc, name_enc, password_hash, totp_secret_enc, totp_enrolled, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
		u.ID, u.OrgID, string(u.Role), ik.BlindIndex("email", u.Email), emailEnc, nameEnc, c.PasswordHash, totpEnc, totpEnc != nil, u.Disabled, micros(u.CreatedAt))
	if isUniqueViolation(err) {
		return &sotto.Error{Kind: sotto.KindConflict, Op: "store.InsertUser", Msg: "A user with this e-mail address already exists.", Err: err}
	}
	return insertErr(err, "store.InsertUser", "user")
}

// User reads and decrypts one user of org orgID. A user of another org is
// reported as not found. Errors: KindNotFound, KindInternal.
func (db *DB) User(ctx context.Context, orgID, id string) (*sotto.User, error) {
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	var u sotto.User
	var emailEnc, nameEnc []byte
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT id, org_id, role, email_enc, name_enc, disabled, created_at
		FROM users WHERE id = $1 AND org_id = $2`, id, orgID).
		Scan(&u.ID, &u.OrgID, &u.Role, &emailEnc, &nameEnc, &u.Disabled, &created)
	if err != nil {
		return nil, notFound(err, "store.User", "User not found.")
	}
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if err := openUser("store.User", ok, &u, emailEnc, nameEnc); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// openUser decrypts a user row's e-mail and name into u. A ciphertext that
// does not authenticate for this row is KindInternal (tampering).
func openUser(op string, ok *crypt.OrgKey, u *sotto.User, emailEnc, nameEnc []byte) error {
	email, err := ok.Open(emailEnc, crypt.AD("users", "email", u.ID))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	name, err := ok.Open(nameEnc, crypt.AD("users", "name", u.ID))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	u.Email, u.Name = string(email), string(name)
	return nil
}

// SetUserDisabled disables or re-enables user id of orgID; disabling also
// ends every live session at once. Users are never deleted: records refer
// to them. Errors: KindNotFound, KindInternal.
func (t *Tx) SetUserDisabled(orgID, id string, disabled bool) error {
	const op = "store.SetUserDisabled"
	if !ValidID(id) {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	res, err := t.Exec(`UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3 AND org_id = $4`, disabled, micros(t.Now()), id, orgID)
	if err := oneRow(res, err, op, "User not found."); err != nil {
		return err
	}
	if disabled {
		_, err = t.RevokeUserSessions(id, t.Now())
	}
	return err
}

// SetPassword replaces user id's password hash and ends every session but
// keep (the one that made the change; nil ends all). Errors: KindNotFound,
// KindInternal.
func (t *Tx) SetPassword(orgID, id, hash string, keep []byte) error {
	const op = "store.SetPassword"
	res, err := t.Exec(`UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND org_id = $4`, hash, micros(t.Now()), id, orgID)
	if err := oneRow(res, err, op, "User not found."); err != nil {
		return err
	}
	if _, err := t.Exec(`UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND token_hash <> $3`, micros(t.Now()), id, keep); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}
