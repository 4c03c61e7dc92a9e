-- +goose Up
-- Session lifetimes per organisation (issue 6, the admin Policy page; authn/directory validates
-- them): how long a sign-in session lasts without use (idle) and at most (absolute), in seconds.
-- 0 keeps the server's defaults (the session-idle and session-absolute settings).
ALTER TABLE organisations ADD COLUMN session_idle_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organisations ADD COLUMN session_absolute_seconds BIGINT NOT NULL DEFAULT 0;
-- The idle limit of one session, fixed when it starts (its organisation's, or 0 for the server's
-- default), so that looking a session up on every request needs no read of its organisation.
-- Its absolute limit is expires_at, also fixed at the start.
ALTER TABLE auth_sessions ADD COLUMN idle_seconds BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE auth_sessions DROP COLUMN idle_seconds;
ALTER TABLE organisations DROP COLUMN session_absolute_seconds;
ALTER TABLE organisations DROP COLUMN session_idle_seconds;
