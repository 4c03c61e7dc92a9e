-- +goose Up
-- Organisations are tenants; the built-in system organisation administers the instance.
CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
INSERT INTO organisations (id, slug, name, created_at) VALUES ('system', 'system', 'System', CURRENT_TIMESTAMP);

-- users.id is the OIDC "sub": random and opaque, never the username.
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL DEFAULT 'active',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, username)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- OIDC clients. List-valued columns hold JSON arrays so both databases share one shape.
CREATE TABLE clients (
    id                              TEXT PRIMARY KEY,
    org_id                          TEXT NOT NULL REFERENCES organisations (id),
    name                            TEXT NOT NULL,
    public                          BOOLEAN NOT NULL,
    secret_hash                     BYTEA,
    redirect_uris                   TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris       TEXT NOT NULL DEFAULT '[]',
    grant_types                     TEXT NOT NULL DEFAULT '[]',
    response_types                  TEXT NOT NULL DEFAULT '[]',
    scopes                          TEXT NOT NULL DEFAULT '[]',
    audience                        TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method      TEXT NOT NULL,
    jwks                            TEXT NOT NULL DEFAULT '',
    jwks_uri                        TEXT NOT NULL DEFAULT '',
    token_endpoint_auth_signing_alg TEXT NOT NULL DEFAULT '',
    id_token_signed_response_alg    TEXT NOT NULL DEFAULT 'ES256',
    jwt_access_tokens               BOOLEAN NOT NULL DEFAULT FALSE,
    require_par                     BOOLEAN NOT NULL DEFAULT FALSE,
    first_party                     BOOLEAN NOT NULL DEFAULT FALSE,
    can_introspect                  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                      TIMESTAMPTZ NOT NULL,
    updated_at                      TIMESTAMPTZ NOT NULL
);
CREATE INDEX clients_org_idx ON clients (org_id);

-- Every fosite token kind (authorize code, access, refresh, PKCE, OIDC, PAR) in one row shape.
-- signature is fosite's keyed HMAC signature of the token, never the token itself.
CREATE TABLE oauth2_tokens (
    kind         TEXT NOT NULL,
    signature    TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    session_id   TEXT NOT NULL DEFAULT '',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    requested_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth2_tokens_request_idx ON oauth2_tokens (request_id);
CREATE INDEX oauth2_tokens_expires_idx ON oauth2_tokens (expires_at);
CREATE INDEX oauth2_tokens_client_idx ON oauth2_tokens (client_id);
-- Partial: client-credential tokens have no sign-in session and cost this index nothing.
CREATE INDEX oauth2_tokens_session_idx ON oauth2_tokens (session_id) WHERE session_id <> '';

-- JWT IDs of used private_key_jwt client assertions (replay protection, RFC 7523 section 3).
CREATE TABLE oauth2_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Token signing keys; private keys are sealed with the system secret.
CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    state         TEXT NOT NULL,
    private_key   BYTEA NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    activated_at  TIMESTAMPTZ,
    retired_at    TIMESTAMPTZ,
    publish_until TIMESTAMPTZ
);

-- Sign-in sessions at Portcullis. id is the public "sid"; token_hash is the keyed hash of the cookie value.
CREATE TABLE auth_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL,
    method       TEXT NOT NULL,
    amr          TEXT NOT NULL DEFAULT '[]',
    acr          TEXT NOT NULL DEFAULT '',
    auth_time    TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    ended_at     TIMESTAMPTZ
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

-- Authorize requests waiting for a sign-in; the login page only ever sees the id.
CREATE TABLE pending_authorizations (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    form       TEXT NOT NULL,
    via_par    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    org_id      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'success',
    user_id     TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org_time_idx ON audit_events (org_id, occurred_at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE pending_authorizations;
DROP TABLE auth_sessions;
DROP TABLE signing_keys;
DROP TABLE oauth2_jtis;
DROP TABLE oauth2_tokens;
DROP TABLE clients;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE organisations;
