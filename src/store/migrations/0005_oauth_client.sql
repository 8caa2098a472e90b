-- The gateway as an MCP OAuth client: its registration with each server's authorization server,
-- each person's tokens per server, and authorizations under way.

-- One registration per configured server (dynamic client registration), with the metadata it
-- was made against. A changed server URL or redirect URI registers again.
CREATE TABLE oauth_clients (
    server        TEXT PRIMARY KEY,
    server_url    TEXT NOT NULL,
    resource      TEXT NOT NULL,
    issuer        TEXT,
    metadata      TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret BLOB,
    redirect_uri  TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- A person's tokens on one server: the whole token response, sealed. `status` is `ok`, or
-- `broken` once the authorization server refused the refresh token for good.
CREATE TABLE oauth_tokens (
    principal    TEXT NOT NULL,
    server       TEXT NOT NULL,
    issuer       TEXT,
    client_id    TEXT NOT NULL,
    credentials  BLOB NOT NULL,
    expires_at   INTEGER,
    status       TEXT NOT NULL DEFAULT 'ok',
    version      INTEGER NOT NULL DEFAULT 1,
    connected_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (principal, server)
);

-- Authorizations under way, keyed by the SHA-256 of their single-use `state`. `sealed` holds the
-- PKCE verifier; `pending` the message that needed the connection.
CREATE TABLE oauth_states (
    state_hash BLOB PRIMARY KEY,
    principal  TEXT NOT NULL,
    server     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    pending    BLOB,
    claimed    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
