//! OpenAI-compatible servers (vLLM, llama.cpp, Ollama's `/v1`): `/v1/chat/completions` streamed
//! as server-sent events, plus `/v1/embeddings` and `/v1/models`.
//!
//! `[model].base_url` may name the server's root (`http://host:8000`) or its `/v1` prefix
//! (`http://host:8000/v1`). A key from `[model].api_key_file` goes as `Authorization: Bearer`.
//! This API has no way to ask for a context window, so `num_ctx` only budgets the prompt and the
//! server must be started with at least that much context. Tool calls arrive as fragments keyed
//! by `index` (the first with the id and name, then pieces of the arguments string); they are
//! merged per index and the arguments parsed as JSON once the stream ends.

use std::borrow::Cow;
use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::reply::{MAX_TOOL_CALLS, ReplyBuilder};
use super::slots::Slots;
use super::sse::SseEvents;
use super::transport::{Http, MAX_ERROR_CHARS, MAX_LINE_BYTES};
use super::wire::{WireTool, arguments_from_wire, error_message, truncate};
use super::{
    ChatModel, ChatOutcome, ChatRequest, Cut, DeltaSink, Message, ModelError, Role, ToolCall, Usage,
};
use crate::config::{ModelConfig, read_secret};

/// What to check when the server cannot be reached.
const DOWN_HINT: &str = "is the model server running there? Check [model].base_url";
/// The largest `/v1/embeddings` answer read.
const MAX_EMBED_BYTES: usize = 64 << 20;
/// The largest `/v1/models` answer read.
const MAX_INFO_BYTES: usize = 4 << 20;

/// A client for one model on one OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiClient {
    http: Http,
    chat_url: Url,
    prefix: &'static str,
    name: String,
    num_ctx: u32,
    temperature: Option<f64>,
    slots: Slots,
}

impl OpenAiClient {
    /// Builds a client for `config.name` on the server at `config.base_url`, reading the bearer
    /// key from `config.api_key_file` when one is configured.
    ///
    /// # Errors
    /// Fails when the key file cannot be read or holds characters that cannot go in a header, or
    /// when the HTTP client cannot be built.
    pub fn new(config: &ModelConfig) -> Result<Self, ModelError> {
        let mut headers = HeaderMap::new();
        if let Some(path) = &config.api_key_file {
            let key = read_secret(path).map_err(|e| ModelError::Client(e.to_string()))?;
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| {
                    ModelError::Client(format!(
                        "the key in {} holds characters that cannot go in an HTTP header",
                        path.display()
                    ))
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = Http::new(config, headers, DOWN_HINT)?;
        let prefix = if http.base_path().ends_with("/v1") {
            ""
        } else {
            "/v1"
        };
        Ok(Self {
            chat_url: http.url(&format!("{prefix}/chat/completions")),
            http,
            prefix,
            name: config.name.clone(),
            num_ctx: config.num_ctx,
            temperature: config.temperature,
            slots: Slots::new(
                usize::try_from(config.parallel).unwrap_or(1),
                config.queue_notice,
            ),
        })
    }

    fn body<'a>(&'a self, request: &ChatRequest<'a>) -> ChatBody<'a> {
        ChatBody {
            model: &self.name,
            messages: request.messages.iter().map(WireMessage::from).collect(),
            tools: request.tools.iter().map(WireTool::from).collect(),
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            temperature: self.temperature,
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiClient {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        let body = self.body(request);
        let mut lines = self
            .http
            .post_stream(self.chat_url.clone(), &body)
            .await
            .map_err(|e| classify(e, &self.name))?;
        let mut events = SseEvents::new(MAX_LINE_BYTES);
        let mut stream = StreamState::default();
        loop {
            let data = match lines.next_line().await? {
                Some(line) => match events.push_line(&line)? {
                    Some(data) => data,
                    None => continue,
                },
                None => match events.finish() {
                    Some(data) => data,
                    None => break,
                },
            };
            if stream.event(&data, on_delta)? {
                break;
            }
        }
        let outcome = stream.finish()?;
        tracing::debug!(
            model = %self.name,
            prompt_tokens = ?outcome.usage.prompt_tokens,
            completion_tokens = ?outcome.usage.completion_tokens,
            tool_calls = outcome.tool_calls.len(),
            "model reply finished"
        );
        Ok(outcome)
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        #[derive(Deserialize)]
        struct Embeddings {
            data: Vec<Embedding>,
        }
        #[derive(Deserialize)]
        struct Embedding {
            embedding: Vec<f32>,
            #[serde(default)]
            index: usize,
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.http.url(&format!("{}/embeddings", self.prefix));
        let body = serde_json::json!({ "model": model, "input": inputs });
        let mut answer: Embeddings = self
            .http
            .post_json(url, &body, MAX_EMBED_BYTES)
            .await
            .map_err(|e| classify(e, model))?;
        answer.data.sort_by_key(|e| e.index);
        if answer.data.len() != inputs.len() {
            return Err(ModelError::Decode(format!(
                "asked for {} embeddings, got {}",
                inputs.len(),
                answer.data.len()
            )));
        }
        Ok(answer.data.into_iter().map(|e| e.embedding).collect())
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        #[derive(Deserialize)]
        struct Models {
            #[serde(default)]
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
        }
        let url = self.http.url(&format!("{}/models", self.prefix));
        let models: Models = self.http.get_json(url, MAX_INFO_BYTES).await?;
        Ok(models.data.into_iter().map(|m| m.id).collect())
    }

    fn model_name(&self) -> &str {
        &self.name
    }

    fn context_tokens(&self) -> u32 {
        self.num_ctx
    }

    fn slots(&self) -> Option<&Slots> {
        Some(&self.slots)
    }
}

/// Points the operator at what to fix for the statuses that have a usual cause.
fn classify(error: ModelError, model: &str) -> ModelError {
    match error {
        ModelError::Server {
            status: 404,
            message,
        } if message.to_lowercase().contains("model")
            && message.to_lowercase().contains("not found") =>
        {
            ModelError::ModelNotFound {
                model: model.to_owned(),
            }
        }
        ModelError::Server {
            status: status @ (401 | 403),
            message,
        } => ModelError::Server {
            status,
            message: format!("{message} (check the key in [model].api_key_file)"),
        },
        other => other,
    }
}

/// What one streamed reply has said so far.
#[derive(Debug, Default)]
struct StreamState {
    reply: ReplyBuilder,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Usage,
    done: bool,
}

/// A tool call whose fragments are still arriving.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl StreamState {
    /// Takes in one event's data; returns whether the stream is over (`[DONE]`).
    fn event(&mut self, data: &str, on_delta: DeltaSink<'_>) -> Result<bool, ModelError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(true);
        }
        let chunk: StreamChunk = serde_json::from_str(data).map_err(|e| {
            ModelError::Decode(format!(
                "an event of the reply is not a chat completion chunk ({e}): {}",
                truncate(data, 200)
            ))
        })?;
        if let Some(message) = chunk.error.as_ref().and_then(error_message) {
            return Err(ModelError::Server {
                status: 200,
                message: truncate(&message, MAX_ERROR_CHARS),
            });
        }
        if let Some(usage) = chunk.usage {
            self.usage.prompt_tokens = usage.prompt_tokens.map(saturate);
            self.usage.completion_tokens = usage.completion_tokens.map(saturate);
        }
        let Some(choice) = chunk
            .choices
            .into_iter()
            .find(|c| c.index.unwrap_or(0) == 0)
        else {
            return Ok(false);
        };
        if let Some(delta) = choice.delta {
            self.reply
                .push_text(delta.content.as_deref().unwrap_or_default(), on_delta)?;
            for (position, fragment) in delta.tool_calls.unwrap_or_default().into_iter().enumerate()
            {
                self.merge(position, fragment)?;
            }
        }
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason);
        }
        Ok(false)
    }

    /// Adds one fragment to the call with its index (or, lacking one, its position).
    fn merge(&mut self, position: usize, fragment: CallFragment) -> Result<(), ModelError> {
        let index = fragment.index.unwrap_or(position as u64);
        if !self.calls.contains_key(&index) && self.calls.len() >= MAX_TOOL_CALLS {
            return Err(ModelError::Decode(format!(
                "the reply asked for more than {MAX_TOOL_CALLS} tool calls"
            )));
        }
        let call = self.calls.entry(index).or_default();
        if let Some(id) = fragment.id.filter(|id| !id.is_empty())
            && call.id.is_empty()
        {
            call.id = id;
        }
        let function = fragment.function.unwrap_or_default();
        if let Some(name) = function.name.filter(|n| !n.is_empty()) {
            self.reply.charge(name.len())?;
            // Servers send the name whole in the first fragment; some repeat it, a few split it.
            if call.name != name {
                call.name.push_str(&name);
            }
        }
        match function.arguments {
            Some(Value::String(piece)) => {
                self.reply.charge(piece.len())?;
                call.arguments.push_str(&piece);
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                let text = other.to_string();
                self.reply.charge(text.len())?;
                call.arguments.push_str(&text);
            }
        }
        Ok(())
    }

    /// The finished reply. A stream that ended cleanly before `[DONE]` or a finish reason is
    /// kept and marked [`Cut::Unfinished`] (a broken connection is an error of the line stream
    /// instead); a `length` finish is marked [`Cut::Length`].
    fn finish(mut self) -> Result<ChatOutcome, ModelError> {
        let cut = if !self.done && self.finish_reason.is_none() {
            tracing::warn!("the model server ended the reply without saying it was finished");
            Some(Cut::Unfinished)
        } else if self.finish_reason.as_deref() == Some("length") {
            Some(Cut::Length)
        } else {
            None
        };
        for (index, call) in std::mem::take(&mut self.calls) {
            let id = if call.id.is_empty() {
                format!("call_{index}")
            } else {
                call.id
            };
            self.reply.push_call(ToolCall {
                id: Some(id),
                name: call.name,
                arguments: arguments_from_wire(Value::String(call.arguments)),
            })?;
        }
        Ok(self
            .reply
            .finish(self.finish_reason, self.usage)
            .with_cut(cut))
    }
}

fn saturate(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The `/v1/chat/completions` request, borrowing the conversation.
#[derive(Debug, Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// A message as chat completions take it: tool calls with string arguments, tool results
/// answering a `tool_call_id`.
#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: Role,
    content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> From<&'a Message> for WireMessage<'a> {
    fn from(message: &'a Message) -> Self {
        Self {
            role: message.role,
            content: &message.content,
            tool_calls: message
                .tool_calls
                .iter()
                .enumerate()
                .map(|(index, call)| WireCall::new(index, call))
                .collect(),
            tool_call_id: message.tool_call_id.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
struct WireCall<'a> {
    id: Cow<'a, str>,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireCallFunction<'a>,
}

#[derive(Debug, Serialize)]
struct WireCallFunction<'a> {
    name: &'a str,
    /// The arguments as the JSON text the API expects; a string the model sent that was not
    /// valid JSON goes back as it came.
    arguments: Cow<'a, str>,
}

impl<'a> WireCall<'a> {
    fn new(index: usize, call: &'a ToolCall) -> Self {
        Self {
            id: call
                .id
                .as_deref()
                .map_or_else(|| Cow::Owned(format!("call_{index}")), Cow::Borrowed),
            kind: "function",
            function: WireCallFunction {
                name: &call.name,
                arguments: match &call.arguments {
                    Value::String(raw) => Cow::Borrowed(raw),
                    other => Cow::Owned(other.to_string()),
                },
            },
        }
    }
}

/// One `data:` event of the stream; every field optional so that odd events still parse.
#[derive(Debug, Deserialize)]
struct StreamChunk {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<CallFragment>>,
}

#[derive(Debug, Deserialize)]
struct CallFragment {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionFragment>,
}

#[derive(Debug, Default, Deserialize)]
struct FunctionFragment {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::config::Provider;

    fn feed(events: &[&str]) -> Result<ChatOutcome, ModelError> {
        let mut state = StreamState::default();
        let sink = |_: &str| {};
        for data in events {
            if state.event(data, &sink)? {
                break;
            }
        }
        state.finish()
    }

    /// Fragments of two interleaved calls merge by index, arguments parse, missing ids are made.
    #[test]
    fn calls_merge_by_index() {
        let outcome = feed(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Tokyo\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"UTC\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#,
            "[DONE]",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            outcome.tool_calls,
            vec![
                ToolCall {
                    id: Some("call_a".into()),
                    name: "get_weather".into(),
                    arguments: json!({"city": "Tokyo"}),
                },
                ToolCall {
                    id: Some("call_1".into()),
                    name: "get_time".into(),
                    arguments: json!({"tz": "UTC"}),
                },
            ]
        );
        assert_eq!(outcome.done_reason.as_deref(), Some("tool_calls"));
        assert_eq!(outcome.usage.prompt_tokens, Some(12));
        assert_eq!(outcome.usage.completion_tokens, Some(7));
    }

    /// An error event ends the reply with the server's message; a stream that ends cleanly
    /// before any finish keeps its text and is marked unfinished; a `length` finish is marked.
    #[test]
    fn errors_and_cut_streams() {
        let err = feed(&[
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            r#"{"error":{"message":"out of memory","type":"server_error"}}"#,
        ]);
        assert!(
            matches!(&err, Err(ModelError::Server { status: 200, message }) if message == "out of memory"),
            "{err:?}"
        );
        let cut = feed(&[r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (cut.content.as_str(), cut.cut),
            ("Hi", Some(Cut::Unfinished))
        );
        let finished =
            feed(&[r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((finished.content.as_str(), finished.cut), ("Hi", None));
        let long = feed(&[
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"length"}]}"#,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(long.cut, Some(Cut::Length));
    }

    /// Requests carry string arguments, ids, `tool_call_id`, usage streaming and the tools.
    #[test]
    fn request_shape() {
        let config = ModelConfig {
            provider: Provider::OpenAi,
            base_url: Url::parse("http://127.0.0.1:8000/v1/").unwrap_or_else(|e| panic!("{e}")),
            name: "m".into(),
            num_ctx: 4096,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            parallel: 1,
            queue_notice: Duration::from_secs(4),
            think: false,
            embed_name: None,
            api_key_file: None,
            keep_alive: None,
            temperature: Some(0.2),
        };
        let client = OpenAiClient::new(&config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            client.chat_url.as_str(),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        let call = ToolCall {
            id: Some("call_9".into()),
            name: "t".into(),
            arguments: json!({"a": 1}),
        };
        let messages = vec![
            Message {
                tool_calls: vec![call.clone()],
                ..Message::assistant("")
            },
            Message::tool_result(&call, "ok"),
        ];
        let request = ChatRequest {
            messages: &messages,
            tools: &[],
        };
        let body = serde_json::to_value(client.body(&request)).unwrap_or_default();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "call_9", "type": "function", "function": {"name": "t", "arguments": "{\"a\":1}"}}
                    ]},
                    {"role": "tool", "content": "ok", "tool_call_id": "call_9"}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.2
            })
        );
    }
}
