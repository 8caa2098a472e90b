-- The authorization server forgets registered clients that never obtained a token, and clients
-- whose tokens have all lapsed long ago: `last_used_at` is when a client last obtained a token
-- (NULL: never). Pending authorizations are counted per server against a cap.
ALTER TABLE as_clients ADD COLUMN last_used_at INTEGER;
CREATE INDEX as_clients_by_age ON as_clients (server, created_at);
CREATE INDEX as_pending_by_server ON as_pending (server, expires_at);
CREATE INDEX as_grants_by_client ON as_grants (server, client_id);
