package store

import (
	"encoding/json"

	"sotto"
)

// SetPatientLanguage changes the language patient patientID of orgID reads
// sotto in ("en" or "es"): pages, notifications. The demographics are
// opened, changed and sealed again under the patient's data key. The caller
// audits the change in the same transaction. Errors: KindInvalid (a
// language sotto does not ship), KindNotFound (unknown patient, another
// org's, or erased), KindInternal.
func (t *Tx) SetPatientLanguage(orgID, patientID, lang string) error {
	const op = "store.SetPatientLanguage"
	if !sotto.ValidLanguage(lang) {
		return sotto.Errorf(sotto.KindInvalid, "language must be one of en, es.")
	}
	if !ValidID(patientID) {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	var enc []byte
	err := t.QueryRow(`SELECT demographics_enc FROM patients WHERE id = $1 AND org_id = $2`, patientID, orgID).Scan(&enc)
	if err != nil {
		return notFound(err, op, "Patient not found.")
	}
	k, err := t.sealerFor(orgID, patientID)
	if err != nil {
		return err
	}
	doc, err := open(k, op, enc, "patients", "demographics", patientID)
	if err != nil {
		return err
	}
	var d patientDoc
	err = json.Unmarshal(doc, &d)
	clear(doc)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	d.Language = lang
	doc, _ = json.Marshal(d)
	enc, err = seal(k, op, doc, "patients", "demographics", patientID)
	clear(doc)
	if err != nil {
		return err
	}
	if _, err := t.Exec(`UPDATE patients SET demographics_enc = $1, updated_at = $2 WHERE id = $3 AND org_id = $4`,
		enc, micros(t.Now()), patientID, orgID); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	return nil
}
