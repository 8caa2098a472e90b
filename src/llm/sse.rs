//! Server-sent events: the `data` payloads of the events in a stream of lines.
//!
//! Follows the event-stream format: `data:` lines (one optional space after the colon) accumulate,
//! joined by `\n`, until a blank line ends the event; comments (`:` first) and other fields
//! (`event`, `id`, `retry`) are ignored. The accumulated data of one event is bounded.

use super::ModelError;

/// Assembles events from lines, one line at a time.
#[derive(Debug)]
pub(crate) struct SseEvents {
    data: String,
    has_data: bool,
    max_data: usize,
}

impl SseEvents {
    /// Starts with no pending event; one event's data may hold at most `max_data` bytes.
    pub(crate) fn new(max_data: usize) -> Self {
        Self {
            data: String::new(),
            has_data: false,
            max_data,
        }
    }

    /// Feeds one line (without its newline).
    ///
    /// Returns the data of the event that this line completes, if any.
    ///
    /// # Errors
    /// Fails when one event's data grows past the bound.
    pub(crate) fn push_line(&mut self, line: &str) -> Result<Option<String>, ModelError> {
        if line.is_empty() {
            return Ok(self.take());
        }
        let (field, value) = match line.split_once(':') {
            Some(("", _)) => return Ok(None),
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            if self.data.len() + value.len() + 1 > self.max_data {
                return Err(ModelError::Decode(format!(
                    "an event of the reply stream was longer than {} bytes",
                    self.max_data
                )));
            }
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        Ok(None)
    }

    /// The data of an event left without its closing blank line when the stream ended.
    pub(crate) fn finish(&mut self) -> Option<String> {
        self.take()
    }

    fn take(&mut self) -> Option<String> {
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(std::mem::take(&mut self.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<String> {
        let mut sse = SseEvents::new(1024);
        let mut out: Vec<String> = lines
            .iter()
            .filter_map(|line| sse.push_line(line).ok().flatten())
            .collect();
        out.extend(sse.finish());
        out
    }

    /// Single-line events, the usual shape, come out one by one.
    #[test]
    fn single_line_events() {
        let got = events(&[
            "data: {\"a\":1}",
            "",
            "data:{\"b\":2}",
            "",
            "data: [DONE]",
            "",
        ]);
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    /// Several data lines join with newlines; comments and other fields are skipped.
    #[test]
    fn multi_line_and_other_fields() {
        let got = events(&[
            ": keep-alive",
            "event: message",
            "id: 7",
            "data: one",
            "data:  two",
            "",
        ]);
        assert_eq!(got, ["one\n two"]);
    }

    /// Blank lines without data produce nothing, and a last event without a blank line is kept.
    #[test]
    fn empty_and_trailing() {
        assert_eq!(events(&["", "", "data: tail"]), ["tail"]);
        assert_eq!(events(&["retry: 10", ""]), Vec::<String>::new());
    }

    /// One event's data is bounded.
    #[test]
    fn event_data_is_bounded() {
        let mut sse = SseEvents::new(8);
        assert!(sse.push_line("data: 1234").is_ok());
        assert!(matches!(
            sse.push_line("data: 5678"),
            Err(ModelError::Decode(_))
        ));
    }
}
