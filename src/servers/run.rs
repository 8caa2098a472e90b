//! Running one of our MCP servers: the authorization server's routes, `/mcp` (rmcp's streamable
//! HTTP service) behind the bearer check, and `/healthz`, `/readyz`, `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::ServerKind;
use super::auth::{self, AuthServer, UpstreamCredentials};
use super::metrics::ServerMetrics;
use crate::config::Config;
use crate::config::secret::read_secret;
use crate::store::Store;
use crate::store::seal::Sealer;

/// How often expired authorization rows are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// The largest `/mcp` request body.
const MAX_MCP_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The seal key could not be read.
    #[error("[store].seal_key_file: {0}")]
    Seal(#[from] crate::store::seal::SealError),
    /// The database could not be opened.
    #[error("[store].path: {0}")]
    Store(#[from] crate::store::StoreError),
    /// An upstream credential file could not be read.
    #[error("{section}.{key}: {reason}")]
    Credential {
        /// The section (`[notion_mcp]`).
        section: &'static str,
        /// The key (`client_id_file`).
        key: &'static str,
        /// What failed.
        reason: String,
    },
    /// The authorization server could not be set up.
    #[error(transparent)]
    Auth(#[from] auth::AuthSetupError),
    /// The listener failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The upstream OAuth client credentials of `kind`, read from its `*_file` settings.
///
/// # Errors
/// Names the setting whose file cannot be read.
pub fn credentials(kind: ServerKind, config: &Config) -> Result<UpstreamCredentials, ServerError> {
    let section = kind.config(config);
    let read = |key: &'static str, path: &std::path::Path| {
        read_secret(path).map_err(|e| ServerError::Credential {
            section: kind.section(),
            key,
            reason: e.to_string(),
        })
    };
    let client_id = read("client_id_file", &section.client_id_file)?;
    let client_secret = read("client_secret_file", &section.client_secret_file)?;
    Ok(UpstreamCredentials {
        client_id: client_id.expose_secret().to_owned(),
        client_secret,
    })
}

/// Builds the authorization server of `kind` from `config`: its database, seal key and
/// upstream credentials.
///
/// # Errors
/// Names the setting to fix when a file is missing or unreadable.
pub fn authorization_server(
    kind: ServerKind,
    config: &Config,
    store: Store,
) -> Result<AuthServer, ServerError> {
    let sealer = Sealer::load(&config.store.seal_key_file, false)?;
    crate::store::seal::check_key_exposure(
        &config.store.seal_key_file,
        crate::store::seal::KeyReaders::of(&config.store),
    )?;
    let credentials = credentials(kind, config)?;
    Ok(AuthServer::new(
        kind,
        kind.config(config),
        store,
        sealer,
        &credentials,
        ServerMetrics::new(kind.name()),
    )?)
}

/// The whole router of one server: OAuth routes, `/mcp` with `tools` behind the bearer check,
/// and health and metrics. `shutdown` ends open MCP streams.
pub fn router<S>(auth: AuthServer, tools: S, shutdown: CancellationToken) -> Router
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    let mut mcp_config = StreamableHttpServerConfig::default();
    mcp_config.allowed_hosts = auth.allowed_hosts().to_vec();
    mcp_config.allowed_origins = vec![auth.public_origin().ascii_serialization()];
    mcp_config.cancellation_token = shutdown;
    mcp_config.max_request_body_bytes = MAX_MCP_BODY_BYTES;
    mcp_config.sse_keep_alive = Some(Duration::from_secs(15));
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(crate::servers::auth::sessions::SESSION_IDLE);
    let sessions = Arc::new(sessions);
    auth.sessions().attach(Arc::clone(&sessions));
    let service = StreamableHttpService::new(move || Ok(tools.clone()), sessions, mcp_config);
    let mcp =
        Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn_with_state(
                auth.clone(),
                auth::bearer::require_bearer,
            ));
    let health = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(auth.clone());
    auth::routes(auth).merge(mcp).merge(health)
}

/// Ready when the database answers.
async fn readyz(State(auth): State<AuthServer>) -> impl IntoResponse {
    match auth.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")),
    }
}

async fn metrics(State(auth): State<AuthServer>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        auth.metrics().encode(),
    )
}

/// Deletes expired authorization rows every few minutes until `shutdown`.
pub fn spawn_pruning(auth: AuthServer, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => match auth.prune().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(server = %auth.kind(), rows = n, "pruned expired authorization rows"),
                    Err(e) => tracing::warn!(server = %auth.kind(), error = %e, "cannot prune expired authorization rows"),
                },
            }
        }
    });
}

/// Serves `app` for `kind` on its configured address until `shutdown`.
///
/// # Errors
/// Fails when the address cannot be bound.
pub async fn serve(
    kind: ServerKind,
    config: &Config,
    app: Router,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let section = kind.config(config);
    let key = format!("{}.listen", kind.section());
    let listener = crate::http::bind(section.listen, &key).await?;
    tracing::info!(server = %kind, listen = %section.listen, resource = %section.resource_url(), "MCP server listening");
    crate::http::serve(listener, app, shutdown, section.listener).await?;
    Ok(())
}

/// The reqwest client tool handlers call the upstream API with: bounded connect time, no
/// redirects (an upstream redirect would carry the bearer elsewhere), and a bounded pool of idle
/// connections so a burst of calls does not leave hundreds open.
///
/// # Errors
/// Fails when the TLS backend cannot start.
pub fn upstream_http_client() -> Result<reqwest::Client, ServerError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| ServerError::Io(std::io::Error::other(e.to_string())))
}

/// The full router of `kind`: its tool set on `/mcp` against the configured upstream API.
///
/// # Errors
/// Fails when the upstream HTTP client cannot be built.
pub fn app(
    kind: ServerKind,
    config: &Config,
    auth: AuthServer,
    shutdown: CancellationToken,
) -> Result<Router, ServerError> {
    let http = upstream_http_client()?;
    let section = kind.config(config);
    let limits = super::upstream_http::Limits {
        call_deadline: section.tool_timeout,
        ..super::upstream_http::Limits::default()
    };
    let api_url = section.api_url.clone();
    let set = match kind {
        ServerKind::Notion => super::tool_server::ToolSet::Notion(
            super::notion::NotionApi::with_limits(api_url, http, limits)
                .with_budget(section.requests_per_second),
        ),
        ServerKind::Gcal => super::tool_server::ToolSet::Gcal(
            super::gcal::GcalApi::with_limits(api_url, http, limits)
                .with_budget(section.requests_per_second),
        ),
    };
    Ok(router(
        auth,
        super::tool_server::ToolServer::new(set),
        shutdown,
    ))
}

/// Runs the server of `kind` until `shutdown` is cancelled.
///
/// # Errors
/// Names the setting to fix when the server cannot start.
pub async fn run(
    kind: ServerKind,
    config: &Config,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let store = Store::open(&config.store.path)?;
    let auth = authorization_server(kind, config, store)?;
    spawn_pruning(auth.clone(), shutdown.clone());
    let app = app(kind, config, auth, shutdown.clone())?;
    serve(kind, config, app, shutdown).await
}

/// The server's `tools/list` result, `{"tools": [...]}`, as pretty JSON.
#[must_use]
pub fn tool_list_json(kind: ServerKind) -> String {
    let tools = match kind {
        ServerKind::Notion => super::notion::tool_list(),
        ServerKind::Gcal => super::gcal::tool_list(),
    };
    serde_json::to_string_pretty(&serde_json::json!({ "tools": tools }))
        .unwrap_or_else(|_| "{\"tools\":[]}".to_owned())
}
