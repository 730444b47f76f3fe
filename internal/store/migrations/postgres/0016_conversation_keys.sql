-- +goose Up
-- A client-supplied key that makes creating a conversation idempotent per
-- author: a retried or double-submitted request finds the conversation the
-- first one created instead of opening a second.
ALTER TABLE conversations ADD COLUMN create_key TEXT;
CREATE UNIQUE INDEX conversations_create_key ON conversations(created_by, create_key) WHERE create_key IS NOT NULL;

-- +goose Down
DROP INDEX conversations_create_key;
ALTER TABLE conversations DROP COLUMN create_key;
