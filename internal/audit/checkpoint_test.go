package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/crypt"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// The org key of the crypt package signs checkpoints without an adapter.
var _ audit.Signer = (*crypt.OrgKey)(nil)

func TestCreateCheckpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		signer := newSigner(t)
		if _, err := audit.CreateCheckpoint(ctx, db, org, signer); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("checkpoint of an empty trail: err = %v, want not found", err)
		}
		if _, err := audit.LatestCheckpoint(ctx, db, org); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("latest of none: err = %v, want not found", err)
		}
		appendN(t, db, org, 10)
		cp, err := audit.CreateCheckpoint(ctx, db, org, signer)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Seq != 10 || !bytes.Equal(cp.Hash, entry(t, db, org, 10).Hash) || cp.OrgID != org {
			t.Fatalf("checkpoint %+v does not commit to entry 10", cp)
		}
		if err := audit.VerifyCheckpoint(cp, signer.PublicKey()); err != nil {
			t.Fatal(err)
		}
		latest, err := audit.LatestCheckpoint(ctx, db, org)
		if err != nil || !bytes.Equal(latest.Signature, cp.Signature) || !latest.SignedAt.Equal(cp.SignedAt) {
			t.Fatalf("latest = %+v, %v; want the stored checkpoint", latest, err)
		}
		again, err := audit.CreateCheckpoint(ctx, db, org, signer)
		if err != nil || !bytes.Equal(again.Signature, cp.Signature) {
			t.Fatalf("checkpoint of an unchanged head made a new signature: %v", err)
		}
		appendN(t, db, org, 5)
		next, err := audit.CreateCheckpoint(ctx, db, org, signer)
		if err != nil || next.Seq != 15 {
			t.Fatalf("next checkpoint %+v, %v", next, err)
		}
		if rep := mustVerify(t, db, org, signer.PublicKey()); !rep.OK || rep.Checkpoints != 2 || rep.Checkpoint.Seq != 15 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestCreateCheckpointRefusesBrokenChain: a checkpoint never vouches for
// entries that do not verify.
func TestCreateCheckpointRefusesBrokenChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		signer := newSigner(t)
		appendN(t, db, org, 10)
		if _, err := audit.CreateCheckpoint(ctx, db, org, signer); err != nil {
			t.Fatal(err)
		}
		appendN(t, db, org, 10)
		rawExec(t, db, `UPDATE audit_events SET action = 'patient.view' WHERE org_id = $1 AND seq = 14`, org)
		if _, err := audit.CreateCheckpoint(ctx, db, org, signer); sotto.ErrorKind(err) != sotto.KindInternal {
			t.Fatalf("checkpoint over a broken chain: err = %v, want internal", err)
		}
		if cp, _ := audit.LatestCheckpoint(ctx, db, org); cp.Seq != 10 {
			t.Fatalf("a checkpoint at %d was stored over a broken chain", cp.Seq)
		}
	})
}

type prefixedSigner struct{ edSigner }

func (s prefixedSigner) Sign(msg []byte) ([]byte, error) {
	sig, _ := s.edSigner.Sign(msg)
	return append([]byte{0x01, 0, 0, 0, 7}, sig...), nil // a Tink-style output prefix
}

func TestCreateCheckpointRejectsBadSigner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		org := store.NewID()
		appendN(t, db, org, 2)
		if _, err := audit.CreateCheckpoint(ctx, db, org, prefixedSigner{newSigner(t)}); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("prefixed signature: err = %v, want invalid", err)
		}
		if _, err := audit.CreateCheckpoint(ctx, db, org, nil); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("nil signer: err = %v, want invalid", err)
		}
		if _, err := audit.CreateCheckpoint(ctx, db, "x", newSigner(t)); sotto.ErrorKind(err) != sotto.KindInvalid {
			t.Fatalf("bad org: err = %v, want invalid", err)
		}
		if _, err := audit.LatestCheckpoint(ctx, db, org); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("a bad signer's checkpoint was stored: %v", err)
		}
	})
}

// TestCheckpointWithOrgKey signs with the real org key from the store.
func TestCheckpointWithOrgKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := &sotto.Org{Name: "Lakeside Clinic"}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOrg(o); err != nil {
				return err
			}
			return audit.Append(tx, &sotto.AuditEvent{OrgID: o.ID, ActorRole: sotto.AuditRoleSystem,
				Action: sotto.AuditOrgCreate, TargetType: "org", TargetID: o.ID, Outcome: sotto.AuditSuccess})
		})
		if err != nil {
			t.Fatal(err)
		}
		key, err := db.OrgKey(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := audit.CreateCheckpoint(ctx, db, o.ID, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(cp.Signature) != ed25519.SignatureSize {
			t.Fatalf("org key signature of %d bytes", len(cp.Signature))
		}
		if rep := mustVerify(t, db, o.ID, key.PublicKey()); !rep.OK || !rep.CheckpointVerified {
			t.Fatalf("report %+v", rep)
		}
	})
}
