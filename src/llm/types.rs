//! Wire-neutral chat types shared by both model clients and the agent.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
}

/// One message of a conversation, in the shape both APIs share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text; empty for an assistant message that only calls tools.
    #[serde(default)]
    pub content: String,
    /// The tools an assistant message calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the name of the tool that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// For a tool result: the id of the call it answers, when the model gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A system message.
    #[must_use]
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(Role::System, content)
    }

    /// A user message.
    #[must_use]
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(Role::User, content)
    }

    /// An assistant message with text only.
    #[must_use]
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(Role::Assistant, content)
    }

    /// A tool result answering `call`.
    #[must_use]
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_name: Some(call.name.clone()),
            tool_call_id: call.id.clone(),
        }
    }

    fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        }
    }
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, when the server assigned one (`call_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool's name as offered (`notion_search`).
    pub name: String,
    /// The arguments, as a JSON value (an object when well formed).
    pub arguments: Value,
}

/// A tool offered to the model: `{"type":"function","function":{name, description, parameters}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its arguments as a JSON Schema object, shared with the catalog entry it came from.
    pub parameters: Arc<Value>,
}

impl ToolSpec {
    /// The tool in the wire shape both APIs accept.
    #[must_use]
    pub fn to_wire(&self) -> Value {
        serde_json::json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": *self.parameters,
            }
        })
    }
}

/// One request to the model.
#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    /// The whole conversation, system prompt first.
    pub messages: &'a [Message],
    /// The tools offered on this request, in a stable order.
    pub tools: &'a [ToolSpec],
}

/// Token counts and timings the server reported for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Tokens in the prompt, as the server counted them.
    pub prompt_tokens: Option<u32>,
    /// Tokens generated.
    pub completion_tokens: Option<u32>,
    /// Time the server spent on the request, when it reported it.
    pub server_duration: Option<Duration>,
}

/// The model's complete reply to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatOutcome {
    /// The reply's text, as streamed.
    pub content: String,
    /// The tools it asked to call, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Why it stopped (`stop`, `length`, ...), when the server said.
    pub done_reason: Option<String>,
    /// Set when the reply did not end the way a finished answer does.
    pub cut: Option<Cut>,
    /// Token counts and timings.
    pub usage: Usage,
}

/// Why a reply that arrived in good order is still not a whole answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The model reached its output limit (`done_reason: "length"`).
    Length,
    /// The server ended the stream cleanly without its final chunk, as Ollama does when it stops
    /// a model that keeps repeating itself.
    Unfinished,
}

/// What can go wrong talking to the model, each with a message fit for the operator's log.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The server could not be reached at all.
    #[error("the model server at {url} is not reachable: {reason}")]
    Unreachable {
        /// The base URL tried.
        url: String,
        /// The transport error, without secrets.
        reason: String,
        /// Whether this client has had any answer from the server before: a server that was never
        /// reached is most likely not started (or the address is wrong), one that was is down for now.
        ever_reached: bool,
    },
    /// The model is not present on the server.
    #[error("model `{model}` is not available on the server; run `ollama pull {model}`")]
    ModelNotFound {
        /// The model's name.
        model: String,
    },
    /// The server answered with an error status or an error line.
    #[error("the model server answered with an error ({status}): {message}")]
    Server {
        /// The HTTP status, or 200 for an error line mid-stream.
        status: u16,
        /// The server's message, truncated.
        message: String,
    },
    /// A line or body from the server could not be understood.
    #[error("the model server sent something that could not be read: {0}")]
    Decode(String),
    /// No data arrived for longer than the configured timeout.
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    /// A chat request got no first output in time: the server's queue, loading the model and
    /// evaluating the prompt took longer than `[model].first_byte_timeout_secs`.
    #[error(
        "the model server sent nothing within {0:?} of the request (its queue, loading the model and evaluating the prompt); raise [model].first_byte_timeout_secs or give the server fewer requests at once"
    )]
    NoFirstOutput(Duration),
    /// The model cannot take tools (`ollama show` does not list the `tools` capability).
    #[error(
        "model `{model}` does not support tools; pick a model whose `ollama show` lists the tools capability (such as qwen2.5:7b or qwen3:8b) for [model].name"
    )]
    ToolsUnsupported {
        /// The model's name.
        model: String,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}
