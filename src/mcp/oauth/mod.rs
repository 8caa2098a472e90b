//! The gateway as a standard MCP OAuth client: each person connects their own account on every
//! server with `auth = "oauth"`, and every request to that server carries that person's token.
//!
//! The flow, per the MCP authorization specification:
//! 1. [`OAuthClient::connect_link`] probes the server without credentials, reads the
//!    protected-resource metadata its 401 challenge names (or the well-known one), and lets rmcp's
//!    [`AuthorizationManager`] resolve the authorization server's metadata (RFC 8414 / OIDC, with
//!    issuer checks). The gateway registers once per server by dynamic client registration
//!    (stored in `oauth_clients`, the secret sealed), and builds the authorization URL: PKCE S256,
//!    a random single-use `state` bound to the person (stored hashed in `oauth_states`, the PKCE
//!    verifier and the waiting message sealed), `resource` = the server's canonical URL, and
//!    `redirect_uri` = `[http].public_url` + `/oauth/callback`.
//! 2. The gateway's `/oauth/callback` ([`callback`]) claims the `state` once, checks `iss`, and
//!    lets rmcp exchange the code with the verifier; the token response is sealed into
//!    `oauth_tokens` per (person, server). The person's channel is told through its
//!    [`ConnectListener`], which answers the waiting message.
//! 3. [`OAuthClient::access_token`] hands out the stored access token and refreshes it shortly
//!    before it expires; [`OAuthClient::token_rejected`] refreshes after a 401. Refreshes are
//!    single-flight per (person, server): concurrent callers wait for one refresh and then read
//!    its result. A refresh the authorization server refuses (`invalid_grant`, or no refresh
//!    token) marks the connection broken, with the reason the server gave ([`ended`]), so the
//!    next use offers a new link that says why; several connections Google ended at Testing's
//!    7 days are told to the admins ([`OAuthClient::tell_admins_with`]). One it refuses
//!    with `invalid_client` (it forgot the gateway, e.g. a server that keeps registrations in
//!    memory and restarted) also forgets the registration, so that link registers again.
//! 4. [`OAuthClient::disconnect`] revokes the tokens at the server's `revocation_endpoint` and
//!    deletes them here.
//!
//! rmcp's `auth` module does the protocol work: metadata resolution, registration, the
//! authorization URL with PKCE and `resource`, the code exchange with `iss` validation and the
//! refresh with `resource`, through this module's SQLite-backed [`CredentialStore`] and
//! [`StateStore`] ([`store`]). Two things are done here instead. rmcp's `AuthClient` refreshes
//! whenever it finds a token near expiry, without checking again after waiting for the refresh
//! guard, so two concurrent requests would refresh twice (and the second would spend the
//! rotated refresh token); the single-flight check lives here, and MCP sessions get their bearer
//! from here (see [`crate::mcp::pool`]). And rmcp keeps the discovered `resource` private to the
//! manager that discovered it, so the callback and refreshes (in other managers, possibly after a
//! restart) would fall back to the configured URL: the resource is read from the
//! protected-resource metadata here ([`discovery`]), stored with the registration, and each
//! manager is built for it.

pub(crate) mod callback;
mod discovery;
pub(crate) mod ended;
pub(crate) mod link_page;
pub(crate) mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth2::TokenResponse;
use rmcp::transport::auth::{AuthError, AuthorizationManager, OAuthClientConfig};
use url::Url;

pub use store::{ConnectionInfo, ConnectionStatus};

use self::store::{Credentials, OAuthStore, Registration, StateContext, States};
use crate::Principal;
use crate::config::{Config, ServerAuth, ServerConfig};
use crate::mcp::accounts::{
    AccountError, AccountLinks, ConnectListener, ConnectedAccount, ConnectedNotice,
    ConnectionEnded, Disconnected, PendingMessage,
};
use crate::store::seal::Sealer;
use crate::store::{Store, StoreError, now_unix};
use crate::telemetry::metrics::{Metrics, ServerLabels};

/// The path of the gateway's OAuth callback under `[http].public_url`.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// How long an authorization link stays valid.
const STATE_TTL: Duration = Duration::from_secs(600);
/// The name the gateway registers under.
const CLIENT_NAME: &str = "mcp-gateway";
/// The longest a token is refreshed ahead of its expiry.
const REFRESH_AHEAD_SECS: i64 = 30;

/// Why the OAuth client could not do something; the text is fit for the person and the log.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No server of that name is configured.
    #[error("no server named `{0}` is configured")]
    UnknownServer(String),
    /// The server is not configured with `auth = "oauth"`.
    #[error("the server `{0}` is not configured with auth = \"oauth\"")]
    NotOAuth(String),
    /// The person has no usable connection to the server.
    #[error("`{0}` is not connected for this user")]
    NotConnected(String),
    /// The server's authorization could not be discovered or the gateway could not register.
    #[error("cannot set up authorization with `{server}`: {reason}")]
    Setup {
        /// The server.
        server: String,
        /// What failed, without secrets.
        reason: String,
    },
    /// The authorization server could not be reached or failed; trying again later may work.
    #[error("the authorization server of `{server}` failed: {reason}")]
    Unavailable {
        /// The server.
        server: String,
        /// What failed, without secrets.
        reason: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be created.
    #[error("cannot create the OAuth HTTP client: {0}")]
    HttpClient(String),
}

/// The gateway's MCP OAuth client. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct OAuthClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("redirect_uri", &self.inner.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Held while one person's token on one server is refreshed.
type RefreshLock = Arc<tokio::sync::Mutex<()>>;

/// Says a text to the admins of every running channel; returns how many it reached.
type TellAdmins = Arc<dyn Fn(&str) -> usize + Send + Sync>;

struct Inner {
    store: OAuthStore,
    servers: Vec<ServerConfig>,
    redirect_uri: String,
    http: reqwest::Client,
    metrics: Metrics,
    /// Held while a server's registration is checked or made.
    registering: tokio::sync::Mutex<()>,
    /// One lock per (person, server), held while a token is refreshed.
    refreshing: parking_lot::Mutex<HashMap<(String, String), RefreshLock>>,
    listeners: parking_lot::RwLock<HashMap<String, Arc<dyn ConnectListener>>>,
    /// The pages in front of the links shown in chats.
    pages: link_page::LinkPages,
    /// Connections ended at Google Testing's 7 days, per server.
    endings: ended::TestingEndings,
    /// Where the admins' notices go.
    admins: parking_lot::RwLock<Option<TellAdmins>>,
}

impl OAuthClient {
    /// The OAuth client of the gateway configured by `config`, storing in `store` sealed with
    /// `sealer`, counting in `metrics`.
    ///
    /// # Errors
    /// Fails only when the HTTP client cannot be created.
    pub fn new(
        config: &Config,
        store: Store,
        sealer: Sealer,
        metrics: Metrics,
    ) -> Result<Self, OAuthError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OAuthError::HttpClient(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: OAuthStore::new(store, sealer),
                servers: config.servers.clone(),
                redirect_uri: redirect_uri(&config.http.public_url),
                http,
                metrics,
                registering: tokio::sync::Mutex::new(()),
                refreshing: parking_lot::Mutex::new(HashMap::new()),
                listeners: parking_lot::RwLock::new(HashMap::new()),
                pages: link_page::LinkPages::new(&config.http.public_url, STATE_TTL),
                endings: ended::TestingEndings::default(),
                admins: parking_lot::RwLock::new(None),
            }),
        })
    }

    /// The redirect URI the gateway registers: `[http].public_url` + `/oauth/callback`.
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        &self.inner.redirect_uri
    }

    /// Sends what the admins must hear (several connections Google ended at Testing's 7 days)
    /// through `tell`, which returns how many admins it reached.
    pub fn tell_admins_with(&self, tell: impl Fn(&str) -> usize + Send + Sync + 'static) {
        *self.inner.admins.write() = Some(Arc::new(tell));
    }

    /// Counts a connection to `server` that Google ended at Testing's 7 days, and tells the
    /// admins once the pattern is there (at most once per [`ended::MEMORY_SECS`]).
    fn testing_ended(&self, server: &str) {
        let now = now_unix();
        let Some(count) = self.inner.endings.record(server, now) else {
            return;
        };
        let text = ended::testing_notice(server, count);
        tracing::warn!(server, endings = count, "{text}");
        let tell = self.inner.admins.read().clone();
        let told = tell.map_or(0, |tell| tell(&text));
        if told > 0 {
            self.inner.endings.told(server, now);
        }
    }

    /// Why `principal`'s connection to `server` broke, when it is broken and the server said.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn ended(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<Option<ConnectionEnded>, OAuthError> {
        Ok(self
            .inner
            .store
            .connections(Some(principal.as_str()))
            .await?
            .into_iter()
            .find(|c| c.server == server && c.status == ConnectionStatus::Broken)
            .and_then(|c| c.ended)
            .map(|reason| ConnectionEnded::from_description(&reason)))
    }

    /// Tells `listener` about connections finished by people of `channel` (`console`,
    /// `telegram`, `slack`), replacing an earlier listener of that channel.
    pub fn listen(&self, channel: &str, listener: Arc<dyn ConnectListener>) {
        self.inner
            .listeners
            .write()
            .insert(channel.to_owned(), listener);
    }

    fn server(&self, name: &str) -> Result<&ServerConfig, OAuthError> {
        let server = self
            .inner
            .servers
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| OAuthError::UnknownServer(name.chars().take(64).collect()))?;
        if server.auth != ServerAuth::OAuth {
            return Err(OAuthError::NotOAuth(server.name.clone()));
        }
        Ok(server)
    }

    /// An authorization link for `principal` on `server`, remembering `pending` (the message
    /// that needed the connection) until the callback.
    ///
    /// # Errors
    /// Fails when the server is unknown or not an OAuth server, when its authorization cannot be
    /// discovered, or when the gateway cannot register with it.
    pub async fn connect_link(
        &self,
        principal: &Principal,
        server: &str,
        pending: Option<PendingMessage>,
    ) -> Result<String, OAuthError> {
        let config = self.server(server)?;
        let setup = |reason: String| OAuthError::Setup {
            server: config.name.clone(),
            reason,
        };
        let found = discovery::find_resource(&self.inner.http, &config.url)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let mut manager =
            AuthorizationManager::new_allowing_private_addresses(found.resource.as_str())
                .await
                .map_err(|e| setup(auth_reason(&e)))?;
        let resolution = manager
            .resolve_metadata_from_challenge(found.challenge.as_deref())
            .await
            .map_err(|e| setup(auth_reason(&e)))?;
        if !resolution.source.is_discovered() {
            return Err(setup(
                "it publishes no OAuth metadata (protected-resource or authorization-server)"
                    .to_owned(),
            ));
        }
        manager.set_metadata(resolution.metadata.clone());
        let scopes = manager.select_initial_scopes(&[]).await;
        let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        self.ensure_registration(
            &mut manager,
            config,
            &found.resource,
            resolution.metadata,
            &scope_refs,
        )
        .await?;
        manager.set_state_store(States {
            store: self.inner.store.clone(),
            context: StateContext {
                principal: principal.as_str().to_owned(),
                server: config.name.clone(),
                pending,
                ttl_secs: i64::try_from(STATE_TTL.as_secs()).unwrap_or(600),
            },
        });
        let url = manager
            .get_authorization_url(&scope_refs)
            .await
            .map_err(|e| setup(auth_reason(&e)))?;
        tracing::info!(server = %config.name, principal = %principal, "authorization link created");
        Ok(url)
    }

    /// Uses the stored registration with `config`'s authorization server when it still fits
    /// (same server URL, redirect URI and issuer), else registers the gateway (DCR) and stores it.
    async fn ensure_registration(
        &self,
        manager: &mut AuthorizationManager,
        config: &ServerConfig,
        resource: &Url,
        metadata: rmcp::transport::auth::AuthorizationMetadata,
        scopes: &[&str],
    ) -> Result<(), OAuthError> {
        let setup = |reason: String| OAuthError::Setup {
            server: config.name.clone(),
            reason,
        };
        let _registering = self.inner.registering.lock().await;
        let stored = self.inner.store.registration(&config.name).await?;
        let fits = |r: &Registration| {
            r.server_url == config.url.as_str()
                && r.redirect_uri == self.inner.redirect_uri
                && r.issuer == metadata.issuer
                && r.resource == resource.as_str()
        };
        let stored = match stored.filter(fits) {
            Some(reg) if !still_registered(&reg).await => {
                self.forget_registration(&config.name, &reg.client_id)
                    .await?;
                None
            }
            other => other,
        };
        if let Some(reg) = stored {
            manager
                .configure_client(client_config(&reg))
                .map_err(|e| setup(auth_reason(&e)))?;
            if reg.metadata.token_endpoint != metadata.token_endpoint {
                self.inner
                    .store
                    .save_registration(&config.name, Registration { metadata, ..reg })
                    .await?;
            }
            return Ok(());
        }
        if metadata.registration_endpoint.is_none() {
            return Err(setup(
                "its authorization server offers no dynamic client registration".to_owned(),
            ));
        }
        let application_type = if is_loopback(&self.inner.redirect_uri) {
            "native"
        } else {
            "web"
        };
        // rmcp registers with the manager's application type, which only a client
        // configuration sets; the placeholder is replaced by the registration.
        manager
            .configure_client(
                OAuthClientConfig::new("unregistered", self.inner.redirect_uri.clone())
                    .with_application_type(application_type),
            )
            .map_err(|e| setup(auth_reason(&e)))?;
        let registered = manager
            .register_client(CLIENT_NAME, &self.inner.redirect_uri, scopes)
            .await
            .map_err(|e| setup(auth_reason(&e)))?;
        tracing::info!(server = %config.name, "registered with the server's authorization server");
        self.inner
            .store
            .save_registration(
                &config.name,
                Registration {
                    server_url: config.url.to_string(),
                    resource: resource.to_string(),
                    issuer: metadata.issuer.clone(),
                    metadata,
                    client_id: registered.client_id,
                    client_secret: registered.client_secret,
                    redirect_uri: self.inner.redirect_uri.clone(),
                },
            )
            .await?;
        Ok(())
    }

    /// Forgets `server`'s registration `client_id`, which its authorization server no longer
    /// knows, so that the next link registers again (a newer registration is kept).
    async fn forget_registration(&self, server: &str, client_id: &str) -> Result<(), StoreError> {
        if self
            .inner
            .store
            .forget_registration(server, client_id)
            .await?
        {
            tracing::warn!(
                server,
                "the authorization server no longer knows the gateway's registration; it is registered again on the next link"
            );
        }
        Ok(())
    }

    /// An rmcp manager for a registered server, storing a person's tokens through `credentials`.
    async fn manager(
        &self,
        server: &str,
        credentials: Option<Credentials>,
    ) -> Result<(AuthorizationManager, Registration), OAuthError> {
        let reg = self
            .inner
            .store
            .registration(server)
            .await?
            .ok_or_else(|| OAuthError::NotConnected(server.to_owned()))?;
        let mut manager = manager_for(&reg)
            .await
            .map_err(|e| OAuthError::Unavailable {
                server: server.to_owned(),
                reason: auth_reason(&e),
            })?;
        if let Some(credentials) = credentials {
            manager.set_credential_store(credentials);
        }
        Ok((manager, reg))
    }

    fn credentials(&self, principal: &str, server: &str) -> Credentials {
        Credentials {
            store: self.inner.store.clone(),
            principal: principal.to_owned(),
            server: server.to_owned(),
        }
    }

    /// Finishes an authorization from the callback's `state`, `code` and `iss`: claims the state
    /// once, exchanges the code, stores the tokens, and tells the person's channel.
    ///
    /// # Errors
    /// [`callback::CallbackError`] says what the person sees: an unknown or used link, or a
    /// failed exchange.
    pub async fn finish(
        &self,
        state: &str,
        code: &str,
        issuer: Option<&str>,
    ) -> Result<ConnectedNotice, callback::CallbackError> {
        use callback::CallbackError;
        let claimed = self
            .inner
            .store
            .claim_state(state)
            .await
            .map_err(|e| CallbackError::Internal(e.to_string()))?
            .ok_or(CallbackError::UnknownState)?;
        let principal = Principal::parse(&claimed.principal).ok_or(CallbackError::UnknownState)?;
        let server = claimed.server.clone();
        // On failure: what the person sees, and the client id the server no longer knows.
        let result: Result<_, (CallbackError, Option<String>)> = async {
            let (mut manager, reg) = self
                .manager(&server, Some(self.credentials(principal.as_str(), &server)))
                .await
                .map_err(|e| (CallbackError::Exchange(e.to_string()), None))?;
            manager.set_state_store(States {
                store: self.inner.store.clone(),
                context: StateContext {
                    principal: claimed.principal.clone(),
                    server: server.clone(),
                    pending: None,
                    ttl_secs: 0,
                },
            });
            manager
                .exchange_code_for_token_with_issuer(code, state, issuer)
                .await
                .map_err(|e| {
                    let stale = is_invalid_client(&e).then(|| reg.client_id.clone());
                    (CallbackError::Exchange(auth_reason(&e)), stale)
                })
        }
        .await;
        let result = match result {
            Ok(tokens) => Ok(tokens),
            Err((error, stale)) => {
                if let Some(client_id) = stale
                    && let Err(e) = self.forget_registration(&server, &client_id).await
                {
                    tracing::warn!(server = %server, error = %e, "cannot forget a stale registration");
                }
                Err(error)
            }
        };
        // The state is single-use whatever happened.
        if let Err(e) = self.inner.store.delete_state(state).await {
            tracing::warn!(error = %e, "cannot delete a used authorization state");
        }
        let tokens = match result {
            Ok(tokens) => tokens,
            Err(e) => {
                tracing::warn!(server = %server, principal = %principal, error = %e, "authorization failed");
                return Err(e);
            }
        };
        let account = account_label(&tokens);
        if let Err(e) = self
            .inner
            .store
            .set_account_label(principal.as_str(), &server, account.clone())
            .await
        {
            tracing::warn!(server = %server, error = %e, "cannot record which account was connected");
        }
        self.inner
            .metrics
            .oauth_connects
            .get_or_create(&ServerLabels {
                server: server.clone(),
            })
            .inc();
        tracing::info!(server = %server, principal = %principal, "account connected");
        let notice = ConnectedNotice {
            principal,
            server,
            account,
            pending: claimed.pending,
        };
        let listener = self
            .inner
            .listeners
            .read()
            .get(notice.principal.channel())
            .cloned();
        if let Some(listener) = listener {
            let notice = notice.clone();
            tokio::spawn(async move { listener.connected(notice).await });
        }
        Ok(notice)
    }

    /// Whether `principal` has a usable connection to `server`.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn is_connected(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<bool, OAuthError> {
        Ok(self
            .inner
            .store
            .connection(principal.as_str(), server)
            .await?
            .is_some_and(|c| c.status == ConnectionStatus::Ok))
    }

    /// The access token of `principal` on `server`, refreshed first when it is about to expire.
    ///
    /// # Errors
    /// [`OAuthError::NotConnected`] when there is no usable connection (or the refresh was
    /// refused for good), [`OAuthError::Unavailable`] when the refresh failed for now.
    pub async fn access_token(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<String, OAuthError> {
        if let Some(token) = self.fresh_token(principal, server).await? {
            return Ok(token);
        }
        let lock = self.refresh_lock(principal, server);
        let _refreshing = lock.lock().await;
        // Another caller may have refreshed while this one waited.
        if let Some(token) = self.fresh_token(principal, server).await? {
            return Ok(token);
        }
        self.refresh(principal, server).await
    }

    /// A new access token after the server refused `used` (HTTP 401): refreshed, unless another
    /// caller already replaced it.
    ///
    /// # Errors
    /// As [`OAuthClient::access_token`].
    pub async fn token_rejected(
        &self,
        principal: &Principal,
        server: &str,
        used: &str,
    ) -> Result<String, OAuthError> {
        let lock = self.refresh_lock(principal, server);
        let _refreshing = lock.lock().await;
        let current = self.usable(principal, server).await?;
        if let Some(token) = current
            .credentials
            .token_response
            .as_ref()
            .map(|t| t.access_token().secret().clone())
            .filter(|t| t != used)
        {
            return Ok(token);
        }
        self.refresh(principal, server).await
    }

    async fn usable(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<store::StoredConnection, OAuthError> {
        match self
            .inner
            .store
            .connection(principal.as_str(), server)
            .await?
        {
            Some(c)
                if c.status == ConnectionStatus::Ok && c.credentials.token_response.is_some() =>
            {
                Ok(c)
            }
            _ => Err(OAuthError::NotConnected(server.to_owned())),
        }
    }

    /// The stored access token when it is not about to expire; `None` when it should be
    /// refreshed.
    async fn fresh_token(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<Option<String>, OAuthError> {
        let connection = self.usable(principal, server).await?;
        let Some(tokens) = connection.credentials.token_response.as_ref() else {
            return Err(OAuthError::NotConnected(server.to_owned()));
        };
        let due = match (connection.expires_at, tokens.expires_in()) {
            (Some(expires_at), Some(lifetime)) => {
                let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
                let ahead = REFRESH_AHEAD_SECS.min(lifetime / 2).max(1);
                expires_at.saturating_sub(now_unix()) < ahead
            }
            _ => false,
        };
        Ok((!due).then(|| tokens.access_token().secret().clone()))
    }

    fn refresh_lock(&self, principal: &Principal, server: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.refreshing.lock();
        Arc::clone(
            locks
                .entry((principal.as_str().to_owned(), server.to_owned()))
                .or_default(),
        )
    }

    /// Refreshes `principal`'s tokens on `server`; the caller holds the refresh lock.
    async fn refresh(&self, principal: &Principal, server: &str) -> Result<String, OAuthError> {
        let labels = ServerLabels {
            server: server.to_owned(),
        };
        let (manager, reg) = self
            .manager(server, Some(self.credentials(principal.as_str(), server)))
            .await?;
        self.inner
            .metrics
            .oauth_refreshes
            .get_or_create(&labels)
            .inc();
        match manager.refresh_token().await {
            Ok(tokens) => {
                tracing::info!(server, principal = %principal, "access token refreshed");
                Ok(tokens.access_token().secret().clone())
            }
            Err(e @ (AuthError::TokenRefreshRejected(_) | AuthError::AuthorizationRequired)) => {
                self.inner
                    .metrics
                    .oauth_refresh_failures
                    .get_or_create(&labels)
                    .inc();
                let said = ended::refusal_reason(&e);
                self.inner
                    .store
                    .mark_broken(principal.as_str(), server, said.clone())
                    .await?;
                tracing::warn!(server, principal = %principal, reason = %auth_reason(&e), said = said.as_deref().unwrap_or("nothing"), "the refresh was refused; the account must be connected again");
                if said.as_deref().map(ConnectionEnded::from_description)
                    == Some(ConnectionEnded::GoogleTesting)
                {
                    self.testing_ended(server);
                }
                Err(OAuthError::NotConnected(server.to_owned()))
            }
            Err(e @ AuthError::TokenRefreshFailed(_)) if is_invalid_client(&e) => {
                // The authorization server no longer knows the gateway (a server that keeps
                // registrations in memory and restarted, or an operator who deleted it): forget
                // the registration so the next link registers again, and ask for a new link.
                self.inner
                    .metrics
                    .oauth_refresh_failures
                    .get_or_create(&labels)
                    .inc();
                self.forget_registration(server, &reg.client_id).await?;
                self.inner
                    .store
                    .mark_broken(principal.as_str(), server, None)
                    .await?;
                Err(OAuthError::NotConnected(server.to_owned()))
            }
            Err(e) => {
                self.inner
                    .metrics
                    .oauth_refresh_failures
                    .get_or_create(&labels)
                    .inc();
                let reason = auth_reason(&e);
                tracing::warn!(server, principal = %principal, %reason, "token refresh failed");
                Err(OAuthError::Unavailable {
                    server: server.to_owned(),
                    reason,
                })
            }
        }
    }

    /// Removes `principal`'s connection to `server` on both sides: revokes the tokens at the
    /// server's revocation endpoint (when it has one; our servers then revoke the upstream
    /// authorization too), then deletes them here. Says whether there was a connection, and what
    /// the server could not confirm.
    ///
    /// # Errors
    /// Fails when the database cannot be read or written; a failed revocation is reported in
    /// [`Disconnected::unconfirmed`], never dropped.
    pub async fn disconnect(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<Disconnected, OAuthError> {
        let lock = self.refresh_lock(principal, server);
        let _refreshing = lock.lock().await;
        let Some(connection) = self
            .inner
            .store
            .connection(principal.as_str(), server)
            .await?
        else {
            return Ok(Disconnected::default());
        };
        let mut unconfirmed = None;
        if let Some(reg) = self.inner.store.registration(server).await?
            && let Some(tokens) = &connection.credentials.token_response
        {
            let mut revoke = vec![(tokens.access_token().secret().clone(), "access_token")];
            if let Some(refresh) = tokens.refresh_token() {
                revoke.insert(0, (refresh.secret().clone(), "refresh_token"));
            }
            for (token, hint) in revoke {
                if let Err(reason) = self.revoke(&reg, &token, hint).await {
                    tracing::warn!(server, principal = %principal, %reason, "the server did not confirm a revocation");
                    unconfirmed.get_or_insert(reason);
                }
            }
        }
        let removed = self
            .inner
            .store
            .delete_connection(principal.as_str(), server)
            .await?;
        self.inner
            .metrics
            .oauth_disconnects
            .get_or_create(&crate::telemetry::metrics::OutcomeLabels {
                server: server.to_owned(),
                outcome: if unconfirmed.is_some() {
                    "unconfirmed"
                } else {
                    "revoked"
                }
                .to_owned(),
            })
            .inc();
        tracing::info!(server, principal = %principal, confirmed = unconfirmed.is_none(), "account disconnected");
        Ok(Disconnected {
            was_connected: removed,
            unconfirmed,
        })
    }

    /// Revokes one token at the registration's revocation endpoint (RFC 7009).
    async fn revoke(&self, reg: &Registration, token: &str, hint: &str) -> Result<(), String> {
        let Some(endpoint) = reg
            .metadata
            .additional_fields
            .get("revocation_endpoint")
            .and_then(|v| v.as_str())
        else {
            return Err("the authorization server has no revocation endpoint".to_owned());
        };
        // A public client sends its id and an empty secret: the MCP Python SDK's revocation
        // endpoint requires the `client_secret` field to be present even for public clients.
        let mut form = vec![
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", reg.client_id.as_str()),
            ("client_secret", ""),
        ];
        let mut request = self
            .inner
            .http
            .post(endpoint)
            .timeout(Duration::from_secs(10));
        if let Some(secret) = &reg.client_secret {
            request = request.basic_auth(&reg.client_id, Some(secret));
            form.retain(|(k, _)| *k != "client_id" && *k != "client_secret");
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| discovery::describe(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let said = response
            .bytes()
            .await
            .ok()
            .filter(|b| b.len() <= 16 * 1024)
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("error_description")?.as_str().map(str::to_owned))
            .and_then(|d| callback::description(&d));
        Err(match said {
            Some(said) => said,
            None => format!("its revocation endpoint answered HTTP {}", status.as_u16()),
        })
    }

    /// The stored connections, of `principal` or of everyone.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn connections(
        &self,
        principal: Option<&Principal>,
    ) -> Result<Vec<ConnectionInfo>, OAuthError> {
        Ok(self
            .inner
            .store
            .connections(principal.map(Principal::as_str))
            .await?)
    }
}

#[async_trait]
impl AccountLinks for OAuthClient {
    async fn connect_link(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<String, AccountError> {
        self.connect_link_for(principal, server, None).await
    }

    async fn connect_link_for(
        &self,
        principal: &Principal,
        server: &str,
        pending: Option<PendingMessage>,
    ) -> Result<String, AccountError> {
        OAuthClient::connect_link(self, principal, server, pending)
            .await
            .map_err(|e| {
                tracing::warn!(server, error = %e, "cannot create an authorization link");
                AccountError(e.to_string())
            })
    }

    fn present_link(&self, url: &str, server: &str, who: &str) -> String {
        self.inner.pages.publish(url, server, who)
    }

    async fn disconnect(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<Disconnected, AccountError> {
        OAuthClient::disconnect(self, principal, server)
            .await
            .map_err(|e| AccountError(e.to_string()))
    }

    fn listen(&self, channel: &str, listener: Arc<dyn ConnectListener>) {
        OAuthClient::listen(self, channel, listener);
    }

    async fn ended(&self, principal: &Principal, server: &str) -> Option<ConnectionEnded> {
        OAuthClient::ended(self, principal, server)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(server, error = %e, "cannot read why a connection ended");
                None
            })
    }

    async fn connected(&self, principal: &Principal) -> Result<Vec<String>, AccountError> {
        Ok(AccountLinks::accounts(self, principal)
            .await?
            .into_iter()
            .map(|c| c.server)
            .collect())
    }

    async fn accounts(&self, principal: &Principal) -> Result<Vec<ConnectedAccount>, AccountError> {
        let list = self
            .connections(Some(principal))
            .await
            .map_err(|e| AccountError(e.to_string()))?;
        Ok(list
            .into_iter()
            .filter(|c| c.status == ConnectionStatus::Ok)
            .map(|c| ConnectedAccount {
                server: c.server,
                account: c.account,
            })
            .collect())
    }
}

/// The token response field in which our authorization servers name the connected account.
pub const ACCOUNT_LABEL_FIELD: &str = "account_label";

/// The account a token response names in [`ACCOUNT_LABEL_FIELD`], fit to show: a string of at
/// most 200 characters without control characters. Other servers send none.
fn account_label(tokens: &rmcp::transport::auth::OAuthTokenResponse) -> Option<String> {
    let label = tokens.extra_fields().0.get(ACCOUNT_LABEL_FIELD)?.as_str()?;
    let label: String = label
        .chars()
        .filter(|c| !c.is_control() && !crate::display::is_formatting(*c))
        .take(200)
        .collect();
    let label = label.trim();
    (!label.is_empty()).then(|| label.to_owned())
}

/// `[http].public_url` + `/oauth/callback`.
fn redirect_uri(public_url: &Url) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        public_url.as_str().trim_end_matches('/')
    )
}

fn is_loopback(url: &str) -> bool {
    Url::parse(url).ok().is_some_and(|u| match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

fn client_config(reg: &Registration) -> OAuthClientConfig {
    let config = OAuthClientConfig::new(reg.client_id.clone(), reg.redirect_uri.clone());
    match &reg.client_secret {
        Some(secret) => config.with_client_secret(secret.clone()),
        None => config,
    }
}

/// An rmcp manager for the registration `reg`, with no person's tokens.
async fn manager_for(reg: &Registration) -> Result<AuthorizationManager, AuthError> {
    let mut manager =
        AuthorizationManager::new_allowing_private_addresses(reg.resource.as_str()).await?;
    manager.set_metadata(reg.metadata.clone());
    manager.configure_client(client_config(reg))?;
    Ok(manager)
}

/// Whether the authorization server still knows the registration `reg`. A refresh with a
/// made-up refresh token, authenticated as the gateway exactly like a real one, is refused
/// with `invalid_grant` by a server that knows the client and with `invalid_client` by one
/// that does not (RFC 6749 §5.2). Any other outcome counts as known: registering again
/// without need would strand every person's tokens.
async fn still_registered(reg: &Registration) -> bool {
    use oauth2::basic::BasicTokenType;
    use oauth2::{AccessToken, RefreshToken};
    use rmcp::transport::auth::{
        CredentialStore, InMemoryCredentialStore, OAuthTokenResponse, StoredCredentials,
        VendorExtraTokenFields,
    };

    let Ok(mut manager) = manager_for(reg).await else {
        return true;
    };
    let mut made_up = OAuthTokenResponse::new(
        AccessToken::new(String::new()),
        BasicTokenType::Bearer,
        VendorExtraTokenFields::default(),
    );
    made_up.set_refresh_token(Some(RefreshToken::new(format!(
        "probe-{}",
        hex::encode(rand::random::<[u8; 16]>())
    ))));
    let store = InMemoryCredentialStore::new();
    let saved = store
        .save(StoredCredentials::new(
            reg.client_id.clone(),
            Some(made_up),
            Vec::new(),
            None,
        ))
        .await;
    if saved.is_err() {
        return true;
    }
    manager.set_credential_store(store);
    match manager.refresh_token().await {
        Err(e) => !is_invalid_client(&e),
        Ok(_) => true,
    }
}

/// Whether the token endpoint answered `invalid_client` (RFC 6749 §5.2): it does not know, or
/// could not authenticate, the gateway's registration. rmcp keeps only the error's text for
/// token errors other than `invalid_grant`, so the code is read from it.
fn is_invalid_client(error: &AuthError) -> bool {
    match error {
        AuthError::TokenRefreshFailed(text) | AuthError::TokenExchangeFailed(text) => text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == "invalid_client"),
        _ => false,
    }
}

/// An rmcp authorization error as a short reason without secrets.
fn auth_reason(error: &AuthError) -> String {
    let text = match error {
        AuthError::AuthorizationRequired => {
            "the authorization server requires signing in again".to_owned()
        }
        AuthError::TokenRefreshRejected(_) => {
            "the authorization server refused the refresh token".to_owned()
        }
        AuthError::PkceUnsupported => {
            "the authorization server does not support PKCE S256".to_owned()
        }
        AuthError::NoAuthorizationSupport => {
            "the server publishes no authorization metadata".to_owned()
        }
        other => other.to_string(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_told_apart_from_other_token_errors() {
        let text = |t: &str| AuthError::TokenRefreshFailed(t.to_owned());
        assert!(is_invalid_client(&text(
            "Server returned error response: invalid_client: Client ID not found"
        )));
        assert!(!is_invalid_client(&text(
            "Server returned error response: invalid_client_metadata"
        )));
        assert!(!is_invalid_client(&text(
            "Request failed: connection refused"
        )));
        assert!(!is_invalid_client(&AuthError::TokenRefreshRejected(
            "invalid_client".to_owned()
        )));
    }

    #[test]
    fn the_redirect_uri_is_under_the_public_url() {
        let url = Url::parse("https://gw.example/").unwrap();
        assert_eq!(redirect_uri(&url), "https://gw.example/oauth/callback");
        let url = Url::parse("http://127.0.0.1:18789").unwrap();
        assert_eq!(redirect_uri(&url), "http://127.0.0.1:18789/oauth/callback");
        assert!(is_loopback("http://127.0.0.1:18789/oauth/callback"));
        assert!(!is_loopback("https://gw.example/oauth/callback"));
    }
}
