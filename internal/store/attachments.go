package store

import (
	"context"
	"database/sql"

	"sotto"
)

// InsertAttachment seals a's name and the (already cleaned) bytes data
// under the patient's data key and stores them, unlinked until a message
// claims them. The caller has sniffed a.ContentType and decided access.
// Errors: KindNotFound (unknown or erased patient), KindInternal.
func (t *Tx) InsertAttachment(a *sotto.Attachment, data []byte) error {
	const op = "store.InsertAttachment"
	if a.PatientID != "" {
		var n int
		if !ValidID(a.PatientID) || t.QueryRow(`SELECT COUNT(*) FROM patients WHERE id = $1 AND org_id = $2`, a.PatientID, a.OrgID).Scan(&n) != nil || n == 0 {
			return sotto.Errorf(sotto.KindNotFound, "Patient not found.")
		}
	}
	k, err := t.sealerFor(a.OrgID, a.PatientID)
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt, a.Size = NewID(), t.Now(), int64(len(data))
	name, err := seal(k, op, []byte(a.Name), "attachments", "name", a.ID)
	if err != nil {
		return err
	}
	body, err := seal(k, op, data, "attachments", "data", a.ID)
	if err != nil {
		return err
	}
	_, err = t.Exec(`INSERT INTO attachments (id, org_id, patient_id, uploader_id, content_type, size, name_enc, data_enc, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.OrgID, nullable(a.PatientID), a.UploaderID, a.ContentType, a.Size, name, body, micros(a.CreatedAt))
	return insertErr(err, op, "attachment")
}

// Attachment reads attachment id of orgID; with data set it also decrypts
// the bytes. Errors: KindNotFound (code "shredded" when erased),
// KindInternal.
func (db *DB) Attachment(ctx context.Context, orgID, id string, data bool) (*sotto.Attachment, []byte, error) {
	const op = "store.Attachment"
	if !ValidID(id) {
		return nil, nil, sotto.Errorf(sotto.KindNotFound, "Attachment not found.")
	}
	var a sotto.Attachment
	var patient, msg sql.NullString
	var name, body []byte
	var created int64
	cols := `id, org_id, patient_id, uploader_id, message_id, content_type, size, name_enc, created_at, NULL`
	if data {
		cols = `id, org_id, patient_id, uploader_id, message_id, content_type, size, name_enc, created_at, data_enc`
	}
	err := db.r.QueryRowContext(ctx, `SELECT `+cols+` FROM attachments WHERE id = $1 AND org_id = $2`, id, orgID).
		Scan(&a.ID, &a.OrgID, &patient, &a.UploaderID, &msg, &a.ContentType, &a.Size, &name, &created, &body)
	if err != nil {
		return nil, nil, notFound(err, op, "Attachment not found.")
	}
	a.PatientID, a.MessageID, a.CreatedAt = patient.String, msg.String, fromMicros(created)
	k, err := db.sealerFor(ctx, db.r, orgID, a.PatientID)
	if err != nil {
		return nil, nil, err
	}
	n, err := open(k, op, name, "attachments", "name", a.ID)
	if err != nil {
		return nil, nil, err
	}
	a.Name = string(n)
	if !data {
		return &a, nil, nil
	}
	pt, err := open(k, op, body, "attachments", "data", a.ID)
	if err != nil {
		return nil, nil, err
	}
	return &a, pt, nil
}
