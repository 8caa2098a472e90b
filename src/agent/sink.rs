//! What a channel provides to the agent during one turn: streaming text, activity, confirmations.

use async_trait::async_trait;

use super::outcome::TurnOutcome;
use crate::mcp::accounts::ConnectionEnded;

/// What the assistant is doing, for typing indicators and status lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Waiting for the model.
    Thinking,
    /// Running a tool (its offered name).
    Tool(String),
    /// Waiting in line for the model server, which is answering others; `place` 1 is next.
    /// Said at most once per turn, after a few seconds of waiting; channels show
    /// [`queue_notice`] and keep their typing indicator going.
    Queued {
        /// The turn's place in the line.
        place: usize,
    },
}

/// What the person is told while their turn waits in line at `place`.
#[must_use]
pub fn queue_notice(place: usize) -> String {
    let place = match place {
        1 => "next".to_owned(),
        n => format!("number {n}"),
    };
    format!(
        "Other people are talking to me right now; you are {place} in line. I will answer as soon as it is your turn."
    )
}

/// A request to confirm a destructive tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmRequest {
    /// The tool's offered name (`notion_delete_block`).
    pub tool: String,
    /// The tool's title or description, short.
    pub title: String,
    /// The arguments, pretty-printed and truncated for display.
    pub arguments: String,
}

/// A channel's side of one turn.
///
/// The agent calls these while the turn runs; channels decide how to show them (edits of one
/// Telegram message, printing to a terminal). Implementations must not block for long:
/// [`TurnSink::progress`] is called for every streamed fragment.
#[async_trait]
pub trait TurnSink: Send + Sync {
    /// The visible reply so far, in full; it only ever grows during a turn.
    fn progress(&self, text: &str);

    /// What the assistant is doing now.
    async fn activity(&self, activity: Activity);

    /// Asks the person to confirm a destructive call; `false` when they decline or do not answer.
    async fn confirm(&self, request: &ConfirmRequest) -> bool;

    /// Shows the person a link to connect their account on `server`.
    async fn connect_link(&self, server: &str, url: &str);

    /// Shows the person a link to connect `server` again after its connection ended, saying why
    /// (`ended`). The default shows the plain link.
    async fn reconnect_link(&self, server: &str, url: &str, ended: &ConnectionEnded) {
        let _ = ended;
        self.connect_link(server, url).await;
    }

    /// The turn's outcome, known before its messages are stored: a channel may start showing
    /// the reply while they are written, so the person does not wait for the disk. The turn
    /// still fails if storing does, and the channel then shows that instead.
    fn answered(&self, outcome: &TurnOutcome) {
        let _ = outcome;
    }
}
