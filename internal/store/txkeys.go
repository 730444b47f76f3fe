package store

import "sotto/internal/crypt"

// txKeys remembers, for one write transaction (a group-committed batch of
// callers), the keys its callers have unwrapped: a batch of sends to one
// organization then reads the org's keys row and each patient's data key
// row once, not once per message. Within the transaction only the
// transaction itself can change those rows, so every change to them
// (new, re-wrapped, rotated, retired or shredded keys) forgets everything,
// as does rolling a caller back to its savepoint.
type txKeys struct {
	orgs map[string]*crypt.OrgKey
	data map[[2]string]sealer // (org id, patient id)
}

func newTxKeys() *txKeys {
	return &txKeys{orgs: map[string]*crypt.OrgKey{}, data: map[[2]string]sealer{}}
}

// reset forgets every remembered key.
func (m *txKeys) reset() {
	if m != nil {
		clear(m.orgs)
		clear(m.data)
	}
}

// forgetKeys drops the keys remembered by t's transaction; every function
// that writes the keys or patient_keys tables calls it.
func (t *Tx) forgetKeys() { t.memo.reset() }

// sealerFor is DB.sealerFor inside the transaction, remembered for the
// rest of it.
func (t *Tx) sealerFor(orgID, patientID string) (sealer, error) {
	if t.db.plaintext {
		return plainSealer{}, nil
	}
	if patientID == "" {
		return t.orgKey(orgID)
	}
	id := [2]string{orgID, patientID}
	if t.memo != nil {
		if k, ok := t.memo.data[id]; ok {
			return k, nil
		}
	}
	ok, err := t.orgKey(orgID)
	if err != nil {
		return nil, err
	}
	k, err := t.db.dataKey(t.ctx, txq{t}, ok, orgID, patientID)
	if err == nil && t.memo != nil {
		t.memo.data[id] = k
	}
	return k, err
}
