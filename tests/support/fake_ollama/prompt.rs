//! What the model sees: the Ollama library's qwen chat templates as Ollama 0.12.11 renders them,
//! a token count in the manner of Qwen's tokenizer, and Ollama's truncation from the front.
//!
//! Rendering follows Ollama's steps: consecutive messages of one role (other than `tool`) are
//! merged into the first, their texts joined by a blank line and only the first one's tool calls
//! kept; every system text becomes the template's `.System`; an assistant message renders its
//! text if it has any and its tool calls only otherwise; tools are rendered from Ollama's own
//! decoding of them (`api.ToolFunction`), with Go's JSON encoding (sorted keys, `<>&` escaped).
//! qwen3's template also ends the last user message with `/think` or `/no_think` and, without
//! thinking, opens the answer with an empty `<think>` block.

use serde_json::{Map, Value};

use super::decode;

/// A chat message as Ollama decodes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Msg {
    pub role: String,
    pub content: String,
    pub thinking: String,
    pub tool_calls: Vec<(String, Map<String, Value>)>,
}

/// Which of the library's templates renders the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// qwen2.5 (and the other models without thinking).
    Qwen25,
    /// qwen3, with `/think` and `/no_think`.
    Qwen3,
}

/// The template variables that matter for rendering.
#[derive(Debug, Clone, Copy)]
pub struct Think {
    /// Whether the request said `think` at all (Ollama sets it for thinking models).
    pub set: bool,
    /// Its value.
    pub on: bool,
}

/// The tool-call tag Ollama finds in both templates (`parseTag`).
pub const TOOL_TAG: &str = "<tool_call>";

/// The prompt for `messages` and `tools`, as the template renders it.
pub fn render(template: Template, messages: &[Msg], tools: &[Value], think: Think) -> String {
    let (system, msgs) = collate(messages);
    let mut out = String::new();
    if !system.is_empty() || !tools.is_empty() {
        out.push_str("<|im_start|>system");
        if template == Template::Qwen3 {
            out.push('\n');
        }
        if !system.is_empty() {
            out.push('\n');
            out.push_str(&system);
        }
        if !tools.is_empty() {
            out.push_str("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>");
            for tool in tools {
                out.push_str("\n{\"type\": \"function\", \"function\": ");
                out.push_str(&go_json(&decode::function(tool, decode::Fields::V0_12)));
                out.push('}');
            }
            out.push_str("\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
        }
        out.push_str("<|im_end|>\n");
    }
    let last_user = msgs.iter().rposition(|m| m.role == "user");
    for (i, m) in msgs.iter().enumerate() {
        let last = i + 1 == msgs.len();
        match m.role.as_str() {
            "user" => {
                out.push_str("<|im_start|>user\n");
                out.push_str(&m.content);
                if template == Template::Qwen3 && think.set && Some(i) == last_user {
                    out.push_str(if think.on { " /think" } else { " /no_think" });
                }
                out.push_str("<|im_end|>\n");
            }
            "assistant" => {
                out.push_str("<|im_start|>assistant\n");
                let after_user = last_user.is_none_or(|u| i > u);
                if template == Template::Qwen3
                    && think.set
                    && !m.thinking.is_empty()
                    && (last || after_user)
                {
                    out.push_str("<think>");
                    out.push_str(&m.thinking);
                    out.push_str("</think>\n");
                }
                if !m.content.is_empty() {
                    out.push_str(&m.content);
                } else if !m.tool_calls.is_empty() {
                    out.push_str("<tool_call>\n");
                    for (name, arguments) in &m.tool_calls {
                        out.push_str(&format!(
                            "{{\"name\": \"{name}\", \"arguments\": {}}}\n",
                            go_json(&Value::Object(arguments.clone()))
                        ));
                    }
                    out.push_str("</tool_call>");
                }
                if !last {
                    out.push_str("<|im_end|>\n");
                }
            }
            "tool" => {
                out.push_str("<|im_start|>user\n<tool_response>\n");
                out.push_str(&m.content);
                out.push_str("\n</tool_response><|im_end|>\n");
            }
            _ => {}
        }
        if m.role != "assistant" && last {
            out.push_str("<|im_start|>assistant\n");
            if template == Template::Qwen3 && think.set && !think.on {
                out.push_str("<think>\n\n</think>\n\n");
            }
        }
    }
    out
}

/// Ollama's `collate`: system texts joined, consecutive messages of one role merged into the
/// first (tool messages excepted).
fn collate(messages: &[Msg]) -> (String, Vec<Msg>) {
    let mut system = Vec::new();
    let mut out: Vec<Msg> = Vec::new();
    for m in messages {
        if m.role == "system" {
            system.push(m.content.clone());
        }
        match out.last_mut() {
            Some(previous) if previous.role == m.role && m.role != "tool" => {
                previous.content.push_str("\n\n");
                previous.content.push_str(&m.content);
            }
            _ => out.push(m.clone()),
        }
    }
    (system.join("\n\n"), out)
}

/// JSON as Go's `encoding/json` writes it: compact, object keys sorted (serde_json's maps are
/// sorted), and `<`, `>`, `&` escaped.
pub fn go_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The number of tokens in `text`, counted the way Qwen's tokenizer roughly splits text: the
/// chat markers are one token each, every digit is one, every punctuation mark or symbol is
/// one, a run of ASCII letters is one token per four letters (a space before a word comes with
/// it), a run of line breaks is one, and any other character is one.
pub fn count_tokens(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest
            .strip_prefix("<|im_start|>")
            .or_else(|| rest.strip_prefix("<|im_end|>"))
        {
            count += 1;
            rest = after;
            continue;
        }
        let len = if c.is_ascii_alphabetic() {
            let run = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            count += run.div_ceil(4);
            run
        } else if c == ' ' {
            let run = rest.find(|c: char| c != ' ').unwrap_or(rest.len());
            let next = rest[run..].chars().next();
            if !(run == 1 && next.is_some_and(char::is_alphanumeric)) {
                count += 1;
            }
            run
        } else if c == '\n' || c == '\r' {
            let run = rest
                .find(|c: char| c != '\n' && c != '\r')
                .unwrap_or(rest.len());
            count += 1;
            run
        } else {
            count += 1;
            c.len_utf8()
        };
        rest = &rest[len..];
    }
    count
}

/// Cuts `text` into the pieces a model would stream it in, with the same rules as
/// [`count_tokens`]: each piece one token.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if c.is_ascii_alphabetic() {
            rest.find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len())
                .min(4)
        } else if c == ' ' {
            let run = rest.find(|c: char| c != ' ').unwrap_or(rest.len());
            if run == 1 {
                // The space goes with the word after it.
                let word = rest[1..]
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(rest.len() - 1)
                    .min(4);
                1 + word
            } else {
                run
            }
        } else if c == '\n' {
            rest.find(|c: char| c != '\n').unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        out.push(rest[..len].to_owned());
        rest = &rest[len..];
    }
    out
}

/// What Ollama 0.12.11's `chatPrompt` keeps of `messages` so that the prompt fits `num_ctx`:
/// walking back from the last message (always kept), it adds earlier ones as long as the
/// system messages before them and everything from there on fit, and stops at the first that
/// does not. Returns the messages rendered (those system messages first) and how many were
/// dropped. As in Ollama, a system message at the very point of the cut is dropped with it.
pub fn truncate(
    template: Template,
    messages: &[Msg],
    tools: &[Value],
    think: Think,
    num_ctx: usize,
) -> (Vec<Msg>, usize) {
    let Some(last) = messages.len().checked_sub(1) else {
        return (Vec::new(), 0);
    };
    let systems = |upto: usize| -> Vec<Msg> {
        messages[..upto]
            .iter()
            .filter(|m| m.role == "system")
            .cloned()
            .collect()
    };
    let mut keep_from = last;
    let mut system = Vec::new();
    for i in (0..last).rev() {
        system = systems(i);
        let mut candidate = system.clone();
        candidate.extend_from_slice(&messages[i..]);
        if count_tokens(&render(template, &candidate, tools, think)) > num_ctx {
            break;
        }
        keep_from = i;
    }
    let dropped = keep_from - system.len();
    let mut kept = system;
    kept.extend_from_slice(&messages[keep_from..]);
    (kept, dropped)
}
