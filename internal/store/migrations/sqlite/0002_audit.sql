-- +goose Up
-- The audit trail (see internal/audit). No foreign keys: the trail must
-- outlive, and never block, the rows it speaks about. Empty strings, never
-- NULL, stand for absent values so that the hashed encoding is unambiguous.
CREATE TABLE audit_events (
    org_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
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
);
CREATE INDEX audit_events_patient ON audit_events(org_id, patient_id, seq);
CREATE INDEX audit_events_actor ON audit_events(org_id, actor_id, seq);
CREATE INDEX audit_events_action ON audit_events(org_id, action, seq);
CREATE INDEX audit_events_at ON audit_events(org_id, at);

-- Append-only: the application never updates or deletes an entry. (Anyone
-- able to drop these triggers can still tamper; the hash chain and signed
-- checkpoints are what detect it.)
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

-- The head of each org's chain: the last seq and hash, updated in the same
-- transaction as each append.
CREATE TABLE audit_heads (
    org_id TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   BLOB NOT NULL
);

-- Signed checkpoints: an org key's Ed25519 signature over a chain head.
CREATE TABLE audit_checkpoints (
    org_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    signed_at  INTEGER NOT NULL,
    signature  BLOB NOT NULL,
    public_key BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_heads;
DROP TABLE audit_events;
