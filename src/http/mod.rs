//! The gateway's HTTP surface: `/healthz`, `/readyz`, `/metrics` (and the OAuth callback, mounted
//! by the connect flow, and Alertmanager's webhook, `crate::ops::alertmanager`, with `[alerting]`).
//!
//! [`router`] builds the routes so tests can mount them on `127.0.0.1:0`; [`serve`] runs them,
//! with a header-read timeout, an idle timeout and a connection cap ([`listener`]), until the
//! shutdown token fires, then drains. [`page`] renders the HTML pages shown to people.

pub(crate) mod listener;
pub(crate) mod page;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::llm::ChatModel;
use crate::store::Store;

/// How long a readiness probe waits for the model server.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// What the health routes look at.
#[derive(Clone)]
pub struct HealthState {
    /// The database.
    pub store: Store,
    /// The model server.
    pub model: Arc<dyn ChatModel>,
    /// The metrics registry, rendered at `/metrics`.
    pub registry: Arc<Registry>,
}

/// The health and metrics routes.
pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Ready when the database answers and the model server lists its models.
async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
    if let Err(e) = state.store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"));
    }
    match tokio::time::timeout(READY_TIMEOUT, state.model.list_models()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n".to_owned()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("model: {e}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "model: no answer within 2 s\n".to_owned(),
        ),
    }
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::telemetry::metrics::encode(&state.registry),
    )
}

/// Serves `app` on `listener` within `limits` (see [`listener`]) until `shutdown` fires, then
/// lets open requests finish.
///
/// # Errors
/// Fails when the server cannot accept connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    limits: listener::ListenerLimits,
) -> std::io::Result<()> {
    listener::serve(listener, app, shutdown, limits).await
}

/// Binds `addr`, naming it in the error so the operator knows which setting to change.
///
/// # Errors
/// Fails when the address is in use or not available.
pub async fn bind(addr: std::net::SocketAddr, key: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({key}): {e}")))
}

/// A token cancelled on SIGTERM or Ctrl-C.
#[must_use]
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot watch SIGTERM");
                        return;
                    }
                };
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}
