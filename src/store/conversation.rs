//! A conversation as the store hands it out: the summary of compacted turns, then the messages
//! kept verbatim, each with its estimated size.

use crate::llm::Message;

/// A message as stored, with its estimated size.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The row id, increasing in conversation order.
    pub id: i64,
    /// The turn it belongs to (a user message and everything answering it).
    pub turn: i64,
    /// The message.
    pub message: Message,
    /// Its estimated size in tokens.
    pub tokens: u32,
}

/// A conversation as loaded: the summary of compacted turns, then the messages kept verbatim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// The summary of turns compacted away, when there is one.
    pub summary: Option<String>,
    /// The messages, oldest first.
    pub messages: Vec<StoredMessage>,
}
