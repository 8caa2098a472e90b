//! The text a finished turn leaves in the chat, from what was streamed and how the turn ended.

use crate::agent::{AgentError, TurnEnd, TurnOutcome};

/// The final text of a turn, given the text already `shown` while it streamed.
///
/// A turn that was stopped or timed out keeps what the person already saw and adds the note
/// (`(stopped)`), and a failed turn keeps it and adds the failure's explanation, so text never
/// disappears from the chat at the end of a turn.
#[must_use]
pub fn final_text(shown: &str, result: &Result<TurnOutcome, AgentError>) -> String {
    match result {
        Ok(outcome) => answered_text(shown, outcome),
        Err(e) if shown.trim_end().is_empty() => e.user_message(),
        Err(e) => format!("{}\n\n{}", shown.trim_end(), e.user_message()),
    }
}

/// The final text of a turn that ended with `outcome`, given the text already `shown`.
#[must_use]
pub fn answered_text(shown: &str, outcome: &TurnOutcome) -> String {
    let shown = shown.trim_end();
    if outcome.end == TurnEnd::Answered || shown.is_empty() || outcome.reply.starts_with(shown) {
        return outcome.reply.clone();
    }
    let note = match outcome.end {
        TurnEnd::TimedOut => "(stopped: this took too long)",
        _ => "(stopped)",
    };
    format!("{shown}\n\n{note}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ModelError;

    fn outcome(reply: &str, end: TurnEnd) -> Result<TurnOutcome, AgentError> {
        Ok(TurnOutcome {
            reply: reply.into(),
            end,
            tool_calls: 0,
        })
    }

    #[test]
    fn keeps_streamed_text_when_interrupted_or_failed() {
        assert_eq!(
            final_text("Hel", &outcome("Hello", TurnEnd::Answered)),
            "Hello"
        );
        assert_eq!(
            final_text("Partial", &outcome("(stopped)", TurnEnd::Cancelled)),
            "Partial\n\n(stopped)"
        );
        assert_eq!(
            final_text(
                "Partial",
                &outcome("Partial\n\n(stopped)", TurnEnd::Cancelled)
            ),
            "Partial\n\n(stopped)"
        );
        assert_eq!(
            final_text("", &outcome("(stopped)", TurnEnd::Cancelled)),
            "(stopped)"
        );
        let failed: Result<TurnOutcome, AgentError> = Err(AgentError::Model(ModelError::Timeout(
            std::time::Duration::from_secs(1),
        )));
        assert!(
            final_text("So far", &failed).starts_with("So far\n\nSorry, the model took too long")
        );
    }
}
