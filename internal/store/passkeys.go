package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"sotto"
	"sotto/internal/crypt"
)

// MaxCredentialIDLen is the longest WebAuthn credential id accepted
// (WebAuthn Level 3 caps credential ids at 1023 bytes).
const MaxCredentialIDLen = 1023

// Passkey is one registered WebAuthn credential of a staff member, as
// stored. The public key is not secret; Name (the label the user chose)
// is sealed with the org key.
type Passkey struct {
	ID              string
	OrgID           string
	UserID          string
	CredentialID    []byte // the authenticator's credential id, unique across the server
	PublicKey       []byte // COSE_Key
	AttestationType string // "none", "self", "basic", ...
	AAGUID          []byte // the authenticator model, 16 bytes (zeros when not disclosed)
	SignCount       uint32 // the last signature counter seen
	BackupEligible  bool
	BackupState     bool
	Transports      []string // hints for the browser: "internal", "usb", "hybrid", ...
	Name            string
	CreatedAt       time.Time
	LastUsedAt      time.Time // zero until the first sign-in with it
}

// passkeyColumns are the columns scanPasskey reads, in order.
const passkeyColumns = `id, org_id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
	backup_eligible, backup_state, transports, name_enc, created_at, last_used_at`

// InsertPasskey stores a new passkey for p.UserID of p.OrgID, assigning
// p.ID and p.CreatedAt. Callers: the registration ceremony's finish,
// after the WebAuthn library verified the attestation. Errors:
// KindInvalid (missing credential id, key or name), KindConflict (the
// credential is already registered, to anyone), KindNotFound (no such
// user), KindInternal.
func (t *Tx) InsertPasskey(p *Passkey) error {
	const op = "store.InsertPasskey"
	if len(p.CredentialID) == 0 || len(p.CredentialID) > MaxCredentialIDLen || len(p.PublicKey) == 0 || strings.TrimSpace(p.Name) == "" {
		return sotto.Errorf(sotto.KindInvalid, "A passkey needs a credential id, a public key and a name.")
	}
	if !ValidID(p.UserID) {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	ok, err := t.orgKey(p.OrgID)
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt = NewID(), t.Now()
	nameEnc, err := ok.Seal([]byte(p.Name), crypt.AD("passkeys", "name", p.ID))
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	var n int
	if err := t.QueryRow(`SELECT COUNT(*) FROM users WHERE id = $1 AND org_id = $2`, p.UserID, p.OrgID).Scan(&n); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n != 1 {
		return sotto.Errorf(sotto.KindNotFound, "User not found.")
	}
	_, err = t.Exec(`INSERT INTO passkeys (id, org_id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
		backup_eligible, backup_state, transports, name_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		p.ID, p.OrgID, p.UserID, p.CredentialID, p.PublicKey, p.AttestationType, p.AAGUID, int64(p.SignCount),
		p.BackupEligible, p.BackupState, strings.Join(p.Transports, ","), nameEnc, micros(p.CreatedAt))
	if isUniqueViolation(err) {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "passkey_exists", Op: op, Msg: "This passkey is already registered.", Err: err}
	}
	if err != nil {
		return insertErr(err, op, "passkey")
	}
	return nil
}

// PasskeyByCredentialID finds the passkey with credential id credID, in
// any organization (credential ids are unique server-wide). Callers: the
// sign-in ceremony's finish. Errors: KindNotFound, KindInternal.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credID []byte) (*Passkey, error) {
	const op = "store.PasskeyByCredentialID"
	if len(credID) == 0 || len(credID) > MaxCredentialIDLen {
		return nil, sotto.Errorf(sotto.KindNotFound, "Passkey not found.")
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	list, err := db.scanPasskeys(ctx, op, rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, sotto.Errorf(sotto.KindNotFound, "Passkey not found.")
	}
	return list[0], nil
}

// Passkeys lists user userID's passkeys in orgID, oldest first (an
// unknown user has none). Callers: the security page, the passkey API and
// the sign-in ceremonies. Errors: KindInternal.
func (db *DB) Passkeys(ctx context.Context, orgID, userID string) ([]*Passkey, error) {
	const op = "store.Passkeys"
	if !ValidID(userID) {
		return []*Passkey{}, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 AND org_id = $2 ORDER BY created_at, id`, userID, orgID)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return db.scanPasskeys(ctx, op, rows)
}

// scanPasskeys reads and closes rows of passkeyColumns, opening each
// name with its org's key.
func (db *DB) scanPasskeys(ctx context.Context, op string, rows *sql.Rows) ([]*Passkey, error) {
	defer rows.Close()
	type sealed struct {
		p       *Passkey
		nameEnc []byte
	}
	var all []sealed
	for rows.Next() {
		var p Passkey
		var nameEnc []byte
		var sign, created int64
		var used sql.NullInt64
		var transports string
		if err := rows.Scan(&p.ID, &p.OrgID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AAGUID, &sign,
			&p.BackupEligible, &p.BackupState, &transports, &nameEnc, &created, &used); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		p.SignCount, p.CreatedAt = uint32(sign), fromMicros(created)
		if used.Valid {
			p.LastUsedAt = fromMicros(used.Int64)
		}
		if transports != "" {
			p.Transports = strings.Split(transports, ",")
		}
		all = append(all, sealed{&p, nameEnc})
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	rows.Close()
	out := make([]*Passkey, 0, len(all))
	for _, s := range all {
		ok, err := db.OrgKey(ctx, s.p.OrgID)
		if err != nil {
			return nil, err
		}
		name, err := ok.Open(s.nameEnc, crypt.AD("passkeys", "name", s.p.ID))
		if err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
		s.p.Name = string(name)
		out = append(out, s.p)
	}
	return out, nil
}

// UsePasskey records a sign-in with passkey id: the new signature
// counter, backup state and time. It reports false, changing nothing,
// when the counter did not advance past the stored one (a cloned
// authenticator, or the same assertion raced in twice); authenticators
// that keep no counter send 0 every time and always pass. Run it in the
// sign-in's Write. Errors: KindInternal.
func (t *Tx) UsePasskey(id string, signCount uint32, backupState bool) (bool, error) {
	n64 := int64(signCount)
	res, err := t.Exec(`UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3
		WHERE id = $4 AND (sign_count < $5 OR (sign_count = 0 AND $6 = 0))`,
		n64, backupState, micros(t.Now()), id, n64, n64)
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.UsePasskey", Err: err}
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.UsePasskey", Err: err}
	}
	return n == 1, nil
}

// DeletePasskey removes passkey id of user userID in orgID. Another
// user's passkey, or an unknown id, is KindNotFound. Callers: the user
// themselves (API and security page). Errors: KindNotFound, KindInternal.
func (t *Tx) DeletePasskey(orgID, userID, id string) error {
	if !ValidID(id) {
		return sotto.Errorf(sotto.KindNotFound, "Passkey not found.")
	}
	res, err := t.Exec(`DELETE FROM passkeys WHERE id = $1 AND user_id = $2 AND org_id = $3`, id, userID, orgID)
	return oneRow(res, err, "store.DeletePasskey", "Passkey not found.")
}

// DeletePasskeysOf removes every passkey of user userID in orgID and
// returns how many there were. Callers: an administrator's MFA reset.
// Errors: KindInternal.
func (t *Tx) DeletePasskeysOf(orgID, userID string) (int64, error) {
	res, err := t.Exec(`DELETE FROM passkeys WHERE user_id = $1 AND org_id = $2`, userID, orgID)
	if err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.DeletePasskeysOf", Err: err}
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, &sotto.Error{Kind: sotto.KindInternal, Op: "store.DeletePasskeysOf", Err: err}
	}
	return n, nil
}
