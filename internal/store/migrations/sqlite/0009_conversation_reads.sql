-- +goose Up
-- Staff read state: how far each staff member has read each conversation,
-- as the conversation's last_seq when they last opened it. A conversation
-- is unread for a user while it is not closed and its last_seq is above
-- the user's read_seq (or the user has no row). Ids and numbers only.
CREATE TABLE conversation_reads (
    user_id         TEXT NOT NULL REFERENCES users(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    read_seq        INTEGER NOT NULL,
    read_at         INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX conversation_reads_conversation ON conversation_reads(conversation_id);

-- Unread counts look only at conversations that are not closed, queue by
-- queue: these partial indexes hold exactly those rows, so a count reads
-- the open part of one queue (not the org's whole history).
CREATE INDEX conversations_open_department ON conversations(org_id, department_id, last_seq) WHERE status <> 'closed';
CREATE INDEX conversations_open_assignee ON conversations(org_id, assignee_id, last_seq) WHERE status <> 'closed';
CREATE INDEX conversations_open_category ON conversations(org_id, category, last_seq) WHERE status <> 'closed';

-- +goose Down
DROP INDEX conversations_open_category;
DROP INDEX conversations_open_assignee;
DROP INDEX conversations_open_department;
DROP TABLE conversation_reads;
