//! Gathers one streamed reply (text and tool calls) within fixed bounds.
//!
//! A model can talk forever or a server can misbehave, so one reply may hold at most
//! [`MAX_REPLY_BYTES`] of text and tool-call data together, and at most [`MAX_TOOL_CALLS`] calls.

use super::{ChatOutcome, Cut, DeltaSink, ModelError, ToolCall, Usage};

/// The most bytes of text plus tool-call data one reply may hold.
pub(crate) const MAX_REPLY_BYTES: usize = 1 << 20;
/// The most tool calls one reply may hold.
pub(crate) const MAX_TOOL_CALLS: usize = 64;

/// The reply gathered so far.
#[derive(Debug, Default)]
pub(crate) struct ReplyBuilder {
    outcome: ChatOutcome,
    bytes: usize,
}

impl ReplyBuilder {
    /// Counts `bytes` of reply data against the bound.
    ///
    /// # Errors
    /// Fails once the reply holds more than [`MAX_REPLY_BYTES`].
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), ModelError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_REPLY_BYTES {
            return Err(ModelError::Decode(format!(
                "the reply grew past {MAX_REPLY_BYTES} bytes; it was cut off"
            )));
        }
        Ok(())
    }

    /// Appends a text fragment and hands it to `on_delta`.
    ///
    /// # Errors
    /// Fails when the text would pass the bound; the fragment is then neither kept nor passed on.
    pub(crate) fn push_text(
        &mut self,
        text: &str,
        on_delta: DeltaSink<'_>,
    ) -> Result<(), ModelError> {
        if text.is_empty() {
            return Ok(());
        }
        self.charge(text.len())?;
        self.outcome.content.push_str(text);
        on_delta(text);
        Ok(())
    }

    /// Appends a tool call; its data must already be charged.
    ///
    /// # Errors
    /// Fails past [`MAX_TOOL_CALLS`] calls.
    pub(crate) fn push_call(&mut self, call: ToolCall) -> Result<(), ModelError> {
        if self.outcome.tool_calls.len() >= MAX_TOOL_CALLS {
            return Err(ModelError::Decode(format!(
                "the reply asked for more than {MAX_TOOL_CALLS} tool calls"
            )));
        }
        self.outcome.tool_calls.push(call);
        Ok(())
    }

    /// The calls gathered so far.
    pub(crate) fn call_count(&self) -> usize {
        self.outcome.tool_calls.len()
    }

    /// The finished reply.
    pub(crate) fn finish(self, done_reason: Option<String>, usage: Usage) -> ChatOutcome {
        ChatOutcome {
            done_reason,
            usage,
            ..self.outcome
        }
    }
}

impl ChatOutcome {
    /// The reply, marked as cut short when `cut` says so.
    #[must_use]
    pub(crate) fn with_cut(self, cut: Option<Cut>) -> Self {
        Self { cut, ..self }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    /// Text is kept and passed on in order; the bound stops a runaway reply.
    #[test]
    fn text_and_bound() {
        let seen = Mutex::new(Vec::new());
        let sink = |t: &str| {
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(t.to_owned())
        };
        let mut reply = ReplyBuilder::default();
        assert!(reply.push_text("Hel", &sink).is_ok());
        assert!(reply.push_text("", &sink).is_ok());
        assert!(reply.push_text("lo", &sink).is_ok());
        let big = "x".repeat(MAX_REPLY_BYTES);
        assert!(matches!(
            reply.push_text(&big, &sink),
            Err(ModelError::Decode(_))
        ));
        let outcome = reply.finish(Some("stop".into()), Usage::default());
        assert_eq!(outcome.content, "Hello");
        assert_eq!(seen.into_inner().unwrap_or_default(), ["Hel", "lo"]);
    }

    /// The number of tool calls is bounded.
    #[test]
    fn call_count_bound() {
        let mut reply = ReplyBuilder::default();
        let call = ToolCall {
            id: None,
            name: "t".into(),
            arguments: json!({}),
        };
        for _ in 0..MAX_TOOL_CALLS {
            assert!(reply.push_call(call.clone()).is_ok());
        }
        assert!(reply.push_call(call).is_err());
        assert_eq!(reply.call_count(), MAX_TOOL_CALLS);
    }
}
