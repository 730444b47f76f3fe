package store

import (
	"context"

	"sotto"
	"sotto/internal/crypt"
)

// SetPendingTOTP stores a new, not yet confirmed TOTP secret for user id
// of orgID, replacing any earlier pending one. It refuses (KindConflict) a
// user whose authenticator is already enrolled: changing it needs the
// reset path. Errors: KindNotFound, KindConflict, KindInternal.
func (t *Tx) SetPendingTOTP(orgID, id string, secret []byte) error {
	const op = "store.SetPendingTOTP"
	ok, err := t.orgKey(orgID)
	if err != nil {
		return err
	}
	enc, err := ok.Seal(secret, crypt.AD("users", "totp_secret", id))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	res, err := t.Exec(`UPDATE users SET totp_secret_enc = $1, totp_enrolled = $2, updated_at = $3 WHERE id = $4 AND org_id = $5 AND totp_enrolled = $2`,
		enc, false, micros(t.Now()), id, orgID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "mfa_already_enrolled", Op: op, Msg: "An authenticator is already set up for this account."}
	}
	return nil
}

// ConfirmTOTP marks user id's pending secret enrolled, records step as
// used, and replaces the user's recovery codes with hashes. Errors:
// KindConflict (nothing pending), KindInternal.
func (t *Tx) ConfirmTOTP(id string, step int64, hashes []string) error {
	const op = "store.ConfirmTOTP"
	res, err := t.Exec(`UPDATE users SET totp_enrolled = $1, totp_last_step = $2, updated_at = $3 WHERE id = $4 AND totp_enrolled = $5 AND totp_secret_enc IS NOT NULL`,
		true, step, micros(t.Now()), id, false)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "mfa_already_enrolled", Op: op, Msg: "An authenticator is already set up for this account."}
	}
	if _, err := t.Exec(`DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	for _, h := range hashes {
		if _, err := t.Exec(`INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)`, id, h); err != nil {
			return insertErr(err, op, "recovery code")
		}
	}
	return nil
}

// UseRecoveryCode spends the unused recovery code with this hash; it
// reports false when there is none (wrong, or already used). Errors:
// KindInternal.
func (t *Tx) UseRecoveryCode(id, hash string) (bool, error) {
	res, err := t.Exec(`UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`, micros(t.Now()), id, hash)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.UseRecoveryCode", Err: err}
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts user id's unused recovery codes. Errors:
// KindInternal.
func (db *DB) RecoveryCodesLeft(ctx context.Context, id string) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id).Scan(&n); err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.RecoveryCodesLeft", Err: err}
	}
	return n, nil
}
