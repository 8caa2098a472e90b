//! Slack as the conversation engine's [`Platform`]: a conversation is a direct message or a
//! thread in a channel, buttons are Block Kit, and presses arrive as interactive payloads.
//!
//! Slack's clients run `/word` as their own slash commands, so commands may also be written
//! `!word` (`!stop`, `!reset`).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::{PostedMessage, SlackApi};
use super::events::{Inbound, strip_mention};
use super::mrkdwn;
use super::surface::SlackSurface;
use crate::Principal;
use crate::channels::commands;
use crate::channels::engine::{
    Button, Chat, Event, Incoming, Names, Pace, Platform, Press, Sender, Tone,
};
use crate::channels::stream::{Body, ChatSurface, SurfaceError};
use crate::display::sanitize;

/// Slack counts `chat.update` per workspace (Tier 3: about 50 a minute), so streamed edits in
/// all conversations together come at least 1.5 s apart, leaving room for final text; posting
/// (about one message a second per channel, bursts allowed) is not held back.
const WORKSPACE: Pace = Pace {
    interim: std::time::Duration::from_millis(1_500),
    cap: None,
};

/// A Slack conversation: a direct message channel, or a thread in a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlackChat {
    /// The channel (a `D…` id for direct messages).
    pub channel: String,
    /// The thread's timestamp id, for a conversation in a channel's thread.
    pub thread: Option<String>,
}

impl Chat for SlackChat {
    fn key(&self) -> String {
        match &self.thread {
            Some(thread) => format!("{}/{thread}", self.channel),
            None => self.channel.clone(),
        }
    }

    /// A conversation outside a thread is a direct message: in channels the bot answers only
    /// mentions, in their threads.
    fn is_private(&self) -> bool {
        self.thread.is_none()
    }

    fn parse(key: &str) -> Option<Self> {
        let (channel, thread) = match key.split_once('/') {
            Some((channel, thread)) => (channel, Some(thread.to_owned())),
            None => (key, None),
        };
        (!channel.is_empty()).then(|| Self {
            channel: channel.to_owned(),
            thread,
        })
    }
}

/// The Web API as the engine uses it, for the bot `bot_user`.
#[derive(Debug, Clone)]
pub struct Slack {
    pub(super) api: SlackApi,
    pub(super) bot_user: String,
}

impl Slack {
    /// What `inbound` means to the engine, or `None` when the bot wrote it itself.
    pub(super) fn read(&self, inbound: Inbound) -> Option<Event<Self>> {
        match inbound {
            Inbound::Message {
                team,
                user,
                channel,
                text,
                ts,
                thread_ts,
                mention,
            } => {
                if user == self.bot_user {
                    return None;
                }
                // What the person typed: the bot's own mention taken out, Slack's escapes and
                // references undone.
                let text = text
                    .map(|t| mrkdwn::typed(&strip_mention(&t, &self.bot_user)))
                    .filter(|t| !t.trim().is_empty());
                let command = text.as_deref().and_then(|text| {
                    let normalised = text
                        .strip_prefix('!')
                        .map_or_else(|| text.to_owned(), |rest| format!("/{rest}"));
                    commands::parse(&normalised, None)
                });
                // A mention is answered in its thread; a direct message in the conversation.
                let chat = SlackChat {
                    channel,
                    thread: mention.then(|| thread_ts.unwrap_or(ts)),
                };
                let principal = Principal::slack(&team, &user);
                Some(Event::Message(Incoming {
                    surface: self.surface(&chat),
                    chat,
                    sender: Sender {
                        who: self.who(&principal),
                        principal,
                        display: user.clone(),
                        id: user,
                    },
                    text,
                    command,
                }))
            }
            Inbound::Action {
                team,
                user,
                channel,
                message_ts,
                value,
                ..
            } => Some(Event::Press(Press {
                principal: Principal::slack(&team, &user),
                data: Some(value),
                handle: PostedMessage {
                    channel,
                    ts: message_ts,
                },
            })),
        }
    }
}

#[async_trait]
impl Platform for Slack {
    type Chat = SlackChat;
    type Surface = SlackSurface;
    type PressHandle = PostedMessage;

    // Slack's clients keep `/word` for their own commands, so commands are written `!word`.
    const NAMES: Names = Names::new("slack", "Slack", "direct message", "channel", '!');

    fn surface(&self, chat: &SlackChat) -> SlackSurface {
        SlackSurface::new(self.api.clone(), chat.channel.clone(), chat.thread.clone())
    }

    fn pace(&self, _chat: &SlackChat) -> Pace {
        WORKSPACE
    }

    fn pace_scope(&self, _chat: &SlackChat) -> String {
        "workspace".to_owned()
    }

    /// Posting to a person's user id reaches their direct message with the bot.
    fn direct_chat(&self, principal: &Principal) -> Option<SlackChat> {
        let (_, user) = team_and_user(principal)?;
        Some(SlackChat {
            channel: user.to_owned(),
            thread: None,
        })
    }

    fn who(&self, principal: &Principal) -> String {
        let (team, user) = team_and_user(principal).unwrap_or_default();
        format!(
            "Slack user {} (workspace {})",
            sanitize(user, 32),
            sanitize(team, 32)
        )
    }

    fn how_to_reach_privately(&self) -> String {
        "Open a direct message with me and".to_owned()
    }

    async fn post(
        &self,
        surface: &SlackSurface,
        text: &str,
        buttons: &[Button],
    ) -> Result<PostedMessage, SurfaceError> {
        if buttons.is_empty() {
            return surface.send(Body::Plain(text)).await;
        }
        surface.send_blocks(text, blocks(text, buttons)).await
    }

    async fn settle(
        &self,
        surface: &SlackSurface,
        message: &PostedMessage,
        text: &str,
    ) -> Result<(), SurfaceError> {
        surface.replace(message, text).await
    }

    /// Slack has no note for the presser; a stale question is replaced by the note.
    async fn answer_press(&self, message: PostedMessage, note: &str, stale: bool) {
        if !stale {
            return;
        }
        if let Err(e) = self.api.update_message(&message, note, None).await {
            tracing::debug!(error = %e, "could not retire a stale confirmation");
        }
    }
}

/// The workspace and user of a Slack principal (`slack:<team>:<user>`).
fn team_and_user(principal: &Principal) -> Option<(&str, &str)> {
    principal.as_str().strip_prefix("slack:")?.split_once(':')
}

/// Block Kit for `text` with one row of `buttons`.
fn blocks(text: &str, buttons: &[Button]) -> Value {
    let elements: Vec<Value> = buttons
        .iter()
        .enumerate()
        .map(|(i, button)| match button {
            Button::Callback { label, data, tone } => {
                let mut element = json!({
                    "type": "button",
                    "action_id": format!("choice_{i}"),
                    "text": {"type": "plain_text", "text": label},
                    "value": data,
                });
                match tone {
                    Tone::Yes => element["style"] = json!("primary"),
                    Tone::No => element["style"] = json!("danger"),
                    Tone::Plain => {}
                }
                element
            }
            Button::Link { label, url } => json!({
                "type": "button",
                "action_id": format!("link_{i}"),
                "text": {"type": "plain_text", "text": label},
                "url": url,
            }),
        })
        .collect();
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn::escape(text)}},
        {"type": "actions", "elements": elements}
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_read_back_from_their_keys() {
        for chat in [
            SlackChat {
                channel: "D1".into(),
                thread: None,
            },
            SlackChat {
                channel: "C1".into(),
                thread: Some("1712.0001".into()),
            },
        ] {
            assert_eq!(SlackChat::parse(&chat.key()), Some(chat));
        }
        assert_eq!(SlackChat::parse(""), None);
        assert_eq!(SlackChat::parse("/1.2"), None);
    }

    #[test]
    fn buttons_become_one_row_of_block_kit() {
        let value = blocks(
            "Allow <this>?",
            &[
                Button::Callback {
                    label: "Allow".into(),
                    data: "cf:abcdefghij:y".into(),
                    tone: Tone::Yes,
                },
                Button::Link {
                    label: "Open".into(),
                    url: "https://example.com".into(),
                },
            ],
        );
        assert_eq!(value[0]["text"]["text"], "Allow &lt;this&gt;?");
        let elements = value[1]["elements"].as_array().unwrap();
        assert_eq!(elements[0]["value"], "cf:abcdefghij:y");
        assert_eq!(elements[0]["style"], "primary");
        assert_eq!(elements[1]["url"], "https://example.com");
        assert_ne!(elements[0]["action_id"], elements[1]["action_id"]);
    }
}
