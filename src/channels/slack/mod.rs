//! The Slack channel over Socket Mode: no inbound port; direct messages and mentions in channels
//! (answered in the thread), replies streamed with `chat.update`, Block Kit buttons for
//! confirmations and connect links, handled from interactive payloads over the socket.
//!
//! It shares everything platform-free with Telegram: access policies and pairing, per-sender rate
//! limits, per-conversation sessions with `/stop`, the streaming editor, confirmations and
//! commands. Slack's clients treat `/word` as their own slash commands, so commands may also be
//! written `!word` (`!stop`, `!reset`).

pub mod api;
pub mod events;
mod handler;
mod links;
pub mod mrkdwn;
mod sink;
pub mod socket;
pub mod surface;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::api::{SlackApi, SlackError};
use self::handler::Handler;
use super::commands::ServerSummary;
use super::stream::StreamConfig;
use crate::agent::Agent;
use crate::config::{Config, SecretError, ServerConfig, SlackConfig, read_secret};
use crate::mcp::accounts::AccountLinks;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;

/// Why the Slack channel could not run.
#[derive(Debug, thiserror::Error)]
pub enum SlackChannelError {
    /// `[channels.slack]` is absent from the configuration.
    #[error("Slack is not configured; add a [channels.slack] section")]
    NotConfigured,
    /// A token file could not be read.
    #[error("cannot read a Slack token: {0}")]
    Token(#[from] SecretError),
    /// Slack refused the bot token.
    #[error("Slack refused the bot token ({0}); check bot_token_file")]
    TokenRefused(String),
}

/// Tuning of the Slack channel; the defaults suit production.
#[derive(Clone)]
pub struct SlackOptions {
    /// Pacing and retries of streamed replies (Slack's `chat.update` allows about one a second).
    pub stream: StreamConfig,
    /// How long a confirmation of a destructive tool waits for a button press.
    pub confirm_ttl: Duration,
    /// Messages queued per sender behind a running turn before they are refused as busy.
    pub queue_per_sender: usize,
    /// How long shutdown waits for running replies to show that they stopped.
    pub drain_grace: Duration,
    /// The OAuth client's hook for `/connect` and `/disconnect`, when the gateway has one.
    pub accounts: Option<Arc<dyn AccountLinks>>,
}

impl Default for SlackOptions {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            confirm_ttl: super::confirm::DEFAULT_TTL,
            queue_per_sender: 4,
            drain_grace: Duration::from_secs(10),
            accounts: None,
        }
    }
}

impl std::fmt::Debug for SlackOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackOptions")
            .field("stream", &self.stream)
            .field("accounts", &self.accounts.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs the Slack channel of `config` until `shutdown` is cancelled; the future can be spawned.
///
/// # Errors
/// The future fails when Slack is not configured, a token cannot be read, or Slack refuses the
/// bot token. Network trouble is retried, never returned.
pub fn run(
    config: &Config,
    agent: Agent,
    store: Store,
    metrics: Metrics,
    options: SlackOptions,
    shutdown: CancellationToken,
) -> impl Future<Output = Result<(), SlackChannelError>> + Send + 'static {
    let slack = config.channels.slack.clone();
    let servers = config.servers.clone();
    async move {
        let slack = slack.ok_or(SlackChannelError::NotConfigured)?;
        run_with(slack, servers, agent, store, metrics, options, shutdown).await
    }
}

/// Runs the Slack channel until `shutdown` is cancelled.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    slack: SlackConfig,
    servers: Vec<ServerConfig>,
    agent: Agent,
    store: Store,
    metrics: Metrics,
    options: SlackOptions,
    shutdown: CancellationToken,
) -> Result<(), SlackChannelError> {
    let api = SlackApi::new(
        slack.api_url.clone(),
        read_secret(&slack.bot_token_file)?,
        read_secret(&slack.app_token_file)?,
    )
    .map_err(|e| SlackChannelError::TokenRefused(e.to_string()))?;
    let identity = loop {
        match api.auth_test().await {
            Ok(identity) => break identity,
            Err(SlackError::Api { error, .. })
                if !matches!(
                    error.as_str(),
                    "internal_error" | "fatal_error" | "service_unavailable"
                ) =>
            {
                return Err(SlackChannelError::TokenRefused(error));
            }
            Err(e) => {
                tracing::warn!(error = %e, "Slack is not reachable yet; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    () = shutdown.cancelled() => return Ok(()),
                }
            }
        }
    };
    tracing::info!(bot = %identity.user_id, team = %identity.team_id, policy = ?slack.policy, "Slack channel started");
    let handler = Arc::new(Handler::new(
        api.clone(),
        identity.user_id.clone(),
        &identity.team_id,
        &slack,
        ServerSummary::from_config(&servers),
        agent,
        store,
        metrics,
        &options,
        &shutdown,
    ));
    if let Some(accounts) = &options.accounts {
        accounts.listen("slack", Arc::new(handler.listener()));
    }
    let (tx, mut rx) = mpsc::channel(256);
    let socket = tokio::spawn(socket::run(api, tx, shutdown.child_token()));
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(event) => handler.dispatch(event),
                None => break,
            },
            () = shutdown.cancelled() => break,
        }
    }
    handler.drain(options.drain_grace).await;
    let _ = socket.await;
    tracing::info!("Slack channel stopped");
    Ok(())
}
