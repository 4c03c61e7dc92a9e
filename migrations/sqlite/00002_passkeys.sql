-- +goose Up
-- The WebAuthn user handle (user.id in the ceremonies): random, stable, never the username or email.
ALTER TABLE users ADD COLUMN webauthn_handle TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_webauthn_handle_idx ON users (webauthn_handle) WHERE webauthn_handle <> '';

-- When the session's user last proved presence with a passkey (sign-in or a fresh check):
-- sensitive account actions need this within the last 5 minutes.
ALTER TABLE auth_sessions ADD COLUMN verified_at DATETIME;

-- Passkeys: only what verification needs. Never a private key, never biometric data.
CREATE TABLE passkeys (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    TEXT NOT NULL UNIQUE,
    public_key       BLOB NOT NULL,
    attestation_type TEXT NOT NULL DEFAULT 'none',
    aaguid           TEXT NOT NULL DEFAULT '',
    provider         TEXT NOT NULL DEFAULT '',
    sign_count       INTEGER NOT NULL DEFAULT 0,
    backup_eligible  BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state     BOOLEAN NOT NULL DEFAULT FALSE,
    user_verified    BOOLEAN NOT NULL DEFAULT FALSE,
    transports       TEXT NOT NULL DEFAULT '[]',
    name             TEXT NOT NULL,
    added_via        TEXT NOT NULL,
    flagged          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       DATETIME NOT NULL,
    last_used_at     DATETIME
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- WebAuthn ceremony state, bound to a browser by a cookie whose keyed hash is the id.
CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires_idx ON webauthn_ceremonies (expires_at);

-- Single-use links (first-run setup, enrollment); id is the keyed hash of the link's token.
CREATE TABLE enrollment_links (
    id         TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX enrollment_links_user_idx ON enrollment_links (user_id);

-- +goose Down
DROP TABLE enrollment_links;
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
DROP INDEX users_webauthn_handle_idx;
ALTER TABLE users DROP COLUMN webauthn_handle;
ALTER TABLE auth_sessions DROP COLUMN verified_at;
