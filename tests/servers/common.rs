//! Helpers: a test [`UpstreamTokens`] that refreshes against a fake's token endpoint, a server
//! with a layer that inserts the [`Grant`], and an rmcp client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use base64::Engine;
use mcp_gateway::servers::{Grant, UpstreamAuthError, UpstreamTokens};
use parking_lot::Mutex;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleClient, ServerHandler, ServiceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

/// Which token endpoint flavour a [`TestTokens`] refreshes against.
#[derive(Clone, Copy, Debug)]
pub enum Flavor {
    /// Notion: HTTP Basic client auth, JSON body, rotating refresh tokens.
    Notion,
    /// Google: form body with client credentials, refresh token kept.
    Google,
}

/// Upstream tokens held in memory, refreshed through the fake's OAuth token endpoint.
#[derive(Debug)]
pub struct TestTokens {
    flavor: Flavor,
    token_url: String,
    access: Mutex<String>,
    refresh: Mutex<String>,
    refreshes: AtomicUsize,
    lock: tokio::sync::Mutex<()>,
}

pub const CLIENT_ID: &str = "client-1";
pub const CLIENT_SECRET: &str = "client-secret-1";

impl TestTokens {
    pub fn new(flavor: Flavor, token_url: String, access: &str, refresh: &str) -> Arc<Self> {
        Arc::new(Self {
            flavor,
            token_url,
            access: Mutex::new(access.to_owned()),
            refresh: Mutex::new(refresh.to_owned()),
            refreshes: AtomicUsize::new(0),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// How many refreshes reached the token endpoint.
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    pub fn current(&self) -> String {
        self.access.lock().clone()
    }
}

#[async_trait]
impl UpstreamTokens for TestTokens {
    async fn access_token(&self) -> Result<SecretString, UpstreamAuthError> {
        Ok(SecretString::from(self.access.lock().clone()))
    }

    async fn refresh_after_rejection(
        &self,
        rejected: &SecretString,
    ) -> Result<SecretString, UpstreamAuthError> {
        let _guard = self.lock.lock().await;
        let current = self.access.lock().clone();
        if current != rejected.expose_secret() {
            return Ok(SecretString::from(current));
        }
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let http = reqwest::Client::new();
        let refresh = self.refresh.lock().clone();
        let request = match self.flavor {
            Flavor::Notion => {
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
                http.post(&self.token_url)
                    .header("authorization", format!("Basic {basic}"))
                    .header(
                        "notion-version",
                        mcp_gateway::servers::notion::NOTION_VERSION,
                    )
                    .json(&json!({"grant_type": "refresh_token", "refresh_token": refresh}))
            }
            Flavor::Google => http.post(&self.token_url).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ]),
        };
        let response = request
            .send()
            .await
            .map_err(|e| UpstreamAuthError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| UpstreamAuthError::Unavailable(e.to_string()))?;
        // The standard error shape (Google) or Notion's own (`code`).
        if status.as_u16() == 400
            && (body["error"] == "invalid_grant" || body["code"] == "invalid_grant")
        {
            return Err(UpstreamAuthError::Revoked);
        }
        let Some(access) = body["access_token"].as_str() else {
            return Err(UpstreamAuthError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        };
        *self.access.lock() = access.to_owned();
        if let Some(r) = body["refresh_token"].as_str() {
            *self.refresh.lock() = r.to_owned();
        }
        Ok(SecretString::from(access.to_owned()))
    }
}

/// A grant for `tokens`.
pub fn grant(tokens: Arc<TestTokens>) -> Grant {
    Grant {
        grant_id: "grant-1".into(),
        account: "account-1".into(),
        tokens,
    }
}

/// An MCP server for `handler` on 127.0.0.1:0 at `/mcp`, inserting `grant` (when given) into
/// every request's extensions; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start<S: ServerHandler + Clone>(handler: S, grant: Option<Grant>) -> Self {
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let app =
            axum::Router::new()
                .nest_service("/mcp", service)
                .layer(axum::middleware::from_fn(
                    move |mut request: axum::extract::Request, next: axum::middleware::Next| {
                        let grant = grant.clone();
                        async move {
                            if let Some(grant) = grant {
                                request.extensions_mut().insert(grant);
                            }
                            next.run(request).await
                        }
                    },
                ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, task }
    }

    pub async fn client(&self) -> RunningService<RoleClient, ()> {
        let transport =
            StreamableHttpClientTransport::from_uri(format!("http://{}/mcp", self.addr));
        ().serve(transport).await.expect("MCP client connects")
    }
}

/// Calls `name` with the object `args`.
pub async fn call(
    client: &RunningService<RoleClient, ()>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    client
        .peer()
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(map))
        .await
        .unwrap_or_else(|e| panic!("call {name}: {e}"))
}

/// The text of a result.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The structured content of a successful result (panics with the text otherwise).
pub fn ok_json(result: &CallToolResult) -> Map<String, Value> {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    match &result.structured_content {
        Some(Value::Object(m)) => m.clone(),
        other => panic!("no structured content: {other:?} / {}", text(result)),
    }
}

/// The text of a failed result (panics when it succeeded).
pub fn err_text(result: &CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a failure, got: {}",
        text(result)
    );
    text(result)
}
