//! Socket Mode envelopes and the events inside them, parsed without trusting their shape.

use serde_json::Value;

/// The largest envelope accepted from the socket.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// One frame from the Socket Mode WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The connection is ready.
    Hello,
    /// Slack will close this connection; open a new one.
    Disconnect {
        /// Why (`refresh_requested`, `link_disabled`, ...).
        reason: String,
    },
    /// An envelope to acknowledge, with what it carries.
    Envelope {
        /// The id to send back in the acknowledgement.
        envelope_id: String,
        /// The id of the event it carries (`Ev…`), the same in every delivery of that event.
        event_id: Option<String>,
        /// How many times Slack delivered it before (`retry_attempt`; 0 the first time).
        retry_attempt: u32,
        /// What it carries.
        inbound: Option<Inbound>,
    },
    /// Anything else (ignored).
    Other,
}

/// Something a person did that the channel acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A direct message, or a mention of the bot in a channel.
    Message {
        /// The workspace.
        team: String,
        /// The sender.
        user: String,
        /// The channel (a `D…` id for direct messages).
        channel: String,
        /// The message's text as Slack delivered it (escaped, with `<…>` references); `None`
        /// when it has none (a file shared without a comment).
        text: Option<String>,
        /// The message's own timestamp id.
        ts: String,
        /// The thread it belongs to, when it is a reply.
        thread_ts: Option<String>,
        /// Whether it mentioned the bot in a channel (`app_mention`) rather than a direct message.
        mention: bool,
    },
    /// A button press in a message the bot posted.
    Action {
        /// The workspace.
        team: String,
        /// Who pressed it.
        user: String,
        /// The channel of the message.
        channel: String,
        /// The message's timestamp id.
        message_ts: String,
        /// The button's `action_id`.
        action_id: String,
        /// The button's `value`.
        value: String,
    },
}

fn text_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parses one text frame. Never panics; unknown or malformed content becomes [`Frame::Other`]
/// (or an envelope with no inbound, which is still acknowledged).
#[must_use]
pub fn parse_frame(text: &str) -> Frame {
    if text.len() > MAX_ENVELOPE_BYTES {
        return Frame::Other;
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Frame::Other;
    };
    match value.get("type").and_then(Value::as_str) {
        Some("hello") => Frame::Hello,
        Some("disconnect") => Frame::Disconnect {
            reason: text_of(&value, "reason").unwrap_or_default(),
        },
        Some(kind) => match text_of(&value, "envelope_id") {
            Some(envelope_id) => {
                let payload = value.get("payload").cloned().unwrap_or(Value::Null);
                let inbound = match kind {
                    "events_api" => parse_event(&payload),
                    "interactive" => parse_action(&payload),
                    _ => None,
                };
                let retry_attempt = value
                    .get("retry_attempt")
                    .and_then(Value::as_u64)
                    .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
                Frame::Envelope {
                    envelope_id,
                    event_id: text_of(&payload, "event_id"),
                    retry_attempt,
                    inbound,
                }
            }
            None => Frame::Other,
        },
        None => Frame::Other,
    }
}

/// Message subtypes a person makes with text of their own: a file shared with a comment, a
/// thread reply also sent to the channel, `/me`. Every other subtype (edits, deletions, joins,
/// bot messages) is not a message to answer.
const PERSON_SUBTYPES: &[&str] = &["file_share", "thread_broadcast", "me_message"];

fn parse_event(payload: &Value) -> Option<Inbound> {
    let event = payload.get("event")?;
    let kind = event.get("type").and_then(Value::as_str)?;
    let person_made = event
        .get("subtype")
        .is_none_or(|s| s.as_str().is_some_and(|s| PERSON_SUBTYPES.contains(&s)));
    if !person_made || event.get("bot_id").is_some() {
        return None;
    }
    let mention = match kind {
        "app_mention" => true,
        "message" if event.get("channel_type").and_then(Value::as_str) == Some("im") => false,
        _ => return None,
    };
    let team = text_of(payload, "team_id").or_else(|| text_of(event, "team"))?;
    Some(Inbound::Message {
        team,
        user: text_of(event, "user")?,
        channel: text_of(event, "channel")?,
        text: text_of(event, "text").filter(|t| !t.trim().is_empty()),
        ts: text_of(event, "ts")?,
        thread_ts: text_of(event, "thread_ts"),
        mention,
    })
}

/// A press of a button that carries a value. A link button carries none: Slack still sends an
/// interaction payload when it is clicked (the browser opens the link), and it is only
/// acknowledged.
fn parse_action(payload: &Value) -> Option<Inbound> {
    if payload.get("type").and_then(Value::as_str) != Some("block_actions") {
        return None;
    }
    let action = payload.get("actions")?.as_array()?.first()?;
    let value = text_of(action, "value")?;
    let user = payload.get("user")?;
    let team = payload
        .get("team")
        .and_then(|t| text_of(t, "id"))
        .or_else(|| text_of(user, "team_id"))?;
    Some(Inbound::Action {
        team,
        user: text_of(user, "id")?,
        channel: payload.get("channel").and_then(|c| text_of(c, "id"))?,
        message_ts: payload
            .get("message")
            .and_then(|m| text_of(m, "ts"))
            .or_else(|| {
                payload
                    .get("container")
                    .and_then(|c| text_of(c, "message_ts"))
            })?,
        action_id: text_of(action, "action_id")?,
        value,
    })
}

/// Removes the bot's own mention (`<@UBOT>`) from a message's text.
#[must_use]
pub fn strip_mention(text: &str, bot_user: &str) -> String {
    text.replace(&format!("<@{bot_user}>"), "")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hello_disconnect_and_garbage() {
        assert_eq!(
            parse_frame(r#"{"type":"hello","num_connections":1}"#),
            Frame::Hello
        );
        assert_eq!(
            parse_frame(r#"{"type":"disconnect","reason":"refresh_requested"}"#),
            Frame::Disconnect {
                reason: "refresh_requested".into()
            }
        );
        assert_eq!(parse_frame("not json"), Frame::Other);
        assert_eq!(
            parse_frame(&"x".repeat(MAX_ENVELOPE_BYTES + 1)),
            Frame::Other
        );
    }

    #[test]
    fn parses_direct_messages_and_mentions() {
        let dm = r#"{"envelope_id":"e1","type":"events_api","payload":{"team_id":"T1","event":{"type":"message","channel_type":"im","user":"U1","channel":"D1","text":"hi","ts":"1.1"}}}"#;
        let Frame::Envelope {
            envelope_id,
            inbound: Some(Inbound::Message { user, mention, .. }),
            ..
        } = parse_frame(dm)
        else {
            panic!("not a message");
        };
        assert_eq!(
            (envelope_id.as_str(), user.as_str(), mention),
            ("e1", "U1", false)
        );
        let mention = r#"{"envelope_id":"e2","type":"events_api","payload":{"team_id":"T1","event":{"type":"app_mention","user":"U2","channel":"C1","text":"<@UB> hello","ts":"2.2","thread_ts":"1.0"}}}"#;
        let Frame::Envelope {
            inbound:
                Some(Inbound::Message {
                    thread_ts,
                    mention,
                    text,
                    ..
                }),
            ..
        } = parse_frame(mention)
        else {
            panic!("not a mention");
        };
        assert!(mention);
        assert_eq!(thread_ts.as_deref(), Some("1.0"));
        assert_eq!(strip_mention(&text.unwrap_or_default(), "UB"), "hello");
    }

    #[test]
    fn bot_messages_and_edits_are_acknowledged_but_ignored() {
        let edit = r#"{"envelope_id":"e3","type":"events_api","payload":{"team_id":"T1","event":{"type":"message","subtype":"message_changed","channel_type":"im","channel":"D1","ts":"1"}}}"#;
        assert_eq!(
            parse_frame(edit),
            Frame::Envelope {
                envelope_id: "e3".into(),
                event_id: None,
                retry_attempt: 0,
                inbound: None
            }
        );
    }

    #[test]
    fn files_shared_with_a_comment_are_messages() {
        let shared = r#"{"envelope_id":"e5","type":"events_api","retry_attempt":2,"retry_reason":"timeout","payload":{"team_id":"T1","event_id":"Ev9","event":{"type":"message","subtype":"file_share","channel_type":"im","user":"U1","channel":"D1","text":"what is in this?","ts":"1.1","files":[{"id":"F1"}]}}}"#;
        let Frame::Envelope {
            event_id,
            retry_attempt,
            inbound: Some(Inbound::Message { text, .. }),
            ..
        } = parse_frame(shared)
        else {
            panic!("not a message");
        };
        assert_eq!(text.as_deref(), Some("what is in this?"));
        assert_eq!((event_id.as_deref(), retry_attempt), (Some("Ev9"), 2));
        let bare = shared.replace("what is in this?", "");
        let Frame::Envelope {
            inbound: Some(Inbound::Message { text, .. }),
            ..
        } = parse_frame(&bare)
        else {
            panic!("not a message");
        };
        assert_eq!(text, None);
        let joined = shared.replace("file_share", "channel_join");
        assert!(matches!(
            parse_frame(&joined),
            Frame::Envelope { inbound: None, .. }
        ));
    }

    #[test]
    fn link_button_presses_are_only_acknowledged() {
        let press = r#"{"envelope_id":"e6","type":"interactive","payload":{"type":"block_actions","user":{"id":"U1","team_id":"T1"},"team":{"id":"T1"},"channel":{"id":"D1"},"message":{"ts":"5.5"},"actions":[{"action_id":"link_0","type":"button","url":"https://example.com"}]}}"#;
        assert!(matches!(
            parse_frame(press),
            Frame::Envelope { inbound: None, .. }
        ));
    }

    #[test]
    fn parses_button_actions() {
        let action = r#"{"envelope_id":"e4","type":"interactive","payload":{"type":"block_actions","user":{"id":"U1","team_id":"T1"},"team":{"id":"T1"},"channel":{"id":"D1"},"message":{"ts":"5.5"},"actions":[{"action_id":"confirm","value":"allow:abc"}]}}"#;
        let Frame::Envelope {
            inbound:
                Some(Inbound::Action {
                    action_id,
                    value,
                    message_ts,
                    ..
                }),
            ..
        } = parse_frame(action)
        else {
            panic!("not an action");
        };
        assert_eq!(
            (action_id.as_str(), value.as_str(), message_ts.as_str()),
            ("confirm", "allow:abc", "5.5")
        );
    }
}
