-- +goose Up
-- Cross-device sign-in codes (package authn/handoff; PRODUCT.md journey 4). A new device shows a
-- short code; the user's signed-in device approves it; the new device then creates its own
-- passkey and is signed in. Only keyed hashes of the code and of the new browser's cookie secret
-- are stored. user_id is '' when the username typed is unknown: such a handoff can never be
-- approved, and the new device cannot tell (no account enumeration).
-- state: pending -> approved | denied | cancelled; approved -> completed. Expiry is expires_at
-- (the code's 5 minutes, renewed once on approval for the passkey to be created).
CREATE TABLE handoffs (
    id             TEXT PRIMARY KEY,
    code_hash      TEXT NOT NULL,
    browser_hash   TEXT NOT NULL UNIQUE,
    org_id         TEXT NOT NULL,
    username       TEXT NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    pending_id     TEXT NOT NULL DEFAULT '',
    client_id      TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled', 'completed')),
    user_agent     TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    verified_sid   TEXT NOT NULL DEFAULT '',
    decided_at     TIMESTAMPTZ,
    completed_at   TIMESTAMPTZ,
    passkey_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX handoffs_code_idx ON handoffs (code_hash);
CREATE INDEX handoffs_user_idx ON handoffs (user_id, completed_at);
CREATE INDEX handoffs_expires_idx ON handoffs (expires_at);

-- +goose Down
DROP TABLE handoffs;
