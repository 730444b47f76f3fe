-- +goose Up
-- Notifications: one row per recipient and channel, ids and statuses only.
-- The destination is decrypted from the recipient's record when it is
-- sent; the text comes from a PHI-free template. Times are Unix microseconds.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    patient_id      TEXT,
    conversation_id TEXT,
    message_id      TEXT,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    urgent          BOOLEAN NOT NULL DEFAULT FALSE,
    provider_id     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT NOT NULL DEFAULT '',
    held_until      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    delivered_at    BIGINT
);
CREATE INDEX notifications_status ON notifications(org_id, status, updated_at);
CREATE INDEX notifications_message ON notifications(message_id);
CREATE UNIQUE INDEX notifications_provider ON notifications(channel, provider_id);

-- Notification preferences and SMS consent, per user. No row: defaults
-- (e-mail and push yes, SMS no).
CREATE TABLE notify_prefs (
    user_id            TEXT PRIMARY KEY REFERENCES users(id),
    org_id             TEXT NOT NULL REFERENCES orgs(id),
    sms                BOOLEAN NOT NULL,
    email              BOOLEAN NOT NULL,
    push               BOOLEAN NOT NULL,
    sms_consent_at     BIGINT,
    sms_consent_source TEXT NOT NULL DEFAULT '',
    updated_at         BIGINT NOT NULL
);

-- SMS opt-outs (STOP and its synonyms), by the org's blind index of the
-- phone number: checked before every text message is sent.
CREATE TABLE sms_opt_outs (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    phone_idx  BYTEA NOT NULL,
    opted_out  BOOLEAN NOT NULL,
    keyword    TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, phone_idx)
);

-- Web Push subscriptions of patients' and staff's browsers. The endpoint
-- and keys are sealed with the org key; endpoint_idx finds duplicates.
CREATE TABLE push_subscriptions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    endpoint_idx     BYTEA NOT NULL,
    subscription_enc BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (org_id, endpoint_idx)
);
CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);

-- +goose Down
DROP TABLE push_subscriptions;
DROP TABLE sms_opt_outs;
DROP TABLE notify_prefs;
DROP TABLE notifications;
