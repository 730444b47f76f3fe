-- +goose Up
-- Drop the unique index on audit ids: ids are random UUIDv7s, never looked
-- up, and the hash chain, not a constraint, is what detects an inserted or
-- duplicated entry. One index fewer to maintain per entry.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_key;

-- +goose Down
ALTER TABLE audit_events ADD CONSTRAINT audit_events_id_key UNIQUE (id);
