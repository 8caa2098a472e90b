//! Telegram as the conversation engine's [`Platform`]: chats by id, replies through
//! [`TelegramSurface`], inline keyboards for buttons, and callback queries for presses.

use std::time::Duration;

use async_trait::async_trait;
use teloxide::payloads::AnswerCallbackQuerySetters;
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId,
};
use tokio_util::sync::CancellationToken;

use super::BotIdentity;
use super::format::takes_url;
use super::surface::{BotApi, TelegramSurface, redact};
use crate::Principal;
use crate::channels::engine::{Button, Chat, Names, Pace, Platform};
use crate::channels::stream::{Body, SurfaceError};

/// A Telegram chat: a private chat (its id is the person's user id) or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelegramChat(pub i64);

impl Chat for TelegramChat {
    fn key(&self) -> String {
        self.0.to_string()
    }

    /// Private chats have the person's (positive) user id; groups have negative ids.
    fn is_private(&self) -> bool {
        self.0 > 0
    }

    fn parse(key: &str) -> Option<Self> {
        key.parse().ok().map(Self)
    }
}

/// A private chat: Telegram asks for no more than about one message a second, allowing short
/// bursts, so streamed edits come a second apart and final text is not held back.
const PRIVATE: Pace = Pace {
    interim: Duration::from_secs(1),
    cap: None,
};

/// A group: Telegram allows about 20 messages and 20 edits a minute, and answers more with
/// `retry_after` of 30 s and longer; the gateway keeps all of them together under 20, with
/// streamed edits at least four seconds apart.
const GROUP: Pace = Pace {
    interim: Duration::from_secs(4),
    cap: Some((20, Duration::from_secs(60))),
};

/// The Bot API as the engine uses it.
#[derive(Debug, Clone)]
pub struct Telegram {
    pub(super) api: BotApi,
    pub(super) me: BotIdentity,
    /// Ends waits for rate limits when the channel stops.
    pub(super) shutdown: CancellationToken,
}

#[async_trait]
impl Platform for Telegram {
    type Chat = TelegramChat;
    type Surface = TelegramSurface;
    type PressHandle = CallbackQuery;

    const NAMES: Names = Names::new("telegram", "Telegram", "private message", "group", '/');

    fn surface(&self, chat: &TelegramChat) -> TelegramSurface {
        TelegramSurface::new(self.api.clone(), ChatId(chat.0), None, None)
    }

    fn pace(&self, chat: &TelegramChat) -> Pace {
        if chat.is_private() { PRIVATE } else { GROUP }
    }

    fn takes_link_button(&self, url: &str) -> bool {
        takes_url(url)
    }

    /// A person's private chat with the bot has their user id; the bot can write there once
    /// they have started it.
    fn direct_chat(&self, principal: &Principal) -> Option<TelegramChat> {
        user_id(principal)
            .map(TelegramChat)
            .filter(TelegramChat::is_private)
    }

    fn who(&self, principal: &Principal) -> String {
        match user_id(principal) {
            Some(id) => format!("Telegram user id {id}"),
            None => principal.to_string(),
        }
    }

    fn how_to_reach_privately(&self) -> String {
        format!(
            "Open a private chat with @{}, press Start, and",
            self.me.username
        )
    }

    async fn post(
        &self,
        surface: &TelegramSurface,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageId, SurfaceError> {
        let markup = keyboard(buttons)?;
        surface.deliver(Body::Plain(text), markup).await
    }

    async fn settle(
        &self,
        surface: &TelegramSurface,
        message: &MessageId,
        text: &str,
    ) -> Result<(), SurfaceError> {
        surface
            .edit_with_buttons(*message, Body::Plain(text), None)
            .await
    }

    async fn answer_press(&self, query: CallbackQuery, note: &str, stale: bool) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = self
                .api
                .bot()
                .answer_callback_query(query.id.clone())
                .text(note);
            match self.api.call(request).await {
                Ok(_) => break,
                Err(teloxide::RequestError::RetryAfter(wait)) if attempts < 3 => {
                    tokio::select! {
                        () = tokio::time::sleep(wait.duration().min(Duration::from_secs(30))) => {}
                        () = self.shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %redact(&e.to_string()), "could not answer a button press");
                    break;
                }
            }
        }
        if stale && let Some(message) = query.regular_message() {
            let request = self
                .api
                .bot()
                .edit_message_reply_markup(message.chat.id, message.id);
            let _ = self.api.call(request).await;
        }
    }
}

/// The Telegram user id of `principal`, when it is a Telegram principal.
fn user_id(principal: &Principal) -> Option<i64> {
    principal.as_str().strip_prefix("telegram:")?.parse().ok()
}

/// One row of inline buttons, or `None` for no buttons. A link Telegram would refuse (see
/// [`takes_url`]) is refused here already.
fn keyboard(buttons: &[Button]) -> Result<Option<InlineKeyboardMarkup>, SurfaceError> {
    if buttons.is_empty() {
        return Ok(None);
    }
    let row = buttons
        .iter()
        .map(|button| match button {
            Button::Callback { label, data, .. } => {
                Ok(InlineKeyboardButton::callback(label.clone(), data.clone()))
            }
            Button::Link { label, url } => url::Url::parse(url)
                .ok()
                .filter(|_| takes_url(url))
                .map(|u| InlineKeyboardButton::url(label.clone(), u))
                .ok_or_else(|| {
                    SurfaceError::FormatRejected(
                        "Telegram takes only http and https links to hosts with a dot".into(),
                    )
                }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(InlineKeyboardMarkup::new([row])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::engine::Tone;

    fn link(url: &str) -> Button {
        Button::Link {
            label: "Connect".into(),
            url: url.into(),
        }
    }

    #[test]
    fn link_buttons_need_http() {
        assert!(matches!(
            keyboard(&[link("https://example.com/authorize?x=1")]),
            Ok(Some(_))
        ));
        assert!(keyboard(&[link("javascript:alert(1)")]).is_err());
        assert!(keyboard(&[link("http://localhost:8000/connect")]).is_err());
        assert!(keyboard(&[link("not a url")]).is_err());
        assert!(matches!(keyboard(&[]), Ok(None)));
        let choice = Button::Callback {
            label: "Allow".into(),
            data: "cf:abcdefghij:y".into(),
            tone: Tone::Yes,
        };
        assert!(matches!(keyboard(&[choice]), Ok(Some(_))));
    }

    #[test]
    fn chats_read_back_from_their_keys() {
        for chat in [TelegramChat(42), TelegramChat(-1_001_234)] {
            assert_eq!(TelegramChat::parse(&chat.key()), Some(chat));
        }
        assert_eq!(TelegramChat::parse("C1/2.5"), None);
        assert!(TelegramChat(42).is_private());
        assert!(!TelegramChat(-42).is_private());
    }
}
