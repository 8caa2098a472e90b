//! The Telegram channel: long polling of the Bot API (no inbound port), access control, one
//! session per sender and chat, streamed replies, commands and inline buttons.
//!
//! # Entry point
//! `mcp-gateway serve` calls [`run`] with the shared [`Agent`], the [`Store`], the [`Metrics`] and
//! its shutdown token; it returns when the token is cancelled (after the running replies wind
//! down) or when Telegram refuses the bot token. [`run_with`] takes the tuning knobs of
//! [`TelegramOptions`] and the OAuth client's [`AccountLinks`] hook.
//!
//! # What happens to an update
//! The poll loop reads updates with `getUpdates` and never waits for a reply: a message is
//! checked against the per-sender rate limit, `/stop` is applied at once, and everything else
//! is queued in the sender's session (see [`crate::channels::sessions`]), where the access policy
//! is checked (an unknown sender under `pairing` gets a code and nothing else), commands are
//! answered and turns run. Button presses are handled on their own task. In groups the bot
//! answers only when mentioned (`@bot`), replied to, or given a command, and each sender has
//! their own history.
//!
//! # Layout
//! - [`format`]: the model's Markdown as Telegram HTML.
//! - [`surface`]: the Bot API with a bound on calls in flight, one chat as a
//!   [`crate::channels::stream::ChatSurface`], and error sorting.
//! - `handler`: what each update does.
//! - `sink`: the agent's [`crate::agent::TurnSink`] for one Telegram turn.

pub mod format;
mod handler;
mod links;
mod sink;
pub mod surface;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, BotCommand};
use teloxide::{ApiError, Bot, RequestError};
use tokio_util::sync::CancellationToken;

use super::commands::ServerSummary;
use super::stream::StreamConfig;
use crate::agent::Agent;
use crate::config::{Config, SecretError, ServerConfig, TelegramConfig, read_secret};
use crate::mcp::accounts::AccountLinks;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;

use handler::Handler;

/// Why the Telegram channel could not run.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// `[channels.telegram]` is absent from the configuration.
    #[error("Telegram is not configured; add a [channels.telegram] section")]
    NotConfigured,
    /// The bot token file could not be read.
    #[error("cannot read the Telegram bot token: {0}")]
    Token(#[from] SecretError),
    /// Telegram refused the token.
    #[error(
        "Telegram refused the bot token in {0}; check it with @BotFather and write it to that file"
    )]
    TokenRefused(PathBuf),
}

/// Tuning of the Telegram channel; the defaults suit production.
#[derive(Clone)]
pub struct TelegramOptions {
    /// Pacing and retries of streamed replies.
    pub stream: StreamConfig,
    /// How long one `getUpdates` long poll waits for updates.
    pub poll_timeout: Duration,
    /// How long a confirmation of a destructive tool waits for a button press.
    pub confirm_ttl: Duration,
    /// Messages queued per sender behind a running turn before they are refused as busy.
    pub queue_per_sender: usize,
    /// How long shutdown waits for running replies to show that they stopped.
    pub drain_grace: Duration,
    /// The OAuth client's hook for `/connect` and `/disconnect`, when the gateway has one.
    pub accounts: Option<Arc<dyn AccountLinks>>,
}

impl Default for TelegramOptions {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            poll_timeout: Duration::from_secs(10),
            confirm_ttl: super::confirm::DEFAULT_TTL,
            queue_per_sender: 4,
            drain_grace: Duration::from_secs(10),
            accounts: None,
        }
    }
}

impl std::fmt::Debug for TelegramOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramOptions")
            .field("stream", &self.stream)
            .field("poll_timeout", &self.poll_timeout)
            .field("confirm_ttl", &self.confirm_ttl)
            .field("queue_per_sender", &self.queue_per_sender)
            .field("accounts", &self.accounts.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs the Telegram channel of `config` until `shutdown` is cancelled, with default options.
///
/// The returned future owns what it needs, so it can be spawned: `serve` runs
/// `tokio::spawn(telegram::run(&config, agent.clone(), store.clone(), metrics.clone(), shutdown.child_token()))`.
///
/// # Errors
/// The future fails when Telegram is not configured, the token file cannot be read, or Telegram
/// refuses the token. Network trouble is retried, never returned.
pub fn run(
    config: &Config,
    agent: Agent,
    store: Store,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> impl Future<Output = Result<(), TelegramError>> + Send + 'static {
    let telegram = config.channels.telegram.clone();
    let servers = config.servers.clone();
    async move {
        let telegram = telegram.ok_or(TelegramError::NotConfigured)?;
        let options = TelegramOptions::default();
        run_with(telegram, servers, agent, store, metrics, options, shutdown).await
    }
}

/// Runs the Telegram channel until `shutdown` is cancelled.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    telegram: TelegramConfig,
    servers: Vec<ServerConfig>,
    agent: Agent,
    store: Store,
    metrics: Metrics,
    options: TelegramOptions,
    shutdown: CancellationToken,
) -> Result<(), TelegramError> {
    let token = read_secret(&telegram.token_file)?;
    let bot = Bot::new(token.expose_secret()).set_api_url(telegram.api_url.clone());
    let Some(me) = identify(&bot, &telegram.token_file, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(bot = %me.username, policy = ?telegram.policy, "Telegram channel started");
    prepare(&bot).await;
    let handler = Arc::new(Handler::new(
        bot.clone(),
        me,
        &telegram,
        ServerSummary::from_config(&servers),
        agent,
        store,
        metrics,
        &options,
        &shutdown,
    ));
    if let Some(accounts) = &options.accounts {
        accounts.listen("telegram", Arc::new(handler.listener()));
    }
    poll(&bot, &handler, &options, &telegram.token_file, &shutdown).await;
    handler.drain(options.drain_grace).await;
    tracing::info!("Telegram channel stopped");
    Ok(())
}

/// The bot's own identity.
#[derive(Debug, Clone)]
pub(crate) struct BotIdentity {
    pub(crate) id: teloxide::types::UserId,
    pub(crate) username: String,
}

/// Asks Telegram who the bot is, retrying network trouble until `shutdown`; `None` on shutdown.
async fn identify(
    bot: &Bot,
    token_file: &std::path::Path,
    shutdown: &CancellationToken,
) -> Result<Option<BotIdentity>, TelegramError> {
    let mut backoff = Backoff::new();
    loop {
        let result = tokio::select! {
            r = bot.get_me() => r,
            () = shutdown.cancelled() => return Ok(None),
        };
        match result {
            Ok(me) => {
                let username = me.user.username.clone().unwrap_or_default();
                return Ok(Some(BotIdentity {
                    id: me.user.id,
                    username,
                }));
            }
            Err(RequestError::Api(ref api)) if token_refused(api) => {
                return Err(TelegramError::TokenRefused(token_file.to_path_buf()));
            }
            Err(e) => {
                let wait = wait_after(&e, &mut backoff);
                tracing::warn!(error = %surface::redact(&e.to_string()), retry_in = ?wait, "cannot reach the Telegram Bot API");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shutdown.cancelled() => return Ok(None),
                }
            }
        }
    }
}

/// Whether Telegram's answer means the token is wrong: 401 "Unauthorized" for a revoked or
/// mistyped token, 404 "Not Found" for one that is not shaped like a token at all.
fn token_refused(api: &ApiError) -> bool {
    match api {
        ApiError::InvalidToken => true,
        ApiError::Unknown(text) => text.eq_ignore_ascii_case("Not Found"),
        _ => false,
    }
}

/// Removes a webhook (polling fails while one is set) and registers the command menu.
async fn prepare(bot: &Bot) {
    match bot.get_webhook_info().await {
        Ok(info) if info.url.is_some() => {
            if let Err(e) = bot.delete_webhook().await {
                tracing::warn!(error = %surface::redact(&e.to_string()), "could not remove the bot's webhook; polling may fail");
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %surface::redact(&e.to_string()), "could not read the bot's webhook")
        }
    }
    let commands: Vec<BotCommand> = super::commands::MENU
        .iter()
        .map(|(name, about)| BotCommand::new(*name, *about))
        .collect();
    if let Err(e) = bot.set_my_commands(commands).await {
        tracing::warn!(error = %surface::redact(&e.to_string()), "could not register the command menu");
    }
}

/// Long-polls `getUpdates` until `shutdown`, handing each update to `handler`.
async fn poll(
    bot: &Bot,
    handler: &Arc<Handler>,
    options: &TelegramOptions,
    token_file: &std::path::Path,
    shutdown: &CancellationToken,
) {
    let mut offset: i32 = 0;
    let mut backoff = Backoff::new();
    let timeout = u32::try_from(options.poll_timeout.as_secs()).unwrap_or(10);
    loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(timeout)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let result = tokio::select! {
            r = request => r,
            () = shutdown.cancelled() => break,
        };
        match result {
            Ok(updates) => {
                backoff.reset();
                for update in updates {
                    offset = offset.max(
                        i32::try_from(update.id.0)
                            .unwrap_or(i32::MAX)
                            .saturating_add(1),
                    );
                    handler.dispatch(update);
                }
            }
            Err(e) => {
                if let RequestError::Api(api) = &e
                    && token_refused(api)
                {
                    tracing::error!(file = %token_file.display(), "Telegram no longer accepts the bot token; the channel stops");
                    break;
                }
                let wait = wait_after(&e, &mut backoff);
                tracing::warn!(error = %surface::redact(&e.to_string()), retry_in = ?wait, "reading Telegram updates failed");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        }
    }
    // Tell Telegram which updates were handled, so a restart does not see them again.
    if offset != 0 {
        let confirm = bot.get_updates().offset(offset).timeout(0).limit(1);
        let _ = tokio::time::timeout(Duration::from_secs(2), confirm).await;
    }
}

/// How long to wait after a failed call.
fn wait_after(error: &RequestError, backoff: &mut Backoff) -> Duration {
    match error {
        RequestError::RetryAfter(wait) => wait.duration().min(Duration::from_secs(300)),
        _ => backoff.next(),
    }
}

/// Exponential backoff from half a second up to thirty.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    fn next(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        now
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}
