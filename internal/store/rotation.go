package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"sotto"
	"sotto/internal/crypt"
)

// sealedColumn is one encrypted column: what a rotation of an org key must
// look through for ciphertexts (or wrapped data keys) still under the old
// key. Every column named *_enc, and patient_keys.wrapped, must be listed
// here (TestSealedColumnsCoverEveryEncryptedColumn enforces it), or
// retiring an old org key would leave that column unreadable.
type sealedColumn struct {
	table    string // SQL table, also the table bound into the associated data
	idColumn string // row id, as bound into the associated data
	column   string // SQL column holding the ciphertext
	adColumn string // column name bound into the associated data
}

// sealedColumns lists every column holding ciphertext under an org key or
// a patient data key (which the org key wraps). Rows sealed under a
// patient's data key never carry the org key's prefix and are passed over.
var sealedColumns = []sealedColumn{
	{"users", "id", "email_enc", "email"},
	{"users", "id", "name_enc", "name"},
	{"users", "id", "totp_secret_enc", "totp_secret"},
	{"patients", "id", "demographics_enc", "demographics"},
	{"break_glass", "id", "reason_enc", "reason"},
	{"conversations", "id", "subject_enc", "subject"},
	{"conversations", "id", "details_enc", "details"},
	{"messages", "id", "body_enc", "body"},
	{"attachments", "id", "name_enc", "name"},
	{"attachments", "id", "data_enc", "data"},
	{"push_subscriptions", "id", "subscription_enc", "subscription"},
	{"on_call", "org_id", "phone_enc", "phone"},
	{"notifications", "id", "payload_enc", "payload"},
	{"passkeys", "id", "name_enc", "name"},
	{"org_sso", "org_id", "client_secret_enc", "client_secret"},
}

// rotationPage is how many rows one re-wrap or re-seal transaction moves.
const rotationPage = 200

// tinkPrefix is the 5-byte output prefix of ciphertexts made by Tink key id.
func tinkPrefix(keyID uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{1}, keyID)
}

// prefixIs is the dialect's SQL test that column starts with the 5-byte
// parameter $n.
func (db *DB) prefixIs(column string, n int) string {
	if db.dialect == Postgres {
		return fmt.Sprintf("substring(%s from 1 for 5) = $%d", column, n)
	}
	return fmt.Sprintf("substr(%s, 1, 5) = $%d", column, n)
}

// OrgKeyVersions reports the versions of orgID's record key, newest
// primary included. Intended caller: `sotto keys status`. Errors:
// KindNotFound for an unknown org, KindInternal.
func (db *DB) OrgKeyVersions(ctx context.Context, orgID string) ([]crypt.KeyVersion, error) {
	k, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return k.Versions(), nil
}

// RotateOrgKey gives orgID's record key a new primary version inside tx and
// returns the previous primary's id and the new one's. From the commit on,
// every new record and data key of the org is sealed under the new version;
// the old one still opens what it sealed until [Tx.RetireOrgKey]. Intended
// caller: the key rotation command, which audits in the same tx. Errors:
// KindNotFound for an unknown org, KindConflict if the key changed under
// the tx, KindInternal.
func (t *Tx) RotateOrgKey(orgID string) (oldID, newID uint32, err error) {
	const op = "store.RotateOrgKey"
	id := orgKeyID(orgID)
	old, k, err := t.wrappedOrgKey(op, orgID)
	if err != nil {
		return 0, 0, err
	}
	nw, err := t.db.keys.RotateOrgKey(orgID, old)
	if err != nil {
		return 0, 0, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if err := t.replaceKey(op, id, old, nw); err != nil {
		return 0, 0, err
	}
	rotated, err := t.db.keys.Org(orgID, nw)
	if err != nil {
		return 0, 0, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return k.PrimaryKeyID(), rotated.PrimaryKeyID(), nil
}

// wrappedOrgKey reads and unwraps orgID's keys row inside t.
func (t *Tx) wrappedOrgKey(op, orgID string) ([]byte, *crypt.OrgKey, error) {
	var wrapped []byte
	q := `SELECT wrapped FROM keys WHERE id = $1`
	if t.db.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	if err := t.QueryRow(q, orgKeyID(orgID)).Scan(&wrapped); err != nil {
		return nil, nil, notFound(err, op, "Organization not found.")
	}
	k, err := t.db.keys.Org(orgID, wrapped)
	if err != nil {
		return nil, nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return wrapped, k, nil
}

// replaceKey swaps a keys row's wrapped bytes, failing with KindConflict if
// they are no longer old.
func (t *Tx) replaceKey(op, id string, old, wrapped []byte) error {
	ok, err := t.ReplaceWrappedKey(id, old, wrapped)
	if err != nil {
		return err
	}
	if !ok {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "key_changed", Op: op, Msg: "The key changed during rotation; run the rotation again."}
	}
	return nil
}

// RewrapDataKeys re-wraps, under orgID's current primary key, every patient
// data key of the org still wrapped under key oldID, a page per write
// transaction, calling progress after each page with the running count.
// The data keys themselves do not change, so nothing sealed under them is
// touched. Safe while the server runs: a row changed meanwhile is left to
// its writer. Intended caller: the key rotation command. Errors:
// KindInternal (tampered or unreadable keys among them).
func (db *DB) RewrapDataKeys(ctx context.Context, orgID string, oldID uint32, progress func(done int)) (int, error) {
	const op = "store.RewrapDataKeys"
	done, after := 0, ""
	for {
		c := patientKeysColumn
		rows, err := db.stragglers(ctx, c.table, c.idColumn, c.column, orgID, oldID, after)
		if err != nil || len(rows) == 0 {
			return done, err
		}
		err = db.Write(ctx, func(tx *Tx) error {
			_, k, err := tx.wrappedOrgKey(op, orgID)
			if err != nil {
				return err
			}
			tx.forgetKeys()
			for _, r := range rows {
				nw, err := k.RewrapDataKey(r.id, r.blob)
				if err != nil {
					return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: fmt.Errorf("patient key %d of this page: %w", done+1, err)}
				}
				if _, err := tx.Exec(`UPDATE patient_keys SET wrapped = $1 WHERE patient_id = $2 AND org_id = $3 AND wrapped = $4`, nw, r.id, orgID, r.blob); err != nil {
					return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += len(rows)
		after = rows[len(rows)-1].id
		if progress != nil {
			progress(done)
		}
	}
}

// ResealOrgRecords re-encrypts, under orgID's current primary key, every
// org-level record (staff contact points, TOTP secrets, notification
// payloads, records of conversations without a patient, ...) still sealed
// under key oldID, a page per write transaction, calling progress after
// each page. A ciphertext that no longer authenticates is left as it is and
// counted in skipped: it was unreadable before and stays so. Intended
// caller: the key rotation command. Errors: KindInternal.
func (db *DB) ResealOrgRecords(ctx context.Context, orgID string, oldID uint32, progress func(done int)) (done, skipped int, err error) {
	const op = "store.ResealOrgRecords"
	for _, c := range sealedColumns {
		after := ""
		for {
			rows, err := db.stragglers(ctx, c.table, c.idColumn, c.column, orgID, oldID, after)
			if err != nil {
				return done, skipped, err
			}
			if len(rows) == 0 {
				break
			}
			var bad int
			err = db.Write(ctx, func(tx *Tx) error {
				bad = 0
				_, k, err := tx.wrappedOrgKey(op, orgID)
				if err != nil {
					return err
				}
				for _, r := range rows {
					ct, err := k.Reseal(r.blob, crypt.AD(c.table, c.adColumn, r.id))
					if err != nil {
						bad++ // tampered, or a patient key's ciphertext that shares the prefix
						continue
					}
					q := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND org_id = $3 AND %s = $4`, c.table, c.column, c.idColumn, c.column)
					if _, err := tx.Exec(q, ct, r.id, orgID, r.blob); err != nil {
						return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
					}
				}
				return nil
			})
			if err != nil {
				return done, skipped, err
			}
			done += len(rows) - bad
			skipped += bad
			after = rows[len(rows)-1].id
			if progress != nil {
				progress(done)
			}
		}
	}
	return done, skipped, nil
}

type sealedRow struct {
	id   string
	blob []byte
}

// stragglers reads the next page (ids after after) of table rows of orgID
// whose column starts with key oldID's Tink prefix.
func (db *DB) stragglers(ctx context.Context, table, idColumn, column, orgID string, oldID uint32, after string) ([]sealedRow, error) {
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE org_id = $1 AND %s AND %s > $3 ORDER BY %s LIMIT %d`,
		idColumn, column, table, db.prefixIs(column, 2), idColumn, idColumn, rotationPage)
	rows, err := db.r.QueryContext(ctx, q, orgID, tinkPrefix(oldID), after)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.stragglers", Err: err}
	}
	defer rows.Close()
	var out []sealedRow
	for rows.Next() {
		var r sealedRow
		if err := rows.Scan(&r.id, &r.blob); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.stragglers", Err: err}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RetireOrgKey disables version oldID of orgID's record key inside tx, once
// no data key and no record of the org is still sealed under it (counted
// inside tx, after locking the org's keys row). It returns how many
// ciphertexts under oldID remain unreadable (those ResealOrgRecords
// skipped) when force is set; without force any remaining ciphertext is
// KindConflict. Intended caller: the key rotation command, which audits in
// the same tx. Errors: KindConflict, KindNotFound, KindInternal.
func (t *Tx) RetireOrgKey(orgID string, oldID uint32, force bool) (remaining int, err error) {
	const op = "store.RetireOrgKey"
	old, k, err := t.wrappedOrgKey(op, orgID)
	if err != nil {
		return 0, err
	}
	if k.PrimaryKeyID() == oldID {
		return 0, &sotto.Error{Kind: sotto.KindConflict, Code: "key_primary", Op: op, Msg: "The key version to retire is still the primary one."}
	}
	if remaining, err = t.db.countUnder(t.ctx, txq{t}, op, orgID, oldID); err != nil {
		return 0, err
	}
	if remaining > 0 && !force {
		return remaining, &sotto.Error{Kind: sotto.KindConflict, Code: "key_in_use", Op: op,
			Msg: fmt.Sprintf("%d records are still sealed under the old key version; it was not retired.", remaining)}
	}
	nw, err := t.db.keys.RetireOrgKey(orgID, old, oldID)
	if err != nil {
		return remaining, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return remaining, t.replaceKey(op, orgKeyID(orgID), old, nw)
}

// OrgKeyUse counts, per version of orgID's record key, the wrapped data
// keys and org-level ciphertexts it seals. Intended caller: `sotto keys
// status`. Errors: KindInternal.
func (db *DB) OrgKeyUse(ctx context.Context, orgID string, versions []crypt.KeyVersion) (map[uint32]int, error) {
	out := map[uint32]int{}
	for _, v := range versions {
		n, err := db.countUnder(ctx, db.r, "store.OrgKeyUse", orgID, v.ID)
		if err != nil {
			return nil, err
		}
		out[v.ID] = n
	}
	return out, nil
}

// patientKeysColumn is where the org key wraps patient data keys.
var patientKeysColumn = sealedColumn{"patient_keys", "patient_id", "wrapped", "keyset"}

// countUnder counts orgID's wrapped data keys and sealed cells made by
// org key version keyID, through q.
func (db *DB) countUnder(ctx context.Context, q querier, op, orgID string, keyID uint32) (int, error) {
	total := 0
	for _, c := range append([]sealedColumn{patientKeysColumn}, sealedColumns...) {
		var n int
		sq := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE org_id = $1 AND %s`, c.table, db.prefixIs(c.column, 2))
		if err := q.QueryRowContext(ctx, sq, orgID, tinkPrefix(keyID)).Scan(&n); err != nil {
			return 0, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		total += n
	}
	return total, nil
}
