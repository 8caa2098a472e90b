//! Ollama's tool-call parser (`tools.Parser`, the same in 0.12.11 and the current version), for
//! models whose template marks calls with a tag such as qwen's `<tool_call>`.
//!
//! Text before the tag is content. From the tag on, everything is held back and only complete
//! calls come out: a call needs the name of a tool offered in this request and an object of
//! arguments (`"arguments"`, `"parameters"`, or a string holding such an object). Whatever the
//! parser does not accept after the tag (a call without arguments, a call to a tool not offered,
//! broken JSON, text after the call) is swallowed: it never reaches the client.

use serde_json::{Map, Value};

/// One parsed call: its name, its arguments and its index among this reply's calls.
pub type Call = (String, Map<String, Value>, usize);

/// The parser's state for one reply.
#[derive(Debug)]
pub struct Parser {
    tag: String,
    tools: Vec<String>,
    any_tool: bool,
    calling: bool,
    buffer: String,
    n: usize,
}

impl Parser {
    /// A parser for calls marked with `tag`, to the tools named `tools`.
    pub fn new(tag: &str, tools: Vec<String>) -> Self {
        Self {
            tag: tag.to_owned(),
            tools,
            any_tool: false,
            calling: false,
            buffer: String::new(),
            n: 0,
        }
    }

    /// A parser that passes every well-formed call through, whatever tool it names, as the
    /// parsers of some OpenAI-compatible servers (vLLM's hermes parser) do; not Ollama's way.
    pub fn any_tool(tag: &str) -> Self {
        Self {
            any_tool: true,
            ..Self::new(tag, Vec::new())
        }
    }

    /// Takes in one piece of the model's output; returns the calls completed and the content
    /// to pass on.
    pub fn add(&mut self, piece: &str) -> (Vec<Call>, String) {
        self.buffer.push_str(piece);
        let mut content = String::new();
        if !self.calling {
            let (at, found) = self.find_tag();
            match at {
                None => content = std::mem::take(&mut self.buffer),
                Some(i) => {
                    content = self.buffer[..i].to_owned();
                    self.buffer.drain(..i);
                }
            }
            if !found {
                return (Vec::new(), content);
            }
            self.calling = true;
        }
        let mut calls = Vec::new();
        while let Some(call) = self.parse_call() {
            calls.push(call);
        }
        (calls, content)
    }

    /// Where the tag starts in the buffer, and whether it is all there (a tag cut at the end of
    /// the buffer holds the text back until the next piece decides).
    fn find_tag(&self) -> (Option<usize>, bool) {
        if let Some(i) = self.buffer.find(&self.tag) {
            return (Some(i), true);
        }
        for len in (1..=self.tag.len().min(self.buffer.len())).rev() {
            if self.tag.is_char_boundary(len) && self.buffer.ends_with(&self.tag[..len]) {
                return (Some(self.buffer.len() - len), false);
            }
        }
        (None, false)
    }

    fn parse_call(&mut self) -> Option<Call> {
        if self.any_tool {
            return self.parse_any_call();
        }
        let (name, mut end) = self.find_tool()?;
        let (arguments, args_end) = find_arguments(&name, &self.buffer)?;
        end = end.max(args_end);
        let call = (name, arguments, self.n);
        self.n += 1;
        self.buffer.drain(..end);
        Some(call)
    }

    /// The next complete `{"name": …, "arguments": {…}}` object, whatever it names.
    fn parse_any_call(&mut self) -> Option<Call> {
        let start = self.buffer.find('{')?;
        let mut stream =
            serde_json::Deserializer::from_str(&self.buffer[start..]).into_iter::<Value>();
        let Some(Ok(Value::Object(object))) = stream.next() else {
            return None;
        };
        let end = start + stream.byte_offset();
        let name = object.get("name")?.as_str()?.to_owned();
        let arguments = object.get("arguments")?.as_object()?.clone();
        let call = (name, arguments, self.n);
        self.n += 1;
        self.buffer.drain(..end);
        Some(call)
    }

    /// The offered tool whose name appears first in the buffer (the longest at one place), and
    /// where its name ends; nothing while the buffer ends in what may be the start of a name.
    fn find_tool(&self) -> Option<(String, usize)> {
        if self.buffer.is_empty() {
            return None;
        }
        let longest = self.tools.iter().map(String::len).max().unwrap_or(0);
        let bytes = self.buffer.as_bytes();
        for i in 1..=bytes.len().min(longest) {
            let tail = &bytes[bytes.len() - i..];
            if self
                .tools
                .iter()
                .any(|t| tail.len() < t.len() && t.as_bytes().starts_with(tail))
            {
                return None;
            }
        }
        let mut found: Option<(&String, usize)> = None;
        for tool in &self.tools {
            let Some(at) = self.buffer.find(tool.as_str()) else {
                continue;
            };
            if let Some((best, start)) = found
                && (at > start || (at == start && tool.len() <= best.len()))
            {
                continue;
            }
            found = Some((tool, at));
        }
        found.map(|(tool, at)| (tool.clone(), at + tool.len()))
    }
}

/// The first JSON object in `buffer` that holds arguments for `tool`, and where it ends.
fn find_arguments(tool: &str, buffer: &str) -> Option<(Map<String, Value>, usize)> {
    let bytes = buffer.as_bytes();
    let mut start: Option<usize> = None;
    let mut braces: i64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == b'\\' {
            escaped = true;
            continue;
        }
        if c == b'"' {
            in_string = !in_string;
            continue;
        }
        if in_string {
            continue;
        }
        if c == b'{' {
            if braces == 0 {
                start = Some(i);
            }
            braces += 1;
        } else if c == b'}' {
            braces -= 1;
            if braces == 0
                && let Some(s) = start
            {
                let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&buffer[s..=i]) else {
                    // Not a valid object: keep looking.
                    start = None;
                    continue;
                };
                // Like Ollama, the end is the closing brace itself, which stays in the buffer.
                return match find_object(tool, &data) {
                    Some(found) => found.map(|args| (args, i)),
                    None => Some((data, i)),
                };
            }
            if braces < 0 {
                braces = 0;
            }
        }
    }
    None
}

/// Ollama's `findObject`: `Some(Some(args))` when found, `Some(None)` for an object with a
/// `name` but no usable arguments (which makes the call fail), `None` when nothing matched.
fn find_object(tool: &str, object: &Map<String, Value>) -> Option<Option<Map<String, Value>>> {
    let find_map = |key: &str| -> Option<Map<String, Value>> {
        match object.get(key) {
            Some(Value::Object(args)) => Some(args.clone()),
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(args)) => Some(args),
                _ => None,
            },
            _ => None,
        }
    };
    if object.contains_key("name") {
        return Some(find_map("arguments").or_else(|| find_map("parameters")));
    }
    if let Some(args) = find_map(tool) {
        return Some(Some(args));
    }
    for value in object.values() {
        match value {
            Value::Object(child) => {
                if let Some(found) = find_object(tool, child) {
                    return Some(found);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(child) = item
                        && let Some(found) = find_object(tool, child)
                    {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}
