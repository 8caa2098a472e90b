-- Chat channels (Telegram, Slack): who may talk to the assistant under the `pairing` policy.

-- Senders waiting for the operator's approval: at most one pending code per sender, each expiring.
CREATE TABLE channel_pairing_codes (
    code        TEXT PRIMARY KEY,
    principal   TEXT NOT NULL UNIQUE,
    display     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX channel_pairing_codes_by_expiry ON channel_pairing_codes (expires_at);

-- Senders the operator approved (`mcp-gateway pairing approve CODE`).
CREATE TABLE channel_approved_senders (
    principal   TEXT PRIMARY KEY,
    display     TEXT NOT NULL,
    approved_at INTEGER NOT NULL
);
