-- +goose Up
-- Attempt limits (package authn/throttle), shared by every server node. key is built by the caller,
-- e.g. "password:user:<id>" or "password:ip:<ip>": not a secret, bounded in length.
-- forget_at is when the failures are forgotten (the window's end, pushed past any block), so the
-- janitor can purge without knowing the rule; blocked_until is set while the key is blocked.
CREATE TABLE throttle (
    key           TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 256),
    failures      INTEGER NOT NULL,
    forget_at     DATETIME NOT NULL,
    blocked_until DATETIME
);
CREATE INDEX throttle_forget_idx ON throttle (forget_at);

-- +goose Down
DROP TABLE throttle;
