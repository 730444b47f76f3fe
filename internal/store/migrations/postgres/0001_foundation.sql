-- +goose Up
-- Times are Unix microseconds (UTC); ids are UUIDv7 text.
CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX locations_org ON locations(org_id);

CREATE TABLE departments (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    location_id TEXT REFERENCES locations(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX departments_org ON departments(org_id);

-- Wrapped key material: the instance key and each organization's keyset,
-- wrapped by the master key. Never unwrapped on disk.
CREATE TABLE keys (
    id         TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Users: staff, patients and proxies. E-mail and name are encrypted; the
-- e-mail is found through a keyed blind index.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    role            TEXT NOT NULL,
    email_idx       BYTEA NOT NULL UNIQUE,
    email_enc       BYTEA NOT NULL,
    name_enc        BYTEA NOT NULL,
    password_hash   TEXT NOT NULL DEFAULT '',
    totp_secret_enc BYTEA,
    totp_enrolled   BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX users_org ON users(org_id, role);

CREATE TABLE department_members (
    department_id TEXT NOT NULL REFERENCES departments(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (department_id, user_id)
);
CREATE INDEX department_members_user ON department_members(user_id);

-- One-time first-run setup links; only the token's hash is stored.
CREATE TABLE setup_tokens (
    hash       BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE department_members;
DROP TABLE users;
DROP TABLE keys;
DROP TABLE departments;
DROP TABLE locations;
DROP TABLE orgs;
