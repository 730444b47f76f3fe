package store

import (
	"context"
	"database/sql"
	"errors"

	"sotto"
	"sotto/internal/crypt"
)

// InstanceKeyID names the deployment-wide key whose blind index finds
// sign-in e-mail addresses before the organization is known.
const InstanceKeyID = "instance"

func orgKeyID(orgID string) string { return "org:" + orgID }

// WrappedKey is one row of the keys table: key material wrapped by the
// master key, never stored unwrapped.
type WrappedKey struct {
	ID      string
	Wrapped []byte
}

func (db *DB) keyring(op string) (*crypt.Keyring, error) {
	if db.keys == nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: errors.New("store opened without a keyring")}
	}
	return db.keys, nil
}

// insertKey creates and stores wrapped key material for id (an org id, or
// InstanceKeyID).
func (t *Tx) insertKey(keyID, orgID string) error {
	t.forgetKeys()
	kr, err := t.db.keyring("store.insertKey")
	if err != nil {
		return err
	}
	wrapped, err := kr.NewOrgKey(orgID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.insertKey", Err: err}
	}
	now := micros(t.Now())
	_, err = t.Exec(`INSERT INTO keys (id, wrapped, created_at, updated_at) VALUES ($1, $2, $3, $3)`, keyID, wrapped, now)
	return insertErr(err, "store.insertKey", "key")
}

// unwrapKeyRow scans the wrapped bytes of one keys row from row and
// unwraps them as orgID's key material. A missing row is KindNotFound with
// missing as its message; anything else is KindInternal.
func (db *DB) unwrapKeyRow(op, orgID, missing string, row *sql.Row) (*crypt.OrgKey, error) {
	kr, err := db.keyring(op)
	if err != nil {
		return nil, err
	}
	var wrapped []byte
	if err := row.Scan(&wrapped); err != nil {
		return nil, notFound(err, op, missing)
	}
	k, err := kr.Org(orgID, wrapped)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return k, nil
}

// orgKey returns the unwrapped key of an org (or the instance key, with
// orgID InstanceKeyID), creating the instance key on first use.
func (t *Tx) orgKey(orgID string) (*crypt.OrgKey, error) {
	const op = "store.orgKey"
	if t.memo != nil {
		if k := t.memo.orgs[orgID]; k != nil {
			return k, nil
		}
	}
	id := orgKeyID(orgID)
	if orgID == InstanceKeyID {
		id = InstanceKeyID
		var n int
		if err := t.QueryRow(`SELECT COUNT(*) FROM keys WHERE id = $1`, id).Scan(&n); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		if n == 0 {
			if err := t.insertKey(InstanceKeyID, InstanceKeyID); err != nil {
				return nil, err
			}
		}
	}
	k, err := t.db.unwrapKeyRow(op, orgID, "Organization not found.", t.QueryRow(`SELECT wrapped FROM keys WHERE id = $1`, id))
	if err == nil && t.memo != nil {
		t.memo.orgs[orgID] = k
	}
	return k, err
}

// OrgKey returns the unwrapped key of an org for callers that sign or
// encrypt outside a write (audit checkpoints, reads). Errors: KindNotFound,
// KindInternal (including tampered key material).
func (db *DB) OrgKey(ctx context.Context, orgID string) (*crypt.OrgKey, error) {
	return db.unwrapKeyRow("store.OrgKey", orgID, "Organization not found.",
		db.r.QueryRowContext(ctx, `SELECT wrapped FROM keys WHERE id = $1`, orgKeyID(orgID)))
}

// WrappedKeys lists every row of the keys table, for rotation and status.
func (db *DB) WrappedKeys(ctx context.Context) ([]WrappedKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, wrapped FROM keys ORDER BY id`)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.WrappedKeys", Err: err}
	}
	defer rows.Close()
	var out []WrappedKey
	for rows.Next() {
		var k WrappedKey
		if err := rows.Scan(&k.ID, &k.Wrapped); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.WrappedKeys", Err: err}
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ReplaceWrappedKey stores new wrapped bytes for id only if the row still
// holds old (so a concurrent rotation is never overwritten). It reports
// whether the row was replaced.
func (t *Tx) ReplaceWrappedKey(id string, old, wrapped []byte) (bool, error) {
	t.forgetKeys()
	res, err := t.Exec(`UPDATE keys SET wrapped = $1, updated_at = $2 WHERE id = $3 AND wrapped = $4`, wrapped, micros(t.Now()), id, old)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.ReplaceWrappedKey", Err: err}
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// KeyOrgID returns the org id a keys row belongs to (InstanceKeyID for the
// instance key).
func KeyOrgID(keyID string) string {
	if keyID == InstanceKeyID {
		return InstanceKeyID
	}
	return keyID[len("org:"):]
}
