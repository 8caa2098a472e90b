//! One Slack conversation (a direct message, or a thread in a channel) as a
//! [`ChatSurface`](crate::channels::stream::ChatSurface) for the shared streaming editor.

use async_trait::async_trait;
use serde_json::Value;

use super::api::{PostedMessage, SlackApi, SlackError};
use super::mrkdwn;
use crate::channels::stream::{Body, ChatSurface, LengthUnit, SurfaceError};

/// The longest text sent in one message, counted as sent (escapes included): Slack cuts a
/// posted text over 4,000 characters into several messages and refuses an update that long
/// (`msg_too_long`); a little room is kept.
pub const MAX_MESSAGE_CHARS: usize = 3_900;

/// Where replies go: a channel, and the thread in it when there is one.
#[derive(Debug, Clone)]
pub struct SlackSurface {
    api: SlackApi,
    channel: String,
    thread_ts: Option<String>,
}

impl SlackSurface {
    /// A surface posting into `channel` (and `thread_ts`, when set).
    #[must_use]
    pub fn new(api: SlackApi, channel: String, thread_ts: Option<String>) -> Self {
        Self {
            api,
            channel,
            thread_ts,
        }
    }

    /// Posts a message with Block Kit `blocks` (buttons), `text` being its notification fallback.
    ///
    /// # Errors
    /// Fails as [`ChatSurface::send`] does.
    pub async fn send_blocks(
        &self,
        text: &str,
        blocks: Value,
    ) -> Result<PostedMessage, SurfaceError> {
        self.api
            .post_message(&self.channel, self.thread_ts.as_deref(), text, Some(blocks))
            .await
            .map_err(classify)
    }

    /// Replaces a message's text and removes its buttons.
    ///
    /// # Errors
    /// Fails as [`ChatSurface::edit`] does.
    pub async fn replace(&self, message: &PostedMessage, text: &str) -> Result<(), SurfaceError> {
        self.api
            .update_message(message, &mrkdwn::escape(text), None)
            .await
            .map_err(classify)
    }
}

/// Maps a Web API failure to what the streaming editor needs to know.
#[must_use]
pub fn classify(error: SlackError) -> SurfaceError {
    match error {
        SlackError::RateLimited(wait) => SurfaceError::RetryAfter(wait),
        SlackError::Transport { reason, .. } if reason.contains("HTTP 5") => {
            SurfaceError::Transient(reason)
        }
        SlackError::Transport { reason, .. } if reason.contains("connect") => {
            SurfaceError::Transient(reason)
        }
        SlackError::Transport { reason, .. } => SurfaceError::Uncertain(reason),
        SlackError::Api { error, .. } => match error.as_str() {
            "msg_too_long" | "msg_blocks_too_long" => SurfaceError::TooLong,
            "invalid_blocks" | "invalid_blocks_format" => SurfaceError::FormatRejected(error),
            "channel_not_found" | "not_in_channel" | "is_archived" | "account_inactive"
            | "invalid_auth" | "token_revoked" => SurfaceError::Gone(error),
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                SurfaceError::Transient(error)
            }
            "cant_update_message" | "edit_window_closed" | "message_not_found" => {
                SurfaceError::Failed(error)
            }
            _ => SurfaceError::Failed(error),
        },
    }
}

fn text_of(body: Body<'_>) -> String {
    match body {
        // Plain text is escaped so that `<`, `>` and `&` show as written.
        Body::Plain(text) => mrkdwn::escape(text),
        Body::Formatted(text) => text.to_owned(),
    }
}

#[async_trait]
impl ChatSurface for SlackSurface {
    type MessageId = PostedMessage;

    fn max_len(&self) -> usize {
        MAX_MESSAGE_CHARS
    }

    fn counted(&self, body: Body<'_>) -> usize {
        LengthUnit::Chars.measure(&text_of(body))
    }

    fn format(&self, plain: &str) -> Option<String> {
        Some(mrkdwn::from_markdown(plain))
    }

    async fn send(&self, body: Body<'_>) -> Result<PostedMessage, SurfaceError> {
        let text = text_of(body);
        // One message send: retries inside the client only when Slack certainly did not post.
        self.api
            .post_message(&self.channel, self.thread_ts.as_deref(), &text, None)
            .await
            .map_err(classify)
    }

    async fn edit(&self, id: &PostedMessage, body: Body<'_>) -> Result<(), SurfaceError> {
        self.api
            .update_message(id, &text_of(body), None)
            .await
            .map_err(classify)
    }

    async fn typing(&self) -> Result<(), SurfaceError> {
        // Bots have no typing indicator in the Web API; the first message appears within a second.
        Ok(())
    }
}
