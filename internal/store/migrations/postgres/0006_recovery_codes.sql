-- +goose Up
-- Single-use recovery codes standing in for the TOTP code, stored as
-- SHA-256 hashes of the normalized code.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    hash    TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);

-- +goose Down
DROP TABLE recovery_codes;
