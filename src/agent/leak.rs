//! Recovery of tool calls that a model writes into its text instead of `tool_calls`.
//!
//! Small local models often answer with `<tool_call>{"name":…}</tool_call>` (Qwen/Hermes),
//! `<function=name>{…}</function>` (Llama), `<|python_tag|>{…}`, `[TOOL_CALLS] […]` (Mistral), a
//! fenced ```` ```json ```` block, or a bare JSON object. [`StreamGuard`] holds such text back
//! while the reply streams, so raw markup never reaches the person, and [`extract`] turns it into
//! tool calls when it names an offered tool, or strips it when it does not.

use serde_json::Value;

use crate::llm::ToolCall;

/// Openings that start tool-call markup.
const MARKERS: &[&str] = &[
    "<tool_call",
    "<function=",
    "<|python_tag|>",
    "[TOOL_CALLS]",
    "<tools>",
    "```json",
    "```tool",
];

/// Decides how much of a streaming reply is safe to show.
#[derive(Debug, Default)]
pub struct StreamGuard {
    shown: usize,
}

impl StreamGuard {
    /// Given the whole text so far, returns the newly safe part to show (possibly empty).
    ///
    /// Text is held back from the first marker (or a partial marker at the end), and entirely
    /// while the reply so far looks like the start of a bare JSON object.
    pub fn advance<'a>(&mut self, text: &'a str) -> &'a str {
        let safe = safe_prefix_len(text);
        if safe <= self.shown {
            return "";
        }
        let out = &text[self.shown..safe];
        self.shown = safe;
        out
    }

    /// How many bytes have been shown.
    #[must_use]
    pub fn shown(&self) -> usize {
        self.shown
    }
}

fn safe_prefix_len(text: &str) -> usize {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return 0;
    }
    let mut cut = text.len();
    for marker in MARKERS {
        if let Some(i) = text.find(marker) {
            cut = cut.min(i);
        }
    }
    // A marker may be split across deltas: hold back a trailing partial marker.
    for marker in MARKERS {
        for len in (1..marker.len()).rev() {
            if text.ends_with(&marker[..len]) {
                cut = cut.min(text.len() - len);
                break;
            }
        }
    }
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// What [`extract`] found in a reply's text.
#[derive(Debug, Default, PartialEq)]
pub struct Extracted {
    /// The text with every piece of tool-call markup removed.
    pub text: String,
    /// Tool calls that name an offered tool, in order.
    pub calls: Vec<ToolCall>,
}

/// Finds tool calls written as text. Calls naming a tool in `offered` are returned; all markup is
/// removed from the text whether or not it named a known tool.
#[must_use]
pub fn extract(text: &str, offered: &[&str]) -> Extracted {
    let mut out = Extracted::default();
    let mut rest = text;
    let mut clean = String::new();
    while let Some((start, marker)) = first_marker(rest) {
        clean.push_str(&rest[..start]);
        let after = &rest[start + marker.len()..];
        let (body, consumed) = markup_body(marker, after);
        collect_calls(marker, body, offered, &mut out.calls);
        rest = &after[consumed..];
    }
    clean.push_str(rest);
    // A reply that is only a JSON object (or array) may be a bare tool call.
    let trimmed = clean.trim();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(trimmed)
    {
        let before = out.calls.len();
        push_json_calls(&value, None, offered, &mut out.calls);
        if out.calls.len() > before || looks_like_call(&value) {
            clean.clear();
        }
    }
    out.text = clean.trim().to_owned();
    out
}

fn first_marker(text: &str) -> Option<(usize, &'static str)> {
    MARKERS
        .iter()
        .filter_map(|m| text.find(m).map(|i| (i, *m)))
        .min_by_key(|(i, _)| *i)
}

/// Returns the body of one markup block and how many bytes after the marker it used.
fn markup_body<'a>(marker: &str, after: &'a str) -> (&'a str, usize) {
    let close = match marker {
        "<tool_call" => Some("</tool_call>"),
        "<function=" => Some("</function>"),
        "<tools>" => Some("</tools>"),
        "```json" | "```tool" => Some("```"),
        _ => None,
    };
    // Skip the rest of an opening tag such as `<tool_call>` or `<function=name>`.
    let open_end = if marker == "<tool_call" {
        after.find('>').map_or(0, |i| i + 1)
    } else {
        0
    };
    let inner = &after[open_end..];
    match close.and_then(|c| inner.find(c).map(|i| (i, c.len()))) {
        Some((i, len)) => (&inner[..i], open_end + i + len),
        None => (inner, after.len()),
    }
}

fn collect_calls(marker: &str, body: &str, offered: &[&str], calls: &mut Vec<ToolCall>) {
    if marker == "<function=" {
        // `<function=name>{"arg": 1}</function>`
        if let Some((name, args)) = body.split_once('>') {
            let arguments =
                serde_json::from_str(args.trim()).unwrap_or(Value::Object(serde_json::Map::new()));
            push_call(name.trim(), arguments, offered, calls);
        }
        return;
    }
    let body = body.trim();
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        push_json_calls(&value, None, offered, calls);
        return;
    }
    // Several JSON objects one per line.
    for line in body.lines() {
        if let Ok(value) = serde_json::from_str::<Value>(line.trim()) {
            push_json_calls(&value, None, offered, calls);
        }
    }
}

fn looks_like_call(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key("name")
                && (map.contains_key("arguments") || map.contains_key("parameters"))
        }
        Value::Array(items) => items.iter().any(looks_like_call),
        _ => false,
    }
}

fn push_json_calls(value: &Value, _depth: Option<()>, offered: &[&str], calls: &mut Vec<ToolCall>) {
    match value {
        Value::Array(items) => {
            for item in items.iter().take(16) {
                push_json_calls(item, None, offered, calls);
            }
        }
        Value::Object(map) => {
            // `{"name":…,"arguments":…}`, `{"function":{"name":…}}`, `{"tool":…,"parameters":…}`
            if let Some(function) = map.get("function").filter(|f| f.is_object()) {
                push_json_calls(function, None, offered, calls);
                return;
            }
            let name = map
                .get("name")
                .or_else(|| map.get("tool"))
                .and_then(Value::as_str);
            let args = map
                .get("arguments")
                .or_else(|| map.get("parameters"))
                .or_else(|| map.get("args"));
            if let Some(name) = name {
                let arguments = match args {
                    Some(Value::String(s)) => {
                        serde_json::from_str(s).unwrap_or(Value::String(s.clone()))
                    }
                    Some(v) => v.clone(),
                    None => Value::Object(serde_json::Map::new()),
                };
                push_call(name, arguments, offered, calls);
            }
        }
        _ => {}
    }
}

fn push_call(name: &str, arguments: Value, offered: &[&str], calls: &mut Vec<ToolCall>) {
    if offered.contains(&name) && calls.len() < 16 {
        calls.push(ToolCall {
            id: None,
            name: name.to_owned(),
            arguments,
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OFFERED: &[&str] = &["everything_echo", "notion_search"];

    #[test]
    fn qwen_style_tag_becomes_a_call() {
        let e = extract(
            "Sure.\n<tool_call>\n{\"name\": \"everything_echo\", \"arguments\": {\"message\": \"hi\"}}\n</tool_call>",
            OFFERED,
        );
        assert_eq!(e.text, "Sure.");
        assert_eq!(e.calls.len(), 1);
        assert_eq!(e.calls[0].arguments, json!({"message": "hi"}));
    }

    #[test]
    fn llama_function_tag_and_python_tag() {
        let e = extract(
            "<function=notion_search>{\"query\": \"x\"}</function>",
            OFFERED,
        );
        assert_eq!(e.calls[0].name, "notion_search");
        assert!(e.text.is_empty());
        let e = extract(
            "<|python_tag|>{\"name\": \"notion_search\", \"parameters\": {\"query\": \"y\"}}",
            OFFERED,
        );
        assert_eq!(e.calls[0].arguments, json!({"query": "y"}));
    }

    #[test]
    fn bare_json_fenced_json_and_mistral() {
        let e = extract(
            "{\"name\": \"everything_echo\", \"arguments\": \"{\\\"message\\\":\\\"a\\\"}\"}",
            OFFERED,
        );
        assert_eq!(e.calls[0].arguments, json!({"message": "a"}));
        assert!(e.text.is_empty());
        let e = extract(
            "Let me look.\n```json\n{\"name\":\"notion_search\",\"arguments\":{}}\n```",
            OFFERED,
        );
        assert_eq!(e.text, "Let me look.");
        assert_eq!(e.calls.len(), 1);
        let e = extract(
            "[TOOL_CALLS] [{\"name\": \"notion_search\", \"arguments\": {\"query\": \"q\"}}]",
            OFFERED,
        );
        assert_eq!(e.calls.len(), 1);
    }

    #[test]
    fn unknown_tools_are_stripped_not_called() {
        let e = extract(
            "Hello <tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call> there",
            OFFERED,
        );
        assert!(e.calls.is_empty());
        assert_eq!(e.text, "Hello  there");
        let e = extract("{\"name\": \"rm_rf\", \"arguments\": {}}", OFFERED);
        assert!(e.calls.is_empty() && e.text.is_empty());
    }

    #[test]
    fn plain_text_and_ordinary_json_answers_pass() {
        assert_eq!(
            extract("Just text, {braces} fine.", OFFERED).text,
            "Just text, {braces} fine."
        );
        assert_eq!(
            extract("{\"answer\": 42}", OFFERED).text,
            "{\"answer\": 42}"
        );
        let e = extract("<tool_call>{broken", OFFERED);
        assert!(e.text.is_empty() && e.calls.is_empty());
    }

    #[test]
    fn guard_holds_back_markup_and_partial_markers() {
        let mut g = StreamGuard::default();
        assert_eq!(g.advance("Hello "), "Hello ");
        assert_eq!(g.advance("Hello <tool_"), "");
        assert_eq!(g.advance("Hello <tool_call>{\"name\""), "");
        let mut g = StreamGuard::default();
        assert_eq!(g.advance("  {\"name\": "), "");
        let mut g = StreamGuard::default();
        assert_eq!(g.advance("a < b"), "a < b");
        assert_eq!(g.shown(), 5);
    }

    #[test]
    fn guard_respects_char_boundaries() {
        let mut g = StreamGuard::default();
        let text = "café <";
        let out = g.advance(text);
        assert_eq!(out, "café ");
    }
}
