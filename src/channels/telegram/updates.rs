//! Reading Telegram updates into the engine's events: who wrote what, in which chat, and
//! whether it was meant for this bot.
//!
//! In groups the bot answers only when mentioned (`@bot`), replied to, or given a command; the
//! mention is taken out of the text. Messages from bots and from channels are ignored.

use teloxide::types::{Message, Update, UpdateKind, User};

use super::platform::{Telegram, TelegramChat};
use super::surface::TelegramSurface;
use crate::Principal;
use crate::channels::commands;
use crate::channels::engine::{Event, Incoming, Press, Sender};
use crate::display::sanitize;

impl Telegram {
    /// What `update` means to the engine, or `None` when it is not for this bot.
    pub(super) fn read(&self, update: Update) -> Option<Event<Self>> {
        match update.kind {
            UpdateKind::Message(message) => self.message(&message).map(Event::Message),
            UpdateKind::CallbackQuery(query) => Some(Event::Press(Press {
                principal: Principal::telegram(query.from.id.0),
                data: query.data.clone(),
                handle: query,
            })),
            _ => None,
        }
    }

    fn message(&self, message: &Message) -> Option<Incoming<Self>> {
        let from = message.from.as_ref().filter(|u| !u.is_bot)?;
        let chat = &message.chat;
        let private = chat.is_private();
        if !private && !chat.is_group() && !chat.is_supergroup() {
            return None;
        }
        let raw = message.text().or_else(|| message.caption());
        let command = raw.and_then(|t| commands::parse(t, Some(&self.me.username)));
        let mention = format!("@{}", self.me.username);
        let mentioned =
            raw.is_some_and(|t| !self.me.username.is_empty() && contains_ignore_case(t, &mention));
        let replied_to_bot = message
            .reply_to_message()
            .and_then(|r| r.from.as_ref())
            .is_some_and(|u| u.id == self.me.id);
        if !private && !mentioned && !replied_to_bot && command.is_none() {
            return None;
        }
        let text = raw
            .map(|t| remove_ignore_case(t, &mention).trim().to_owned())
            .filter(|t| !t.is_empty());
        let thread = message.thread_id.filter(|_| message.is_topic_message);
        // In groups the first reply message quotes the person's message.
        let reply_to = (!private).then_some(message.id);
        Some(Incoming {
            chat: TelegramChat(chat.id.0),
            surface: TelegramSurface::new(self.api.clone(), chat.id, thread, reply_to),
            sender: Sender {
                principal: Principal::telegram(from.id.0),
                id: from.id.0.to_string(),
                display: display_name(from),
                who: identity(from),
            },
            text,
            command,
        })
    }
}

/// How a sender is shown in `pairing list`: `@username (First Last)`.
fn display_name(user: &User) -> String {
    let full = sanitize(&user.full_name(), 64);
    match &user.username {
        Some(u) => format!("@{} ({full})", sanitize(u, 32)),
        None => full,
    }
}

/// How a connect link's page names a sender: `Telegram user @username (id 42)`, or with their
/// name when they have no username.
fn identity(user: &User) -> String {
    let name = match &user.username {
        Some(u) => format!("@{}", sanitize(u, 32)),
        None => sanitize(&user.full_name(), 64),
    };
    format!("Telegram user {name} (id {})", user.id.0)
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// `text` without any occurrence of `needle` (ASCII case-insensitive; usernames are ASCII).
fn remove_ignore_case(text: &str, needle: &str) -> String {
    if needle.is_empty() || !needle.is_ascii() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= needle.len()
            && rest.is_char_boundary(needle.len())
            && rest[..needle.len()].eq_ignore_ascii_case(needle)
        {
            rest = &rest[needle.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_removed() {
        assert_eq!(
            remove_ignore_case("@MyBot what is up", "@mybot"),
            " what is up"
        );
        assert_eq!(remove_ignore_case("héllo @mybot!", "@mybot"), "héllo !");
        assert!(contains_ignore_case("hey @MYBOT", "@mybot"));
    }
}
