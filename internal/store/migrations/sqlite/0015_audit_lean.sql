-- +goose Up
-- The audit table, leaner to append to: clustered on its primary key
-- (WITHOUT ROWID: one b-tree fewer per entry) and without the unique index
-- on id (ids are random UUIDv7s, never looked up; the hash chain, not a
-- constraint, is what detects an inserted or duplicated entry). Same
-- columns, secondary indexes and append-only triggers.
CREATE TABLE audit_events_v2 (
    org_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    patient_id  TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    source_ip   TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_events_v2 SELECT org_id, seq, id, at, actor_id, actor_role, action, target_type, target_id,
    patient_id, outcome, source_ip, user_agent, request_id, prev_hash, hash FROM audit_events ORDER BY org_id, seq;
DROP TRIGGER audit_events_no_update;
DROP TRIGGER audit_events_no_delete;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
CREATE INDEX audit_events_patient ON audit_events(org_id, patient_id, seq);
CREATE INDEX audit_events_actor ON audit_events(org_id, actor_id, seq);
CREATE INDEX audit_events_action ON audit_events(org_id, action, seq);
CREATE INDEX audit_events_at ON audit_events(org_id, at);
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
CREATE UNIQUE INDEX audit_events_id ON audit_events(id);
