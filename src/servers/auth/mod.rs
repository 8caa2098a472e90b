//! The OAuth 2.1 authorization server both MCP servers share, following the MCP authorization
//! specification: it authorizes MCP clients for this server's resource (`public_url + "/mcp"`)
//! and, behind a consent page, connects the person's upstream account (Notion or Google).
//!
//! Routes (see [`routes`]):
//! - `/.well-known/oauth-protected-resource[/mcp]` and `/.well-known/oauth-authorization-server`
//!   ([`metadata`]),
//! - `/register` (dynamic client registration, [`register`]); a `client_id` may also be a client
//!   ID metadata document URL ([`client_doc`]),
//! - `/authorize` → consent page → `/consent` → the upstream ([`authorize`], [`consent`]),
//! - `/oauth/callback` from the upstream, which redirects to the client with our code
//!   ([`callback`]),
//! - `/token` and `/revoke` ([`token`], [`revoke`]).
//!
//! [`bearer`] guards `/mcp` and hands each request its [`crate::servers::Grant`].

pub(crate) mod account;
pub(crate) mod authorize;
pub(crate) mod bearer;
pub(crate) mod callback;
pub(crate) mod client;
pub(crate) mod client_auth;
pub(crate) mod client_doc;
pub(crate) mod consent;
pub(crate) mod errors;
pub(crate) mod expiry;
pub(crate) mod metadata;
pub(crate) mod params;
pub(crate) mod rate_limit;
pub(crate) mod redirect;
pub(crate) mod register;
pub(crate) mod revoke;
pub(crate) mod secrets;
pub(crate) mod sessions;
pub(crate) mod store;
pub(crate) mod token;
pub(crate) mod upstream;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::config::McpServerConfig;
use crate::servers::ServerKind;
use crate::servers::metrics::ServerMetrics;
use crate::store::Store;
use crate::store::seal::Sealer;

pub use upstream::UpstreamCredentials;

/// The largest request body the OAuth endpoints accept.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long a person has to consent and come back from the upstream.
pub(crate) const PENDING_TTL_SECS: i64 = 600;
/// How long an authorization code may wait for redemption.
pub(crate) const CODE_TTL_SECS: i64 = 120;
/// How long refused upstream refresh tokens are remembered, to see a pattern in them.
pub(crate) const REFUSAL_MEMORY_SECS: i64 = 30 * 86_400;
/// Why the authorization server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The upstream client could not be built.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamSetupError),
    /// `public_url` has no host.
    #[error("public_url {0} has no host")]
    PublicUrl(String),
}

/// The authorization server of one MCP server; cheap to clone.
#[derive(Clone)]
pub struct AuthServer {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ServerKind,
    issuer: String,
    resource: String,
    resource_metadata_url: String,
    public_origin: url::Origin,
    secure_cookies: bool,
    allowed_hosts: Vec<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    store: store::AsStore,
    sealer: Sealer,
    upstream: upstream::Upstream,
    metrics: ServerMetrics,
    client_docs: client_doc::ClientDocs,
    refresh_locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    sessions: sessions::Sessions,
    limits: crate::config::AuthLimits,
    register_limit: rate_limit::RateLimiter,
    authorize_limit: rate_limit::RateLimiter,
    token_limit: rate_limit::RateLimiter,
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("server", &self.inner.kind.name())
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthServer {
    /// The authorization server of `kind`, configured by `config` (its `[*_mcp]` section),
    /// keeping its rows in `store`, sealing upstream tokens with `sealer`, and signing in to the
    /// upstream with `credentials`.
    ///
    /// # Errors
    /// Fails when `public_url` has no host or the upstream client cannot be built.
    pub fn new(
        kind: ServerKind,
        config: &McpServerConfig,
        store: Store,
        sealer: Sealer,
        credentials: &UpstreamCredentials,
        metrics: ServerMetrics,
    ) -> Result<Self, AuthSetupError> {
        let issuer = config.public_url.as_str().trim_end_matches('/').to_owned();
        let resource = config.resource_url();
        let host = config
            .public_url
            .host_str()
            .ok_or_else(|| AuthSetupError::PublicUrl(issuer.clone()))?
            .to_owned();
        let mut allowed_hosts = vec![
            host.clone(),
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        if let Some(port) = config.public_url.port_or_known_default() {
            allowed_hosts.push(format!("{host}:{port}"));
        }
        allowed_hosts.extend(config.allowed_hosts.iter().cloned());
        let upstream = upstream::Upstream::new(
            kind,
            credentials,
            &config.authorize_url,
            &config.token_url,
            &config.revoke_url,
            &format!("{issuer}/oauth/callback"),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                kind,
                resource_metadata_url: format!("{issuer}/.well-known/oauth-protected-resource/mcp"),
                public_origin: config.public_url.origin(),
                secure_cookies: config.public_url.scheme() == "https",
                issuer,
                resource,
                allowed_hosts,
                access_ttl: config.access_token_ttl,
                refresh_ttl: config.refresh_token_ttl,
                store: store::AsStore::new(store, kind.name()),
                sealer,
                upstream,
                metrics,
                client_docs: client_doc::ClientDocs::new(
                    client_doc::OwnAddress {
                        origin: config.public_url.origin(),
                        listen: config.listen,
                    },
                    config.limits.allow_private_client_documents,
                ),
                refresh_locks: parking_lot::Mutex::new(HashMap::new()),
                sessions: sessions::Sessions::new(config.limits.sessions),
                limits: config.limits,
                register_limit: rate_limit::RateLimiter::new(config.limits.register),
                authorize_limit: rate_limit::RateLimiter::new(config.limits.authorize),
                token_limit: rate_limit::RateLimiter::new(config.limits.token),
            }),
        })
    }

    /// Which server this is.
    #[must_use]
    pub fn kind(&self) -> ServerKind {
        self.inner.kind
    }

    /// The issuer identifier: `public_url` without a trailing slash.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The canonical resource URL: `public_url + "/mcp"`.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The `Host` values `/mcp` accepts: the public URL's host (with and without its port),
    /// loopback, and `[*_mcp].allowed_hosts`.
    #[must_use]
    pub fn allowed_hosts(&self) -> &[String] {
        &self.inner.allowed_hosts
    }

    /// This server's metrics.
    #[must_use]
    pub fn metrics(&self) -> &ServerMetrics {
        &self.inner.metrics
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// Fails when it does not.
    pub async fn ping(&self) -> Result<(), crate::store::StoreError> {
        self.inner.store.ping().await
    }

    /// Deletes expired pending authorizations, codes and tokens, clients unused or idle past
    /// their limits, and grants left with nothing; returns how many rows went.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn prune(&self) -> Result<usize, crate::store::StoreError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let limits = &self.inner.limits;
        self.inner
            .store
            .prune(
                crate::store::now_unix(),
                secs(limits.unused_client_ttl),
                secs(limits.idle_client_ttl),
            )
            .await
    }

    pub(crate) fn store(&self) -> &store::AsStore {
        &self.inner.store
    }

    pub(crate) fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    pub(crate) fn upstream(&self) -> &upstream::Upstream {
        &self.inner.upstream
    }

    pub(crate) fn client_docs(&self) -> &client_doc::ClientDocs {
        &self.inner.client_docs
    }

    pub(crate) fn resource_metadata_url(&self) -> &str {
        &self.inner.resource_metadata_url
    }

    pub fn public_origin(&self) -> &url::Origin {
        &self.inner.public_origin
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies
    }

    pub(crate) fn access_ttl_secs(&self) -> i64 {
        i64::try_from(self.inner.access_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    pub(crate) fn refresh_ttl_secs(&self) -> i64 {
        i64::try_from(self.inner.refresh_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// The lock that makes upstream refreshes of `account` single-flight in this process.
    pub(crate) fn account_lock(&self, account: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.inner
                .refresh_locks
                .lock()
                .entry(account.to_owned())
                .or_default(),
        )
    }

    /// The MCP sessions and the grants that opened them.
    #[must_use]
    pub fn sessions(&self) -> &sessions::Sessions {
        &self.inner.sessions
    }

    /// What this server keeps and lets one client or address do.
    #[must_use]
    pub fn limits(&self) -> &crate::config::AuthLimits {
        &self.inner.limits
    }

    /// The rate limit of `endpoint`.
    pub(crate) fn rate_limiter(&self, endpoint: rate_limit::Endpoint) -> &rate_limit::RateLimiter {
        match endpoint {
            rate_limit::Endpoint::Register => &self.inner.register_limit,
            rate_limit::Endpoint::Authorize => &self.inner.authorize_limit,
            rate_limit::Endpoint::Token => &self.inner.token_limit,
        }
    }

    /// The associated data that binds a sealed upstream token to its account row and column.
    pub(crate) fn account_aad(&self, account: &str, column: &str) -> String {
        account_aad(self.inner.kind.name(), account, column)
    }
}

/// The associated data of a sealed upstream token of `account` on `server`.
fn account_aad(server: &str, account: &str, column: &str) -> String {
    format!("as_upstream_accounts|{server}|{account}|{column}")
}

/// Tries every durable sealed value of `server`'s authorization server (its upstream access and
/// refresh tokens) with `sealer`; returns how many opened and how many did not. Used to check a
/// backup before it is restored.
///
/// # Errors
/// Fails when the table cannot be read.
pub(crate) fn tally_sealed(
    conn: &rusqlite::Connection,
    sealer: &Sealer,
    server: &str,
) -> rusqlite::Result<crate::store::seal::SealTally> {
    let mut tally = crate::store::seal::SealTally::default();
    let mut accounts = conn.prepare(
        "SELECT server, account, access_token, refresh_token FROM as_upstream_accounts WHERE server = ?1",
    )?;
    let rows = accounts.query_map([server], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<Vec<u8>>>(3)?,
        ))
    })?;
    for row in rows {
        let (server, account, access, refresh) = row?;
        for (column, sealed) in [("access_token", access), ("refresh_token", refresh)] {
            if let Some(sealed) = sealed {
                let aad = account_aad(&server, &account, column);
                tally.record(sealer.open(&aad, &sealed).is_ok());
            }
        }
    }
    Ok(tally)
}

/// The authorization server's routes (everything except `/mcp`), each unauthenticated endpoint
/// behind its per-address rate limit.
pub fn routes(auth: AuthServer) -> Router {
    use axum::middleware::from_fn_with_state;
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(metadata::protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server),
        )
        .route(
            "/register",
            post(register::register).layer(from_fn_with_state(auth.clone(), rate_limit::register)),
        )
        .route(
            "/authorize",
            get(authorize::authorize)
                .layer(from_fn_with_state(auth.clone(), rate_limit::authorize)),
        )
        .route(
            "/consent",
            post(consent::consent).layer(from_fn_with_state(auth.clone(), rate_limit::authorize)),
        )
        .route("/oauth/callback", get(callback::callback))
        .route(
            "/token",
            post(token::token).layer(from_fn_with_state(auth.clone(), rate_limit::token)),
        )
        .route(
            "/revoke",
            post(revoke::revoke).layer(from_fn_with_state(auth.clone(), rate_limit::token)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(auth)
}
