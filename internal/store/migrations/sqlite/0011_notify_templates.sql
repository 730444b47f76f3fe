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
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, lang)
);

-- Who is on call for urgent items, per organization: a staff member and
-- the number that reaches them now (sealed with the org key).
CREATE TABLE on_call (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    phone_enc  BLOB,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Invitations are notified before the patient has an account: the
-- recipient may be a patient without a user, so user_id becomes nullable
-- (SQLite rebuilds the table for that). payload_enc holds what a
-- notification must carry that no record holds (an invitation's link),
-- sealed with the org key; ids and statuses stay plaintext.
CREATE TABLE notifications_v2 (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    user_id         TEXT REFERENCES users(id),
    patient_id      TEXT,
    conversation_id TEXT,
    message_id      TEXT,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    urgent          INTEGER NOT NULL DEFAULT 0,
    provider_id     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT NOT NULL DEFAULT '',
    held_until      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    delivered_at    INTEGER,
    payload_enc     BLOB
);
INSERT INTO notifications_v2 (id, org_id, user_id, patient_id, conversation_id, message_id, kind, channel, status, urgent,
    provider_id, attempts, error_code, held_until, created_at, updated_at, sent_at, delivered_at)
    SELECT id, org_id, user_id, patient_id, conversation_id, message_id, kind, channel, status, urgent,
    provider_id, attempts, error_code, held_until, created_at, updated_at, sent_at, delivered_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v2 RENAME TO notifications;
CREATE INDEX notifications_status ON notifications(org_id, status, updated_at);
CREATE INDEX notifications_message ON notifications(message_id);
CREATE UNIQUE INDEX notifications_provider ON notifications(channel, provider_id);

-- +goose Down
DELETE FROM notifications WHERE user_id IS NULL;
DROP TABLE on_call;
DROP TABLE notify_templates;
