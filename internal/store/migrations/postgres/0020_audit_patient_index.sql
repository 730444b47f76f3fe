-- +goose Up
-- The per-patient index of the audit trail, kept apart from audit_events
-- and filled in bulk (see the SQLite migration of the same number for the
-- reasoning). audit_heads.indexed_seq is how far the index reaches.
CREATE TABLE audit_patient_index (
    org_id     TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (org_id, patient_id, seq)
);
INSERT INTO audit_patient_index (org_id, patient_id, seq)
    SELECT org_id, patient_id, seq FROM audit_events WHERE patient_id <> '';
ALTER TABLE audit_heads ADD COLUMN indexed_seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_heads SET indexed_seq = seq;
DROP INDEX audit_events_patient;
-- +goose StatementBegin
CREATE FUNCTION audit_patient_index_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_patient_index is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_patient_index_no_update BEFORE UPDATE ON audit_patient_index
    FOR EACH ROW EXECUTE FUNCTION audit_patient_index_append_only();
CREATE TRIGGER audit_patient_index_no_delete BEFORE DELETE ON audit_patient_index
    FOR EACH ROW EXECUTE FUNCTION audit_patient_index_append_only();

-- +goose Down
CREATE INDEX audit_events_patient ON audit_events(org_id, patient_id, seq);
DROP TABLE audit_patient_index;
DROP FUNCTION audit_patient_index_append_only();
ALTER TABLE audit_heads DROP COLUMN indexed_seq;
