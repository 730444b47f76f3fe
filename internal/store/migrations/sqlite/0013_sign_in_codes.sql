-- +goose Up
-- One-time sign-in codes for patients and proxies (passwordless sign-in):
-- a keyed hash of the code (the org's PRF, so a copy of the database
-- cannot be searched for it), single use, short-lived, a bounded number
-- of wrong tries. The code itself travels only sealed on its notification.
CREATE TABLE sign_in_codes (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    code_hash  BLOB NOT NULL,
    channel    TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX sign_in_codes_user ON sign_in_codes(user_id, created_at);

-- +goose Down
DROP TABLE sign_in_codes;
