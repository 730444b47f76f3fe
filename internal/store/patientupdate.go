package store

import (
	"encoding/json"

	"sotto"
)

// UpdatePatient replaces the demographics, contact points, care team and
// departments of patient p.ID of p.OrgID with p's (the caller merged a
// change into the stored record): it normalizes and validates p, seals the
// demographics again under the patient's own data key, recomputes the
// blind indexes (MRN, birth date, phone, e-mail, name words) and rewrites
// the care team. The portal account link and creation time are kept. The
// caller audits the change in the same Write. Errors: KindInvalid,
// KindConflict (mrn_taken), KindNotFound (unknown, another org's or erased
// patient), KindInternal. Messages never repeat the values.
func (t *Tx) UpdatePatient(p *sotto.Patient) error {
	const op = "store.UpdatePatient"
	if !ValidID(p.ID) {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	p.Normalize()
	if err := p.Validate(t.Now()); err != nil {
		return err
	}
	var n int
	if err := t.QueryRow(`SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, p.ID, p.OrgID).Scan(&n); err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	if n == 0 {
		return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	ok, err := t.orgKey(p.OrgID)
	if err != nil {
		return err
	}
	k, err := t.sealerFor(p.OrgID, p.ID)
	if err != nil {
		return err
	}
	doc, _ := json.Marshal(patientDoc{p.GivenName, p.FamilyName, p.BirthDate, p.Sex, p.MRN, p.Phone, p.Email, p.Language, p.TimeZone})
	enc, err := seal(k, op, doc, "patients", "demographics", p.ID)
	clear(doc)
	if err != nil {
		return err
	}
	var phoneIdx, emailIdx []byte
	if p.Phone != "" {
		phoneIdx = ok.BlindIndex("phone", p.Phone)
	}
	if p.Email != "" {
		emailIdx = ok.BlindIndex("email", p.Email)
	}
	_, err = t.Exec(`UPDATE patients SET demographics_enc = $1, mrn_idx = $2, birth_idx = $3, phone_idx = $4, email_idx = $5, updated_at = $6
		WHERE id = $7 AND org_id = $8`,
		enc, ok.BlindIndex("mrn", p.MRN), ok.BlindIndex("birth", p.BirthDate), phoneIdx, emailIdx, micros(t.Now()), p.ID, p.OrgID)
	if isUniqueViolation(err) {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "mrn_taken", Op: op, Msg: "A patient with this medical record number already exists.", Err: err}
	}
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	for _, q := range []string{`DELETE FROM patient_search WHERE patient_id = $1`, `DELETE FROM patient_care_team WHERE patient_id = $1`,
		`DELETE FROM patient_departments WHERE patient_id = $1`} {
		if _, err := t.Exec(q, p.ID); err != nil {
			return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
		}
	}
	for _, tok := range nameSearchTokens(p.GivenName + " " + p.FamilyName) {
		if _, err := t.Exec(`INSERT INTO patient_search (org_id, token, patient_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			p.OrgID, ok.BlindIndex("name", tok), p.ID); err != nil {
			return insertErr(err, op, "patient search token")
		}
	}
	return t.setCareTeam(p)
}
