-- The MCP servers' OAuth 2.1 authorization server. Both servers may share one database file, so
-- every row names its server (`notion`, `gcal`). Issued codes, tokens, client secrets, consent
-- request ids and state values are stored only as SHA-256 hashes; upstream tokens and the upstream
-- PKCE verifier are sealed with the row identity as associated data.

-- Registered clients (dynamic client registration). Clients identified by a metadata document
-- URL are not stored: their document is fetched and cached in memory.
CREATE TABLE as_clients (
    server        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    secret_hash   BLOB,
    auth_method   TEXT NOT NULL,
    client_name   TEXT,
    redirect_uris TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (server, client_id)
);

-- An authorization request between `/authorize` and the upstream callback: first waiting for the
-- person's consent, then (with `upstream_state_hash` set) waiting for the upstream.
CREATE TABLE as_pending (
    id_hash             BLOB PRIMARY KEY,
    server              TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    redirect_uri        TEXT NOT NULL,
    client_state        TEXT,
    code_challenge      TEXT NOT NULL,
    resource            TEXT NOT NULL,
    scope               TEXT,
    csrf_hash           BLOB NOT NULL,
    browser_hash        BLOB NOT NULL,
    upstream_state_hash BLOB UNIQUE,
    upstream_verifier   BLOB,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL
);
CREATE INDEX as_pending_by_expiry ON as_pending (expires_at);

-- One connected upstream account (a Notion bot, a Google account) and its sealed tokens.
-- `version` grows with every token change, so concurrent refreshers can tell that one already ran.
CREATE TABLE as_upstream_accounts (
    server            TEXT NOT NULL,
    account           TEXT NOT NULL,
    workspace_id      TEXT,
    owner_id          TEXT,
    label             TEXT,
    access_token      BLOB,
    refresh_token     BLOB,
    access_expires_at INTEGER,
    scope             TEXT,
    version           INTEGER NOT NULL DEFAULT 0,
    revoked_at        INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (server, account)
);

-- One client's authorization for one upstream account.
CREATE TABLE as_grants (
    grant_id    TEXT PRIMARY KEY,
    server      TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    account     TEXT NOT NULL,
    resource    TEXT NOT NULL,
    scope       TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    FOREIGN KEY (server, account) REFERENCES as_upstream_accounts (server, account) ON DELETE CASCADE
);
CREATE INDEX as_grants_by_account ON as_grants (server, account);

-- Authorization codes, single use.
CREATE TABLE as_codes (
    code_hash      BLOB PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES as_grants (grant_id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    resource       TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX as_codes_by_grant ON as_codes (grant_id);

-- Issued access and refresh tokens. A family is every token descending from one authorization
-- code through refresh-token rotation; reusing a rotated refresh token revokes the family.
CREATE TABLE as_tokens (
    token_hash BLOB PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id   TEXT NOT NULL REFERENCES as_grants (grant_id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    resource   TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX as_tokens_by_family ON as_tokens (family_id);
CREATE INDEX as_tokens_by_grant ON as_tokens (grant_id);
CREATE INDEX as_tokens_by_expiry ON as_tokens (expires_at);
