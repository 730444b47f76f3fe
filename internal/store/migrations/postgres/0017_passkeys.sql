-- +goose Up
-- Staff passkeys (WebAuthn credentials): a second factor after the
-- password, or passwordless sign-in with a discoverable credential. The
-- public key is not secret; the name the user gave is sealed with the
-- org key like other staff details. sign_count detects cloned
-- authenticators; the backup flags are checked at every sign-in.
CREATE TABLE passkeys (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    credential_id    BYTEA NOT NULL UNIQUE,
    public_key       BYTEA NOT NULL,
    attestation_type TEXT NOT NULL DEFAULT '',
    aaguid           BYTEA,
    sign_count       BIGINT NOT NULL DEFAULT 0,
    backup_eligible  BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state     BOOLEAN NOT NULL DEFAULT FALSE,
    transports       TEXT NOT NULL DEFAULT '',
    name_enc         BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id, created_at);

-- +goose Down
DROP TABLE passkeys;
