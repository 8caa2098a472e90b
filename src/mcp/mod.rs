//! The MCP side of the gateway: a pool of client sessions and the tool catalog built from them.
//!
//! The agent sees MCP only through [`ToolHost`]: the catalog of tools a principal may use, and a
//! way to call one of them on that principal's behalf; and a principal's account connections only
//! through [`accounts::AccountLinks`], which the OAuth client implements.

pub mod accounts;
pub(crate) mod catalog;
mod http;
pub(crate) mod listing;
pub mod oauth;
mod output;
pub mod pool;
pub mod schema;
mod session;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use catalog::{CatalogTool, ToolHints, qualified_name};
pub use listing::valid_tool_name;
pub use oauth::{OAuthClient, OAuthError};
pub use output::tool_output;
pub use pool::{McpPool, PoolError, PoolOptions};

use crate::Principal;

/// The tools a principal may use right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Tools of every reachable server the principal may use, in server order then server order
    /// of tools.
    pub tools: Vec<CatalogTool>,
    /// Servers with `auth = "oauth"` that this principal has not connected (or whose connection
    /// broke): the agent offers `<server>_connect` for each.
    pub needs_connection: Vec<String>,
    /// Servers that could not be reached, with a short reason fit for the model and the user.
    pub unavailable: Vec<(String, String)>,
}

/// The result of one tool call, already reduced to what the model will read.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The text content of the result (text blocks joined; other blocks described).
    pub text: String,
    /// The structured content, when the tool returned some.
    pub structured: Option<Value>,
    /// Whether the tool reported an error (`isError`).
    pub is_error: bool,
}

/// Why a tool call could not be made at all (as opposed to a tool reporting an error).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No server of that name is configured.
    #[error("no MCP server named `{0}` is configured")]
    UnknownServer(String),
    /// The server has no such tool, or the configuration does not allow it.
    #[error("the tool `{tool}` is not available on `{server}`")]
    UnknownTool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// The principal must connect their account first.
    #[error("`{0}` is not connected for this user")]
    NotConnected(String),
    /// The server could not be reached or its session could not be re-established.
    #[error("the `{server}` server is unavailable: {reason}")]
    Unavailable {
        /// The server.
        server: String,
        /// What failed, without secrets.
        reason: String,
    },
    /// The call took longer than its deadline.
    #[error("the `{server}` server did not answer within {secs} s")]
    Timeout {
        /// The server.
        server: String,
        /// The deadline in seconds.
        secs: u64,
    },
    /// The server answered with a protocol error (for example invalid arguments).
    #[error("the `{server}` server refused the call: {message}")]
    Protocol {
        /// The server.
        server: String,
        /// The server's message, truncated.
        message: String,
    },
}

/// MCP as the agent sees it: what a principal may use, and calls made on their behalf.
#[async_trait]
pub trait ToolHost: Send + Sync {
    /// The catalog for `principal`. Never fails as a whole: servers that cannot be reached are
    /// listed in [`Catalog::unavailable`].
    async fn catalog(&self, principal: &Principal) -> Catalog;

    /// Calls `tool` (its name on the server) of `server` for `principal` with `arguments`.
    async fn call(
        &self,
        principal: &Principal,
        server: &str,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError>;
}
