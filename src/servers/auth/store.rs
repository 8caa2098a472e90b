//! The authorization server's rows (`as_*` tables): clients, pending authorizations, upstream
//! accounts, grants, codes and tokens.
//!
//! Every operation is scoped to one server (`notion` or `gcal`), since both may share a database
//! file. Secret values arrive here already hashed or sealed; nothing in this module sees a
//! plaintext token.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::store::{Store, StoreError};

/// A registered client.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// The client id we issued.
    pub client_id: String,
    /// SHA-256 of the client secret, for confidential clients.
    pub secret_hash: Option<Vec<u8>>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// The name it registered, if any.
    pub client_name: Option<String>,
    /// Its registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The registered metadata as answered at registration (JSON object).
    pub metadata: String,
    /// When it registered (Unix seconds).
    pub created_at: i64,
}

/// An authorization request waiting for consent or for the upstream.
#[derive(Debug, Clone)]
pub struct PendingRow {
    /// Hash of the consent request id.
    pub id_hash: Vec<u8>,
    /// The client asking.
    pub client_id: String,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The client's `state`, echoed back.
    pub client_state: Option<String>,
    /// The client's S256 PKCE challenge.
    pub code_challenge: String,
    /// The resource the token will be for.
    pub resource: String,
    /// The scope the client asked for, recorded as asked.
    pub scope: Option<String>,
    /// Hash of the CSRF token in the consent form.
    pub csrf_hash: Vec<u8>,
    /// Hash of the consent cookie of the browser that loaded the consent page.
    pub browser_hash: Vec<u8>,
    /// The sealed upstream PKCE verifier, once consent was given (upstreams that use PKCE).
    pub upstream_verifier: Option<Vec<u8>>,
    /// When it stops being usable (Unix seconds).
    pub expires_at: i64,
}

/// The upstream account and sealed tokens to record after a successful upstream exchange.
#[derive(Debug, Clone)]
pub struct AccountWrite {
    /// The stable upstream identity (Notion bot id, Google `sub`).
    pub account: String,
    /// The Notion workspace id.
    pub workspace_id: Option<String>,
    /// The Notion owner user id.
    pub owner_id: Option<String>,
    /// A label for operators (workspace name, email).
    pub label: Option<String>,
    /// The sealed upstream access token.
    pub access_token: Vec<u8>,
    /// The sealed upstream refresh token, when the upstream gave one.
    pub refresh_token: Option<Vec<u8>>,
    /// When the upstream access token expires, when known.
    pub access_expires_at: Option<i64>,
    /// The scope the upstream granted.
    pub scope: Option<String>,
}

/// A grant and the authorization code that delivers it.
#[derive(Debug, Clone)]
pub struct GrantWrite {
    /// The new grant's id.
    pub grant_id: String,
    /// The client it is for.
    pub client_id: String,
    /// The resource it is for.
    pub resource: String,
    /// The scope as asked.
    pub scope: Option<String>,
    /// Hash of the authorization code.
    pub code_hash: Vec<u8>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// The client's PKCE challenge.
    pub code_challenge: String,
    /// When the code expires.
    pub code_expires_at: i64,
}

/// A redeemed authorization code.
#[derive(Debug, Clone)]
pub struct CodeRow {
    /// The grant it delivers.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was sent to.
    pub redirect_uri: String,
    /// The PKCE challenge it is bound to.
    pub code_challenge: String,
    /// The resource it is for.
    pub resource: String,
    /// When it expires.
    pub expires_at: i64,
    /// The connected account's label (an email address, a workspace name).
    pub account_label: Option<String>,
}

/// Whether a new row was taken in or refused because its table is at its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded.
    Admitted,
    /// Not recorded: the table holds as many rows as it may.
    Full,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum CodeOutcome {
    /// No such code for this server.
    Unknown,
    /// The code had been redeemed before; its grant and every token from it are now revoked.
    Reused,
    /// The code is now used up; the caller checks it and issues tokens.
    Fresh(CodeRow),
}

/// A new access and refresh token pair to record.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Hash of the access token.
    pub access_hash: Vec<u8>,
    /// When it expires.
    pub access_expires_at: i64,
    /// Hash of the refresh token.
    pub refresh_hash: Vec<u8>,
    /// When it expires.
    pub refresh_expires_at: i64,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// No such token for this server, or expired, revoked, or its grant or account is gone.
    Invalid,
    /// Issued to another client, or for another resource; nothing changed.
    Mismatch,
    /// The token had been rotated before: its whole family is now revoked.
    Reused,
    /// Rotated: the new pair is recorded in the same family.
    Rotated,
    /// The token and its grant are fine, but the upstream no longer accepts the account's
    /// authorization; the reason recorded then (`testing`, `refused`), when there was one.
    Ended(Option<String>),
}

/// What revoking a token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// No token of this client and server had that hash.
    Unknown,
    /// An access token was revoked; its grant lives on.
    Token,
    /// A grant was revoked, and no other live grant uses its upstream account (named).
    AccountUnused(String),
    /// A grant was revoked; another live grant still uses its upstream account (named).
    AccountStillUsed(String),
}

/// The rows behind a valid bearer token.
#[derive(Debug, Clone)]
pub struct BearerRow {
    /// The grant.
    pub grant_id: String,
    /// The upstream account.
    pub account: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The resource the token is for.
    pub resource: String,
}

/// The sealed tokens of one upstream account.
#[derive(Debug, Clone)]
pub struct AccountTokens {
    /// The sealed access token; `None` once revoked.
    pub access_token: Option<Vec<u8>>,
    /// The sealed refresh token.
    pub refresh_token: Option<Vec<u8>>,
    /// When the access token expires, when known.
    pub access_expires_at: Option<i64>,
    /// Grows with every change.
    pub version: i64,
    /// Whether the upstream refused the account.
    pub revoked: bool,
    /// When the refresh token was issued (Unix seconds), when known.
    pub refresh_issued_at: Option<i64>,
}

/// The `as_*` tables of one server.
#[derive(Debug, Clone)]
pub struct AsStore {
    store: Store,
    server: &'static str,
}

fn immediate(conn: &mut rusqlite::Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

impl AsStore {
    /// The tables of `server` in `store`.
    #[must_use]
    pub fn new(store: Store, server: &'static str) -> Self {
        Self { store, server }
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// Fails when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Records a registered client, unless `max_clients` are registered already; at the cap,
    /// clients that never obtained a token and have nothing in progress for over
    /// [`PENDING_TTL_SECS`](super::PENDING_TTL_SECS) are forgotten first to make room.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn insert_client(
        &self,
        row: ClientRow,
        max_clients: usize,
    ) -> Result<Admission, StoreError> {
        let server = self.server;
        let uris = serde_json::to_string(&row.redirect_uris)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let max = i64::try_from(max_clients).unwrap_or(i64::MAX);
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let count = |tx: &Transaction<'_>| -> Result<i64, StoreError> {
                    Ok(tx
                        .prepare_cached("SELECT COUNT(*) FROM as_clients WHERE server = ?1")?
                        .query_row(params![server], |r| r.get(0))?)
                };
                if count(&tx)? >= max {
                    let now = row.created_at;
                    tx.prepare_cached(
                        "DELETE FROM as_clients WHERE server = ?1 AND last_used_at IS NULL
                         AND created_at <= ?2
                         AND NOT EXISTS (SELECT 1 FROM as_pending p WHERE p.server = ?1
                           AND p.client_id = as_clients.client_id AND p.expires_at > ?3)
                         AND NOT EXISTS (SELECT 1 FROM as_grants g WHERE g.server = ?1
                           AND g.client_id = as_clients.client_id)",
                    )?
                    .execute(params![server, now - super::PENDING_TTL_SECS, now])?;
                    if count(&tx)? >= max {
                        return Ok(Admission::Full);
                    }
                }
                tx.prepare_cached(
                    "INSERT INTO as_clients (server, client_id, secret_hash, auth_method, client_name,
                     redirect_uris, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    server,
                    row.client_id,
                    row.secret_hash,
                    row.auth_method,
                    row.client_name,
                    uris,
                    row.metadata,
                    row.created_at
                ])?;
                tx.commit()?;
                Ok(Admission::Admitted)
            })
            .await
    }

    /// The registered client `client_id`.
    ///
    /// # Errors
    /// Fails on database errors or a corrupt row.
    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
        let server = self.server;
        let client_id = client_id.to_owned();
        self.store
            .call(move |conn| {
                let row = conn
                    .prepare_cached(
                        "SELECT client_id, secret_hash, auth_method, client_name, redirect_uris,
                         metadata, created_at FROM as_clients WHERE server = ?1 AND client_id = ?2",
                    )?
                    .query_row(params![server, client_id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<Vec<u8>>>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    })
                    .optional()?;
                let Some((client_id, secret_hash, auth_method, client_name, uris, metadata, at)) =
                    row
                else {
                    return Ok(None);
                };
                let redirect_uris: Vec<String> = serde_json::from_str(&uris)
                    .map_err(|e| StoreError::Corrupt(format!("as_clients.redirect_uris: {e}")))?;
                Ok(Some(ClientRow {
                    client_id,
                    secret_hash,
                    auth_method,
                    client_name,
                    redirect_uris,
                    metadata,
                    created_at: at,
                }))
            })
            .await
    }

    /// Records a new authorization request waiting for consent, unless `max_pending` requests
    /// are in progress already (expired ones are deleted first to make room).
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn insert_pending(
        &self,
        row: PendingRow,
        now: i64,
        max_pending: usize,
    ) -> Result<Admission, StoreError> {
        let server = self.server;
        let max = i64::try_from(max_pending).unwrap_or(i64::MAX);
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let count = |tx: &Transaction<'_>| -> Result<i64, StoreError> {
                    Ok(tx
                        .prepare_cached("SELECT COUNT(*) FROM as_pending WHERE server = ?1")?
                        .query_row(params![server], |r| r.get(0))?)
                };
                if count(&tx)? >= max {
                    tx.prepare_cached(
                        "DELETE FROM as_pending WHERE server = ?1 AND expires_at <= ?2",
                    )?
                    .execute(params![server, now])?;
                    if count(&tx)? >= max {
                        return Ok(Admission::Full);
                    }
                }
                tx.prepare_cached(
                    "INSERT INTO as_pending (id_hash, server, client_id, redirect_uri, client_state,
                     code_challenge, resource, scope, csrf_hash, browser_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    row.id_hash,
                    server,
                    row.client_id,
                    row.redirect_uri,
                    row.client_state,
                    row.code_challenge,
                    row.resource,
                    row.scope,
                    row.csrf_hash,
                    row.browser_hash,
                    now,
                    row.expires_at
                ])?;
                tx.commit()?;
                Ok(Admission::Admitted)
            })
            .await
    }

    /// The authorization request `id_hash` if it still waits for consent.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn pending_for_consent(
        &self,
        id_hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<PendingRow>, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT {PENDING_COLUMNS} FROM as_pending WHERE id_hash = ?1 AND server = ?2
                         AND upstream_state_hash IS NULL AND expires_at > ?3"
                    ))?
                    .query_row(params![id_hash, server, now], pending_from_row)
                    .optional()?)
            })
            .await
    }

    /// Moves a request from consent to the upstream: records the upstream state's hash (and the
    /// sealed upstream PKCE verifier). Returns `false` when it no longer waited for consent.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn approve_pending(
        &self,
        id_hash: Vec<u8>,
        upstream_state_hash: Vec<u8>,
        upstream_verifier: Option<Vec<u8>>,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE as_pending SET upstream_state_hash = ?1, upstream_verifier = ?2,
                         expires_at = ?3 WHERE id_hash = ?4 AND server = ?5
                         AND upstream_state_hash IS NULL",
                    )?
                    .execute(params![
                        upstream_state_hash,
                        upstream_verifier,
                        expires_at,
                        id_hash,
                        server
                    ])?;
                Ok(changed == 1)
            })
            .await
    }

    /// Forgets an authorization request.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn delete_pending(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                conn.prepare_cached("DELETE FROM as_pending WHERE id_hash = ?1 AND server = ?2")?
                    .execute(params![id_hash, server])?;
                Ok(())
            })
            .await
    }

    /// Takes (reads and deletes) the request waiting for the upstream under `state_hash`; an
    /// upstream state works once.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn take_pending_by_upstream_state(
        &self,
        state_hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<PendingRow>, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let row = tx
                    .prepare_cached(&format!(
                        "SELECT {PENDING_COLUMNS} FROM as_pending
                         WHERE upstream_state_hash = ?1 AND server = ?2"
                    ))?
                    .query_row(params![state_hash, server], pending_from_row)
                    .optional()?;
                if let Some(row) = &row {
                    tx.prepare_cached("DELETE FROM as_pending WHERE id_hash = ?1")?
                        .execute(params![row.id_hash])?;
                }
                tx.commit()?;
                Ok(row.filter(|r| r.expires_at > now))
            })
            .await
    }

    /// Records the upstream account's tokens (replacing earlier ones and lifting a revocation),
    /// a new grant for it and the authorization code that delivers the grant, in one transaction.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn complete_authorization(
        &self,
        account: AccountWrite,
        grant: GrantWrite,
        now: i64,
    ) -> Result<(), StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                tx.prepare_cached(
                    "INSERT INTO as_upstream_accounts (server, account, workspace_id, owner_id, label,
                     access_token, refresh_token, access_expires_at, scope, version, revoked_at,
                     created_at, updated_at, refresh_issued_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, NULL, ?10, ?10,
                       CASE WHEN ?7 IS NULL THEN NULL ELSE ?10 END)
                     ON CONFLICT (server, account) DO UPDATE SET
                       workspace_id = excluded.workspace_id, owner_id = excluded.owner_id,
                       label = excluded.label, access_token = excluded.access_token,
                       refresh_issued_at = CASE
                         WHEN excluded.refresh_token IS NOT NULL THEN excluded.updated_at
                         WHEN as_upstream_accounts.revoked_at IS NULL
                           THEN as_upstream_accounts.refresh_issued_at END,
                       refresh_token = COALESCE(excluded.refresh_token,
                         CASE WHEN as_upstream_accounts.revoked_at IS NULL
                              THEN as_upstream_accounts.refresh_token END),
                       access_expires_at = excluded.access_expires_at, scope = excluded.scope,
                       version = as_upstream_accounts.version + 1, revoked_at = NULL,
                       ended_reason = NULL, updated_at = excluded.updated_at",
                )?
                .execute(params![
                    server,
                    account.account,
                    account.workspace_id,
                    account.owner_id,
                    account.label,
                    account.access_token,
                    account.refresh_token,
                    account.access_expires_at,
                    account.scope,
                    now
                ])?;
                tx.prepare_cached(
                    "INSERT INTO as_grants (grant_id, server, client_id, account, resource, scope,
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    grant.grant_id,
                    server,
                    grant.client_id,
                    account.account,
                    grant.resource,
                    grant.scope,
                    now
                ])?;
                tx.prepare_cached(
                    "INSERT INTO as_codes (code_hash, grant_id, client_id, redirect_uri,
                     code_challenge, resource, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    grant.code_hash,
                    grant.grant_id,
                    grant.client_id,
                    grant.redirect_uri,
                    grant.code_challenge,
                    grant.resource,
                    grant.code_expires_at
                ])?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Redeems an authorization code: marks it used, or, when it was used before, revokes its
    /// grant and every token issued from it.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn redeem_code(
        &self,
        code_hash: Vec<u8>,
        now: i64,
    ) -> Result<CodeOutcome, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let row = tx
                    .prepare_cached(
                        "SELECT c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.resource,
                         c.expires_at, c.used_at, a.label FROM as_codes c
                         JOIN as_grants g ON g.grant_id = c.grant_id
                         LEFT JOIN as_upstream_accounts a ON a.server = g.server AND a.account = g.account
                         WHERE c.code_hash = ?1 AND g.server = ?2",
                    )?
                    .query_row(params![code_hash, server], |r| {
                        Ok((
                            CodeRow {
                                grant_id: r.get(0)?,
                                client_id: r.get(1)?,
                                redirect_uri: r.get(2)?,
                                code_challenge: r.get(3)?,
                                resource: r.get(4)?,
                                expires_at: r.get(5)?,
                                account_label: r.get(7)?,
                            },
                            r.get::<_, Option<i64>>(6)?,
                        ))
                    })
                    .optional()?;
                let outcome = match row {
                    None => CodeOutcome::Unknown,
                    Some((code, Some(_))) => {
                        revoke_grant(&tx, &code.grant_id, now)?;
                        CodeOutcome::Reused
                    }
                    Some((code, None)) => {
                        tx.prepare_cached("UPDATE as_codes SET used_at = ?1 WHERE code_hash = ?2")?
                            .execute(params![now, code_hash])?;
                        CodeOutcome::Fresh(code)
                    }
                };
                tx.commit()?;
                Ok(outcome)
            })
            .await
    }

    /// Records the first token pair of a new family for `grant_id`. Returns `false` (recording
    /// nothing) when the grant or its upstream account was revoked meanwhile.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn issue_tokens(
        &self,
        grant_id: String,
        client_id: String,
        resource: String,
        family_id: String,
        pair: TokenPair,
        now: i64,
    ) -> Result<bool, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                if !grant_is_live(&tx, server, &grant_id)? {
                    return Ok(false);
                }
                insert_pair(
                    &tx, &grant_id, &family_id, &client_id, &resource, &pair, now,
                )?;
                client_used(&tx, server, &client_id, now)?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    /// Rotates a refresh token presented by `client_id` for `resource`: the old one is marked
    /// used and a new pair joins its family, in one transaction. A token that was rotated before
    /// revokes its whole family instead.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn rotate_refresh(
        &self,
        refresh_hash: Vec<u8>,
        client_id: String,
        resource: Option<String>,
        pair: TokenPair,
        now: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let row = tx
                    .prepare_cached(
                        "SELECT t.grant_id, t.family_id, t.client_id, t.resource, t.expires_at,
                         t.used_at, t.revoked_at FROM as_tokens t
                         JOIN as_grants g ON g.grant_id = t.grant_id
                         WHERE t.token_hash = ?1 AND t.kind = 'refresh' AND g.server = ?2",
                    )?
                    .query_row(params![refresh_hash, server], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, Option<i64>>(6)?,
                        ))
                    })
                    .optional()?;
                let Some((grant_id, family_id, owner, token_resource, expires_at, used, revoked)) =
                    row
                else {
                    return Ok(RefreshOutcome::Invalid);
                };
                if owner != client_id || resource.as_ref().is_some_and(|r| *r != token_resource) {
                    return Ok(RefreshOutcome::Mismatch);
                }
                if used.is_some() {
                    tx.prepare_cached(
                        "UPDATE as_tokens SET revoked_at = ?1
                         WHERE family_id = ?2 AND revoked_at IS NULL",
                    )?
                    .execute(params![now, family_id])?;
                    tx.commit()?;
                    return Ok(RefreshOutcome::Reused);
                }
                if revoked.is_some() || expires_at <= now {
                    return Ok(RefreshOutcome::Invalid);
                }
                if !grant_is_live(&tx, server, &grant_id)? {
                    return Ok(match account_ended(&tx, server, &grant_id)? {
                        Some(reason) => RefreshOutcome::Ended(reason),
                        None => RefreshOutcome::Invalid,
                    });
                }
                tx.prepare_cached("UPDATE as_tokens SET used_at = ?1 WHERE token_hash = ?2")?
                    .execute(params![now, refresh_hash])?;
                insert_pair(
                    &tx,
                    &grant_id,
                    &family_id,
                    &client_id,
                    &token_resource,
                    &pair,
                    now,
                )?;
                client_used(&tx, server, &client_id, now)?;
                tx.commit()?;
                Ok(RefreshOutcome::Rotated)
            })
            .await
    }

    /// Revokes a token presented by `client_id` (RFC 7009): an access token alone; a refresh
    /// token with its whole family and the grant it belongs to. Tokens of other clients and
    /// unknown tokens are left alone. Says whether the upstream account behind a revoked grant
    /// is now used by no live grant at all, so that it can be disconnected upstream too.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn revoke_token(
        &self,
        token_hash: Vec<u8>,
        client_id: String,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let row = tx
                    .prepare_cached(
                        "SELECT t.kind, t.family_id, t.grant_id, g.account FROM as_tokens t
                         JOIN as_grants g ON g.grant_id = t.grant_id
                         WHERE t.token_hash = ?1 AND t.client_id = ?2 AND g.server = ?3",
                    )?
                    .query_row(params![token_hash, client_id, server], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })
                    .optional()?;
                let outcome = match row {
                    Some((kind, family, grant_id, account)) if kind == "refresh" => {
                        tx.prepare_cached(
                            "UPDATE as_tokens SET revoked_at = ?1
                             WHERE family_id = ?2 AND revoked_at IS NULL",
                        )?
                        .execute(params![now, family])?;
                        revoke_grant(&tx, &grant_id, now)?;
                        let others: i64 = tx
                            .prepare_cached(
                                "SELECT COUNT(*) FROM as_grants g
                                 WHERE g.server = ?1 AND g.account = ?2 AND g.revoked_at IS NULL
                                   AND (EXISTS (SELECT 1 FROM as_tokens t WHERE t.grant_id = g.grant_id
                                          AND t.revoked_at IS NULL AND t.expires_at > ?3)
                                     OR EXISTS (SELECT 1 FROM as_codes c WHERE c.grant_id = g.grant_id
                                          AND c.used_at IS NULL AND c.expires_at > ?3))",
                            )?
                            .query_row(params![server, account, now], |r| r.get(0))?;
                        if others == 0 {
                            RevokeOutcome::AccountUnused(account)
                        } else {
                            RevokeOutcome::AccountStillUsed(account)
                        }
                    }
                    Some(_) => {
                        tx.prepare_cached(
                            "UPDATE as_tokens SET revoked_at = ?1
                             WHERE token_hash = ?2 AND revoked_at IS NULL",
                        )?
                        .execute(params![now, token_hash])?;
                        RevokeOutcome::Token
                    }
                    None => RevokeOutcome::Unknown,
                };
                tx.commit()?;
                Ok(outcome)
            })
            .await
    }

    /// Forgets an upstream account's sealed tokens, scope and label after it was disconnected,
    /// and marks it revoked, unless it changed since `version` was read (a new connection of the
    /// same account came in meanwhile). Returns whether it did.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn forget_account(
        &self,
        account: &str,
        version: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let server = self.server;
        let account = account.to_owned();
        self.store
            .call(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE as_upstream_accounts SET access_token = NULL, refresh_token = NULL,
                         scope = NULL, label = NULL, revoked_at = ?1, ended_reason = NULL,
                         version = version + 1, updated_at = ?1
                         WHERE server = ?2 AND account = ?3 AND version = ?4",
                    )?
                    .execute(params![now, server, account, version])?;
                Ok(changed == 1)
            })
            .await
    }

    /// The grant behind a live access token: not expired, not revoked, its grant and upstream
    /// account not revoked.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn bearer(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<BearerRow>, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT t.grant_id, g.account, t.resource, t.client_id FROM as_tokens t
                         JOIN as_grants g ON g.grant_id = t.grant_id
                         JOIN as_upstream_accounts a ON a.server = g.server AND a.account = g.account
                         WHERE t.token_hash = ?1 AND t.kind = 'access' AND g.server = ?2
                           AND t.expires_at > ?3 AND t.revoked_at IS NULL
                           AND g.revoked_at IS NULL AND a.revoked_at IS NULL",
                    )?
                    .query_row(params![token_hash, server, now], |r| {
                        Ok(BearerRow {
                            grant_id: r.get(0)?,
                            account: r.get(1)?,
                            client_id: r.get(3)?,
                            resource: r.get(2)?,
                        })
                    })
                    .optional()?)
            })
            .await
    }

    /// The sealed tokens of an upstream account.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn account_tokens(&self, account: &str) -> Result<Option<AccountTokens>, StoreError> {
        let server = self.server;
        let account = account.to_owned();
        self.store
            .call(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT access_token, refresh_token, access_expires_at, version, revoked_at,
                         refresh_issued_at
                         FROM as_upstream_accounts WHERE server = ?1 AND account = ?2",
                    )?
                    .query_row(params![server, account], |r| {
                        Ok(AccountTokens {
                            access_token: r.get(0)?,
                            refresh_token: r.get(1)?,
                            access_expires_at: r.get(2)?,
                            version: r.get(3)?,
                            revoked: r.get::<_, Option<i64>>(4)?.is_some(),
                            refresh_issued_at: r.get(5)?,
                        })
                    })
                    .optional()?)
            })
            .await
    }

    /// Replaces an account's tokens after an upstream refresh, if it is still at `version`; a
    /// rotated refresh token replaces the old one in the same statement. `refresh_token: None`
    /// keeps the stored one. Returns `false` when another refresh got there first.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn store_refreshed(
        &self,
        account: &str,
        version: i64,
        access_token: Vec<u8>,
        refresh_token: Option<Vec<u8>>,
        access_expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let server = self.server;
        let account = account.to_owned();
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let changed = tx
                    .prepare_cached(
                        "UPDATE as_upstream_accounts SET access_token = ?1,
                         refresh_token = COALESCE(?2, refresh_token), access_expires_at = ?3,
                         refresh_issued_at = CASE WHEN ?2 IS NULL THEN refresh_issued_at ELSE ?4 END,
                         version = version + 1, updated_at = ?4
                         WHERE server = ?5 AND account = ?6 AND version = ?7 AND revoked_at IS NULL",
                    )?
                    .execute(params![
                        access_token,
                        refresh_token,
                        access_expires_at,
                        now,
                        server,
                        account,
                        version
                    ])?;
                tx.commit()?;
                Ok(changed == 1)
            })
            .await
    }

    /// Marks an upstream account revoked and forgets its tokens: every grant on it stops working
    /// until the person connects again. `reason` (`testing`, `refused`) is told to clients that
    /// refresh a token on it meanwhile.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn revoke_account(
        &self,
        account: &str,
        now: i64,
        reason: Option<&'static str>,
    ) -> Result<(), StoreError> {
        let server = self.server;
        let account = account.to_owned();
        self.store
            .call(move |conn| {
                conn.prepare_cached(
                    "UPDATE as_upstream_accounts SET access_token = NULL, refresh_token = NULL,
                     revoked_at = ?1, ended_reason = ?4, version = version + 1, updated_at = ?1
                     WHERE server = ?2 AND account = ?3",
                )?
                .execute(params![now, server, account, reason])?;
                Ok(())
            })
            .await
    }

    /// Records that the upstream refused `account`'s refresh token at `now`, `age_secs` after it
    /// was issued (when known), and returns how many refusals of this server since `since` had an
    /// age in `ages` (this one included).
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn record_refusal(
        &self,
        account: &str,
        now: i64,
        age_secs: Option<i64>,
        since: i64,
        ages: std::ops::Range<i64>,
    ) -> Result<u64, StoreError> {
        let server = self.server;
        let account = account.to_owned();
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                tx.prepare_cached(
                    "INSERT INTO as_refresh_refusals (server, account, refused_at, age_secs)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![server, account, now, age_secs])?;
                let count: i64 = tx
                    .prepare_cached(
                        "SELECT COUNT(*) FROM as_refresh_refusals WHERE server = ?1
                         AND refused_at >= ?2 AND age_secs >= ?3 AND age_secs < ?4",
                    )?
                    .query_row(params![server, since, ages.start, ages.end], |r| r.get(0))?;
                tx.commit()?;
                Ok(u64::try_from(count).unwrap_or(0))
            })
            .await
    }

    /// Deletes what can no longer be used: expired pending requests and codes, tokens past their
    /// expiry, clients that never obtained a token within `unused_client_ttl` seconds of
    /// registering, clients without a live token whose last token is older than
    /// `idle_client_ttl` seconds, and grants left with nothing (no token, no unexpired code)
    /// or whose registered client is gone. Returns how many rows went.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn prune(
        &self,
        now: i64,
        unused_client_ttl: i64,
        idle_client_ttl: i64,
    ) -> Result<usize, StoreError> {
        let server = self.server;
        self.store
            .call(move |conn| {
                let tx = immediate(conn)?;
                let mut n = tx
                    .prepare_cached(
                        "DELETE FROM as_pending WHERE server = ?1 AND expires_at <= ?2",
                    )?
                    .execute(params![server, now])?;
                n += tx
                    .prepare_cached(
                        "DELETE FROM as_refresh_refusals WHERE server = ?1 AND refused_at <= ?2",
                    )?
                    .execute(params![server, now - super::REFUSAL_MEMORY_SECS])?;
                n += tx
                    .prepare_cached(
                        "DELETE FROM as_codes WHERE expires_at <= ?2 AND grant_id IN
                         (SELECT grant_id FROM as_grants WHERE server = ?1)",
                    )?
                    .execute(params![server, now])?;
                n += tx
                    .prepare_cached(
                        "DELETE FROM as_tokens WHERE expires_at <= ?2 AND grant_id IN
                         (SELECT grant_id FROM as_grants WHERE server = ?1)",
                    )?
                    .execute(params![server, now])?;
                n += tx
                    .prepare_cached(
                        "DELETE FROM as_clients WHERE server = ?1
                         AND ((last_used_at IS NULL AND created_at <= ?3)
                           OR (last_used_at IS NOT NULL AND last_used_at <= ?4))
                         AND NOT EXISTS (SELECT 1 FROM as_pending p WHERE p.server = ?1
                           AND p.client_id = as_clients.client_id)
                         AND NOT EXISTS (SELECT 1 FROM as_grants g
                           JOIN as_tokens t ON t.grant_id = g.grant_id
                           WHERE g.server = ?1 AND g.client_id = as_clients.client_id
                             AND t.expires_at > ?2 AND t.revoked_at IS NULL)",
                    )?
                    .execute(params![
                        server,
                        now,
                        now.saturating_sub(unused_client_ttl),
                        now.saturating_sub(idle_client_ttl)
                    ])?;
                n += tx
                    .prepare_cached(
                        "DELETE FROM as_grants WHERE server = ?1 AND (
                           (created_at <= ?2 - ?3
                             AND NOT EXISTS (SELECT 1 FROM as_tokens t
                               WHERE t.grant_id = as_grants.grant_id)
                             AND NOT EXISTS (SELECT 1 FROM as_codes c
                               WHERE c.grant_id = as_grants.grant_id))
                           OR (client_id NOT LIKE 'http://%' AND client_id NOT LIKE 'https://%'
                             AND NOT EXISTS (SELECT 1 FROM as_clients c
                               WHERE c.server = ?1 AND c.client_id = as_grants.client_id)))",
                    )?
                    .execute(params![server, now, super::CODE_TTL_SECS])?;
                tx.commit()?;
                Ok(n)
            })
            .await
    }
}

const PENDING_COLUMNS: &str = "id_hash, client_id, redirect_uri, client_state, code_challenge, \
     resource, scope, csrf_hash, browser_hash, upstream_verifier, expires_at";

fn pending_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        id_hash: r.get(0)?,
        client_id: r.get(1)?,
        redirect_uri: r.get(2)?,
        client_state: r.get(3)?,
        code_challenge: r.get(4)?,
        resource: r.get(5)?,
        scope: r.get(6)?,
        csrf_hash: r.get(7)?,
        browser_hash: r.get(8)?,
        upstream_verifier: r.get(9)?,
        expires_at: r.get(10)?,
    })
}

/// Whether the grant exists for `server` and neither it nor its upstream account is revoked.
fn grant_is_live(tx: &Transaction<'_>, server: &str, grant_id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM as_grants g
             JOIN as_upstream_accounts a ON a.server = g.server AND a.account = g.account
             WHERE g.grant_id = ?1 AND g.server = ?2
               AND g.revoked_at IS NULL AND a.revoked_at IS NULL",
        )?
        .query_row(params![grant_id, server], |_| Ok(()))
        .optional()?
        .is_some())
}

/// When the grant itself is live but its upstream account was revoked: `Some` with the reason
/// recorded then (`None` inside when none was); `None` otherwise.
fn account_ended(
    tx: &Transaction<'_>,
    server: &str,
    grant_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT a.ended_reason FROM as_grants g
             JOIN as_upstream_accounts a ON a.server = g.server AND a.account = g.account
             WHERE g.grant_id = ?1 AND g.server = ?2
               AND g.revoked_at IS NULL AND a.revoked_at IS NOT NULL",
        )?
        .query_row(params![grant_id, server], |r| r.get::<_, Option<String>>(0))
        .optional()?)
}

/// Records that `client_id` obtained a token at `now` (no row for metadata-document clients).
fn client_used(
    tx: &Transaction<'_>,
    server: &str,
    client_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE as_clients SET last_used_at = ?3 WHERE server = ?1 AND client_id = ?2",
    )?
    .execute(params![server, client_id, now])?;
    Ok(())
}

fn revoke_grant(tx: &Transaction<'_>, grant_id: &str, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE as_grants SET revoked_at = ?1 WHERE grant_id = ?2 AND revoked_at IS NULL",
    )?
    .execute(params![now, grant_id])?;
    tx.prepare_cached(
        "UPDATE as_tokens SET revoked_at = ?1 WHERE grant_id = ?2 AND revoked_at IS NULL",
    )?
    .execute(params![now, grant_id])?;
    Ok(())
}

fn insert_pair(
    tx: &Transaction<'_>,
    grant_id: &str,
    family_id: &str,
    client_id: &str,
    resource: &str,
    pair: &TokenPair,
    now: i64,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO as_tokens (token_hash, kind, grant_id, family_id, client_id, resource,
         issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    insert.execute(params![
        pair.access_hash,
        "access",
        grant_id,
        family_id,
        client_id,
        resource,
        now,
        pair.access_expires_at
    ])?;
    insert.execute(params![
        pair.refresh_hash,
        "refresh",
        grant_id,
        family_id,
        client_id,
        resource,
        now,
        pair.refresh_expires_at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(tag: &str, now: i64) -> TokenPair {
        TokenPair {
            access_hash: crate::servers::auth::secrets::hash(&format!("a-{tag}")),
            access_expires_at: now + 60,
            refresh_hash: crate::servers::auth::secrets::hash(&format!("r-{tag}")),
            refresh_expires_at: now + 600,
        }
    }

    async fn granted(s: &AsStore, now: i64) -> String {
        s.complete_authorization(
            AccountWrite {
                account: "acct".into(),
                workspace_id: None,
                owner_id: None,
                label: None,
                access_token: vec![1],
                refresh_token: Some(vec![2]),
                access_expires_at: None,
                scope: None,
            },
            GrantWrite {
                grant_id: "g1".into(),
                client_id: "c1".into(),
                resource: "http://x/mcp".into(),
                scope: None,
                code_hash: crate::servers::auth::secrets::hash("code"),
                redirect_uri: "http://127.0.0.1/cb".into(),
                code_challenge: "ch".into(),
                code_expires_at: now + 60,
            },
            now,
        )
        .await
        .unwrap();
        "g1".into()
    }

    #[tokio::test]
    async fn rotation_reuse_and_scoping() {
        let store = Store::open_in_memory().unwrap();
        let s = AsStore::new(store.clone(), "notion");
        let other = AsStore::new(store, "gcal");
        let now = 1_000;
        let grant = granted(&s, now).await;
        let code = crate::servers::auth::secrets::hash("code");
        assert!(matches!(
            other.redeem_code(code.clone(), now).await.unwrap(),
            CodeOutcome::Unknown
        ));
        assert!(matches!(
            s.redeem_code(code.clone(), now).await.unwrap(),
            CodeOutcome::Fresh(_)
        ));
        assert!(
            s.issue_tokens(
                grant.clone(),
                "c1".into(),
                "http://x/mcp".into(),
                "f1".into(),
                pair("1", now),
                now
            )
            .await
            .unwrap()
        );
        let a1 = crate::servers::auth::secrets::hash("a-1");
        assert!(s.bearer(a1.clone(), now).await.unwrap().is_some());
        assert!(other.bearer(a1.clone(), now).await.unwrap().is_none());
        assert!(s.bearer(a1.clone(), now + 61).await.unwrap().is_none());

        let r1 = crate::servers::auth::secrets::hash("r-1");
        assert!(matches!(
            s.rotate_refresh(r1.clone(), "other".into(), None, pair("x", now), now)
                .await
                .unwrap(),
            RefreshOutcome::Mismatch
        ));
        assert!(matches!(
            s.rotate_refresh(r1.clone(), "c1".into(), None, pair("2", now), now)
                .await
                .unwrap(),
            RefreshOutcome::Rotated
        ));
        let a2 = crate::servers::auth::secrets::hash("a-2");
        assert!(s.bearer(a2.clone(), now).await.unwrap().is_some());
        assert!(matches!(
            s.rotate_refresh(r1, "c1".into(), None, pair("3", now), now)
                .await
                .unwrap(),
            RefreshOutcome::Reused
        ));
        assert!(s.bearer(a2, now).await.unwrap().is_none(), "family revoked");

        // A second redemption of the code revokes the grant.
        assert!(matches!(
            s.redeem_code(code, now).await.unwrap(),
            CodeOutcome::Reused
        ));
        assert!(
            !s.issue_tokens(
                grant,
                "c1".into(),
                "http://x/mcp".into(),
                "f2".into(),
                pair("4", now),
                now
            )
            .await
            .unwrap()
        );
    }

    #[tokio::test]
    async fn a_refresh_on_an_ended_account_says_why_until_it_is_connected_again() {
        let s = AsStore::new(Store::open_in_memory().unwrap(), "gcal");
        let now = 1_000;
        let grant = granted(&s, now).await;
        assert!(
            s.issue_tokens(
                grant,
                "c1".into(),
                "http://x/mcp".into(),
                "f1".into(),
                pair("1", now),
                now
            )
            .await
            .unwrap()
        );
        s.revoke_account("acct", now, Some("testing"))
            .await
            .unwrap();
        let r1 = crate::servers::auth::secrets::hash("r-1");
        let outcome = s
            .rotate_refresh(r1.clone(), "c1".into(), None, pair("2", now), now)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, RefreshOutcome::Ended(Some(r)) if r == "testing"),
            "{outcome:?}"
        );
        s.revoke_account("acct", now, None).await.unwrap();
        assert!(matches!(
            s.rotate_refresh(r1.clone(), "c1".into(), None, pair("2", now), now)
                .await
                .unwrap(),
            RefreshOutcome::Ended(None)
        ));
        // Connecting the account again forgets the reason.
        granted_again(&s, now + 1).await;
        assert!(matches!(
            s.rotate_refresh(r1, "c1".into(), None, pair("2", now), now)
                .await
                .unwrap(),
            RefreshOutcome::Rotated
        ));
        let reason: Option<String> = s
            .store
            .call(|c| {
                Ok(
                    c.query_row("SELECT ended_reason FROM as_upstream_accounts", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(reason, None);
    }

    /// The same account connected through another grant.
    async fn granted_again(s: &AsStore, now: i64) {
        s.complete_authorization(
            AccountWrite {
                account: "acct".into(),
                workspace_id: None,
                owner_id: None,
                label: None,
                access_token: vec![5],
                refresh_token: Some(vec![6]),
                access_expires_at: None,
                scope: None,
            },
            GrantWrite {
                grant_id: "g2".into(),
                client_id: "c1".into(),
                resource: "http://x/mcp".into(),
                scope: None,
                code_hash: crate::servers::auth::secrets::hash("code-2"),
                redirect_uri: "http://127.0.0.1/cb".into(),
                code_challenge: "ch".into(),
                code_expires_at: now + 60,
            },
            now,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn refresh_compare_and_swap_and_revocation() {
        let s = AsStore::new(Store::open_in_memory().unwrap(), "notion");
        granted(&s, 10).await;
        let t = s.account_tokens("acct").await.unwrap().unwrap();
        assert!(
            s.store_refreshed("acct", t.version, vec![3], Some(vec![4]), Some(99), 11)
                .await
                .unwrap()
        );
        assert!(
            !s.store_refreshed("acct", t.version, vec![5], None, None, 12)
                .await
                .unwrap()
        );
        let t2 = s.account_tokens("acct").await.unwrap().unwrap();
        assert_eq!(t2.access_token, Some(vec![3]));
        assert_eq!(t2.refresh_token, Some(vec![4]));
        s.revoke_account("acct", 13, Some("testing")).await.unwrap();
        let t3 = s.account_tokens("acct").await.unwrap().unwrap();
        assert!(t3.revoked && t3.access_token.is_none() && t3.refresh_token.is_none());
    }

    fn client(id: &str, at: i64) -> ClientRow {
        ClientRow {
            client_id: id.into(),
            secret_hash: None,
            auth_method: "none".into(),
            client_name: None,
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            metadata: "{}".into(),
            created_at: at,
        }
    }

    async fn clients(s: &AsStore) -> Vec<String> {
        s.store
            .call(|c| {
                let mut stmt = c.prepare("SELECT client_id FROM as_clients ORDER BY client_id")?;
                let ids = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ids)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn clients_are_capped_and_unused_or_idle_ones_expire() {
        let s = AsStore::new(Store::open_in_memory().unwrap(), "notion");
        let t0 = 100_000;
        assert_eq!(
            s.insert_client(client("a", t0), 2).await.unwrap(),
            Admission::Admitted
        );
        assert_eq!(
            s.insert_client(client("b", t0), 2).await.unwrap(),
            Admission::Admitted
        );
        assert_eq!(
            s.insert_client(client("c", t0 + 1), 2).await.unwrap(),
            Admission::Full
        );
        // At the cap, clients unused for longer than an authorization takes make room.
        let later = t0 + super::super::PENDING_TTL_SECS + 1;
        assert_eq!(
            s.insert_client(client("c", later), 2).await.unwrap(),
            Admission::Admitted
        );
        assert_eq!(clients(&s).await, vec!["c"]);

        // "c1" obtains tokens; "d" never does.
        granted(&s, later).await;
        s.insert_client(client("c1", later), 10).await.unwrap();
        s.insert_client(client("d", later), 10).await.unwrap();
        let code = crate::servers::auth::secrets::hash("code");
        assert!(matches!(
            s.redeem_code(code, later).await.unwrap(),
            CodeOutcome::Fresh(_)
        ));
        assert!(
            s.issue_tokens(
                "g1".into(),
                "c1".into(),
                "http://x/mcp".into(),
                "f".into(),
                pair("1", later),
                later
            )
            .await
            .unwrap()
        );
        // A day on, unused "c" and "d" go; "c1" stays while its refresh token lives.
        let day = later + 86_400;
        s.prune(day, 86_400, 30 * 86_400).await.unwrap();
        assert_eq!(clients(&s).await, vec!["c1"]);
        // Once its tokens have lapsed and it has been idle long enough, it goes with its grant.
        let idle = later + 31 * 86_400;
        s.prune(idle, 86_400, 30 * 86_400).await.unwrap();
        assert!(clients(&s).await.is_empty());
        let grants: i64 = s
            .store
            .call(|c| Ok(c.query_row("SELECT COUNT(*) FROM as_grants", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(grants, 0);
    }

    #[tokio::test]
    async fn pending_authorizations_are_capped() {
        let s = AsStore::new(Store::open_in_memory().unwrap(), "notion");
        let pending = |id: &str, expires_at: i64| PendingRow {
            id_hash: crate::servers::auth::secrets::hash(id),
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            client_state: None,
            code_challenge: "x".into(),
            resource: "r".into(),
            scope: None,
            csrf_hash: vec![1],
            browser_hash: vec![2],
            upstream_verifier: None,
            expires_at,
        };
        assert_eq!(
            s.insert_pending(pending("1", 50), 10, 2).await.unwrap(),
            Admission::Admitted
        );
        assert_eq!(
            s.insert_pending(pending("2", 500), 10, 2).await.unwrap(),
            Admission::Admitted
        );
        assert_eq!(
            s.insert_pending(pending("3", 500), 20, 2).await.unwrap(),
            Admission::Full
        );
        // Once one has expired, it makes room.
        assert_eq!(
            s.insert_pending(pending("3", 500), 60, 2).await.unwrap(),
            Admission::Admitted
        );
    }
}
