//! One live MCP client session over streamable HTTP, and how its failures are classified.
//!
//! A [`Session`] is an initialised rmcp client with the server's tool list cached as catalog
//! entries. The server's `notifications/tools/list_changed` marks the cache stale, and so does a
//! failed attempt to reopen the session's event stream (the server stopped or restarted); the
//! next user of the session lists the tools again, which also tells whether the session still
//! works. Errors from rmcp are reduced to a [`Failure`] that says
//! whether the request can safely be sent again on a new session (it never reached the server, or
//! the server no longer knows the session) and carries a short reason without secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ErrorCode,
    Implementation, ProtocolVersion,
};
use rmcp::service::{ClientInitializeError, NotificationContext, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::client_side_sse::SseRetryPolicy;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::{ClientHandler, ServiceError, ServiceExt};
use serde_json::{Map, Value};

use super::CatalogTool;
use super::http::HttpClient;
use super::listing::{self, Limits};
use crate::config::ServerConfig;

/// How many requests one session sends to its server at the same time; more wait their turn.
const MAX_CONCURRENT_REQUESTS: usize = 64;
/// The first wait before the server's event stream is opened again after it broke.
const STREAM_RETRY_BASE: Duration = Duration::from_millis(500);
/// The longest wait between attempts to open the server's event stream again.
const STREAM_RETRY_MAX: Duration = Duration::from_secs(30);
/// The most characters of a server's error message passed on.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a request to a server failed, reduced to what the pool acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never reached the server, or the server no longer knows the session (it
    /// restarted or expired it): open a new session and send the request again.
    SessionLost(String),
    /// The session broke while the request was under way; the server may have acted on it, so it
    /// is not sent again, but the session is replaced before the next request.
    Broken(String),
    /// The server refused the credentials.
    Unauthorized(String),
    /// The server answered the request with an error; the session is fine.
    Protocol(String),
}

impl Failure {
    /// The short reason, fit for the model and the user.
    pub(crate) fn reason(&self) -> &str {
        match self {
            Self::SessionLost(r) | Self::Broken(r) | Self::Unauthorized(r) | Self::Protocol(r) => r,
        }
    }

    /// Classifies an error from a request on an established session.
    pub(crate) fn from_service(error: &ServiceError) -> Self {
        match error {
            ServiceError::McpError(data) => {
                if looks_like_unknown_session(data.code, &data.message) {
                    Self::SessionLost("the server no longer knows the session".to_owned())
                } else {
                    Self::Protocol(short(&data.message))
                }
            }
            ServiceError::TransportSend(error) => from_transport(error.error.as_ref()),
            ServiceError::TransportClosed => {
                Self::Broken("the connection to the server closed".to_owned())
            }
            ServiceError::Timeout { .. } => Self::Broken("the request timed out".to_owned()),
            ServiceError::Cancelled { .. } => Self::Broken("the request was cancelled".to_owned()),
            ServiceError::UnexpectedResponse => {
                Self::Protocol("the server sent an unexpected kind of response".to_owned())
            }
            ServiceError::InputRequiredRoundsExceeded { .. } => {
                Self::Protocol("the tool asked for input the gateway cannot give".to_owned())
            }
            _ => Self::Broken("the request failed".to_owned()),
        }
    }

    /// Classifies an error from the `initialize` handshake.
    fn from_initialize(error: &ClientInitializeError) -> Self {
        match error {
            ClientInitializeError::TransportError { error, .. } => {
                from_transport(error.error.as_ref())
            }
            ClientInitializeError::LegacyFallbackFailed { fallback, .. } => {
                Self::from_initialize(fallback)
            }
            ClientInitializeError::JsonRpcError(data) => Self::Protocol(format!(
                "the server refused to initialise: {}",
                short(&data.message)
            )),
            ClientInitializeError::ConnectionClosed(_) => {
                Self::SessionLost("the server closed the connection while initialising".to_owned())
            }
            ClientInitializeError::NoCompatibleProtocolVersion { .. } => {
                Self::Protocol("the server speaks no MCP protocol version the gateway knows".into())
            }
            _ => Self::Protocol("the server's answer to initialize was not valid MCP".to_owned()),
        }
    }
}

/// Whether a JSON-RPC error is a transport's answer to a session id it does not know.
///
/// The streamable HTTP specification says such a request gets HTTP 404 (which rmcp reports as an
/// expired session), but the TypeScript SDK's example servers answer HTTP 400 with the JSON-RPC
/// error -32000 "Bad Request: No valid session ID provided", and some servers use -32001.
fn looks_like_unknown_session(code: ErrorCode, message: &str) -> bool {
    matches!(code.0, -32000 | -32001) && message.to_ascii_lowercase().contains("session")
}

/// Classifies a transport error, walking its chain of sources.
fn from_transport(error: &(dyn std::error::Error + Send + Sync + 'static)) -> Failure {
    let Some(http) = error.downcast_ref::<StreamableHttpError<reqwest::Error>>() else {
        return Failure::Broken(short(&error.to_string()));
    };
    match http {
        StreamableHttpError::SessionExpired => {
            Failure::SessionLost("the server no longer knows the session".to_owned())
        }
        StreamableHttpError::TransportChannelClosed => {
            Failure::SessionLost("the connection to the server is closed".to_owned())
        }
        StreamableHttpError::Client(e) => from_reqwest(e),
        StreamableHttpError::AuthRequired(_) => {
            Failure::Unauthorized("the server refused the credentials (HTTP 401)".to_owned())
        }
        StreamableHttpError::InsufficientScope(_) => Failure::Unauthorized(
            "the server says the credentials do not allow this (HTTP 403)".to_owned(),
        ),
        StreamableHttpError::HttpStatus(status) => {
            Failure::Broken(format!("the server answered HTTP {}", status.status))
        }
        StreamableHttpError::ResponseBodyTooLarge { max_size } => Failure::Protocol(format!(
            "the server's answer was larger than {} MiB",
            max_size / (1024 * 1024)
        )),
        StreamableHttpError::UnexpectedServerResponse(text) => {
            if text.starts_with(super::http::REFRESH_FAILED) {
                Failure::Broken(short(text))
            } else if text.starts_with("HTTP 401") {
                Failure::Unauthorized("the server refused the credentials (HTTP 401)".to_owned())
            } else if text.starts_with("HTTP 403") {
                Failure::Unauthorized("the server refused access (HTTP 403)".to_owned())
            } else if let Some(status) = text
                .strip_prefix("HTTP ")
                .and_then(|rest| rest.get(..3))
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            {
                Failure::Broken(format!("the server answered HTTP {status}"))
            } else {
                Failure::Broken("the server sent a response that is not valid MCP".to_owned())
            }
        }
        StreamableHttpError::UnexpectedContentType(_) => {
            Failure::Broken("the server answered with an unexpected content type".to_owned())
        }
        StreamableHttpError::Deserialize(_) | StreamableHttpError::Sse(_) => {
            Failure::Broken("the server sent a response that is not valid MCP".to_owned())
        }
        _ => Failure::Broken("the connection to the server failed".to_owned()),
    }
}

/// Classifies an HTTP client error without its URL (which may carry secrets).
fn from_reqwest(error: &reqwest::Error) -> Failure {
    if error.is_connect() {
        if error.is_timeout() {
            Failure::SessionLost("connecting to the server timed out".to_owned())
        } else {
            Failure::SessionLost("the server refused the connection or is unreachable".to_owned())
        }
    } else if error.is_timeout() {
        Failure::Broken("the request to the server timed out".to_owned())
    } else if error.is_body() || error.is_decode() {
        Failure::Broken("the server's answer broke off".to_owned())
    } else {
        Failure::Broken("the connection to the server failed".to_owned())
    }
}

/// `text` on one line and cut to [`MAX_MESSAGE_CHARS`] characters.
fn short(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if text.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out
}

/// How a session reaches its server.
pub(crate) struct Connect<'a> {
    /// The shared HTTP client.
    pub http: HttpClient,
    /// The server.
    pub server: &'a ServerConfig,
    /// The bearer token, without the `Bearer ` prefix.
    pub bearer: Option<String>,
    /// Bounds on the tool listing.
    pub limits: Limits,
    /// The most bytes buffered for one JSON response.
    pub max_response_bytes: usize,
}

/// The gateway's side of a session: identifies the gateway and notices tool-list changes.
struct Handler {
    info: ClientConfig,
    staleness: Arc<AtomicU64>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.staleness.fetch_add(1, Ordering::AcqRel);
    }
}

/// Reconnects the server's event stream with a growing delay, and notes when a reconnect fails.
///
/// A session's standing event stream (HTTP GET) breaks when the server stops or restarts. rmcp
/// reopens it through this policy; a failed reopen (`current_times > 0`) means the server is gone
/// or no longer knows the session, so the cached tools are marked stale and the session's next
/// user checks it with a `tools/list` before trusting them. A stream that the server closes
/// cleanly (`current_times == 0`) is reopened without suspicion.
#[derive(Debug)]
struct StreamWatch {
    staleness: Arc<AtomicU64>,
}

impl SseRetryPolicy for StreamWatch {
    fn retry(&self, current_times: usize) -> Option<Duration> {
        if current_times > 0 {
            self.staleness.fetch_add(1, Ordering::AcqRel);
        }
        let doublings = u32::try_from(current_times.saturating_sub(1).min(6)).unwrap_or(6);
        Some(
            STREAM_RETRY_BASE
                .saturating_mul(1 << doublings)
                .min(STREAM_RETRY_MAX),
        )
    }
}

/// What the gateway tells servers about itself.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcp-gateway", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// An initialised session with its server's tools.
pub(crate) struct Session {
    service: RunningService<RoleClient, Handler>,
    tools: parking_lot::RwLock<Arc<Vec<CatalogTool>>>,
    /// Counts reasons to list the tools again: list-change notifications and broken streams.
    staleness: Arc<AtomicU64>,
    /// The value of `staleness` that the cached tools reflect.
    listed_at: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
    server: ServerConfig,
    limits: Limits,
}

impl Session {
    /// Opens a session: `initialize`, then the full tool list.
    pub(crate) async fn connect(c: Connect<'_>) -> Result<Self, Failure> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(c.server.url.as_str())
            .max_json_response_size(c.max_response_bytes)
            .max_sse_event_size(c.max_response_bytes)
            .max_concurrent_requests(MAX_CONCURRENT_REQUESTS)
            .reinit_on_expired_session(false);
        let staleness = Arc::new(AtomicU64::new(0));
        config.retry_config = Arc::new(StreamWatch {
            staleness: Arc::clone(&staleness),
        });
        if let Some(token) = c.bearer {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::with_client(c.http, config);
        let handler = Handler {
            info: client_config(),
            staleness: Arc::clone(&staleness),
        };
        let service = handler
            .serve(transport)
            .await
            .map_err(|e| Failure::from_initialize(&e))?;
        let listed_at = staleness.load(Ordering::Acquire);
        let tools = listing::list_tools(service.peer(), c.server, c.limits)
            .await
            .map_err(|e| Failure::from_service(&e))?;
        Ok(Self {
            service,
            tools: parking_lot::RwLock::new(Arc::new(tools)),
            staleness,
            listed_at: AtomicU64::new(listed_at),
            refresh: tokio::sync::Mutex::new(()),
            server: c.server.clone(),
            limits: c.limits,
        })
    }

    /// Whether the session's transport has stopped (it can no longer carry requests).
    pub(crate) fn is_closed(&self) -> bool {
        self.service.is_closed() || self.service.peer().is_transport_closed()
    }

    /// The cached catalog entries.
    ///
    /// They are listed again first when the server said they changed, or when the session's
    /// event stream broke (which also checks that the session still works). A listing that fails
    /// or is abandoned leaves them marked stale.
    pub(crate) async fn tools(&self) -> Result<Arc<Vec<CatalogTool>>, Failure> {
        if self.is_stale() {
            let _guard = self.refresh.lock().await;
            if self.is_stale() {
                self.list_again().await?;
            }
        }
        Ok(Arc::clone(&self.tools.read()))
    }

    fn is_stale(&self) -> bool {
        self.staleness.load(Ordering::Acquire) != self.listed_at.load(Ordering::Acquire)
    }

    /// Lists the tools again now, whatever the cache holds, and returns how many are offered.
    pub(crate) async fn relist(&self) -> Result<usize, Failure> {
        let _guard = self.refresh.lock().await;
        self.list_again().await
    }

    /// Replaces the cached tools by a new listing; the caller holds `refresh`.
    async fn list_again(&self) -> Result<usize, Failure> {
        let generation = self.staleness.load(Ordering::Acquire);
        let tools = listing::list_tools(self.service.peer(), &self.server, self.limits)
            .await
            .map_err(|e| Failure::from_service(&e))?;
        let count = tools.len();
        *self.tools.write() = Arc::new(tools);
        self.listed_at.store(generation, Ordering::Release);
        Ok(count)
    }

    /// Calls `tool` with `arguments`.
    pub(crate) async fn call(
        &self,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<CallToolResult, Failure> {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        self.service
            .peer()
            .call_tool(params)
            .await
            .map_err(|e| Failure::from_service(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_session_errors_are_recognised() {
        assert!(looks_like_unknown_session(
            ErrorCode(-32000),
            "Bad Request: No valid session ID provided"
        ));
        assert!(looks_like_unknown_session(
            ErrorCode(-32001),
            "Session not found"
        ));
        assert!(!looks_like_unknown_session(
            ErrorCode(-32602),
            "invalid session argument"
        ));
        assert!(!looks_like_unknown_session(ErrorCode(-32000), "disk full"));
    }

    #[test]
    fn server_messages_are_single_line_and_bounded() {
        let long = format!("a\nb{}", "x".repeat(1000));
        let s = short(&long);
        assert!(!s.contains('\n'));
        assert_eq!(s.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn protocol_errors_keep_the_servers_message() {
        let error = ServiceError::McpError(rmcp::ErrorData::invalid_params("missing a", None));
        assert_eq!(
            Failure::from_service(&error),
            Failure::Protocol("missing a".to_owned())
        );
        let lost = ServiceError::McpError(rmcp::ErrorData::new(
            ErrorCode(-32000),
            "Bad Request: No valid session ID provided",
            None,
        ));
        assert!(matches!(
            Failure::from_service(&lost),
            Failure::SessionLost(_)
        ));
    }
}
