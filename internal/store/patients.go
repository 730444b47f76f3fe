package store

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sotto"
	"sotto/internal/crypt"
)

// patientDoc is the sealed form of a patient's demographics.
type patientDoc struct {
	GivenName  string    `json:"g"`
	FamilyName string    `json:"f"`
	BirthDate  string    `json:"b"`
	Sex        sotto.Sex `json:"s"`
	MRN        string    `json:"m"`
	Phone      string    `json:"p,omitempty"`
	Email      string    `json:"e,omitempty"`
	Language   string    `json:"l"`
	TimeZone   string    `json:"z"`
}

// InsertPatient normalizes and validates p, creates the patient's data key
// (wrapped by the org key), seals the demographics under it, writes the
// blind indexes (MRN, birth date, phone, e-mail, name words) and the care
// team. Errors: KindInvalid (bad field, unknown care-team member or
// department), KindConflict (the MRN is taken in this org), KindNotFound
// (unknown org), KindInternal. Messages never repeat the values.
func (t *Tx) InsertPatient(p *sotto.Patient) error {
	const op = "store.InsertPatient"
	p.Normalize()
	if err := p.Validate(t.Now()); err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = NewID()
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = t.Now()
	}
	ok, err := t.orgKey(p.OrgID)
	if err != nil {
		return err
	}
	wrapped, err := ok.NewDataKey(p.ID)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	dk, err := t.db.keys.Data(ok, p.ID, wrapped)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	doc, _ := json.Marshal(patientDoc{p.GivenName, p.FamilyName, p.BirthDate, p.Sex, p.MRN, p.Phone, p.Email, p.Language, p.TimeZone})
	enc, err := seal(dk, op, doc, "patients", "demographics", p.ID)
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
	var userID any
	if p.UserID != "" {
		userID = p.UserID
	}
	now := micros(t.Now())
	_, err = t.Exec(`INSERT INTO patients (id, org_id, user_id, demographics_enc, mrn_idx, birth_idx, phone_idx, email_idx, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.ID, p.OrgID, userID, enc, ok.BlindIndex("mrn", p.MRN), ok.BlindIndex("birth", p.BirthDate), phoneIdx, emailIdx, micros(p.CreatedAt), now)
	if isUniqueViolation(err) && strings.Contains(err.Error(), "user_id") {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "already_registered", Op: op, Msg: "This portal account already belongs to a patient.", Err: err}
	}
	if isUniqueViolation(err) {
		return &sotto.Error{Kind: sotto.KindConflict, Code: "mrn_taken", Op: op, Msg: "A patient with this medical record number already exists.", Err: err}
	}
	if err := insertErr(err, op, "patient"); err != nil {
		return err
	}
	if _, err := t.Exec(`INSERT INTO patient_keys (patient_id, org_id, wrapped, created_at) VALUES ($1, $2, $3, $4)`, p.ID, p.OrgID, wrapped, now); err != nil {
		return insertErr(err, op, "patient key")
	}
	for _, tok := range nameSearchTokens(p.GivenName + " " + p.FamilyName) {
		if _, err := t.Exec(`INSERT INTO patient_search (org_id, token, patient_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			p.OrgID, ok.BlindIndex("name", tok), p.ID); err != nil {
			return insertErr(err, op, "patient search token")
		}
	}
	return t.setCareTeam(p)
}

// setCareTeam writes p's care team and departments after checking that
// each id is a staff member or department of p's org.
func (t *Tx) setCareTeam(p *sotto.Patient) error {
	const op = "store.setCareTeam"
	p.CareTeamUserIDs = dedupe(p.CareTeamUserIDs)
	p.DepartmentIDs = dedupe(p.DepartmentIDs)
	for _, id := range p.CareTeamUserIDs {
		var role string
		err := t.QueryRow(`SELECT role FROM users WHERE id = $1 AND org_id = $2`, id, p.OrgID).Scan(&role)
		if !ValidID(id) || err != nil || !sotto.Role(role).IsStaff() {
			return sotto.Errorf(sotto.KindInvalid, "care_team_user_ids must list staff members of this organization.")
		}
		if _, err := t.Exec(`INSERT INTO patient_care_team (patient_id, user_id) VALUES ($1, $2)`, p.ID, id); err != nil {
			return insertErr(err, op, "care team member")
		}
	}
	for _, id := range p.DepartmentIDs {
		var n int
		if !ValidID(id) || t.QueryRow(`SELECT COUNT(*) FROM departments WHERE id = $1 AND org_id = $2`, id, p.OrgID).Scan(&n) != nil || n == 0 {
			return sotto.Errorf(sotto.KindInvalid, "department_ids must list departments of this organization.")
		}
		if _, err := t.Exec(`INSERT INTO patient_departments (patient_id, department_id) VALUES ($1, $2)`, p.ID, id); err != nil {
			return insertErr(err, op, "patient department")
		}
	}
	return nil
}

// dedupe returns ids without repeats, in first-seen order.
func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// maxNameTokenPrefix bounds the prefixes indexed per name word.
const maxNameTokenPrefix = 12

// nameSearchTokens returns every prefix (two characters or more, up to
// maxNameTokenPrefix) of every word of name, so that "mar" finds "Maria".
func nameSearchTokens(name string) []string {
	var out []string
	for _, w := range sotto.SearchTokens(name) {
		rs := []rune(w)
		for n := 2; n <= len(rs) && n <= maxNameTokenPrefix; n++ {
			tok := string(rs[:n])
			if !slices.Contains(out, tok) {
				out = append(out, tok)
			}
		}
	}
	return out
}

// Patient reads and decrypts one patient of orgID. Another org's patient
// is not found. Errors: KindNotFound (code "shredded" when erased),
// KindInternal.
func (db *DB) Patient(ctx context.Context, orgID, id string) (*sotto.Patient, error) {
	return db.patient(ctx, db.r, orgID, id)
}

func (db *DB) patient(ctx context.Context, q querier, orgID, id string) (*sotto.Patient, error) {
	const op = "store.Patient"
	if !ValidID(id) {
		return nil, sotto.Errorf(sotto.KindNotFound, "Patient not found.")
	}
	var p sotto.Patient
	var enc []byte
	var userID *string
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, org_id, user_id, demographics_enc, created_at FROM patients WHERE id = $1 AND org_id = $2`, id, orgID).
		Scan(&p.ID, &p.OrgID, &userID, &enc, &created)
	if err != nil {
		return nil, notFound(err, op, "Patient not found.")
	}
	if userID != nil {
		p.UserID = *userID
	}
	p.CreatedAt = fromMicros(created)
	k, err := db.sealerFor(ctx, q, orgID, id)
	if err != nil {
		return nil, err
	}
	doc, err := open(k, op, enc, "patients", "demographics", id)
	if err != nil {
		return nil, err
	}
	var d patientDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: op, Err: err}
	}
	clear(doc)
	p.GivenName, p.FamilyName, p.BirthDate, p.Sex, p.MRN = d.GivenName, d.FamilyName, d.BirthDate, d.Sex, d.MRN
	p.Phone, p.Email, p.Language, p.TimeZone = d.Phone, d.Email, d.Language, d.TimeZone
	scope, err := db.patientScope(ctx, q, id)
	if err != nil {
		return nil, err
	}
	p.CareTeamUserIDs, p.DepartmentIDs = scope.CareTeam, scope.Departments
	return &p, nil
}

// PatientScope is who reaches a patient without break-glass: the care
// team's staff and departments. It holds no PHI.
type PatientScope struct {
	CareTeam    []string
	Departments []string
}

// PatientScope reads the care team of patient id (no decryption). Errors:
// KindInternal.
func (db *DB) PatientScope(ctx context.Context, id string) (PatientScope, error) {
	return db.patientScope(ctx, db.r, id)
}

func (db *DB) patientScope(ctx context.Context, q querier, id string) (PatientScope, error) {
	s := PatientScope{CareTeam: []string{}, Departments: []string{}}
	var err error
	if s.CareTeam, err = stringsQuery(ctx, q, `SELECT user_id FROM patient_care_team WHERE patient_id = $1 ORDER BY user_id`, id); err != nil {
		return s, err
	}
	s.Departments, err = stringsQuery(ctx, q, `SELECT department_id FROM patient_departments WHERE patient_id = $1 ORDER BY department_id`, id)
	return s, err
}

// stringsQuery runs a one-column query and collects the strings.
func stringsQuery(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.stringsQuery", Err: err}
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.stringsQuery", Err: err}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, &sotto.Error{Kind: sotto.KindInternal, Op: "store.stringsQuery", Err: err}
	}
	return out, nil
}

// MaxPatientQueryLen bounds a patient search query.
const MaxPatientQueryLen = 200

// FindPatients searches orgID's patients without any plaintext in the
// database: query is tried as an MRN, a phone number, an e-mail address and
// a birth date (exact, through blind indexes) and as name words (each word
// matching the start of a given or family name). At most limit patients
// are returned, decrypted, newest first. Shredded patients are never
// found. Errors: KindInvalid (query empty or too long), KindInternal.
func (db *DB) FindPatients(ctx context.Context, orgID, query string, limit int) ([]*sotto.Patient, error) {
	query = strings.TrimSpace(query)
	if query == "" || !utf8.ValidString(query) || len(query) > MaxPatientQueryLen {
		return nil, sotto.Errorf(sotto.KindInvalid, "query must be 1 to %d characters of text.", MaxPatientQueryLen)
	}
	ok, err := db.OrgKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	ids, err := db.findPatientIDs(ctx, ok, orgID, query, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*sotto.Patient, 0, len(ids))
	for _, id := range ids {
		p, err := db.Patient(ctx, orgID, id)
		if sotto.ErrorKind(err) == sotto.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// findPatientIDs resolves a search query to patient ids through the blind
// indexes.
func (db *DB) findPatientIDs(ctx context.Context, ok *crypt.OrgKey, orgID, query string, limit int) ([]string, error) {
	var exact [][2]any // column, index value
	exact = append(exact, [2]any{"mrn_idx", ok.BlindIndex("mrn", sotto.NormalizeMRN(query))})
	if ph, err := sotto.NormalizePhone(query); err == nil {
		exact = append(exact, [2]any{"phone_idx", ok.BlindIndex("phone", ph)})
	}
	if e := sotto.NormalizeEmail(query); strings.Contains(e, "@") {
		exact = append(exact, [2]any{"email_idx", ok.BlindIndex("email", e)})
	}
	if len(query) == 10 && query[4] == '-' && query[7] == '-' {
		exact = append(exact, [2]any{"birth_idx", ok.BlindIndex("birth", query)})
	}
	var ids []string
	add := func(more []string) {
		for _, id := range more {
			if len(ids) < limit && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, e := range exact {
		more, err := stringsQuery(ctx, db.r, `SELECT p.id FROM patients p JOIN patient_keys k ON k.patient_id = p.id
			WHERE p.org_id = $1 AND p.`+e[0].(string)+` = $2 ORDER BY p.id DESC LIMIT $3`, orgID, e[1], limit)
		if err != nil {
			return nil, err
		}
		add(more)
	}
	var words []string
	for _, w := range sotto.SearchTokens(query) {
		if rs := []rune(w); len(rs) > maxNameTokenPrefix {
			w = string(rs[:maxNameTokenPrefix])
		}
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 || len(words) > 5 {
		return ids, nil
	}
	args := []any{orgID}
	var in []string
	for _, w := range words {
		args = append(args, ok.BlindIndex("name", w))
		in = append(in, placeholder(len(args)))
	}
	args = append(args, len(words), limit)
	more, err := stringsQuery(ctx, db.r, `SELECT patient_id FROM patient_search WHERE org_id = $1 AND token IN (`+strings.Join(in, ", ")+`)
		GROUP BY patient_id HAVING COUNT(*) = `+placeholder(len(args)-1)+` ORDER BY patient_id DESC LIMIT `+placeholder(len(args)), args...)
	if err != nil {
		return nil, err
	}
	add(more)
	return ids, nil
}

// placeholder returns the n-th positional parameter, "$n".
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// PatientExists reports whether patient id belongs to orgID (erased
// patients included). Errors: KindInternal.
func (db *DB) PatientExists(ctx context.Context, orgID, id string) (bool, error) {
	if !ValidID(id) {
		return false, nil
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&n); err != nil {
		return false, &sotto.Error{Kind: sotto.KindInternal, Op: "store.PatientExists", Err: err}
	}
	return n > 0, nil
}
