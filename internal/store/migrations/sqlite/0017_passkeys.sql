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
    credential_id    BLOB NOT NULL UNIQUE,
    public_key       BLOB NOT NULL,
    attestation_type TEXT NOT NULL DEFAULT '',
    aaguid           BLOB,
    sign_count       INTEGER NOT NULL DEFAULT 0,
    backup_eligible  INTEGER NOT NULL DEFAULT 0,
    backup_state     INTEGER NOT NULL DEFAULT 0,
    transports       TEXT NOT NULL DEFAULT '',
    name_enc         BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
);
CREATE INDEX passkeys_user ON passkeys(user_id, created_at);

-- +goose Down
DROP TABLE passkeys;
