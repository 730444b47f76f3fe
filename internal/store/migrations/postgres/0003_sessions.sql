-- +goose Up
-- Sign-in sessions. Only the SHA-256 hash of the bearer token is stored, so
-- a database leak yields no usable session. Times are Unix microseconds.
CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    org_id       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- +goose Down
DROP TABLE sessions;
