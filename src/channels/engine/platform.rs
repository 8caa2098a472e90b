//! What a chat platform gives the conversation engine: the identity of a chat, a surface to
//! write into, buttons, and what comes in (messages and button presses).
//!
//! A platform module (Telegram, Slack) turns its own updates into [`Event`]s and implements
//! [`Platform`] over its own API; everything a conversation does with them lives in the engine.
//! Nothing here needs an inbound message to write into a chat: [`Platform::surface`] opens a
//! chat from its identity alone, so the gateway can speak first in a chat it knows.

use std::fmt::Debug;
use std::hash::Hash;

use async_trait::async_trait;

use crate::Principal;
use crate::channels::commands::ChatCommand;
use crate::channels::pace::Pace;
use crate::channels::stream::{ChatSurface, SurfaceError};

/// Where a conversation happens on a platform, as a value: a Telegram chat, a Slack direct
/// message or thread. Its [`Chat::key`] is what the conversation's history is stored under, so a
/// chat written as a key (in a waiting message, a schedule) reads back as the same chat.
pub trait Chat: Clone + Eq + Hash + Debug + Send + Sync + 'static {
    /// The key the conversation's history and waiting messages are stored under.
    fn key(&self) -> String;

    /// Whether only the bot and one person are in it (what others could see never goes there).
    fn is_private(&self) -> bool;

    /// The chat a key made by [`Chat::key`] names; `None` for anything else.
    fn parse(key: &str) -> Option<Self>;
}

/// How a button looks, where the platform can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// An ordinary button.
    Plain,
    /// The button that lets something happen (Slack shows it green).
    Yes,
    /// The button that refuses (Slack shows it red).
    No,
}

/// A button under a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Pressing it comes back to the engine as a [`Press`] carrying `data`.
    Callback {
        /// What the button says.
        label: String,
        /// What the press carries back (at most 64 bytes, Telegram's bound).
        data: String,
        /// How it looks.
        tone: Tone,
    },
    /// Pressing it opens `url` in the browser.
    Link {
        /// What the button says.
        label: String,
        /// The page it opens.
        url: String,
    },
}

/// How a platform and its chats are named, to people and in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// The platform's name in principals, metrics and logs (`telegram`).
    pub name: &'static str,
    /// The platform's name as people know it (`Telegram`).
    pub title: &'static str,
    /// What the platform calls a chat with the bot alone (`private message`).
    pub private_chat: &'static str,
    /// What the platform calls a chat others see too (`group`).
    pub shared_chat: &'static str,
    /// How people start a command there (`/`).
    pub command_prefix: char,
}

impl Names {
    /// The names `name`, `title`, `private_chat`, `shared_chat` and `command_prefix`, in the
    /// order of [`Names`]' fields.
    #[must_use]
    pub const fn new(
        name: &'static str,
        title: &'static str,
        private_chat: &'static str,
        shared_chat: &'static str,
        command_prefix: char,
    ) -> Self {
        Self {
            name,
            title,
            private_chat,
            shared_chat,
            command_prefix,
        }
    }
}

/// The identity of a message the platform sent, as its surface names it.
pub type SentId<P> = <<P as Platform>::Surface as ChatSurface>::MessageId;

/// A chat platform as the engine drives it.
#[async_trait]
pub trait Platform: Send + Sync + Sized + 'static {
    /// A conversation's identity on this platform.
    type Chat: Chat;
    /// One chat to write into, as the streaming editor writes to it.
    type Surface: ChatSurface + Clone;
    /// What the platform needs to answer one button press.
    type PressHandle: Send + 'static;

    /// How the platform and its chats are named.
    const NAMES: Names;

    /// A surface writing into `chat` without replying to any message.
    fn surface(&self, chat: &Self::Chat) -> Self::Surface;

    /// The platform's limits on changing what `chat` shows.
    fn pace(&self, chat: &Self::Chat) -> Pace;

    /// What the limits of [`Platform::pace`] are counted over: the chat itself, unless the
    /// platform counts more widely.
    fn pace_scope(&self, chat: &Self::Chat) -> String {
        chat.key()
    }

    /// Whether the platform takes `url` as a link button. It is asked before every link button
    /// is sent; a link it does not take is written under the text instead.
    fn takes_link_button(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    }

    /// The chat in which the bot talks to `principal` alone, when the platform can address it
    /// without the person writing there first (writing may still be refused).
    fn direct_chat(&self, principal: &Principal) -> Option<Self::Chat>;

    /// How a connect link's page names a person known only as `principal`.
    fn who(&self, principal: &Principal) -> String;

    /// What a person does to reach the bot alone, ending where a command can follow
    /// (`Open a private chat with @bot, press Start, and`).
    fn how_to_reach_privately(&self) -> String;

    /// Sends `text` as plain text with `buttons` under it, retrying as the platform allows
    /// without ever sending twice. A link the platform cannot show as a button is refused with
    /// [`SurfaceError::FormatRejected`], so the caller can show it as text instead.
    async fn post(
        &self,
        surface: &Self::Surface,
        text: &str,
        buttons: &[Button],
    ) -> Result<SentId<Self>, SurfaceError>;

    /// Replaces the text of a message sent with [`Platform::post`] and takes its buttons away.
    async fn settle(
        &self,
        surface: &Self::Surface,
        message: &SentId<Self>,
        text: &str,
    ) -> Result<(), SurfaceError>;

    /// Tells the person who pressed a button what it did (`note`). When the press answered
    /// nothing (`stale`: it expired, or its question is from before a restart), the buttons
    /// are taken away too.
    async fn answer_press(&self, press: Self::PressHandle, note: &str, stale: bool);
}

/// A person on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Who they are to the gateway.
    pub principal: Principal,
    /// Their id as the operator writes it in `allow_from`.
    pub id: String,
    /// How `pairing list` shows them.
    pub display: String,
    /// How a connect link's page names them (`Telegram user @ann (id 42)`).
    pub who: String,
}

/// A message for the bot, read from a platform's update.
pub struct Incoming<P: Platform> {
    /// The conversation it belongs to.
    pub chat: P::Chat,
    /// Where replies to it go (in groups: as a reply to it, or in its thread).
    pub surface: P::Surface,
    /// Who wrote it.
    pub sender: Sender,
    /// Its text, without the bot's mention; `None` when it has none.
    pub text: Option<String>,
    /// The chat command it is, when it is one.
    pub command: Option<ChatCommand>,
}

/// A button press.
pub struct Press<P: Platform> {
    /// Who pressed it.
    pub principal: Principal,
    /// The data of the button pressed; `None` when the platform sent none.
    pub data: Option<String>,
    /// What the platform needs to answer it.
    pub handle: P::PressHandle,
}

/// Something a person did that the engine acts on.
pub enum Event<P: Platform> {
    /// A message for the bot.
    Message(Incoming<P>),
    /// A press of one of the bot's buttons.
    Press(Press<P>),
}
