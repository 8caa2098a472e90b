//! The MCP client pool: one lazily opened session per configured server, behind [`ToolHost`].
//!
//! Each session lives in a slot keyed by server and, for servers whose sessions belong to one
//! person, by principal. Servers with `auth = "none"` or `auth = "bearer"` share one slot (no
//! principal) and so one session. Servers with `auth = "oauth"` need a session per
//! (principal, server) carrying that principal's token from the [`OAuthClient`]: every request
//! of such a session asks the OAuth client for the current token (refreshed ahead of expiry, and
//! after a 401), so one person's session never carries another person's token. A principal
//! without a usable connection (never connected, disconnected, or refused at refresh) is listed
//! in [`Catalog::needs_connection`] and calls fail with [`ToolError::NotConnected`].
//!
//! A slot connects on first use (`initialize`, then the tool list). Concurrent users of a slot
//! wait for one connection attempt instead of each opening their own; no lock is held across an
//! await except that per-slot connection lock. When a connection attempt fails the slot is down:
//! it reports the reason and is tried again on the first use after a backoff that starts at
//! [`PoolOptions::retry_backoff`] and doubles up to [`PoolOptions::max_retry_backoff`], so a dead
//! server costs a turn almost nothing.
//!
//! When a call finds that its session is gone (the server restarted or expired it, or the
//! connection was refused), the pool opens a new session, lists the tools again and sends the
//! call once more. A session whose connection broke while a call was under way is replaced, but
//! that call is not repeated, because the server may have acted on it. Every call has a deadline:
//! the server's `timeout_secs`, else `[agent].tool_timeout_secs`, covering connection, retry and
//! the call itself.
//!
//! Each call is traced in a span `mcp_call` with the server, the tool, the outcome and the
//! latency; arguments, results and tokens are never logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::http::{Bearer, BearerError, HttpClient};
use super::listing::Limits;
use super::oauth::{OAuthClient, OAuthError};
use super::output::tool_output;
use super::session::{Connect, Failure, Session};
use super::{Catalog, CatalogTool, ToolError, ToolHost, ToolOutput};
use crate::Principal;
use crate::config::{Config, ServerAuth, ServerConfig, read_secret};

/// Tunable bounds of the pool. [`PoolOptions::default`] suits production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// The most tools kept from one server (512).
    pub max_tools_per_server: usize,
    /// The largest tool input schema accepted, in bytes of compact JSON (64 KiB).
    pub max_schema_bytes: usize,
    /// The most bytes buffered for one response (JSON body or SSE event) from a server (32 MiB):
    /// a 10 MB result that a server sends both as text and as structured content still fits, and
    /// the agent cuts it before it reaches the model.
    pub max_response_bytes: usize,
    /// The deadline for opening a session (TCP connect, `initialize` and the tool list), and for
    /// one server's part of a catalog (10 s).
    pub connect_timeout: Duration,
    /// The wait after a failed connection attempt before the next one (1 s), doubling on each
    /// further failure.
    pub retry_backoff: Duration,
    /// The longest wait between connection attempts (30 s).
    pub max_retry_backoff: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_tools_per_server: Limits::default().max_tools,
            max_schema_bytes: Limits::default().max_schema_bytes,
            max_response_bytes: 32 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            max_retry_backoff: Duration::from_secs(30),
        }
    }
}

/// Why a pool could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The HTTP client could not be created (for example, no TLS backend could be initialised).
    #[error("cannot create the HTTP client for MCP servers: {0}")]
    HttpClient(String),
}

/// The gateway's MCP client pool. Cheap to clone; clones share sessions.
#[derive(Clone)]
pub struct McpPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for McpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpPool")
            .field(
                "servers",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| s.config.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct Inner {
    servers: Vec<Arc<Server>>,
    http: HttpClient,
    options: PoolOptions,
    slots: parking_lot::Mutex<HashMap<SlotKey, Arc<Slot>>>,
    oauth: Option<OAuthClient>,
}

/// A configured server and its call deadline.
struct Server {
    config: ServerConfig,
    timeout: Duration,
}

/// Which session a request uses: the server's shared one, or one principal's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    server: usize,
    principal: Option<Principal>,
}

impl McpPool {
    /// A pool for the configured `[[servers]]`, with `[agent].tool_timeout` as the call deadline
    /// of servers without their own `timeout_secs`.
    ///
    /// # Errors
    /// Fails only when the HTTP client cannot be created.
    pub fn from_config(config: &Config) -> Result<Self, PoolError> {
        Self::new(
            &config.servers,
            config.agent.tool_timeout,
            PoolOptions::default(),
        )
    }

    /// A pool for the configured `[[servers]]` whose `auth = "oauth"` servers get each
    /// principal's token from `oauth`.
    ///
    /// # Errors
    /// Fails only when the HTTP client cannot be created.
    pub fn from_config_with_oauth(config: &Config, oauth: OAuthClient) -> Result<Self, PoolError> {
        Self::with_oauth(
            &config.servers,
            config.agent.tool_timeout,
            PoolOptions::default(),
            Some(oauth),
        )
    }

    /// A pool for `servers`, in that order, with `default_timeout` as the call deadline of
    /// servers without their own. Nothing is connected until first use.
    ///
    /// # Errors
    /// Fails only when the HTTP client cannot be created.
    pub fn new(
        servers: &[ServerConfig],
        default_timeout: Duration,
        options: PoolOptions,
    ) -> Result<Self, PoolError> {
        Self::with_oauth(servers, default_timeout, options, None)
    }

    /// Like [`McpPool::new`], with `oauth` giving each principal's token to the sessions of
    /// `auth = "oauth"` servers (without it, those servers always need a connection).
    ///
    /// # Errors
    /// Fails only when the HTTP client cannot be created.
    pub fn with_oauth(
        servers: &[ServerConfig],
        default_timeout: Duration,
        options: PoolOptions,
        oauth: Option<OAuthClient>,
    ) -> Result<Self, PoolError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            // A fresh connection per request: rmcp's advice, as a reused connection whose
            // previous body was not fully read stalls on delayed ACKs.
            .pool_max_idle_per_host(0)
            // Redirects would carry the bearer token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PoolError::HttpClient(e.to_string()))?;
        let http = HttpClient::new(http);
        let servers = servers
            .iter()
            .map(|config| {
                Arc::new(Server {
                    config: config.clone(),
                    timeout: config.timeout.unwrap_or(default_timeout),
                })
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                servers,
                http,
                options,
                slots: parking_lot::Mutex::new(HashMap::new()),
                oauth,
            }),
        })
    }

    /// Connects to `server` (or checks its open session) and lists its tools, for `doctor`.
    ///
    /// Returns how many tools the catalog offers from it, after `allow_tools`/`deny_tools` and
    /// the bounds. The connection backoff does not apply.
    ///
    /// # Errors
    /// [`ToolError::UnknownServer`] when no such server is configured,
    /// [`ToolError::NotConnected`] for `auth = "oauth"` servers (their sessions belong to a
    /// principal), [`ToolError::Unavailable`] with the reason when it cannot be reached or
    /// refuses the credentials, and [`ToolError::Timeout`] past the server's call deadline.
    pub async fn probe(&self, server: &str) -> Result<usize, ToolError> {
        let (index, entry) = self.inner.server(server)?;
        if entry.config.auth == ServerAuth::OAuth {
            return Err(ToolError::NotConnected(entry.config.name.clone()));
        }
        let deadline = entry.timeout.max(self.inner.options.connect_timeout);
        let work = async {
            let slot = self.inner.slot(index, None);
            let mut retried = false;
            loop {
                let session = slot
                    .session(&self.inner, Backoff::Ignore)
                    .await
                    .map_err(|reason| unavailable(&entry.config, reason))?;
                match session.relist().await {
                    Ok(count) => return Ok(count),
                    Err(Failure::SessionLost(_)) if !retried => {
                        slot.forget(&session);
                        retried = true;
                    }
                    Err(failure) => {
                        if !matches!(failure, Failure::Protocol(_)) {
                            slot.forget(&session);
                        }
                        return Err(unavailable(&entry.config, explain(&entry.config, &failure)));
                    }
                }
            }
        };
        tokio::time::timeout(deadline, work)
            .await
            .unwrap_or_else(|_| Err(timeout_error(&entry.config, deadline)))
    }

    /// The configured servers' names, in configuration order.
    #[must_use]
    pub fn server_names(&self) -> Vec<String> {
        self.inner
            .servers
            .iter()
            .map(|s| s.config.name.clone())
            .collect()
    }
}

#[async_trait]
impl ToolHost for McpPool {
    async fn catalog(&self, principal: &Principal) -> Catalog {
        let lookups = self
            .inner
            .servers
            .iter()
            .enumerate()
            .map(|(index, server)| async move {
                let person = match server.config.auth {
                    ServerAuth::OAuth => {
                        match self.inner.connected(principal, &server.config.name).await {
                            Ok(true) => Some(principal),
                            Ok(false) => return Listing::NeedsConnection,
                            Err(reason) => return Listing::Unavailable(reason),
                        }
                    }
                    ServerAuth::None | ServerAuth::Bearer { .. } => None,
                };
                let deadline = self.inner.options.connect_timeout;
                match tokio::time::timeout(deadline, self.inner.tools_for(index, person)).await {
                    Ok(Ok(tools)) => Listing::Tools(tools),
                    Ok(Err(reason)) => {
                        // A person's session that cannot open for want of a connection.
                        let gone = person.is_some()
                            && matches!(
                                self.inner.connected(principal, &server.config.name).await,
                                Ok(false)
                            );
                        if gone {
                            Listing::NeedsConnection
                        } else {
                            Listing::Unavailable(reason)
                        }
                    }
                    Err(_) => Listing::Unavailable(format!(
                        "the server did not answer within {} s",
                        ceil_secs(deadline)
                    )),
                }
            });
        let listings = futures::future::join_all(lookups).await;
        let mut catalog = Catalog::default();
        for (server, listing) in self.inner.servers.iter().zip(listings) {
            match listing {
                Listing::Tools(tools) => catalog.tools.extend(tools.iter().cloned()),
                Listing::NeedsConnection => {
                    catalog.needs_connection.push(server.config.name.clone());
                }
                Listing::Unavailable(reason) => {
                    catalog
                        .unavailable
                        .push((server.config.name.clone(), reason));
                }
            }
        }
        catalog
    }

    async fn call(
        &self,
        principal: &Principal,
        server: &str,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        let (index, entry) = self.inner.server(server)?;
        let span = tracing::info_span!(
            "mcp_call",
            server = %entry.config.name,
            tool = %tool.chars().take(64).collect::<String>(),
            principal = %principal,
            outcome = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(
                entry.timeout,
                self.call_in(index, principal, tool, arguments),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(timeout_error(&entry.config, entry.timeout)),
            };
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let outcome = outcome(&result);
            let span = tracing::Span::current();
            span.record("outcome", outcome);
            span.record("latency_ms", latency_ms);
            match &result {
                Ok(_) => tracing::info!(outcome, latency_ms, "MCP tool call finished"),
                Err(error) => {
                    tracing::warn!(outcome, latency_ms, %error, "MCP tool call failed");
                }
            }
            result
        }
        .instrument(span)
        .await
    }
}

impl McpPool {
    /// The call itself, without the deadline: session, tool check, call, one retry.
    async fn call_in(
        &self,
        index: usize,
        principal: &Principal,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        let server = self.inner.entry(index);
        let config = &server.config;
        let person = if config.auth == ServerAuth::OAuth {
            match self.inner.connected(principal, &config.name).await {
                Ok(true) => Some(principal),
                Ok(false) => return Err(ToolError::NotConnected(config.name.clone())),
                Err(reason) => return Err(unavailable(config, reason)),
            }
        } else {
            None
        };
        // A person's session that fails for want of credentials means the connection is gone.
        let lost = |reason: String| async move {
            if person.is_some()
                && matches!(
                    self.inner.connected(principal, &config.name).await,
                    Ok(false)
                )
            {
                ToolError::NotConnected(config.name.clone())
            } else {
                unavailable(config, reason)
            }
        };
        let unknown = || ToolError::UnknownTool {
            server: config.name.clone(),
            tool: tool.chars().take(64).collect(),
        };
        if !config.permits(tool) {
            return Err(unknown());
        }
        let slot = self.inner.slot(index, person);
        let mut retried = false;
        loop {
            let session = match slot.session(&self.inner, Backoff::Respect).await {
                Ok(session) => session,
                Err(reason) => return Err(lost(reason).await),
            };
            let outcome = match session.tools().await {
                Ok(tools) if !tools.iter().any(|t| t.tool == tool) => return Err(unknown()),
                Ok(_) => session.call(tool, arguments.clone()).await,
                Err(failure) => Err(failure),
            };
            match outcome {
                Ok(result) => return Ok(tool_output(result)),
                Err(Failure::Protocol(message)) => {
                    return Err(ToolError::Protocol {
                        server: config.name.clone(),
                        message,
                    });
                }
                Err(Failure::SessionLost(reason)) if !retried => {
                    tracing::info!(
                        server = %config.name,
                        %reason,
                        "MCP session lost; opening a new one and sending the call again"
                    );
                    slot.forget(&session);
                    retried = true;
                }
                Err(failure) => {
                    slot.forget(&session);
                    return Err(lost(explain(config, &failure)).await);
                }
            }
        }
    }
}

/// One server's part of a catalog.
enum Listing {
    Tools(Arc<Vec<CatalogTool>>),
    NeedsConnection,
    Unavailable(String),
}

impl Inner {
    /// The server named `name` and its position.
    fn server(&self, name: &str) -> Result<(usize, Arc<Server>), ToolError> {
        self.servers
            .iter()
            .position(|s| s.config.name == name)
            .map(|i| (i, self.entry(i)))
            .ok_or_else(|| ToolError::UnknownServer(name.chars().take(64).collect()))
    }

    /// The server at `index`, which comes from [`Inner::server`] or iterating `servers`.
    fn entry(&self, index: usize) -> Arc<Server> {
        Arc::clone(&self.servers[index])
    }

    /// Whether `principal` has a usable OAuth connection to `server`; the error is a reason.
    async fn connected(&self, principal: &Principal, server: &str) -> Result<bool, String> {
        match &self.oauth {
            None => Ok(false),
            Some(oauth) => oauth
                .is_connected(principal, server)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// The slot of server `index`: the shared one, or `principal`'s own; created on first use.
    fn slot(&self, index: usize, principal: Option<&Principal>) -> Arc<Slot> {
        let key = SlotKey {
            server: index,
            principal: principal.cloned(),
        };
        let mut slots = self.slots.lock();
        Arc::clone(slots.entry(key).or_insert_with(|| {
            Arc::new(Slot {
                principal: principal.cloned(),
                server: self.entry(index),
                state: parking_lot::Mutex::new(State::Idle),
                connecting: tokio::sync::Mutex::new(()),
                attempts: AtomicU64::new(0),
            })
        }))
    }

    /// The tools of server `index` through its shared session (or `principal`'s own), or why
    /// they are unavailable.
    async fn tools_for(
        &self,
        index: usize,
        principal: Option<&Principal>,
    ) -> Result<Arc<Vec<CatalogTool>>, String> {
        let slot = self.slot(index, principal);
        let config = &slot.server.config;
        let mut retried = false;
        loop {
            let session = slot.session(self, Backoff::Respect).await?;
            match session.tools().await {
                Ok(tools) => return Ok(tools),
                Err(Failure::SessionLost(_)) if !retried => {
                    slot.forget(&session);
                    retried = true;
                }
                Err(failure) => {
                    if !matches!(failure, Failure::Protocol(_)) {
                        slot.forget(&session);
                    }
                    return Err(explain(config, &failure));
                }
            }
        }
    }

    /// The bearer token the server's configuration calls for, read now so that a replaced token
    /// file takes effect at the next connection.
    fn bearer(config: &ServerConfig) -> Result<Option<String>, String> {
        match &config.auth {
            ServerAuth::None => Ok(None),
            ServerAuth::Bearer { token_file } => read_secret(token_file)
                .map(|s| Some(s.expose_secret().to_owned()))
                .map_err(|e| e.to_string()),
            ServerAuth::OAuth => Err(format!(
                "`{}` needs each user to connect their account",
                config.name
            )),
        }
    }
}

/// Whether a connection attempt waits out the backoff after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backoff {
    Respect,
    Ignore,
}

/// One session's place in the pool.
struct Slot {
    /// Whose session it is, for `auth = "oauth"` servers.
    principal: Option<Principal>,
    server: Arc<Server>,
    state: parking_lot::Mutex<State>,
    /// Held while connecting, so that concurrent users wait for one attempt.
    connecting: tokio::sync::Mutex<()>,
    /// Finished connection attempts, to tell whether one ended while a user waited.
    attempts: AtomicU64,
}

enum State {
    /// No session and no recent failure.
    Idle,
    /// An open session.
    Live(Arc<Session>),
    /// The last connection attempt failed.
    Down {
        reason: String,
        retry_at: Instant,
        failures: u32,
    },
}

impl Slot {
    /// The open session, or a new one; the error is a short reason.
    async fn session(&self, inner: &Inner, backoff: Backoff) -> Result<Arc<Session>, String> {
        let seen = self.attempts.load(Ordering::Acquire);
        if let Some(ready) = self.ready(backoff, None) {
            return ready;
        }
        let _connecting = self.connecting.lock().await;
        if let Some(ready) = self.ready(backoff, Some(seen)) {
            return ready;
        }
        let config = &self.server.config;
        let started = Instant::now();
        let credentials = match (&self.principal, &inner.oauth) {
            (Some(principal), Some(oauth)) => {
                let bearer: Arc<dyn Bearer> = Arc::new(PersonBearer {
                    oauth: oauth.clone(),
                    principal: principal.clone(),
                    server: config.name.clone(),
                });
                Ok((inner.http.with_bearer(bearer), None))
            }
            _ => Inner::bearer(config).map(|bearer| (inner.http.clone(), bearer)),
        };
        let mut unauthorized = false;
        let result = match credentials {
            Err(reason) => Err(reason),
            Ok((http, bearer)) => {
                let connect = Session::connect(Connect {
                    http,
                    server: config,
                    bearer,
                    limits: Limits {
                        max_tools: inner.options.max_tools_per_server,
                        max_schema_bytes: inner.options.max_schema_bytes,
                    },
                    max_response_bytes: inner.options.max_response_bytes,
                });
                match tokio::time::timeout(inner.options.connect_timeout, connect).await {
                    Ok(Ok(session)) => Ok(session),
                    Ok(Err(failure)) => {
                        unauthorized = matches!(failure, Failure::Unauthorized(_));
                        Err(explain(config, &failure))
                    }
                    Err(_) => Err(format!(
                        "connecting timed out after {} s",
                        ceil_secs(inner.options.connect_timeout)
                    )),
                }
            }
        };
        self.attempts.fetch_add(1, Ordering::AcqRel);
        let mut state = self.state.lock();
        match result {
            Ok(session) => {
                let session = Arc::new(session);
                tracing::info!(
                    server = %config.name,
                    latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "MCP session opened"
                );
                *state = State::Live(Arc::clone(&session));
                Ok(session)
            }
            // A person without a usable connection is told so at once; once they connect,
            // the next use connects without waiting out a backoff.
            Err(reason) if unauthorized && self.principal.is_some() => {
                *state = State::Idle;
                Err(reason)
            }
            Err(reason) => {
                let failures = match &*state {
                    State::Down { failures, .. } => failures.saturating_add(1),
                    State::Idle | State::Live(_) => 1,
                };
                let wait = backoff_after(&inner.options, failures);
                tracing::warn!(
                    server = %config.name,
                    %reason,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "MCP server unavailable"
                );
                *state = State::Down {
                    reason: reason.clone(),
                    retry_at: Instant::now() + wait,
                    failures,
                };
                Err(reason)
            }
        }
    }

    /// The answer without connecting, when there is one: an open session, or the last failure
    /// while backing off (or when an attempt finished after `seen`, while this user waited).
    fn ready(&self, backoff: Backoff, seen: Option<u64>) -> Option<Result<Arc<Session>, String>> {
        let state = self.state.lock();
        match &*state {
            State::Live(session) if !session.is_closed() => Some(Ok(Arc::clone(session))),
            State::Down {
                reason, retry_at, ..
            } => {
                let waiting = backoff == Backoff::Respect && Instant::now() < *retry_at;
                let just_failed =
                    seen.is_some_and(|seen| self.attempts.load(Ordering::Acquire) != seen);
                (waiting || just_failed).then(|| Err(reason.clone()))
            }
            State::Live(_) | State::Idle => None,
        }
    }

    /// Drops `session` if it is still the slot's, so the next user opens a new one.
    fn forget(&self, session: &Arc<Session>) {
        let mut state = self.state.lock();
        if let State::Live(current) = &*state
            && Arc::ptr_eq(current, session)
        {
            *state = State::Idle;
        }
    }
}

/// One person's token on one server, from the OAuth client.
struct PersonBearer {
    oauth: OAuthClient,
    principal: Principal,
    server: String,
}

fn bearer_error(error: OAuthError) -> BearerError {
    match error {
        OAuthError::NotConnected(_) | OAuthError::UnknownServer(_) | OAuthError::NotOAuth(_) => {
            BearerError::NotConnected
        }
        OAuthError::Unavailable { reason, .. } => BearerError::Unavailable(reason),
        other => BearerError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl Bearer for PersonBearer {
    async fn token(&self) -> Result<String, BearerError> {
        self.oauth
            .access_token(&self.principal, &self.server)
            .await
            .map_err(bearer_error)
    }

    async fn rejected(&self, used: &str) -> Result<String, BearerError> {
        self.oauth
            .token_rejected(&self.principal, &self.server, used)
            .await
            .map_err(bearer_error)
    }
}

/// The wait after the `failures`-th failed connection attempt in a row.
fn backoff_after(options: &PoolOptions, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    options
        .retry_backoff
        .saturating_mul(1 << doublings)
        .min(options.max_retry_backoff)
}

/// A failure as the user reads it, with what to do when the configuration is at fault.
fn explain(config: &ServerConfig, failure: &Failure) -> String {
    match (failure, &config.auth) {
        (Failure::Unauthorized(reason), ServerAuth::None) => format!(
            "{reason}; it needs credentials: set auth = \"bearer\" with bearer_token_file, or \
             auth = \"oauth\", for this server"
        ),
        (Failure::Unauthorized(reason), ServerAuth::Bearer { token_file }) => {
            format!("{reason}; check the token in {}", token_file.display())
        }
        (failure, _) => failure.reason().to_owned(),
    }
}

fn unavailable(config: &ServerConfig, reason: String) -> ToolError {
    ToolError::Unavailable {
        server: config.name.clone(),
        reason,
    }
}

fn timeout_error(config: &ServerConfig, deadline: Duration) -> ToolError {
    ToolError::Timeout {
        server: config.name.clone(),
        secs: ceil_secs(deadline),
    }
}

/// `duration` in whole seconds, rounded up.
fn ceil_secs(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// The outcome label of a call, for logs and metrics.
fn outcome(result: &Result<ToolOutput, ToolError>) -> &'static str {
    match result {
        Ok(output) if output.is_error => "tool_error",
        Ok(_) => "ok",
        Err(ToolError::UnknownServer(_)) => "unknown_server",
        Err(ToolError::UnknownTool { .. }) => "unknown_tool",
        Err(ToolError::NotConnected(_)) => "not_connected",
        Err(ToolError::Unavailable { .. }) => "unavailable",
        Err(ToolError::Timeout { .. }) => "timeout",
        Err(ToolError::Protocol { .. }) => "protocol_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let options = PoolOptions {
            retry_backoff: Duration::from_secs(1),
            max_retry_backoff: Duration::from_secs(30),
            ..PoolOptions::default()
        };
        let waits: Vec<u64> = (1..=7)
            .map(|n| backoff_after(&options, n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff_after(&options, u32::MAX).as_secs(), 30);
    }

    #[test]
    fn deadlines_round_up_to_whole_seconds() {
        assert_eq!(ceil_secs(Duration::from_millis(300)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(60)), 60);
    }
}
