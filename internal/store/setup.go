package store

import (
	"context"
	"time"

	"sotto"
)

// InsertSetupToken stores the hash of a one-time first-run setup token.
func (t *Tx) InsertSetupToken(hash []byte, expires time.Time) error {
	_, err := t.Exec(`INSERT INTO setup_tokens (hash, expires_at) VALUES ($1, $2)`, hash, micros(expires))
	return insertErr(err, "store.InsertSetupToken", "setup token")
}

// UseSetupToken marks the token with this hash used, if it exists, is
// unused and unexpired at now. Errors: KindNotFound for any token that
// cannot be used (the caller shows one generic message), KindInternal.
func (t *Tx) UseSetupToken(hash []byte) error {
	now := micros(t.Now())
	res, err := t.Exec(`UPDATE setup_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1`, now, hash)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.UseSetupToken", Err: err}
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sotto.Errorf(sotto.KindNotFound, "This setup link is invalid, used or expired.")
	}
	return nil
}

// SetupTokenValid reports whether a usable (unused, unexpired) token with
// this hash exists.
func (db *DB) SetupTokenValid(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM setup_tokens WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`,
		hash, micros(db.Now())).Scan(&n)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.SetupTokenValid", Err: err}
	}
	return n == 1, nil
}
