-- +goose Up
-- An organization's automatic logoff: how long a staff or patient session
-- may sit idle. No row: the defaults (15 and 30 minutes).
CREATE TABLE org_session_policy (
    org_id               TEXT PRIMARY KEY REFERENCES orgs(id),
    staff_idle_seconds   INTEGER NOT NULL,
    patient_idle_seconds INTEGER NOT NULL,
    updated_at           BIGINT NOT NULL,
    updated_by           TEXT NOT NULL
);

-- +goose Down
DROP TABLE org_session_policy;
