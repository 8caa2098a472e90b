//! What becomes of a model reply that is empty or cut short.
//!
//! Ollama's tool parser swallows, once the model has written `<tool_call>`, every call it does
//! not accept (no arguments, a tool not offered, broken JSON) and any text after it, so a reply
//! can arrive with nothing in it. Such a reply gets one more try with a short nudge, then a
//! request for a plain answer without tools, then an honest apology; the person never gets an
//! empty answer. A reply that stopped early (the model's length limit, or Ollama ending a model
//! that repeats itself) keeps what came, without the runaway repetition, and says it was cut.

use crate::llm::Cut;

/// Sent (as the person's side, for this request only) when a reply with tools on offer came
/// back empty.
pub(super) const NUDGE_TOOLS: &str = "Your last reply came through empty. If you meant to use a tool, call one of the offered tools again, with all of its arguments as one JSON object. Otherwise answer me in words.";
/// Sent when asking for a plain answer without tools.
pub(super) const NUDGE_PLAIN: &str =
    "Please answer me now in plain words, with what you already know; do not call any tools.";
/// What the person is told when no answer came even so.
pub(super) const NO_ANSWER: &str = "Sorry, I could not put an answer together this time. Please try again, perhaps in other words.";

/// What to do after a reply that was empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterEmpty {
    /// Ask again, tools still on offer, with [`NUDGE_TOOLS`].
    Retry,
    /// Ask for a plain answer without tools, with [`NUDGE_PLAIN`].
    Plain,
    /// Give up and say [`NO_ANSWER`].
    GiveUp,
}

/// The turn's empty replies so far.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EmptyReplies {
    retried: bool,
    asked_plain: bool,
}

impl EmptyReplies {
    /// The next step after an empty reply to a request that offered tools (`offered`) or not.
    pub(super) fn next(&mut self, offered: bool) -> AfterEmpty {
        if offered && !self.retried {
            self.retried = true;
            AfterEmpty::Retry
        } else if !self.asked_plain {
            self.asked_plain = true;
            AfterEmpty::Plain
        } else {
            AfterEmpty::GiveUp
        }
    }
}

/// The note that follows a reply that was cut short.
pub(super) fn cut_note(cut: Cut) -> &'static str {
    match cut {
        Cut::Length => "(This answer was cut off: it reached the model's length limit.)",
        Cut::Unfinished => "(The model stopped before finishing this answer.)",
    }
}

/// How many times in a row a word must repeat at the end to count as a runaway.
const RUNAWAY_REPEATS: usize = 5;

/// `text` without a runaway repetition at its end (`the the the the the …`), which is how a
/// model that Ollama had to stop leaves its reply; one occurrence is kept.
pub(super) fn trim_runaway(text: &str) -> &str {
    let trimmed = text.trim_end();
    let Some(last) = trimmed.split_whitespace().next_back() else {
        return trimmed;
    };
    let mut end = trimmed.len();
    let mut repeats = 0;
    let mut keep = trimmed.len();
    while let Some(before) = trimmed[..end].trim_end().strip_suffix(last) {
        let boundary = before.is_empty() || before.ends_with(char::is_whitespace);
        if !boundary {
            break;
        }
        repeats += 1;
        keep = before.len() + last.len();
        end = before.len();
    }
    if repeats >= RUNAWAY_REPEATS {
        trimmed[..keep].trim_end()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One retry with tools, then a plain request, then giving up; without tools on offer the
    /// plain request comes first.
    #[test]
    fn empty_replies_escalate() {
        let mut empty = EmptyReplies::default();
        assert_eq!(empty.next(true), AfterEmpty::Retry);
        assert_eq!(empty.next(true), AfterEmpty::Plain);
        assert_eq!(empty.next(false), AfterEmpty::GiveUp);
        let mut empty = EmptyReplies::default();
        assert_eq!(empty.next(false), AfterEmpty::Plain);
        assert_eq!(empty.next(false), AfterEmpty::GiveUp);
    }

    /// A long run of one word at the end is cut to one; ordinary text is left alone.
    #[test]
    fn runaway_repetition_is_trimmed() {
        let runaway = format!("The answer is very{}", " very".repeat(40));
        assert_eq!(trim_runaway(&runaway), "The answer is very");
        assert_eq!(trim_runaway("very very good"), "very very good");
        assert_eq!(trim_runaway("go go go go"), "go go go go");
        assert_eq!(trim_runaway(&"ha ".repeat(10)), "ha");
        assert_eq!(trim_runaway("  "), "");
        assert_eq!(trim_runaway("abc abc"), "abc abc");
        let glued = format!("x{}", "yes ".repeat(10));
        assert_eq!(trim_runaway(&glued), "xyes yes");
    }
}
