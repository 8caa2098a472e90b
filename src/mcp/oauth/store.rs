//! The OAuth client's tables (`oauth_*`) and rmcp's credential and state stores on top of them.
//!
//! Every secret is sealed with the gateway's key, with the row identity as associated data: a
//! person's whole token response (access and refresh token), a registration's client secret, an
//! authorization's PKCE verifier and the message that was waiting for it. `state` values are kept
//! only as SHA-256 hashes. A `state` is single-use: [`OAuthStore::claim_state`] marks it claimed in
//! one statement, so a replayed or concurrent callback finds nothing to claim.

use async_trait::async_trait;
use rmcp::transport::auth::{
    AuthError, AuthorizationMetadata, CredentialStore, StateStore, StoredAuthorizationState,
    StoredCredentials,
};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::mcp::accounts::PendingMessage;
use crate::store::seal::Sealer;
use crate::store::{Store, StoreError, now_unix};

/// The registration of the gateway with one server's authorization server.
#[derive(Clone)]
pub(crate) struct Registration {
    /// The configured MCP endpoint it was made for.
    pub server_url: String,
    /// The protected resource (RFC 9728 `resource`), sent as RFC 8707 `resource`.
    pub resource: String,
    /// The authorization server's issuer.
    pub issuer: Option<String>,
    /// The authorization server's metadata.
    pub metadata: AuthorizationMetadata,
    /// The client id it issued.
    pub client_id: String,
    /// The client secret, for confidential registrations.
    pub client_secret: Option<String>,
    /// The redirect URI registered.
    pub redirect_uri: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("server_url", &self.server_url)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Whether a stored connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// The tokens work (or can be refreshed).
    Ok,
    /// The authorization server refused the refresh token; the person must connect again.
    Broken,
}

impl ConnectionStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Broken => "broken",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "ok" { Self::Ok } else { Self::Broken }
    }
}

/// A person's connection as `connections list` shows it; no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The person.
    pub principal: String,
    /// The configured server.
    pub server: String,
    /// Whether it works.
    pub status: ConnectionStatus,
    /// When it was made (Unix seconds).
    pub connected_at: i64,
    /// When the access token expires (Unix seconds), when the server said.
    pub expires_at: Option<i64>,
    /// The account it is connected as (an email address, a workspace name), when the server
    /// named it.
    pub account: Option<String>,
    /// Why it broke, as the authorization server said when it refused the refresh token
    /// (tidied and bounded); `None` while it works or when the server gave no reason.
    pub ended: Option<String>,
}

/// A person's stored tokens on one server.
pub(crate) struct StoredConnection {
    pub credentials: StoredCredentials,
    pub status: ConnectionStatus,
    pub expires_at: Option<i64>,
}

/// What a claimed `state` belonged to.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedState {
    pub principal: String,
    pub server: String,
    pub pending: Option<PendingMessage>,
}

/// The `oauth_*` tables with sealing.
#[derive(Clone, Debug)]
pub(crate) struct OAuthStore {
    store: Store,
    sealer: Sealer,
}

fn state_hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

fn tokens_aad(principal: &str, server: &str) -> String {
    format!("oauth_tokens|{principal}|{server}|credentials")
}

fn secret_aad(server: &str) -> String {
    format!("oauth_clients|{server}|client_secret")
}

fn state_aad(hash: &[u8], column: &str) -> String {
    format!("oauth_states|{}|{column}", hex::encode(hash))
}

/// Tries every durable sealed value of the OAuth client's tables (client secrets and people's
/// tokens) with `sealer`; returns how many opened and how many did not. Used to check a backup
/// before it is restored.
///
/// # Errors
/// Fails when the tables cannot be read.
pub(crate) fn tally_sealed(
    conn: &rusqlite::Connection,
    sealer: &Sealer,
) -> rusqlite::Result<crate::store::seal::SealTally> {
    let mut tally = crate::store::seal::SealTally::default();
    let mut clients = conn.prepare(
        "SELECT server, client_secret FROM oauth_clients WHERE client_secret IS NOT NULL",
    )?;
    let rows = clients.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    for row in rows {
        let (server, sealed) = row?;
        tally.record(sealer.open(&secret_aad(&server), &sealed).is_ok());
    }
    let mut tokens = conn.prepare("SELECT principal, server, credentials FROM oauth_tokens")?;
    let rows = tokens.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    for row in rows {
        let (principal, server, sealed) = row?;
        tally.record(
            sealer
                .open(&tokens_aad(&principal, &server), &sealed)
                .is_ok(),
        );
    }
    Ok(tally)
}

/// The connections of each server: `(working, broken)`, read without opening any sealed value.
///
/// # Errors
/// Fails when the database cannot be read.
pub(crate) async fn count_connections(
    store: &Store,
) -> Result<std::collections::HashMap<String, (u64, u64)>, StoreError> {
    store
        .call(|c| {
            let mut statement = c.prepare(
                "SELECT server, status, count(*) FROM oauth_tokens GROUP BY server, status",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ConnectionStatus::parse(&r.get::<_, String>(1)?),
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut counts = std::collections::HashMap::new();
            for row in rows {
                let (server, status, n) = row?;
                let entry: &mut (u64, u64) = counts.entry(server).or_default();
                let n = u64::try_from(n).unwrap_or(0);
                match status {
                    ConnectionStatus::Ok => entry.0 += n,
                    ConnectionStatus::Broken => entry.1 += n,
                }
            }
            Ok(counts)
        })
        .await
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored {what} could not be decoded"))
}

/// When the token response says the access token expires, as Unix seconds.
fn expiry(credentials: &StoredCredentials) -> Option<i64> {
    use oauth2::TokenResponse;
    let lifetime = credentials.token_response.as_ref()?.expires_in()?;
    let received = i64::try_from(credentials.token_received_at?).ok()?;
    received.checked_add(i64::try_from(lifetime.as_secs()).ok()?)
}

impl OAuthStore {
    pub(crate) fn new(store: Store, sealer: Sealer) -> Self {
        Self { store, sealer }
    }

    /// The registration with `server`'s authorization server, if one was made.
    pub(crate) async fn registration(
        &self,
        server: &str,
    ) -> Result<Option<Registration>, StoreError> {
        let server = server.to_owned();
        let sealer = self.sealer.clone();
        self.store
            .call(move |c| {
                let row = c
                    .query_row(
                        "SELECT server_url, resource, issuer, metadata, client_id, client_secret,
                                redirect_uri FROM oauth_clients WHERE server = ?1",
                        params![server],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, Option<String>>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, String>(4)?,
                                r.get::<_, Option<Vec<u8>>>(5)?,
                                r.get::<_, String>(6)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((server_url, resource, issuer, metadata, client_id, secret, redirect_uri)) =
                    row
                else {
                    return Ok(None);
                };
                let metadata: AuthorizationMetadata = serde_json::from_str(&metadata)
                    .map_err(|_| corrupt("authorization server metadata"))?;
                let client_secret = match secret {
                    Some(sealed) => Some(sealer.open_str(&secret_aad(&server), &sealed)?),
                    None => None,
                };
                Ok(Some(Registration {
                    server_url,
                    resource,
                    issuer,
                    metadata,
                    client_id,
                    client_secret,
                    redirect_uri,
                }))
            })
            .await
    }

    /// Stores (or replaces) the registration with `server`'s authorization server.
    pub(crate) async fn save_registration(
        &self,
        server: &str,
        registration: Registration,
    ) -> Result<(), StoreError> {
        let server = server.to_owned();
        let metadata = serde_json::to_string(&registration.metadata)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let secret = registration
            .client_secret
            .as_deref()
            .map(|s| self.sealer.seal_str(&secret_aad(&server), s));
        self.store
            .call(move |c| {
                c.execute(
                    "INSERT INTO oauth_clients (server, server_url, resource, issuer, metadata,
                         client_id, client_secret, redirect_uri, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (server) DO UPDATE SET server_url = excluded.server_url,
                         resource = excluded.resource, issuer = excluded.issuer,
                         metadata = excluded.metadata, client_id = excluded.client_id,
                         client_secret = excluded.client_secret,
                         redirect_uri = excluded.redirect_uri, created_at = excluded.created_at",
                    params![
                        server,
                        registration.server_url,
                        registration.resource,
                        registration.issuer,
                        metadata,
                        registration.client_id,
                        secret,
                        registration.redirect_uri,
                        now_unix()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// Forgets the registration with `server`'s authorization server when it is still the one
    /// with `client_id` (the server no longer knows that client); the next link registers again.
    /// `true` when a registration was removed.
    pub(crate) async fn forget_registration(
        &self,
        server: &str,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        let server = server.to_owned();
        let client_id = client_id.to_owned();
        self.store
            .call(move |c| {
                Ok(c.execute(
                    "DELETE FROM oauth_clients WHERE server = ?1 AND client_id = ?2",
                    params![server, client_id],
                )? > 0)
            })
            .await
    }

    /// A person's tokens on `server`.
    pub(crate) async fn connection(
        &self,
        principal: &str,
        server: &str,
    ) -> Result<Option<StoredConnection>, StoreError> {
        let (p, s) = (principal.to_owned(), server.to_owned());
        let sealer = self.sealer.clone();
        self.store
            .call(move |c| {
                let row = c
                    .query_row(
                        "SELECT credentials, status, expires_at FROM oauth_tokens
                         WHERE principal = ?1 AND server = ?2",
                        params![p, s],
                        |r| {
                            Ok((
                                r.get::<_, Vec<u8>>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, Option<i64>>(2)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((sealed, status, expires_at)) = row else {
                    return Ok(None);
                };
                let json = sealer.open(&tokens_aad(&p, &s), &sealed)?;
                let credentials: StoredCredentials =
                    serde_json::from_slice(&json).map_err(|_| corrupt("token response"))?;
                Ok(Some(StoredConnection {
                    credentials,
                    status: ConnectionStatus::parse(&status),
                    expires_at,
                }))
            })
            .await
    }

    /// Stores a person's tokens on `server` (a new connection or a refresh), marking it usable.
    pub(crate) async fn save_connection(
        &self,
        principal: &str,
        server: &str,
        credentials: &StoredCredentials,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_vec(credentials).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self.sealer.seal(&tokens_aad(principal, server), &json);
        let expires_at = expiry(credentials);
        let (p, s) = (principal.to_owned(), server.to_owned());
        let issuer = credentials.issuer.clone();
        let client_id = credentials.client_id.clone();
        self.store
            .call(move |c| {
                let now = now_unix();
                c.execute(
                    "INSERT INTO oauth_tokens (principal, server, issuer, client_id, credentials,
                         expires_at, status, version, connected_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ok', 1, ?7, ?7)
                     ON CONFLICT (principal, server) DO UPDATE SET issuer = excluded.issuer,
                         client_id = excluded.client_id, credentials = excluded.credentials,
                         expires_at = excluded.expires_at, status = 'ok', broken_reason = NULL,
                         version = oauth_tokens.version + 1, updated_at = excluded.updated_at",
                    params![p, s, issuer, client_id, sealed, expires_at, now],
                )?;
                Ok(())
            })
            .await
    }

    /// Records the account a person's connection to `server` is connected as (`None`: the
    /// server did not say).
    pub(crate) async fn set_account_label(
        &self,
        principal: &str,
        server: &str,
        label: Option<String>,
    ) -> Result<(), StoreError> {
        let (p, s) = (principal.to_owned(), server.to_owned());
        self.store
            .call(move |c| {
                c.execute(
                    "UPDATE oauth_tokens SET account_label = ?3 WHERE principal = ?1 AND server = ?2",
                    params![p, s, label],
                )?;
                Ok(())
            })
            .await
    }

    /// Marks a person's connection to `server` broken (its refresh token was refused), with
    /// why when the authorization server said (`None` keeps a reason recorded before).
    pub(crate) async fn mark_broken(
        &self,
        principal: &str,
        server: &str,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        let (p, s) = (principal.to_owned(), server.to_owned());
        self.store
            .call(move |c| {
                c.execute(
                    &format!(
                        "UPDATE oauth_tokens SET status = '{}', updated_at = ?3,
                         broken_reason = COALESCE(?4, broken_reason)
                         WHERE principal = ?1 AND server = ?2",
                        ConnectionStatus::Broken.as_str()
                    ),
                    params![p, s, now_unix(), reason],
                )?;
                Ok(())
            })
            .await
    }

    /// Removes a person's connection to `server`; `false` when there was none.
    pub(crate) async fn delete_connection(
        &self,
        principal: &str,
        server: &str,
    ) -> Result<bool, StoreError> {
        let (p, s) = (principal.to_owned(), server.to_owned());
        self.store
            .call(move |c| {
                Ok(c.execute(
                    "DELETE FROM oauth_tokens WHERE principal = ?1 AND server = ?2",
                    params![p, s],
                )? > 0)
            })
            .await
    }

    /// The stored connections, of one person or of everyone, ordered by person then server.
    pub(crate) async fn connections(
        &self,
        principal: Option<&str>,
    ) -> Result<Vec<ConnectionInfo>, StoreError> {
        let principal = principal.map(str::to_owned);
        self.store
            .call(move |c| {
                let mut statement = c.prepare(
                    "SELECT principal, server, status, connected_at, expires_at, account_label,
                     broken_reason FROM oauth_tokens
                     WHERE ?1 IS NULL OR principal = ?1 ORDER BY principal, server",
                )?;
                let rows = statement.query_map(params![principal], |r| {
                    Ok(ConnectionInfo {
                        principal: r.get(0)?,
                        server: r.get(1)?,
                        status: ConnectionStatus::parse(&r.get::<_, String>(2)?),
                        connected_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        account: r.get(5)?,
                        ended: r.get(6)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    /// Records an authorization under way for `principal` on `server`, for `ttl_secs`.
    pub(crate) async fn save_state(
        &self,
        state: &str,
        context: &StateContext,
        authorization: &StoredAuthorizationState,
    ) -> Result<(), StoreError> {
        let hash = state_hash(state);
        let json =
            serde_json::to_vec(authorization).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self.sealer.seal(&state_aad(&hash, "sealed"), &json);
        let pending = match &context.pending {
            Some(p) => Some(self.sealer.seal(
                &state_aad(&hash, "pending"),
                &serde_json::to_vec(p).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            )),
            None => None,
        };
        let (p, s, ttl) = (
            context.principal.clone(),
            context.server.clone(),
            context.ttl_secs,
        );
        self.store
            .call(move |c| {
                let now = now_unix();
                c.execute(
                    "DELETE FROM oauth_states WHERE expires_at <= ?1",
                    params![now],
                )?;
                c.execute(
                    "INSERT INTO oauth_states (state_hash, principal, server, sealed, pending,
                         claimed, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
                    params![hash, p, s, sealed, pending, now, now.saturating_add(ttl)],
                )?;
                Ok(())
            })
            .await
    }

    /// Claims an unexpired, unclaimed `state` once; `None` for an unknown, expired or already
    /// used one.
    pub(crate) async fn claim_state(
        &self,
        state: &str,
    ) -> Result<Option<ClaimedState>, StoreError> {
        let hash = state_hash(state);
        let sealer = self.sealer.clone();
        self.store
            .call(move |c| {
                let row = c
                    .query_row(
                        "UPDATE oauth_states SET claimed = 1
                         WHERE state_hash = ?1 AND claimed = 0 AND expires_at > ?2
                         RETURNING principal, server, pending",
                        params![hash, now_unix()],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, Option<Vec<u8>>>(2)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((principal, server, pending)) = row else {
                    return Ok(None);
                };
                let pending = match pending {
                    Some(sealed) => {
                        let json = sealer.open(&state_aad(&hash, "pending"), &sealed)?;
                        serde_json::from_slice(&json).ok()
                    }
                    None => None,
                };
                Ok(Some(ClaimedState {
                    principal,
                    server,
                    pending,
                }))
            })
            .await
    }

    /// The authorization stored under `state`, while unexpired.
    pub(crate) async fn load_state(
        &self,
        state: &str,
    ) -> Result<Option<StoredAuthorizationState>, StoreError> {
        let hash = state_hash(state);
        let sealer = self.sealer.clone();
        self.store
            .call(move |c| {
                let sealed: Option<Vec<u8>> = c
                    .query_row(
                        "SELECT sealed FROM oauth_states WHERE state_hash = ?1 AND expires_at > ?2",
                        params![hash, now_unix()],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(sealed) = sealed else {
                    return Ok(None);
                };
                let json = sealer.open(&state_aad(&hash, "sealed"), &sealed)?;
                Ok(Some(
                    serde_json::from_slice(&json).map_err(|_| corrupt("authorization state"))?,
                ))
            })
            .await
    }

    /// Forgets the authorization stored under `state`.
    pub(crate) async fn delete_state(&self, state: &str) -> Result<(), StoreError> {
        let hash = state_hash(state);
        self.store
            .call(move |c| {
                c.execute(
                    "DELETE FROM oauth_states WHERE state_hash = ?1",
                    params![hash],
                )?;
                Ok(())
            })
            .await
    }
}

fn store_error(e: &StoreError) -> AuthError {
    AuthError::CredentialStoreError(e.to_string())
}

/// rmcp's credential store for one person's tokens on one server.
///
/// Refreshes are made single-flight by the OAuth client before rmcp is asked to refresh, so this
/// store does not hand rmcp a refresh guard of its own.
pub(crate) struct Credentials {
    pub store: OAuthStore,
    pub principal: String,
    pub server: String,
}

#[async_trait]
impl CredentialStore for Credentials {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        match self.store.connection(&self.principal, &self.server).await {
            Ok(Some(c)) if c.status == ConnectionStatus::Ok => Ok(Some(c.credentials)),
            Ok(_) => Ok(None),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        self.store
            .save_connection(&self.principal, &self.server, &credentials)
            .await
            .map_err(|e| store_error(&e))
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.store
            .delete_connection(&self.principal, &self.server)
            .await
            .map(|_| ())
            .map_err(|e| store_error(&e))
    }

    async fn on_refresh_token_rejected(
        &self,
        _credentials: &StoredCredentials,
    ) -> Result<(), AuthError> {
        self.store
            .mark_broken(&self.principal, &self.server, None)
            .await
            .map_err(|e| store_error(&e))
    }
}

/// Whom an authorization under way belongs to.
#[derive(Debug, Clone)]
pub(crate) struct StateContext {
    pub principal: String,
    pub server: String,
    pub pending: Option<PendingMessage>,
    pub ttl_secs: i64,
}

/// rmcp's state store for authorizations under way, binding each `state` to a person.
pub(crate) struct States {
    pub store: OAuthStore,
    pub context: StateContext,
}

#[async_trait]
impl StateStore for States {
    async fn save(
        &self,
        csrf_token: &str,
        state: StoredAuthorizationState,
    ) -> Result<(), AuthError> {
        self.store
            .save_state(csrf_token, &self.context, &state)
            .await
            .map_err(|e| store_error(&e))
    }

    async fn load(&self, csrf_token: &str) -> Result<Option<StoredAuthorizationState>, AuthError> {
        self.store
            .load_state(csrf_token)
            .await
            .map_err(|e| store_error(&e))
    }

    async fn delete(&self, csrf_token: &str) -> Result<(), AuthError> {
        self.store
            .delete_state(csrf_token)
            .await
            .map_err(|e| store_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use oauth2::basic::BasicTokenType;
    use oauth2::{AccessToken, CsrfToken, PkceCodeVerifier, TokenResponse};
    use rmcp::transport::auth::{OAuthTokenResponse, VendorExtraTokenFields};

    use super::*;

    fn store() -> OAuthStore {
        OAuthStore::new(
            Store::open_in_memory().unwrap(),
            Sealer::from_key(&[7u8; 32]),
        )
    }

    fn context(principal: &str) -> StateContext {
        StateContext {
            principal: principal.to_owned(),
            server: "notion".to_owned(),
            pending: Some(PendingMessage {
                chat: "1".to_owned(),
                text: "find my page".to_owned(),
            }),
            ttl_secs: 600,
        }
    }

    #[tokio::test]
    async fn a_state_is_claimed_once_and_carries_its_person_and_message() {
        let s = store();
        let verifier = PkceCodeVerifier::new("v".repeat(50));
        let csrf = CsrfToken::new("state-1".to_owned());
        let auth = StoredAuthorizationState::new(&verifier, &csrf);
        s.save_state("state-1", &context("telegram:1"), &auth)
            .await
            .unwrap();
        assert!(s.load_state("state-1").await.unwrap().is_some());
        let claimed = s.claim_state("state-1").await.unwrap().unwrap();
        assert_eq!(claimed.principal, "telegram:1");
        assert_eq!(claimed.pending.unwrap().text, "find my page");
        assert!(
            s.claim_state("state-1").await.unwrap().is_none(),
            "single use"
        );
        assert!(s.claim_state("unknown").await.unwrap().is_none());
        s.delete_state("state-1").await.unwrap();
        assert!(s.load_state("state-1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_states_cannot_be_claimed() {
        let s = store();
        let auth = StoredAuthorizationState::new(
            &PkceCodeVerifier::new("v".repeat(50)),
            &CsrfToken::new("old".to_owned()),
        );
        let mut ctx = context("telegram:1");
        ctx.ttl_secs = -1;
        s.save_state("old", &ctx, &auth).await.unwrap();
        assert!(s.claim_state("old").await.unwrap().is_none());
        assert!(s.load_state("old").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn tokens_are_sealed_to_their_row() {
        let s = store();
        let response = OAuthTokenResponse::new(
            AccessToken::new("access-secret-123".to_owned()),
            BasicTokenType::Bearer,
            VendorExtraTokenFields::default(),
        );
        let credentials =
            StoredCredentials::new("client".to_owned(), Some(response), Vec::new(), Some(100));
        s.save_connection("telegram:1", "notion", &credentials)
            .await
            .unwrap();
        let loaded = s.connection("telegram:1", "notion").await.unwrap().unwrap();
        assert_eq!(loaded.status, ConnectionStatus::Ok);
        assert_eq!(
            loaded
                .credentials
                .token_response
                .unwrap()
                .access_token()
                .secret(),
            "access-secret-123"
        );
        // Moving the ciphertext to another person's row makes it unreadable.
        s.store
            .call(|c| {
                c.execute(
                    "INSERT INTO oauth_tokens (principal, server, client_id, credentials,
                         connected_at, updated_at)
                     SELECT 'telegram:2', server, client_id, credentials, 0, 0 FROM oauth_tokens",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(s.connection("telegram:2", "notion").await.is_err());
        s.mark_broken(
            "telegram:1",
            "notion",
            Some("the app is in testing".to_owned()),
        )
        .await
        .unwrap();
        s.mark_broken("telegram:1", "notion", None).await.unwrap();
        let listed = s.connections(Some("telegram:1")).await.unwrap();
        assert_eq!(listed[0].status, ConnectionStatus::Broken);
        assert_eq!(listed[0].ended.as_deref(), Some("the app is in testing"));
        // Connecting again forgets why it broke.
        s.save_connection("telegram:1", "notion", &credentials)
            .await
            .unwrap();
        let listed = s.connections(Some("telegram:1")).await.unwrap();
        assert_eq!(listed[0].status, ConnectionStatus::Ok);
        assert_eq!(listed[0].ended, None);
        assert!(s.delete_connection("telegram:1", "notion").await.unwrap());
        assert!(!s.delete_connection("telegram:1", "notion").await.unwrap());
    }
}
