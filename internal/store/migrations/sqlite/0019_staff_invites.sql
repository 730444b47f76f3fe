-- +goose Up
-- Staff account invitations: an administrator creates a staff account
-- without a password and sotto e-mails the person a single-use link to
-- choose one. Only the link token's hash is stored; a newer invitation of
-- the same account revokes the older ones.
CREATE TABLE staff_invites (
    hash       BLOB PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX staff_invites_user ON staff_invites(user_id);
CREATE INDEX staff_invites_org ON staff_invites(org_id);

-- +goose Down
DROP TABLE staff_invites;
