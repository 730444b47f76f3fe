-- +goose Up
-- Patient portal invitations: single use, expiring; only the token's hash
-- is stored. Wrong birth-date answers are counted; too many revoke it.
CREATE TABLE invites (
    hash       BYTEA PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invites_patient ON invites(patient_id);

-- +goose Down
DROP TABLE invites;
