package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"

	"sotto"
	"sotto/internal/crypt"
)

// querier is what reads need from either the reader pool or a write
// transaction, so that one read function serves both.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sealer encrypts and decrypts record cells: a patient's data key, or the
// org key for records that belong to no patient.
type sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
}

// errShredded is the answer for records whose patient data key was
// destroyed: they exist but can never be read again.
var errShredded = &sotto.Error{Kind: sotto.KindNotFound, Code: "shredded", Msg: "This patient's records were permanently erased."}

// orgKeyQ unwraps an org's key through q.
func (db *DB) orgKeyQ(ctx context.Context, q querier, orgID string) (*crypt.OrgKey, error) {
	return db.unwrapKeyRow("store.orgKey", orgID, "Organization not found.",
		q.QueryRowContext(ctx, `SELECT wrapped FROM keys WHERE id = $1`, orgKeyID(orgID)))
}

// sealerFor returns the key that seals records of patientID in orgID: the
// patient's data key, or the org key when patientID is empty. A shredded
// patient is KindNotFound with code "shredded".
func (db *DB) sealerFor(ctx context.Context, q querier, orgID, patientID string) (sealer, error) {
	if db.plaintext {
		return plainSealer{}, nil
	}
	ok, err := db.orgKeyQ(ctx, q, orgID)
	if err != nil || patientID == "" {
		return ok, err
	}
	return db.dataKey(ctx, q, ok, orgID, patientID)
}

// dataKey reads and unwraps patientID's data key with org key ok.
func (db *DB) dataKey(ctx context.Context, q querier, ok *crypt.OrgKey, orgID, patientID string) (sealer, error) {
	var wrapped []byte
	err := q.QueryRowContext(ctx, `SELECT wrapped FROM patient_keys WHERE patient_id = $1 AND org_id = $2`, patientID, orgID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if q.QueryRowContext(ctx, `SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, patientID, orgID).Scan(&n) == nil && n == 0 {
			return nil, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		}
		return nil, errShredded
	}
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.sealerFor", Err: err}
	}
	dk, err := db.keys.Data(ok, patientID, wrapped)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.sealerFor", Err: err}
	}
	return dk, nil
}

// sealerCache resolves the sealers of one org for a batch of records (an
// inbox page, a conversation's messages): the org key is unwrapped once and
// each patient's data key read once, instead of two queries per record.
type sealerCache struct {
	db    *DB
	q     querier
	orgID string
	m     map[string]sealer
}

func (db *DB) newSealerCache(q querier, orgID string) *sealerCache {
	return &sealerCache{db: db, q: q, orgID: orgID, m: map[string]sealer{}}
}

// preload reads the data keys of patientIDs in one query. Keys it cannot
// find (shredded) are left for get to report.
func (c *sealerCache) preload(ctx context.Context, patientIDs []string) error {
	ok, err := c.get(ctx, "")
	if err != nil {
		return err
	}
	var want []any
	var in []string
	seen := map[string]bool{}
	for _, id := range patientIDs {
		if _, done := c.m[id]; !done && id != "" && !seen[id] {
			seen[id] = true
			want = append(want, id)
			in = append(in, placeholder(len(want)+1))
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := c.q.QueryContext(ctx, `SELECT patient_id, wrapped FROM patient_keys WHERE org_id = $1 AND patient_id IN (`+strings.Join(in, ", ")+`)`,
		append([]any{c.orgID}, want...)...)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.preload", Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var wrapped []byte
		if err := rows.Scan(&id, &wrapped); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: "store.preload", Err: err}
		}
		dk, err := c.db.keys.Data(ok.(*crypt.OrgKey), id, wrapped)
		if err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: "store.preload", Err: err}
		}
		c.m[id] = dk
	}
	return rows.Err()
}

// get returns the sealer of patientID ("" for the org key).
func (c *sealerCache) get(ctx context.Context, patientID string) (sealer, error) {
	if k, ok := c.m[patientID]; ok {
		return k, nil
	}
	var k sealer
	var err error
	if patientID == "" {
		k, err = c.db.orgKeyQ(ctx, c.q, c.orgID)
	} else {
		k, err = c.db.sealerFor(ctx, c.q, c.orgID, patientID)
	}
	if err != nil {
		return nil, err
	}
	c.m[patientID] = k
	return k, nil
}

// plainSealer stores cells as they are: the baseline of the benchmark that
// measures encryption's cost (see DB.plaintext). Never used otherwise.
type plainSealer struct{}

func (plainSealer) Seal(plaintext, _ []byte) ([]byte, error)  { return bytes.Clone(plaintext), nil }
func (plainSealer) Open(ciphertext, _ []byte) ([]byte, error) { return bytes.Clone(ciphertext), nil }

// txq adapts a Tx to querier.
type txq struct{ t *Tx }

func (q txq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.t.Query(query, args...)
}

func (q txq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.t.QueryRow(query, args...)
}

// seal encrypts plaintext for one cell, mapping failures to KindInternal.
func seal(k sealer, op string, plaintext []byte, table, column, rowID string) ([]byte, error) {
	ct, err := k.Seal(plaintext, crypt.AD(table, column, rowID))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return ct, nil
}

// open decrypts one cell; a ciphertext that fails to authenticate (copied
// from another row, edited) is reported as KindInternal wrapping
// crypt.ErrTampered.
func open(k sealer, op string, ciphertext []byte, table, column, rowID string) ([]byte, error) {
	pt, err := k.Open(ciphertext, crypt.AD(table, column, rowID))
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return pt, nil
}

// ShredPatient destroys patientID's data key, making every record sealed
// under it (demographics, subjects, messages, attachments: in this
// database and in every backup) permanently unreadable, and drops the
// patient's name-search tokens. The caller audits the act in the same
// transaction. Errors: KindNotFound (unknown patient, or already shredded),
// KindInternal.
func (t *Tx) ShredPatient(orgID, patientID string) error {
	t.forgetKeys()
	res, err := t.Exec(`DELETE FROM patient_keys WHERE patient_id = $1 AND org_id = $2`, patientID, orgID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.ShredPatient", Err: err}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	if _, err := t.Exec(`DELETE FROM patient_search WHERE patient_id = $1`, patientID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: "store.ShredPatient", Err: err}
	}
	// Forget now and again after the commit: a read between this
	// statement and the commit may still unwrap and re-cache the key.
	t.db.keys.Forget(patientID)
	t.AfterCommit(func() { t.db.keys.Forget(patientID) })
	return nil
}
