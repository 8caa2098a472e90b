//! One Telegram chat as a [`ChatSurface`]: `sendMessage`, `editMessageText` and
//! `sendChatAction`, with Telegram's errors sorted into what the streaming editor can act on, all
//! through [`BotApi`], which bounds how many calls are in flight.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use teloxide::payloads::{EditMessageTextSetters, SendChatActionSetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::types::{
    ChatAction, ChatId, InlineKeyboardMarkup, LinkPreviewOptions, MessageId, ParseMode,
    ReplyParameters, ThreadId,
};
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::Semaphore;

use super::format;
use crate::channels::stream::{Body, ChatSurface, LengthUnit, SurfaceError};

/// Telegram's limit on one message's text, in UTF-16 code units of the text it shows once the
/// formatting is parsed.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most Bot API calls about chats in flight at once. teloxide reaches Telegram over
/// HTTP/1.1, one connection per call in flight, so without a bound a burst of replies to many
/// chats would open (and handshake TLS on) a connection per chat and keep them all pooled;
/// beyond this many, calls wait their turn, first come first served, and reuse the pooled
/// connections. Replies to a handful of chats at a time never reach the bound.
pub const MAX_CALLS_IN_FLIGHT: usize = 128;

/// The Bot API for calls about chats, with at most [`MAX_CALLS_IN_FLIGHT`] of them in flight.
/// The long poll for updates does not go through it, so it never waits behind replies.
#[derive(Debug, Clone)]
pub struct BotApi {
    bot: Bot,
    slots: Arc<Semaphore>,
}

impl BotApi {
    /// Wraps `bot`, allowing `in_flight` calls at once.
    #[must_use]
    pub fn new(bot: Bot, in_flight: usize) -> Self {
        Self {
            bot,
            slots: Arc::new(Semaphore::new(in_flight.max(1))),
        }
    }

    /// The bot, to build requests with.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// Sends `request` once a slot is free.
    pub async fn call<R: IntoFuture>(&self, request: R) -> R::Output {
        // The semaphore is never closed, so a permit always comes.
        let _slot = self.slots.acquire().await.ok();
        request.await
    }
}

/// One chat (and forum topic) that replies go to.
#[derive(Debug, Clone)]
pub struct TelegramSurface {
    api: BotApi,
    chat: ChatId,
    thread: Option<ThreadId>,
    /// The person's message that the first reply message answers (in groups).
    reply_to: Option<MessageId>,
}

impl TelegramSurface {
    /// Replies in `chat` (and `thread`), quoting `reply_to` when given.
    #[must_use]
    pub fn new(
        api: BotApi,
        chat: ChatId,
        thread: Option<ThreadId>,
        reply_to: Option<MessageId>,
    ) -> Self {
        Self {
            api,
            chat,
            thread,
            reply_to,
        }
    }

    /// The chat.
    #[must_use]
    pub fn chat(&self) -> ChatId {
        self.chat
    }

    /// Sends a message with inline buttons.
    ///
    /// # Errors
    /// Returns Telegram's refusal, sorted as for the streaming editor.
    pub async fn send_with_buttons(
        &self,
        body: Body<'_>,
        buttons: Option<InlineKeyboardMarkup>,
    ) -> Result<MessageId, SurfaceError> {
        let (text, html) = split_body(body);
        let mut req = self
            .api
            .bot()
            .send_message(self.chat, text)
            .link_preview_options(no_preview());
        if html {
            req = req.parse_mode(ParseMode::Html);
        }
        if let Some(thread) = self.thread {
            req = req.message_thread_id(thread);
        }
        if let Some(reply_to) = self.reply_to {
            req = req.reply_parameters(ReplyParameters {
                allow_sending_without_reply: Some(true),
                ..ReplyParameters::new(reply_to)
            });
        }
        if let Some(buttons) = buttons {
            req = req.reply_markup(buttons);
        }
        self.api.call(req).await.map(|m| m.id).map_err(classify)
    }

    /// Replaces a message's text and its buttons (`None` removes them).
    ///
    /// # Errors
    /// Returns Telegram's refusal, sorted as for the streaming editor.
    pub async fn edit_with_buttons(
        &self,
        id: MessageId,
        body: Body<'_>,
        buttons: Option<InlineKeyboardMarkup>,
    ) -> Result<(), SurfaceError> {
        let (text, html) = split_body(body);
        let mut req = self
            .api
            .bot()
            .edit_message_text(self.chat, id, text)
            .link_preview_options(no_preview());
        if html {
            req = req.parse_mode(ParseMode::Html);
        }
        if let Some(buttons) = buttons {
            req = req.reply_markup(buttons);
        }
        match self.api.call(req).await {
            Ok(_) => Ok(()),
            Err(e) => match classify(e) {
                SurfaceError::NotModified => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Sends `body` (with optional buttons), waiting out `retry_after` answers and retrying
    /// transient failures a few times; a send that may have arrived is not repeated.
    ///
    /// # Errors
    /// Returns the last failure when the message could not be sent.
    pub async fn deliver(
        &self,
        body: Body<'_>,
        buttons: Option<InlineKeyboardMarkup>,
    ) -> Result<MessageId, SurfaceError> {
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_with_buttons(body, buttons.clone()).await {
                Err(SurfaceError::RetryAfter(wait)) if attempt < 5 => {
                    tokio::time::sleep(wait.min(Duration::from_secs(300))).await
                }
                Err(SurfaceError::Transient(_)) if attempt < 5 => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                other => return other,
            }
        }
    }
}

fn split_body(body: Body<'_>) -> (String, bool) {
    match body {
        Body::Plain(t) => (t.to_owned(), false),
        Body::Formatted(t) => (t.to_owned(), true),
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

#[async_trait]
impl ChatSurface for TelegramSurface {
    type MessageId = MessageId;

    fn max_len(&self) -> usize {
        MAX_MESSAGE_LEN
    }

    fn counted(&self, body: Body<'_>) -> usize {
        match body {
            Body::Plain(text) => LengthUnit::Utf16.measure(text),
            Body::Formatted(html) => format::visible_len(html),
        }
    }

    fn format(&self, plain: &str) -> Option<String> {
        Some(format::markdown_to_html(plain))
    }

    async fn send(&self, body: Body<'_>) -> Result<MessageId, SurfaceError> {
        self.send_with_buttons(body, None).await
    }

    async fn edit(&self, id: &MessageId, body: Body<'_>) -> Result<(), SurfaceError> {
        self.edit_with_buttons(*id, body, None).await
    }

    async fn typing(&self) -> Result<(), SurfaceError> {
        let mut req = self
            .api
            .bot()
            .send_chat_action(self.chat, ChatAction::Typing);
        if let Some(thread) = self.thread {
            req = req.message_thread_id(thread);
        }
        self.api.call(req).await.map(|_| ()).map_err(classify)
    }
}

/// Sorts a Telegram error into what the caller can do about it. Texts never carry the token.
#[must_use]
pub fn classify(error: RequestError) -> SurfaceError {
    match error {
        RequestError::RetryAfter(wait) => SurfaceError::RetryAfter(wait.duration()),
        RequestError::MigrateToChatId(_) => {
            SurfaceError::Gone("the group became a supergroup".into())
        }
        RequestError::Api(api) => classify_api(api),
        RequestError::Network(e) => {
            let text = redact(&e.to_string());
            if e.is_connect() || e.is_builder() {
                SurfaceError::Transient(text)
            } else {
                SurfaceError::Uncertain(text)
            }
        }
        RequestError::InvalidJson { .. } => {
            SurfaceError::Uncertain("Telegram sent an answer that could not be read".into())
        }
        RequestError::Io(e) => SurfaceError::Transient(e.to_string()),
    }
}

fn classify_api(api: ApiError) -> SurfaceError {
    match api {
        ApiError::MessageNotModified => SurfaceError::NotModified,
        ApiError::CantParseEntities(reason) => SurfaceError::FormatRejected(reason),
        ApiError::MessageIsTooLong | ApiError::EditedMessageIsTooLong => SurfaceError::TooLong,
        ApiError::BotBlocked
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::ChatNotFound
        | ApiError::GroupDeactivated
        | ApiError::UserDeactivated
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots
        | ApiError::NotEnoughRightsToPostMessages => SurfaceError::Gone(api.to_string()),
        ApiError::Unknown(text) if is_server_trouble(&text) => SurfaceError::Transient(text),
        // "inline keyboard button URL '…' is invalid: Wrong HTTP URL"
        ApiError::Unknown(text) if text.contains("button URL") => {
            SurfaceError::FormatRejected(redact(&text))
        }
        other => SurfaceError::Failed(redact(&other.to_string())),
    }
}

/// Whether an unrecognised error description is a temporary server problem.
fn is_server_trouble(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
        "too many requests",
    ]
    .iter()
    .any(|s| lower.contains(s))
}

/// Removes the bot token from an error text (request URLs carry it as `/bot<token>/`).
#[must_use]
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/bot") {
        out.push_str(&rest[..at + 4]);
        let after = &rest[at + 4..];
        let end = after.find(['/', ' ', ')', '"']).unwrap_or(after.len());
        if end > 0 {
            out.push_str("<redacted>");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact(
                "error sending request for url (https://api.telegram.org/bot123:ABC/SendMessage)"
            ),
            "error sending request for url (https://api.telegram.org/bot<redacted>/SendMessage)"
        );
        assert_eq!(redact("no url here"), "no url here");
    }

    #[test]
    fn errors_are_sorted() {
        assert_eq!(
            classify(RequestError::Api(ApiError::MessageNotModified)),
            SurfaceError::NotModified
        );
        assert!(matches!(
            classify(RequestError::Api(ApiError::CantParseEntities("x".into()))),
            SurfaceError::FormatRejected(_)
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::BotBlocked)),
            SurfaceError::Gone(_)
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::Unknown("Bad Gateway".into()))),
            SurfaceError::Transient(_)
        ));
    }
}
