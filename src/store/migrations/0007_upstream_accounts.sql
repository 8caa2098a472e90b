-- The authorization server: when each upstream account's refresh token was issued, and the
-- refresh tokens the upstream refused, with their age then (a Google app in Testing has them
-- refused 7 days after they were issued, which the operator needs to hear about).
ALTER TABLE as_upstream_accounts ADD COLUMN refresh_issued_at INTEGER;

CREATE TABLE as_refresh_refusals (
    server     TEXT NOT NULL,
    account    TEXT NOT NULL,
    refused_at INTEGER NOT NULL,
    age_secs   INTEGER
);
CREATE INDEX as_refresh_refusals_by_time ON as_refresh_refusals (server, refused_at);
