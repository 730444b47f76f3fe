package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"time"

	"sotto"
)

// MaxSignInCodeTries is how many wrong codes burn a sign-in code.
const MaxSignInCodeTries = 5

// signInCodeHash is the keyed hash of code for sign-in code id: the org's
// PRF, so the stored hashes of six-digit codes cannot be searched without
// the org key.
func signInCodeHash(t *Tx, orgID, id, code string) ([]byte, error) {
	ok, err := t.orgKey(orgID)
	if err != nil {
		return nil, err
	}
	return ok.BlindIndex("sign_in_code", id+":"+code), nil
}

// InsertSignInCode records a new one-time sign-in code for user userID of
// orgID, sent by channel and valid for ttl from now, and burns the user's
// earlier unused codes (only the newest works). It returns the code's id.
// Callers: the passwordless sign-in start, which sends the code (sealed on
// its notification) in the same Write. Errors: KindInternal.
func (t *Tx) InsertSignInCode(orgID, userID, channel, code string, ttl time.Duration) (string, error) {
	const op = "store.InsertSignInCode"
	now := micros(t.Now())
	if _, err := t.Exec(`UPDATE sign_in_codes SET used_at = $1 WHERE user_id = $2 AND org_id = $3 AND used_at IS NULL`, now, userID, orgID); err != nil {
		return "", &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	id := NewID()
	hash, err := signInCodeHash(t, orgID, id, code)
	if err != nil {
		return "", err
	}
	_, err = t.Exec(`INSERT INTO sign_in_codes (id, org_id, user_id, code_hash, channel, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, orgID, userID, hash, channel, now, micros(t.Now().Add(ttl)))
	return id, insertErr(err, op, "sign-in code")
}

// RedeemSignInCode checks code against user userID's newest unused code:
// true, and the code is used up, when it matches before it expires. A
// wrong code counts against the code's tries; the fifth burns it. Run it
// in a Write that commits even when it answers false (the count must
// stick). Errors: KindInternal.
func (t *Tx) RedeemSignInCode(orgID, userID, code string) (bool, error) {
	const op = "store.RedeemSignInCode"
	var id string
	var hash []byte
	var tries int
	var expires int64
	err := t.QueryRow(`SELECT id, code_hash, attempts, expires_at FROM sign_in_codes
		WHERE user_id = $1 AND org_id = $2 AND used_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`, userID, orgID).
		Scan(&id, &hash, &tries, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	now := t.Now()
	if now.UnixMicro() >= expires || tries >= MaxSignInCodeTries {
		return false, nil
	}
	want, err := signInCodeHash(t, orgID, id, code)
	if err != nil {
		return false, err
	}
	if hmac.Equal(want, hash) {
		_, err := t.Exec(`UPDATE sign_in_codes SET used_at = $1 WHERE id = $2`, micros(now), id)
		if err != nil {
			return false, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		return true, nil
	}
	q := `UPDATE sign_in_codes SET attempts = attempts + 1 WHERE id = $1`
	args := []any{id}
	if tries+1 >= MaxSignInCodeTries {
		q, args = `UPDATE sign_in_codes SET attempts = attempts + 1, used_at = $2 WHERE id = $1`, append(args, micros(now))
	}
	if _, err := t.Exec(q, args...); err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return false, nil
}

// PortalUsersByPhone finds the active portal accounts (patients who
// accepted an invitation) whose patient record has phone (E.164), in every
// organization; a shared family phone may give several. Callers: the
// passwordless sign-in start. Errors: KindInternal.
func (db *DB) PortalUsersByPhone(ctx context.Context, phone string) ([]*sotto.User, error) {
	orgIDs, err := stringsQuery(ctx, db.r, `SELECT id FROM orgs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var out []*sotto.User
	for _, orgID := range orgIDs {
		ok, err := db.OrgKey(ctx, orgID)
		if err != nil {
			return nil, err
		}
		ids, err := stringsQuery(ctx, db.r, `SELECT u.id FROM patients p JOIN users u ON u.id = p.user_id
			WHERE p.org_id = $1 AND p.phone_idx = $2 AND u.disabled = $3 ORDER BY u.id`, orgID, ok.BlindIndex("phone", phone), false)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			u, err := db.User(ctx, orgID, id)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
		}
	}
	return out, nil
}
