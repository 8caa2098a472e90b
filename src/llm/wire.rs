//! Wire pieces both model APIs share: the tool shape, tool-call arguments and error bodies.

use serde::Serialize;
use serde_json::{Map, Value};

use super::ToolSpec;

/// A tool as both APIs take it, borrowed from a [`ToolSpec`]; serialises exactly like
/// [`ToolSpec::to_wire`] without copying the schema.
#[derive(Debug, Serialize)]
pub(crate) struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

impl<'a> From<&'a ToolSpec> for WireTool<'a> {
    fn from(spec: &'a ToolSpec) -> Self {
        Self {
            kind: "function",
            function: WireFunction {
                name: &spec.name,
                description: &spec.description,
                parameters: spec.parameters.as_ref(),
            },
        }
    }
}

impl ToolSpec {
    /// The length in bytes of the tool's wire JSON, measured without building it.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        /// Counts what is written to it.
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        // Writing into a counter cannot fail, and a `Value` always serialises.
        let _ = serde_json::to_writer(&mut count, &WireTool::from(self));
        count.0
    }
}

/// Tool-call arguments as the model sent them, made into a JSON value.
///
/// Ollama sends an object; some models (and every OpenAI-compatible server) send a string holding
/// JSON, sometimes encoded twice. A string that parses becomes what it holds; one that does not
/// stays a string, so that the caller can tell the model its arguments were not valid JSON.
/// Missing arguments (`null` or an empty string) are an empty object.
pub(crate) fn arguments_from_wire(value: Value) -> Value {
    let mut value = value;
    for _ in 0..2 {
        match value {
            Value::String(ref text) if text.trim().is_empty() => return Value::Object(Map::new()),
            Value::String(ref text) => match serde_json::from_str::<Value>(text) {
                Ok(parsed) => value = parsed,
                Err(_) => return value,
            },
            Value::Null => return Value::Object(Map::new()),
            _ => return value,
        }
    }
    value
}

/// The message in an error body: Ollama's `{"error":"…"}`, OpenAI's `{"error":{"message":"…"}}`,
/// or vLLM's older `{"object":"error","message":"…"}`.
pub(crate) fn error_text(body: &Value) -> Option<String> {
    match body.get("error") {
        Some(error) if !error.is_null() => error_message(error),
        _ => match (body.get("object"), body.get("message")) {
            (Some(Value::String(kind)), Some(Value::String(text))) if kind == "error" => {
                Some(text.clone())
            }
            _ => None,
        },
    }
}

/// The message in the value of an `error` field: a string, or an object with a `message`.
pub(crate) fn error_message(error: &Value) -> Option<String> {
    match error {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Object(fields) => Some(match fields.get("message") {
            Some(Value::String(text)) => text.clone(),
            _ => error.to_string(),
        }),
        other => Some(other.to_string()),
    }
}

/// `text` cut to at most `max_chars` characters, with `…` when something was cut.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The borrowed tool shape is byte for byte the shape `ToolSpec::to_wire` documents, and
    /// `wire_len` is its length.
    #[test]
    fn wire_tool_matches_to_wire() {
        let spec = ToolSpec {
            name: "notion_search".into(),
            description: "Search pages".into(),
            parameters:
                json!({"type":"object","properties":{"q":{"type":"string"}},"required":["q"]})
                    .into(),
        };
        assert_eq!(
            serde_json::to_value(WireTool::from(&spec)).ok(),
            Some(spec.to_wire())
        );
        assert_eq!(spec.wire_len(), spec.to_wire().to_string().len());
    }

    /// Objects pass through, strings holding JSON are decoded (even twice), and junk stays a
    /// string.
    #[test]
    fn arguments_in_every_shape() {
        assert_eq!(arguments_from_wire(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(arguments_from_wire(json!("{\"a\": 1}")), json!({"a": 1}));
        assert_eq!(
            arguments_from_wire(json!("\"{\\\"a\\\":1}\"")),
            json!({"a": 1})
        );
        assert_eq!(arguments_from_wire(json!("{\"a\": ")), json!("{\"a\": "));
        assert_eq!(arguments_from_wire(json!("")), json!({}));
        assert_eq!(arguments_from_wire(Value::Null), json!({}));
        assert_eq!(arguments_from_wire(json!([1, 2])), json!([1, 2]));
    }

    /// Each server family's error body yields its message.
    #[test]
    fn error_bodies() {
        assert_eq!(
            error_text(&json!({"error": "boom"})).as_deref(),
            Some("boom")
        );
        assert_eq!(
            error_text(&json!({"error": {"message": "bad key", "type": "auth"}})).as_deref(),
            Some("bad key")
        );
        assert_eq!(
            error_text(&json!({"object": "error", "message": "no such model"})).as_deref(),
            Some("no such model")
        );
        assert_eq!(error_text(&json!({"error": 42})).as_deref(), Some("42"));
        assert_eq!(error_text(&json!({"done": true})), None);
        assert_eq!(error_text(&json!({"error": null})), None);
        assert_eq!(
            error_message(&json!("mid-stream")).as_deref(),
            Some("mid-stream")
        );
        assert_eq!(
            error_message(&json!({"code": 1})).as_deref(),
            Some("{\"code\":1}")
        );
        assert_eq!(error_message(&Value::Null), None);
    }

    /// Truncation counts characters, never splits one, and marks the cut.
    #[test]
    fn truncation() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("", 0), "");
    }
}
