-- +goose Up
-- The organisation's passkey policy (PRODUCT.md, "The organisation's passkey policy"; authn/policy
-- holds the rules). New organisations start at Off. The system organisation, whose first admin
-- signs in with a passkey from the setup link, is Mandatory.
ALTER TABLE organisations ADD COLUMN passkey_mode TEXT NOT NULL DEFAULT 'off';
ALTER TABLE organisations ADD COLUMN passwords_end_at DATETIME;
ALTER TABLE organisations ADD COLUMN require_uv BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE organisations ADD COLUMN allow_synced BOOLEAN NOT NULL DEFAULT TRUE;
-- JSON array of lower-case AAGUIDs; empty means any authenticator.
ALTER TABLE organisations ADD COLUMN allowed_aaguids TEXT NOT NULL DEFAULT '[]';
-- How long "Do this later" lasts, in seconds; 0 asks again at every sign-in.
ALTER TABLE organisations ADD COLUMN remind_after_seconds INTEGER NOT NULL DEFAULT 0;
UPDATE organisations SET passkey_mode = 'mandatory' WHERE id = 'system';

-- Legacy passwords, for the move to passkeys only: an encoded hash (our argon2id, or an imported
-- bcrypt / argon2id / PBKDF2-SHA256 hash until the next successful sign-in upgrades it), or ''.
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_changed_at DATETIME;
-- When the user last chose "Do this later" at the passkey prompt.
ALTER TABLE users ADD COLUMN passkey_skipped_at DATETIME;

-- +goose Down
ALTER TABLE users DROP COLUMN passkey_skipped_at;
ALTER TABLE users DROP COLUMN password_changed_at;
ALTER TABLE users DROP COLUMN password_hash;
ALTER TABLE organisations DROP COLUMN remind_after_seconds;
ALTER TABLE organisations DROP COLUMN allowed_aaguids;
ALTER TABLE organisations DROP COLUMN allow_synced;
ALTER TABLE organisations DROP COLUMN require_uv;
ALTER TABLE organisations DROP COLUMN passwords_end_at;
ALTER TABLE organisations DROP COLUMN passkey_mode;
