-- +goose Up
-- OpenID Connect Back-Channel Logout 1.0 and Front-Channel Logout 1.0: where a client wants to
-- hear that a Portcullis session ended, and whether it needs the session id (sid) to act on it.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Logout tokens waiting to be delivered (package provider/rplogout): one row per client and ended
-- session, written in the transaction that ends the session so that it survives a restart. A node
-- claims a due row by moving claimed_until into the future; failures move next_attempt_at on.
CREATE TABLE logout_deliveries (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    session_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ NOT NULL
);
CREATE INDEX logout_deliveries_due_idx ON logout_deliveries (next_attempt_at);

-- +goose Down
DROP TABLE logout_deliveries;
ALTER TABLE clients DROP COLUMN frontchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN frontchannel_logout_uri;
ALTER TABLE clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
