-- +goose Up
-- Per-client token lifetimes, in seconds (issue 6, the admin Apps page). 0 means the server's
-- default (provider.AccessTokenLifespan, RefreshTokenLifespan, IDTokenLifespan); provider/clients
-- bounds the others.
ALTER TABLE clients ADD COLUMN access_token_lifetime_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN refresh_token_lifetime_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN id_token_lifetime_seconds INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN id_token_lifetime_seconds;
ALTER TABLE clients DROP COLUMN refresh_token_lifetime_seconds;
ALTER TABLE clients DROP COLUMN access_token_lifetime_seconds;
