-- +goose Up
-- Consent decisions (package consent): what a user allowed a third-party client, and when. A
-- remembered decision covers later requests for the same or fewer scopes; asking for more asks
-- again. scopes is a JSON array, like the list columns of clients.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- The consent step's answer to a parked authorize request ('' not asked yet, 'allowed', 'denied'),
-- and who gave it: the resumed request issues a code or returns access_denied instead of asking
-- again (prompt=consent must not loop).
ALTER TABLE pending_authorizations ADD COLUMN consent TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN consent_user_id TEXT NOT NULL DEFAULT '';

-- What the consent page shows of a client, when registered (https only).
ALTER TABLE clients ADD COLUMN logo_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN policy_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN tos_uri TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN tos_uri;
ALTER TABLE clients DROP COLUMN policy_uri;
ALTER TABLE clients DROP COLUMN logo_uri;
ALTER TABLE pending_authorizations DROP COLUMN consent_user_id;
ALTER TABLE pending_authorizations DROP COLUMN consent;
DROP TABLE consents;
