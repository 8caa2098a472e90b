-- The authorization server: why an upstream account's authorization ended, when the upstream
-- refused its refresh token (`testing`: Google at Testing's 7 days; `refused`: any other refusal),
-- so that a client refreshing a token on it is told why (RFC 6749 §5.2 `error_description`).
ALTER TABLE as_upstream_accounts ADD COLUMN ended_reason TEXT;
