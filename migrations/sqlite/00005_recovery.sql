-- +goose Up
-- Account recovery (package authn/recovery, issue 5).

-- Self-service recovery codes are an organisation's choice, off by default (PRODUCT.md journey 5).
ALTER TABLE organisations ADD COLUMN recovery_codes BOOLEAN NOT NULL DEFAULT FALSE;

-- The passkey a session signed in with ('' for other methods and older sessions), so that
-- "I lost this device" can end exactly the sessions that device's passkey started.
ALTER TABLE auth_sessions ADD COLUMN passkey_id TEXT NOT NULL DEFAULT '';

-- A user's single-use recovery codes: only a keyed hash of each code is stored. Regenerating
-- replaces the whole set; a used code keeps its row (used_at) until then, for the audit trail.
CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- +goose Down
DROP TABLE recovery_codes;
ALTER TABLE auth_sessions DROP COLUMN passkey_id;
ALTER TABLE organisations DROP COLUMN recovery_codes;
