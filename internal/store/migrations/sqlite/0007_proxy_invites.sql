-- +goose Up
-- An invitation makes either the patient's own portal account or a proxy
-- account (a parent, a caregiver) that acts for the patient.
ALTER TABLE invites ADD COLUMN kind TEXT NOT NULL DEFAULT 'patient';
ALTER TABLE invites ADD COLUMN relationship TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE invites DROP COLUMN relationship;
ALTER TABLE invites DROP COLUMN kind;
