package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"sotto"
	"sotto/internal/store"
)

// Signer signs checkpoints with an organization's key. Sign must return a
// raw 64-byte Ed25519 signature (RFC 8032) over msg, and PublicKey the raw
// 32-byte Ed25519 public key; an adapter around a key that produces
// prefixed signatures (Tink's with a non-RAW output prefix, for one) must
// strip the prefix. *crypt.OrgKey satisfies Signer as it is (the tests
// check this); CreateCheckpoint also verifies every signature it gets.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	PublicKey() ed25519.PublicKey
}

// Checkpoint is a signed statement that an org's chain had this head at
// SignedAt. Its JSON form (hex for bytes, RFC 3339 for time) is meant to be
// printed and kept outside the database.
type Checkpoint struct {
	OrgID     string
	Seq       int64
	Hash      []byte
	SignedAt  time.Time
	Signature []byte
	PublicKey []byte
}

// checkpointJSON is Checkpoint's JSON form.
type checkpointJSON struct {
	OrgID     string    `json:"org_id"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	SignedAt  time.Time `json:"signed_at"`
	Algorithm string    `json:"algorithm"`
	Signature string    `json:"signature"`
	PublicKey string    `json:"public_key"`
}

// MarshalJSON encodes cp with hex byte fields and algorithm "ed25519".
func (cp Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkpointJSON{
		OrgID: cp.OrgID, Seq: cp.Seq, Hash: hex.EncodeToString(cp.Hash),
		SignedAt: cp.SignedAt.UTC(), Algorithm: "ed25519",
		Signature: hex.EncodeToString(cp.Signature), PublicKey: hex.EncodeToString(cp.PublicKey),
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes.
func (cp *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Algorithm != "" && j.Algorithm != "ed25519" {
		return fmt.Errorf("audit: checkpoint algorithm %q is not ed25519", j.Algorithm)
	}
	var c Checkpoint
	var err error
	if c.Hash, err = hex.DecodeString(j.Hash); err != nil {
		return fmt.Errorf("audit: checkpoint hash: %w", err)
	}
	if c.Signature, err = hex.DecodeString(j.Signature); err != nil {
		return fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	if c.PublicKey, err = hex.DecodeString(j.PublicKey); err != nil {
		return fmt.Errorf("audit: checkpoint public key: %w", err)
	}
	c.OrgID, c.Seq, c.SignedAt = j.OrgID, j.Seq, j.SignedAt.UTC()
	*cp = c
	return nil
}

// Message returns the exact bytes the checkpoint's signature covers (the
// format is in the package doc).
func (cp *Checkpoint) Message() []byte {
	var b bytes.Buffer
	b.WriteString("sotto.audit.checkpoint.v1\n")
	b.WriteString("org " + cp.OrgID + "\n")
	b.WriteString("seq " + strconv.FormatInt(cp.Seq, 10) + "\n")
	b.WriteString("hash " + hex.EncodeToString(cp.Hash) + "\n")
	b.WriteString("signed_at " + strconv.FormatInt(cp.SignedAt.UnixMicro(), 10) + "\n")
	return b.Bytes()
}

// VerifyCheckpoint checks cp's signature under pub, a raw Ed25519 public
// key; it does not compare cp with the chain (Verify does). Anyone may
// call it. Errors: KindInvalid when pub is not an Ed25519 key or the
// signature does not verify.
func VerifyCheckpoint(cp *Checkpoint, pub []byte) error {
	const op = "audit.VerifyCheckpoint"
	if cp == nil {
		return invalid(op, "A checkpoint is required.")
	}
	if len(pub) != ed25519.PublicKeySize {
		return invalid(op, "The public key is not an Ed25519 key.")
	}
	if len(cp.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, cp.Message(), cp.Signature) {
		return &sotto.Error{Kind: sotto.KindInvalid, Code: "checkpoint_signature_invalid", Op: op,
			Msg: "The checkpoint signature is invalid."}
	}
	return nil
}

// CreateCheckpoint signs orgID's current chain head with signer, stores the
// checkpoint and returns it. Before signing it verifies the entries added
// since the previous checkpoint, so it never vouches for a broken chain. If
// the newest checkpoint already covers the head, that one is returned.
// The signer is called outside any transaction (it may be a remote KMS).
//
// Callers: the server's periodic checkpoint job and `sotto audit
// checkpoint`. Errors: KindInvalid (bad org id, nil signer, or a signer
// whose signature does not verify under its own public key), KindNotFound
// (the org has no entries), KindInternal (database failure, signer failure,
// or a chain that fails verification; run Verify for the details).
func CreateCheckpoint(ctx context.Context, db *store.DB, orgID string, signer Signer) (*Checkpoint, error) {
	const op = "audit.CreateCheckpoint"
	if !validOrgID(orgID) {
		return nil, invalid(op, "The organization id is not valid.")
	}
	if signer == nil {
		return nil, invalid(op, "A signer is required.")
	}
	head, err := readHead(ctx, db, orgID)
	if err != nil {
		return nil, err
	}
	if head.seq == 0 {
		return nil, &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: "The organization has no audit entries."}
	}
	last, err := LatestCheckpoint(ctx, db, orgID)
	if err != nil && sotto.ErrorKind(err) != sotto.KindNotFound {
		return nil, err
	}
	if last != nil && last.Seq == head.seq && bytes.Equal(last.Hash, head.hash) {
		return last, nil
	}
	if err := verifySince(ctx, db, orgID, last, head); err != nil {
		return nil, err
	}
	cp := &Checkpoint{OrgID: orgID, Seq: head.seq, Hash: head.hash, SignedAt: db.Now(), PublicKey: signer.PublicKey()}
	if cp.Signature, err = signer.Sign(cp.Message()); err != nil {
		return nil, internal(op, "sign", err)
	}
	if err := VerifyCheckpoint(cp, cp.PublicKey); err != nil {
		return nil, invalid(op, "The signer's signature does not verify under its public key (a raw Ed25519 signature is required).")
	}
	stored := true
	err = db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(`INSERT INTO audit_checkpoints (org_id, seq, hash, signed_at, signature, public_key)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, seq) DO NOTHING`,
			cp.OrgID, cp.Seq, cp.Hash, cp.SignedAt.UnixMicro(), cp.Signature, cp.PublicKey)
		if err != nil {
			return internal(op, "insert checkpoint", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return internal(op, "insert checkpoint", err)
		}
		stored = n == 1
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !stored { // a concurrent call checkpointed the same head first
		return checkpointAt(ctx, db, orgID, cp.Seq)
	}
	return cp, nil
}

// verifySince verifies the entries after checkpoint last (or from the
// start) up to head, so that a new checkpoint extends a sound chain.
func verifySince(ctx context.Context, db *store.DB, orgID string, last *Checkpoint, h head) error {
	const op = "audit.CreateCheckpoint"
	v := newVerifier(ctx, db, orgID)
	if last != nil {
		if err := VerifyCheckpoint(last, last.PublicKey); err != nil {
			return internal(op, "verify previous checkpoint", err)
		}
		var hash []byte
		err := db.QueryRow(ctx, `SELECT hash FROM audit_events WHERE org_id = $1 AND seq = $2`, orgID, last.Seq).Scan(&hash)
		if err != nil || !bytes.Equal(hash, last.Hash) {
			return internal(op, "verify previous checkpoint", errors.New("previous checkpoint does not match the chain"))
		}
		v.startAt(last.Seq, last.Hash)
	}
	if err := v.stream(h.seq); err != nil {
		return err
	}
	if !v.rep.OK || v.last != h.seq || !bytes.Equal(v.prev, h.hash) {
		return internal(op, "verify chain", errors.New("audit chain does not verify; run audit verify"))
	}
	return nil
}

// LatestCheckpoint returns orgID's newest stored checkpoint. Callers: the
// audit pages and command. Errors: KindInvalid (bad org id), KindNotFound
// (none yet), KindInternal.
func LatestCheckpoint(ctx context.Context, db *store.DB, orgID string) (*Checkpoint, error) {
	const op = "audit.LatestCheckpoint"
	if !validOrgID(orgID) {
		return nil, invalid(op, "The organization id is not valid.")
	}
	row := db.QueryRow(ctx, `SELECT `+checkpointCols+` FROM audit_checkpoints
		WHERE org_id = $1 ORDER BY seq DESC LIMIT 1`, orgID)
	return scanCheckpoint(row.Scan, op)
}

func checkpointAt(ctx context.Context, db *store.DB, orgID string, seq int64) (*Checkpoint, error) {
	row := db.QueryRow(ctx, `SELECT `+checkpointCols+` FROM audit_checkpoints WHERE org_id = $1 AND seq = $2`, orgID, seq)
	return scanCheckpoint(row.Scan, "audit.CreateCheckpoint")
}

const checkpointCols = `org_id, seq, hash, signed_at, signature, public_key`

func scanCheckpoint(scan func(...any) error, op string) (*Checkpoint, error) {
	var cp Checkpoint
	var signed int64
	if err := scan(&cp.OrgID, &cp.Seq, &cp.Hash, &signed, &cp.Signature, &cp.PublicKey); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &sotto.Error{Kind: sotto.KindNotFound, Op: op, Msg: "No audit checkpoint exists yet.", Err: err}
		}
		return nil, internal(op, "read checkpoint", err)
	}
	cp.SignedAt = time.UnixMicro(signed).UTC()
	return &cp, nil
}
