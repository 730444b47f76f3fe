-- +goose Up
-- The SIEM forwarder's position in each organization's audit trail: the
-- last audit seq it sent to the collector (see audit.Forwarder). No foreign
-- key, like the audit tables (the system org has no orgs row). Forwarding
-- writes nothing else; audit_events stays append-only. Times are Unix
-- microseconds.
CREATE TABLE audit_forward (
    org_id     TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE audit_forward;
