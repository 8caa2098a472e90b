//! The token budget: how much history fits in the model's context, what to compact, and how
//! every request of a turn is made to fit.
//!
//! Local models use their own vocabularies, so sizes are estimated from the characters, the
//! way byte-pair tokenizers such as Qwen's treat them, on the pessimistic side: a quarter of a
//! token for a letter or a space, half for a line break, three quarters for a punctuation mark,
//! and a whole token for a digit (Qwen splits numbers into digits, and ids are full of them) or
//! any character outside ASCII; plus 4 per message. The turn measures the real count the model
//! server reports and scales the estimate up when it was short.
//!
//! The budget for history is a share of `num_ctx` minus the system prompt, the tool schemas and
//! room for the reply. Within a turn, tool results pile up; before every request
//! [`fit_request`] makes the whole of it fit `num_ctx` less room for the reply, because Ollama
//! would otherwise drop whole messages from the front without a word, the person's question
//! first. It sheds earlier turns first, then cuts this turn's tool results (the largest first,
//! each with a note), then shortens the results of earlier rounds to a line, then leaves earlier
//! rounds out; the system message, the question and the latest round stay.

use crate::llm::{Message, Role};
use crate::store::history::StoredMessage;

/// The estimated tokens of a text.
#[must_use]
pub fn estimate_text(text: &str) -> u32 {
    u32::try_from(quarters(text).div_ceil(4)).unwrap_or(u32::MAX)
}

/// The estimate of one character, in quarters of a token.
fn char_quarters(c: char) -> usize {
    match c {
        'a'..='z' | 'A'..='Z' | ' ' | '\t' => 1,
        '\n' | '\r' => 2,
        '0'..='9' => 4,
        c if c.is_ascii() => 3,
        _ => 4,
    }
}

fn quarters(text: &str) -> usize {
    text.chars().map(char_quarters).sum()
}

/// The estimate of a tool's wire JSON, which is mostly punctuation and names.
fn estimate_bytes(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(2)).unwrap_or(u32::MAX)
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

/// The tokens the chat template adds when tools are offered: its instructions around them.
const TOOLS_PREAMBLE: u32 = 160;

/// The estimated tokens of offered tools whose wire JSON ([`crate::llm::ToolSpec::wire_len`]) is
/// `wire_lens` bytes long, each; the template's instructions included.
#[must_use]
pub fn estimate_wire_lens(wire_lens: &[usize]) -> u32 {
    if wire_lens.is_empty() {
        return 0;
    }
    wire_lens
        .iter()
        .map(|&len| estimate_bytes(len))
        .sum::<u32>()
        .saturating_add(TOOLS_PREAMBLE)
}

/// The room kept free for the model's reply: a quarter of the context, at most 4096 tokens.
#[must_use]
pub fn reply_room(num_ctx: u32) -> u32 {
    (num_ctx / 4).min(4096)
}

/// How many history tokens may go into a request.
#[must_use]
pub fn history_budget(num_ctx: u32, share: f64, system_tokens: u32, tool_tokens: u32) -> u32 {
    let available = num_ctx
        .saturating_sub(reply_room(num_ctx))
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

/// The smallest share of the context one tool result is cut down to before earlier rounds are
/// shortened instead.
const MIN_RESULT_TOKENS: u32 = 200;
/// How much of an earlier round's result is kept once it has to make room.
const DIGEST_TOKENS: u32 = 60;

/// One request of a turn, as [`fit_request`] sees it.
#[derive(Debug)]
pub struct Request<'a> {
    /// The whole request: the system message first, then earlier turns, then this turn.
    pub messages: &'a mut Vec<Message>,
    /// Where the person's question is in `messages`; everything after it is this turn's rounds.
    pub question: usize,
    /// The estimated tokens of the offered tools.
    pub tool_tokens: u32,
    /// The model's context window.
    pub num_ctx: u32,
    /// How much the model server counted beyond the estimate so far (at least 1).
    pub scale: f64,
}

/// What [`fit_request`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    /// Where the question is now.
    pub question: usize,
    /// Messages of earlier turns left out.
    pub dropped_history: usize,
    /// Tool results of this turn cut down.
    pub cut_results: usize,
    /// Earlier rounds of this turn left out.
    pub dropped_rounds: usize,
    /// The estimate of the request as it now is, before scaling.
    pub estimate: u32,
}

/// Makes one request of a turn fit the model's context, less room for the reply. See the
/// module documentation for the order in which things give way; the system message, the
/// person's question and the latest round always stay.
pub fn fit_request(request: Request<'_>) -> Fitted {
    let Request {
        messages,
        mut question,
        tool_tokens,
        num_ctx,
        scale,
    } = request;
    let scale = scale.max(1.0);
    let limit = num_ctx.saturating_sub(reply_room(num_ctx));
    // The budget for the messages themselves, in unscaled estimate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let budget = ((f64::from(limit) / scale) as u32).saturating_sub(tool_tokens);
    let size = |messages: &[Message]| -> u32 { messages.iter().map(estimate_message).sum() };
    let mut fitted = Fitted {
        question,
        ..Fitted::default()
    };

    // Earlier turns, oldest first, a whole turn at a time.
    while size(messages) > budget && question > 1 {
        let end = messages[2..question]
            .iter()
            .position(|m| m.role == Role::User)
            .map_or(question, |p| p + 2);
        messages.drain(1..end);
        fitted.dropped_history += end - 1;
        question -= end - 1;
    }

    // This turn's tool results, the largest first, down to an equal share each.
    fitted.cut_results += cut_results(messages, question, budget, MIN_RESULT_TOKENS);

    // Earlier rounds of this turn: their results shortened to a line, then the rounds left out.
    let last_round = (question + 1..messages.len())
        .rev()
        .find(|&i| messages[i].role == Role::Assistant)
        .unwrap_or(messages.len());
    if size(messages) > budget {
        for message in &mut messages[question + 1..last_round] {
            if message.role == Role::Tool && estimate_text(&message.content) > DIGEST_TOKENS {
                let content = std::mem::take(&mut message.content);
                message.content = cut_to_tokens(&content, DIGEST_TOKENS, DIGEST_NOTE);
                fitted.cut_results += 1;
            }
        }
    }
    if size(messages) > budget && last_round > question + 1 {
        fitted.dropped_rounds = last_round - question - 1;
        messages.drain(question + 1..last_round);
    }
    // The latest round alone may still be too large: its results get what room is left.
    fitted.cut_results += cut_results(messages, question, budget, 1);
    fitted.question = question;
    fitted.estimate = size(messages).saturating_add(tool_tokens);
    fitted
}

/// Cuts this turn's tool results (those after `question`) down to an equal share of what room
/// they have, never below `floor` tokens; returns how many were cut.
fn cut_results(messages: &mut [Message], question: usize, budget: u32, floor: u32) -> usize {
    let total: u32 = messages.iter().map(estimate_message).sum();
    if total <= budget {
        return 0;
    }
    let results: Vec<usize> = (question + 1..messages.len())
        .filter(|&i| messages[i].role == Role::Tool)
        .collect();
    let sizes: Vec<u32> = results
        .iter()
        .map(|&i| estimate_text(&messages[i].content))
        .collect();
    let room = sizes.iter().sum::<u32>().saturating_sub(total - budget);
    let cap = water_level(&sizes, room).max(floor);
    let mut cut = 0;
    for (&i, &tokens) in results.iter().zip(&sizes) {
        if tokens > cap {
            let content = std::mem::take(&mut messages[i].content);
            messages[i].content = cut_to_tokens(&content, cap, CUT_NOTE);
            cut += 1;
        }
    }
    cut
}

/// What a tool result cut to fit says at its end.
const CUT_NOTE: &str = "[... {n} more characters were left out so that everything fits the model's context. If you need them, call the tool again asking for less: a filter, fewer items or one id.]";
/// What an earlier round's shortened result says at its end.
const DIGEST_NOTE: &str =
    "[... {n} more characters of this earlier result were left out to make room.]";

/// The highest cap such that the sizes, each capped, add up to at most `room`.
fn water_level(sizes: &[u32], room: u32) -> u32 {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    let mut left = room;
    let mut remaining = u32::try_from(sorted.len()).unwrap_or(u32::MAX);
    for size in sorted {
        let share = left / remaining.max(1);
        if size > share {
            return share;
        }
        left -= size;
        remaining -= 1;
    }
    u32::MAX
}

/// `text` cut so that it and `note` (with `{n}`, the characters left out) estimate at most
/// `tokens`.
fn cut_to_tokens(text: &str, tokens: u32, note: &str) -> String {
    // The note as it will read: `{n}` becomes at most as many digits as the text has characters,
    // after a line break.
    let digits = text.chars().count().to_string().len();
    let note_quarters = quarters(note) - quarters("{n}") + 4 * digits + 2;
    let budget = (tokens as usize * 4).saturating_sub(note_quarters);
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += char_quarters(c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    if end >= text.len() {
        return text.to_owned();
    }
    let left_out = text[end..].chars().count();
    format!(
        "{}\n{}",
        &text[..end],
        note.replace("{n}", &left_out.to_string())
    )
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
        assert_eq!(estimate_text("12345678"), 8, "digits are a token each");
        assert_eq!(estimate_text("{\"a\":1}"), 5);
        assert_eq!(estimate_text("日本"), 2);
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

    fn call(name: &str) -> Message {
        Message {
            tool_calls: vec![crate::llm::ToolCall {
                id: None,
                name: name.into(),
                arguments: serde_json::json!({"q": "x"}),
            }],
            ..Message::assistant("")
        }
    }

    fn result(text: &str) -> Message {
        Message {
            role: Role::Tool,
            content: text.into(),
            tool_calls: Vec::new(),
            tool_name: Some("t".into()),
            tool_call_id: None,
        }
    }

    /// A request that fits is left alone.
    #[test]
    fn a_fitting_request_is_untouched() {
        let mut messages = vec![
            Message::system("Be brief."),
            Message::user("question"),
            call("t"),
            result("small"),
        ];
        let before = messages.clone();
        let fitted = fit_request(Request {
            messages: &mut messages,
            question: 1,
            tool_tokens: 100,
            num_ctx: 4096,
            scale: 1.0,
        });
        assert_eq!(messages, before);
        assert_eq!(fitted.question, 1);
        assert_eq!(fitted.cut_results, 0);
    }

    /// Earlier turns go first, whole; then the largest results are cut with a note; the
    /// question always stays.
    #[test]
    fn history_then_results_give_way() {
        let big = "word ".repeat(4000);
        let mut messages = vec![
            Message::system("Be brief."),
            Message::user("old question"),
            Message::assistant(big.clone()),
            Message::user("the question"),
            call("t"),
            result(&big),
            result(&big),
            result("tiny"),
        ];
        let fitted = fit_request(Request {
            messages: &mut messages,
            question: 3,
            tool_tokens: 500,
            num_ctx: 8192,
            scale: 1.0,
        });
        assert_eq!(fitted.dropped_history, 2);
        assert_eq!(fitted.question, 1);
        assert_eq!(messages[1].content, "the question");
        assert_eq!(fitted.cut_results, 2);
        assert!(
            messages[3]
                .content
                .contains("more characters were left out")
        );
        assert_eq!(messages[5].content, "tiny");
        let total: u32 = messages.iter().map(estimate_message).sum::<u32>() + 500;
        assert!(total <= 8192 - reply_room(8192), "{total}");
        assert_eq!(fitted.estimate, total);
    }

    /// When even equal shares do not fit, earlier rounds shrink to a line and then go; the
    /// latest round stays. A scale above 1 leaves more room.
    #[test]
    fn earlier_rounds_give_way_last() {
        let big = "word ".repeat(4000);
        let mut messages = vec![Message::system("s"), Message::user("the question")];
        for _ in 0..6 {
            messages.push(call("t"));
            for _ in 0..8 {
                messages.push(result(&big));
            }
        }
        let fitted = fit_request(Request {
            messages: &mut messages,
            question: 1,
            tool_tokens: 0,
            num_ctx: 4096,
            scale: 1.5,
        });
        assert_eq!(messages[1].content, "the question");
        assert!(fitted.dropped_rounds > 0, "{fitted:?}");
        assert_eq!(
            messages[2].role,
            Role::Assistant,
            "a round starts with its call"
        );
        let total: u32 = messages.iter().map(estimate_message).sum();
        assert!(
            f64::from(total) * 1.5 <= f64::from(4096 - reply_room(4096)),
            "{total}"
        );
    }

    #[test]
    fn water_levels() {
        assert_eq!(water_level(&[10, 10], 100), u32::MAX);
        assert_eq!(water_level(&[10, 100, 100], 110), 50);
        assert_eq!(water_level(&[], 10), u32::MAX);
    }

    #[test]
    fn cuts_keep_whole_characters_and_say_how_much_went() {
        let cut = cut_to_tokens(&"é".repeat(1000), 100, CUT_NOTE);
        assert!(cut.starts_with("éé"));
        assert!(cut.contains("more characters were left out"));
        assert!(estimate_text(&cut) <= 100, "{}", estimate_text(&cut));
        assert_eq!(cut_to_tokens("short", 100, CUT_NOTE), "short");
    }
}
