//! Helpers shared by the MCP tests: server entries and pools pointed at the peers.

use std::path::PathBuf;
use std::time::Duration;

use mcp_gateway::Principal;
use mcp_gateway::config::{ServerAuth, ServerConfig};
use mcp_gateway::mcp::{Catalog, McpPool, PoolOptions, ToolHost};
use serde_json::{Map, Value};

/// A server entry named `name` at `url` with the given authentication and no filters.
pub fn server(name: &str, url: &str, auth: ServerAuth) -> ServerConfig {
    ServerConfig {
        name: name.to_owned(),
        url: url.parse().expect("peer URLs are valid"),
        auth,
        allow_tools: None,
        deny_tools: Vec::new(),
        core_tools: Vec::new(),
        keywords: Vec::new(),
        timeout: None,
    }
}

/// Pool options for tests: production bounds, with a short connection backoff.
pub fn options() -> PoolOptions {
    PoolOptions {
        retry_backoff: Duration::from_millis(200),
        max_retry_backoff: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(10),
        ..PoolOptions::default()
    }
}

/// A pool over `servers` with a 20 s default call deadline and the test options.
pub fn pool(servers: Vec<ServerConfig>) -> McpPool {
    init_logs();
    McpPool::new(&servers, Duration::from_secs(20), options()).expect("pool")
}

/// Sends the gateway's logs to the test output (shown for failing tests), filtered by
/// `RUST_LOG` (default: the gateway at debug).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mcp_gateway=debug"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// The principal the tests act for.
pub fn alice() -> Principal {
    Principal::console("alice")
}

/// `json!` object literal as the argument map of a call.
pub fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("arguments must be an object, got {other}"),
    }
}

/// Writes `token` to a new file in a temporary folder, as a `bearer_token_file`.
pub fn token_file(token: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{token}\n")).expect("write token");
    (dir, path)
}

/// The catalog tool names, in order.
pub fn names(catalog: &Catalog) -> Vec<String> {
    catalog.tools.iter().map(|t| t.qualified.clone()).collect()
}

/// Polls the catalog until `done` holds, for at most `within`; returns the last catalog.
pub async fn catalog_until(
    pool: &McpPool,
    within: Duration,
    done: impl Fn(&Catalog) -> bool,
) -> Catalog {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let catalog = pool.catalog(&alice()).await;
        if done(&catalog) || tokio::time::Instant::now() >= deadline {
            return catalog;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
