//! Our MCP servers for Notion and Google Calendar, and the OAuth authorization server they share.
//!
//! Each server is an rmcp streamable HTTP service mounted at `/mcp` in an axum router, behind a
//! bearer middleware of the shared authorization server. The middleware puts the request's
//! [`Grant`] into the request extensions; tool handlers read it from the `http::request::Parts`
//! that rmcp hands them and call the upstream API with the grant's upstream access token.

pub(crate) mod auth;
pub(crate) mod kind;
pub(crate) mod metrics;
pub(crate) mod run;

pub use kind::ServerKind;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

/// Why an upstream access token could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamAuthError {
    /// The upstream refused the refresh token: the person must connect again.
    #[error("the upstream account is no longer authorized; reconnect it")]
    Revoked,
    /// The upstream token endpoint could not be reached or answered oddly.
    #[error("the upstream token endpoint failed: {0}")]
    Unavailable(String),
}

/// The upstream tokens of one connected account, with single-flight refresh.
#[async_trait]
pub trait UpstreamTokens: Send + Sync + fmt::Debug {
    /// The current upstream access token, refreshed first when it is about to expire.
    async fn access_token(&self) -> Result<SecretString, UpstreamAuthError>;

    /// Called after the upstream answered 401 to `rejected`: refreshes (once, however many
    /// callers ask at the same time) and returns the new token.
    async fn refresh_after_rejection(
        &self,
        rejected: &SecretString,
    ) -> Result<SecretString, UpstreamAuthError>;
}

/// The authorization behind one `/mcp` request, placed in the request extensions by the bearer
/// middleware.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The grant (one client's authorization for one upstream account).
    pub grant_id: String,
    /// The upstream account (Notion bot id, Google `sub`).
    pub account: String,
    /// The upstream tokens of that account.
    pub tokens: Arc<dyn UpstreamTokens>,
}

pub mod gcal;
pub mod notion;
mod request_budget;
pub mod tool_server;
pub(crate) mod tooling;
pub(crate) mod upstream_http;

/// The bounds every upstream call of a tool call obeys (its deadline among them).
pub use upstream_http::Limits as UpstreamLimits;
