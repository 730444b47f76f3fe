-- +goose Up
-- The per-patient index of the audit trail, kept apart from audit_events
-- and filled in bulk: every append adds its entries to the chain at once,
-- and once AT LEAST audit.indexEvery entries are not yet indexed, the
-- append that notices copies them into this index, sorted by patient, in
-- the same transaction. A patient's entries are scattered through the
-- chain, so indexing each one as it was appended rewrote one index page
-- per patient per commit; in bulk, a page takes many entries at once.
-- audit_heads.indexed_seq is how far the index reaches; queries read the
-- index up to it and the chain itself beyond it (a few hundred entries at
-- most), so answers are always complete. Append-only like the chain, and
-- checked against it by `sotto audit verify`.
CREATE TABLE audit_patient_index (
    org_id     TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (org_id, patient_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_patient_index (org_id, patient_id, seq)
    SELECT org_id, patient_id, seq FROM audit_events WHERE patient_id <> '' ORDER BY org_id, patient_id, seq;
ALTER TABLE audit_heads ADD COLUMN indexed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE audit_heads SET indexed_seq = seq;
DROP INDEX audit_events_patient;
-- +goose StatementBegin
CREATE TRIGGER audit_patient_index_no_update BEFORE UPDATE ON audit_patient_index
BEGIN
    SELECT RAISE(ABORT, 'audit_patient_index is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_patient_index_no_delete BEFORE DELETE ON audit_patient_index
BEGIN
    SELECT RAISE(ABORT, 'audit_patient_index is append-only');
END;
-- +goose StatementEnd

-- +goose Down
CREATE INDEX audit_events_patient ON audit_events(org_id, patient_id, seq);
DROP TABLE audit_patient_index;
ALTER TABLE audit_heads DROP COLUMN indexed_seq;
