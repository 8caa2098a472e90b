-- The OAuth client: why a connection broke, as the authorization server said when it refused the
-- refresh token (its `error_description`, tidied), to tell the person with the reconnect link.
ALTER TABLE oauth_tokens ADD COLUMN broken_reason TEXT;
