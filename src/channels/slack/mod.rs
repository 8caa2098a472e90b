//! The Slack channel over Socket Mode: no inbound port; direct messages and mentions in channels
//! (answered in the thread), read into the conversation engine's events, with Slack as its
//! [`Platform`](crate::channels::engine::Platform): replies streamed with `chat.update`, Block
//! Kit buttons for confirmations and connect links, presses from interactive payloads over the
//! socket.
//!
//! Everything a conversation does is the engine's, the same as on Telegram: access policies and
//! pairing, per-sender rate limits, per-conversation sessions with `/stop`, the streaming editor,
//! confirmations and commands. Slack's clients treat `/word` as their own slash commands, so
//! commands may also be written `!word` (`!stop`, `!reset`).

pub mod api;
pub mod events;
pub(crate) mod mrkdwn;
pub(crate) mod platform;
pub mod socket;
pub(crate) mod surface;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::api::{SlackApi, SlackError};
use self::platform::Slack;
use super::engine::{Admission, ChannelOptions, Engine, Shared};
use crate::Principal;
use crate::config::{SecretError, SlackConfig, read_secret};

/// Why the Slack channel could not run.
#[derive(Debug, thiserror::Error)]
pub enum SlackChannelError {
    /// A token file could not be read.
    #[error("cannot read a Slack token: {0}")]
    Token(#[from] SecretError),
    /// Slack refused the bot token.
    #[error("Slack refused the bot token ({0}); check bot_token_file")]
    TokenRefused(String),
}

/// Runs the Slack channel until `shutdown` is cancelled; the future can be spawned.
///
/// # Errors
/// Fails when a token cannot be read or Slack refuses the bot token. Network trouble is retried,
/// never returned.
pub async fn run(
    slack: SlackConfig,
    shared: Shared,
    options: ChannelOptions,
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
    let platform = Slack {
        api: api.clone(),
        bot_user: identity.user_id.clone(),
    };
    let admission = Admission {
        policy: slack.policy,
        allow: slack
            .allow_from
            .iter()
            .map(|user| Principal::slack(&identity.team_id, user))
            .collect(),
        admins: slack
            .admins
            .iter()
            .map(|user| Principal::slack(&identity.team_id, user))
            .collect(),
        per_minute: slack.rate_limit_per_minute,
    };
    let engine = Engine::start(platform, admission, shared, &options, &shutdown);
    let (tx, mut rx) = mpsc::channel(256);
    let connected = {
        let engine = Arc::clone(&engine);
        move |up: bool| engine.set_connected(up)
    };
    let socket = tokio::spawn(socket::run(api, tx, connected, shutdown.child_token()));
    loop {
        tokio::select! {
            inbound = rx.recv() => match inbound {
                Some(inbound) => {
                    if let Some(event) = engine.platform().read(inbound) {
                        engine.dispatch(event);
                    }
                }
                None => break,
            },
            () = shutdown.cancelled() => break,
        }
    }
    engine.drain(options.drain_grace).await;
    let _ = socket.await;
    tracing::info!("Slack channel stopped");
    Ok(())
}
