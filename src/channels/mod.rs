//! Chat channels: the console, Telegram and Slack.
//!
//! What a conversation does is written once, in the conversation [`engine`]: access and pairing,
//! commands, the input cap, the turn with its streamed reply, confirmations, connect links and
//! the answer once a person has connected. Telegram ([`telegram`]) and Slack ([`slack`]) are
//! platforms the engine drives: each reads its updates into the engine's events and gives it a
//! surface to write into. The console ([`console`]) is a terminal: it reads lines in order and
//! prints, and answers commands with the same [`commands`].
//!
//! The machinery the engine is built from lives here, platform-free:
//! - [`access`]: the `pairing`, `allowlist` and `open` policies;
//! - [`pairing`]: pairing codes and the senders approved with them;
//! - [`approved`]: the approved senders, kept in memory and read again every few seconds;
//! - [`rate_limit`]: a per-sender token bucket with a polite reply;
//! - [`sessions`]: one ordered work queue per conversation with a cancellable running turn;
//! - [`stream`]: the streaming editor that shows a growing reply within the platform's limits,
//!   with one rule for delivering it (formatted, else plain, else a note);
//! - [`layout`]: a reply cut into messages, counted as the platform counts, code blocks intact;
//! - [`pace`]: each chat's budget of sends and edits, shared by every reply in it;
//! - [`reply`]: the text a finished turn leaves in the chat;
//! - [`confirm`]: confirmations of destructive tools answered with buttons;
//! - [`commands`]: the chat commands (`/help`, `/connections`, `/connect`, `/status` for admins, ...) and their replies.

pub(crate) mod access;
pub mod admin_line;
pub(crate) mod approved;
pub(crate) mod commands;
pub(crate) mod confirm;
pub(crate) mod console;
pub mod engine;
pub(crate) mod layout;
pub(crate) mod pace;
pub mod pairing;
pub(crate) mod rate_limit;
pub(crate) mod reply;
pub(crate) mod sessions;
pub mod slack;
pub mod stream;
pub mod telegram;

use tokio_util::sync::CancellationToken;

use self::engine::{ChannelOptions, Shared};
use self::slack::SlackChannelError;
use self::telegram::TelegramError;
use crate::config::{ChannelsConfig, SlackConfig, TelegramConfig};

/// A chat channel the configuration turns on.
#[derive(Debug, Clone)]
pub enum Configured {
    /// `[channels.telegram]`.
    Telegram(TelegramConfig),
    /// `[channels.slack]`.
    Slack(SlackConfig),
}

/// Why a chat channel stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The Telegram channel could not run.
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    /// The Slack channel could not run.
    #[error(transparent)]
    Slack(#[from] SlackChannelError),
}

impl Configured {
    /// The channels `config` turns on.
    #[must_use]
    pub fn all(config: &ChannelsConfig) -> Vec<Self> {
        let telegram = config.telegram.clone().map(Self::Telegram);
        let slack = config.slack.clone().map(Self::Slack);
        telegram.into_iter().chain(slack).collect()
    }

    /// The channel's name in logs (`telegram`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Telegram(_) => "telegram",
            Self::Slack(_) => "slack",
        }
    }

    /// Runs the channel until `shutdown` is cancelled.
    ///
    /// # Errors
    /// Fails when the channel cannot run at all: a token that cannot be read or is refused.
    pub async fn run(
        self,
        shared: Shared,
        options: ChannelOptions,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        match self {
            Self::Telegram(config) => telegram::run(config, shared, options, shutdown).await?,
            Self::Slack(config) => slack::run(config, shared, options, shutdown).await?,
        }
        Ok(())
    }
}
