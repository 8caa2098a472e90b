//! The token budget: how much history fits in the model's context, and what to compact.
//!
//! Local models use their own vocabularies, so sizes are estimated from UTF-8 length
//! (`ceil(bytes / 3.5) + 4` per message) — deliberately a little pessimistic. The budget for
//! history is a share of `num_ctx` minus the system prompt, the tool schemas and room for the reply.

use crate::llm::{Message, ToolSpec};
use crate::store::history::StoredMessage;

/// The estimated tokens of a text.
#[must_use]
pub fn estimate_text(text: &str) -> u32 {
    estimate_bytes(text.len())
}

/// The estimated tokens of `bytes` bytes of UTF-8.
fn estimate_bytes(bytes: usize) -> u32 {
    u32::try_from((bytes * 2).div_ceil(7)).unwrap_or(u32::MAX)
}

/// The estimated tokens of a message, its tool calls included.
#[must_use]
pub fn estimate_message(message: &Message) -> u32 {
    let calls: u32 = message
        .tool_calls
        .iter()
        .map(|c| estimate_text(&c.name) + estimate_text(&c.arguments.to_string()))
        .sum();
    estimate_text(&message.content)
        .saturating_add(calls)
        .saturating_add(4)
}

/// The estimated tokens of the offered tool schemas.
#[must_use]
pub fn estimate_tools(tools: &[ToolSpec]) -> u32 {
    tools.iter().map(|t| estimate_bytes(t.wire_len())).sum()
}

/// How many history tokens may go into a request.
#[must_use]
pub fn history_budget(num_ctx: u32, share: f64, system_tokens: u32, tool_tokens: u32) -> u32 {
    let reply_room = (num_ctx / 4).min(4096);
    let available = num_ctx
        .saturating_sub(reply_room)
        .saturating_sub(system_tokens)
        .saturating_sub(tool_tokens);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // share is within 0.1..=0.9
    let share_cap = (f64::from(num_ctx) * share) as u32;
    available.min(share_cap)
}

/// Splits history at a turn boundary so that the kept (newest) part fits in `budget` tokens.
///
/// Returns the index of the first message kept. Whole turns are kept or dropped, so a tool result
/// is never separated from the call it answers; the newest turn is always kept.
#[must_use]
pub fn keep_from(messages: &[StoredMessage], budget: u32) -> usize {
    let mut used: u32 = 0;
    let mut keep = messages.len();
    let mut i = messages.len();
    while i > 0 {
        // Find the start of the turn that ends at i.
        let turn = messages[i - 1].turn;
        let start = messages[..i]
            .iter()
            .rposition(|m| m.turn != turn)
            .map_or(0, |p| p + 1);
        let size: u32 = messages[start..i].iter().map(|m| m.tokens).sum();
        if used.saturating_add(size) > budget && keep < messages.len() {
            break;
        }
        used = used.saturating_add(size);
        keep = start;
        i = start;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(turn: i64, tokens: u32) -> StoredMessage {
        StoredMessage {
            id: turn * 10,
            turn,
            message: Message::user("x"),
            tokens,
        }
    }

    #[test]
    fn estimates_grow_with_text() {
        assert_eq!(estimate_text(""), 0);
        assert_eq!(estimate_text("abcdefg"), 2);
        assert!(estimate_message(&Message::user("hello world")) > estimate_text("hello world"));
    }

    #[test]
    fn budget_leaves_room_for_reply_and_tools() {
        assert_eq!(history_budget(16384, 0.5, 500, 3000), 8192);
        assert_eq!(history_budget(4096, 0.9, 1000, 2000), 4096 - 1024 - 3000);
        assert_eq!(history_budget(1000, 0.5, 5000, 0), 0);
    }

    #[test]
    fn keeps_whole_turns_newest_first() {
        let h = vec![msg(1, 10), msg(1, 10), msg(2, 10), msg(3, 5), msg(3, 5)];
        assert_eq!(keep_from(&h, 100), 0);
        assert_eq!(keep_from(&h, 25), 2);
        assert_eq!(keep_from(&h, 10), 3);
        // The newest turn is kept even when it alone is over budget.
        assert_eq!(keep_from(&h, 1), 3);
        assert_eq!(keep_from(&[], 10), 0);
    }
}
