-- +goose Up
-- An organization's own notification templates, per kind and language;
-- without a row the shipped PHI-free default is used. Template text is
-- written by the practice and may use only its kind's fixed variables,
-- so it carries no patient data. Times are Unix microseconds.
CREATE TABLE notify_templates (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    kind       TEXT NOT NULL,
    lang       TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, lang)
);

-- Who is on call for urgent items, per organization: a staff member and
-- the number that reaches them now (sealed with the org key).
CREATE TABLE on_call (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    phone_enc  BYTEA,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Invitations are notified before the patient has an account: the
-- recipient may be a patient without a user. payload_enc holds what a
-- notification must carry that no record holds (an invitation's link),
-- sealed with the org key; ids and statuses stay plaintext.
ALTER TABLE notifications ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN payload_enc BYTEA;

-- +goose Down
ALTER TABLE notifications DROP COLUMN payload_enc;
DELETE FROM notifications WHERE user_id IS NULL;
ALTER TABLE notifications ALTER COLUMN user_id SET NOT NULL;
DROP TABLE on_call;
DROP TABLE notify_templates;
