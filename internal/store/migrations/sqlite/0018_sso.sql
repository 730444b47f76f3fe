-- +goose Up
-- An organization's OpenID Connect single sign-on for staff: the identity
-- provider (issuer), the client sotto is registered as there, and the
-- client secret sealed under the organization's key (associated data
-- org_sso / client_secret / org id). sign_in_name is what staff type on
-- the sign-in page to reach their organization's provider; unique across
-- the deployment. trust_idp_mfa: the provider's sign-in satisfies sotto's
-- second-factor requirement (otherwise sotto asks for its own code too).
-- No row: no single sign-on.
CREATE TABLE org_sso (
    org_id            TEXT PRIMARY KEY REFERENCES orgs(id),
    sign_in_name      TEXT NOT NULL UNIQUE,
    issuer            TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    client_secret_enc BLOB NOT NULL,
    trust_idp_mfa     INTEGER NOT NULL DEFAULT 0,
    enabled           INTEGER NOT NULL DEFAULT 1,
    updated_at        INTEGER NOT NULL,
    updated_by        TEXT NOT NULL
);

-- +goose Down
DROP TABLE org_sso;
