//! The Telegram channel: long polling of the Bot API (no inbound port), read into the
//! conversation engine's events, with Telegram as its [`Platform`](crate::channels::engine::Platform).
//!
//! # Entry point
//! [`run`] runs the channel with the shared [`Agent`], [`Store`] and [`Metrics`] until its
//! shutdown token is cancelled (after the running replies wind down) or Telegram refuses the bot
//! token; `serve` and `up` start it from the list of configured channels
//! ([`crate::channels::Configured`]).
//!
//! # What happens to an update
//! The poll loop reads updates with `getUpdates`, reads each into an event ([`updates`]) and
//! hands it to the engine ([`crate::channels::engine`]), which never waits for a reply there. In
//! groups the bot answers only when mentioned (`@bot`), replied to, or given a command, and each
//! sender has their own history.
//!
//! # Layout
//! - [`format`]: the model's Markdown as Telegram HTML.
//! - [`surface`]: the Bot API with a bound on calls in flight, one chat as a
//!   [`crate::channels::stream::ChatSurface`], and error sorting.
//! - [`platform`]: Telegram as the engine's platform: chats, buttons, button presses.
//! - `updates`: what an update means to the engine.

pub(crate) mod format;
pub(crate) mod platform;
pub mod surface;
mod updates;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, BotCommand};
use teloxide::{ApiError, Bot, RequestError};
use tokio_util::sync::CancellationToken;

use self::platform::Telegram;
use self::surface::{BotApi, MAX_CALLS_IN_FLIGHT};
use super::engine::{Admission, ChannelOptions, Engine, Shared};
use crate::Principal;
use crate::config::{SecretError, TelegramConfig, read_secret};

/// Why the Telegram channel could not run.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// The bot token file could not be read.
    #[error("cannot read the Telegram bot token: {0}")]
    Token(#[from] SecretError),
    /// Telegram refused the token.
    #[error(
        "Telegram refused the bot token in {0}; check it with @BotFather and write it to that file"
    )]
    TokenRefused(PathBuf),
}

/// Runs the Telegram channel until `shutdown` is cancelled; the future can be spawned.
///
/// # Errors
/// Fails when the token file cannot be read or Telegram refuses the token. Network trouble is
/// retried, never returned.
pub async fn run(
    telegram: TelegramConfig,
    shared: Shared,
    options: ChannelOptions,
    shutdown: CancellationToken,
) -> Result<(), TelegramError> {
    let token = read_secret(&telegram.token_file)?;
    let bot = Bot::new(token.expose_secret()).set_api_url(telegram.api_url.clone());
    let Some(me) = identify(&bot, &telegram.token_file, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(bot = %me.username, policy = ?telegram.policy, "Telegram channel started");
    prepare(&bot).await;
    let platform = Telegram {
        api: BotApi::new(bot.clone(), MAX_CALLS_IN_FLIGHT),
        me,
        shutdown: shutdown.clone(),
    };
    let admission = Admission {
        policy: telegram.policy,
        allow: telegram
            .allow_from
            .iter()
            .filter_map(|id| u64::try_from(*id).ok())
            .map(Principal::telegram)
            .collect(),
        admins: telegram
            .admins
            .iter()
            .filter_map(|id| u64::try_from(*id).ok())
            .map(Principal::telegram)
            .collect(),
        per_minute: telegram.rate_limit_per_minute,
    };
    let engine = Engine::start(platform, admission, shared, &options, &shutdown);
    poll(&bot, &engine, &options, &telegram.token_file, &shutdown).await;
    engine.drain(options.drain_grace).await;
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

/// Long-polls `getUpdates` until `shutdown`, handing each update to `engine`.
async fn poll(
    bot: &Bot,
    engine: &Arc<Engine<Telegram>>,
    options: &ChannelOptions,
    token_file: &std::path::Path,
    shutdown: &CancellationToken,
) {
    let mut offset: i32 = 0;
    let mut backoff = Backoff::new();
    let timeout = u32::try_from(options.poll_timeout.as_secs()).unwrap_or(10);
    // Telegram has just answered `getMe`; a failed poll says otherwise.
    engine.set_connected(true);
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
                engine.set_connected(true);
                for update in updates {
                    offset = offset.max(
                        i32::try_from(update.id.0)
                            .unwrap_or(i32::MAX)
                            .saturating_add(1),
                    );
                    if let Some(event) = engine.platform().read(update) {
                        engine.dispatch(event);
                    }
                }
            }
            Err(e) => {
                engine.set_connected(false);
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
    engine.set_connected(false);
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
