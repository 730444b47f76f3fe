-- +goose Up
-- Patients, conversations, messages, attachments, receipts and the event
-- log. Every column holding PHI ends in _enc (sealed under the patient's
-- data key, associated data naming table, column and row) or _idx (a keyed
-- blind index under the org key). Times are Unix microseconds.

-- A patient's demographics and contact points, one sealed JSON document.
CREATE TABLE patients (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    user_id          TEXT UNIQUE REFERENCES users(id),
    demographics_enc BLOB NOT NULL,
    mrn_idx          BLOB NOT NULL,
    birth_idx        BLOB NOT NULL,
    phone_idx        BLOB,
    email_idx        BLOB,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (org_id, mrn_idx)
);
CREATE INDEX patients_phone ON patients(org_id, phone_idx);
CREATE INDEX patients_email ON patients(org_id, email_idx);
CREATE INDEX patients_birth ON patients(org_id, birth_idx);

-- Each patient's data key, wrapped by the org key. Deleting the row
-- crypto-shreds the patient: everything sealed under it is unreadable.
CREATE TABLE patient_keys (
    patient_id TEXT PRIMARY KEY REFERENCES patients(id),
    org_id     TEXT NOT NULL,
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Name search: blind indexes of name words and their prefixes.
CREATE TABLE patient_search (
    org_id     TEXT NOT NULL,
    token      BLOB NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    PRIMARY KEY (org_id, token, patient_id)
);
CREATE INDEX patient_search_patient ON patient_search(patient_id);

CREATE TABLE patient_care_team (
    patient_id TEXT NOT NULL REFERENCES patients(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (patient_id, user_id)
);
CREATE INDEX patient_care_team_user ON patient_care_team(user_id);

CREATE TABLE patient_departments (
    patient_id    TEXT NOT NULL REFERENCES patients(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    PRIMARY KEY (patient_id, department_id)
);
CREATE INDEX patient_departments_department ON patient_departments(department_id);

-- Proxies: users (role proxy) who act for a patient.
CREATE TABLE patient_proxies (
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    relationship TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (patient_id, user_id)
);
CREATE INDEX patient_proxies_user ON patient_proxies(user_id);

-- Break-glass grants: time-limited access to a patient outside one's scope.
CREATE TABLE break_glass (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    reason_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX break_glass_user ON break_glass(user_id, expires_at);
CREATE INDEX break_glass_org ON break_glass(org_id, created_at);

-- Each org's permission matrix when it differs from the default (JSON).
CREATE TABLE permission_sets (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id),
    matrix     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    patient_id       TEXT REFERENCES patients(id),
    department_id    TEXT REFERENCES departments(id),
    category         TEXT NOT NULL,
    status           TEXT NOT NULL,
    assignee_id      TEXT REFERENCES users(id),
    created_by       TEXT NOT NULL REFERENCES users(id),
    subject_enc      BLOB NOT NULL,
    details_enc      BLOB,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_department ON conversations(org_id, department_id, last_seq);
CREATE INDEX conversations_assignee ON conversations(org_id, assignee_id, last_seq);
CREATE INDEX conversations_patient ON conversations(org_id, patient_id, last_seq);
CREATE INDEX conversations_org ON conversations(org_id, last_seq);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    patient_id      TEXT REFERENCES patients(id),
    sender_id       TEXT NOT NULL REFERENCES users(id),
    sender_role     TEXT NOT NULL,
    on_behalf_of    TEXT REFERENCES patients(id),
    internal        INTEGER NOT NULL DEFAULT 0,
    body_enc        BLOB NOT NULL,
    corrects_id     TEXT REFERENCES messages(id),
    retracted_at    INTEGER,
    idempotency_key TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (sender_id, idempotency_key)
);
CREATE INDEX messages_conversation ON messages(conversation_id, seq);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    patient_id   TEXT REFERENCES patients(id),
    uploader_id  TEXT NOT NULL REFERENCES users(id),
    message_id   TEXT REFERENCES messages(id),
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    name_enc     BLOB NOT NULL,
    data_enc     BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- Receipts: when a message reached, and was opened by, each recipient.
CREATE TABLE receipts (
    message_id   TEXT NOT NULL REFERENCES messages(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    delivered_at INTEGER,
    read_at      INTEGER,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX receipts_user ON receipts(user_id);

-- The ordered event log behind live updates: ids and kinds only, no PHI.
-- seq is the resume cursor: one writer appends, so seq order is commit order.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    patient_id      TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    department_id   TEXT NOT NULL DEFAULT '',
    assignee_id     TEXT NOT NULL DEFAULT '',
    category        TEXT NOT NULL DEFAULT '',
    internal        INTEGER NOT NULL DEFAULT 0,
    message_id      TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_org ON events(org_id, seq);

-- +goose Down
DROP TABLE events;
DROP TABLE receipts;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE permission_sets;
DROP TABLE break_glass;
DROP TABLE patient_proxies;
DROP TABLE patient_departments;
DROP TABLE patient_care_team;
DROP TABLE patient_search;
DROP TABLE patient_keys;
DROP TABLE patients;
