-- The OAuth client: the account each connection is connected as (an email address, a workspace
-- name), as the server named it, to show the person and the operator.
ALTER TABLE oauth_tokens ADD COLUMN account_label TEXT;
