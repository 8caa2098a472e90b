//! Ollama's native API: `/api/chat` streamed as NDJSON, plus `/api/embed`, `/api/tags`,
//! `/api/show`, `/api/ps` and `/api/version`.
//!
//! Every chat request asks for the configured context window in `options.num_ctx`, because
//! Ollama's own default differs between versions and machines and a silently smaller window
//! truncates the prompt, and says `think` explicitly, because Ollama lets a thinking model (qwen3)
//! reason before every answer unless told not to. The reply is read line by line: every line is
//! checked for `{"error":…}` (Ollama reports failures mid-stream with status 200), text is passed
//! on as it arrives (the model's reasoning, in `thinking`, never is), tool calls are gathered from
//! whichever chunks carry them, and the final `done` chunk gives the stop reason and the token
//! counts. A stream that ends cleanly without that chunk is Ollama stopping a model that repeats
//! itself: what came is kept and marked [`Cut::Unfinished`].
//!
//! Ollama's qwen templates render an assistant message that has both text and tool calls as its
//! text alone (and merge consecutive messages of one role, keeping the first one's calls), so
//! the model would no longer see its own call; such a message goes with its calls only. The text
//! was already shown to the person and stays in the stored history.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use url::Url;

use super::reply::ReplyBuilder;
use super::slots::Slots;
use super::transport::{Http, MAX_ERROR_CHARS};
use super::wire::{WireTool, arguments_from_wire, error_message, truncate};
use super::{
    ChatModel, ChatOutcome, ChatRequest, Cut, DeltaSink, Message, ModelError, Role, ToolCall, Usage,
};
use crate::config::{KeepAlive, ModelConfig};

/// What to check when Ollama cannot be reached.
const DOWN_HINT: &str = "is Ollama running there? Start it with `ollama serve`, or point \
     [model].base_url (or $OLLAMA_HOST, without a configuration file) at it";
/// The largest `/api/embed` answer read.
const MAX_EMBED_BYTES: usize = 64 << 20;
/// The largest `/api/tags`, `/api/show`, `/api/ps` or `/api/version` answer read.
const MAX_INFO_BYTES: usize = 4 << 20;

/// A client for one model on one Ollama server.
#[derive(Debug)]
pub struct OllamaClient {
    http: Http,
    chat_url: Url,
    name: String,
    num_ctx: u32,
    temperature: Option<f64>,
    keep_alive: Option<KeepAlive>,
    think: bool,
    slots: Slots,
}

/// What `/api/show` says about a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelDetails {
    /// What the model can do (`completion`, `tools`, `vision`, `thinking`, `embedding`, ...).
    pub capabilities: Vec<String>,
    /// The context length the model was trained for, when the server reports it.
    pub context_length: Option<u64>,
}

impl ModelDetails {
    /// Whether the model accepts `tools`.
    #[must_use]
    pub fn supports_tools(&self) -> bool {
        self.has("tools")
    }

    /// Whether the model can reason before answering (`think`).
    #[must_use]
    pub fn supports_thinking(&self) -> bool {
        self.has("thinking")
    }

    /// Whether the model lists `capability`.
    #[must_use]
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

impl OllamaClient {
    /// Builds a client for `config.name` on the server at `config.base_url`.
    ///
    /// # Errors
    /// Fails when the HTTP client cannot be built.
    pub fn new(config: &ModelConfig) -> Result<Self, ModelError> {
        let http = Http::new(config, HeaderMap::new(), DOWN_HINT)?;
        Ok(Self {
            chat_url: http.url("/api/chat"),
            http,
            name: config.name.clone(),
            num_ctx: config.num_ctx,
            temperature: config.temperature,
            keep_alive: config.keep_alive.clone(),
            think: config.think,
            slots: Slots::new(
                usize::try_from(config.parallel).unwrap_or(1),
                config.queue_notice,
            ),
        })
    }

    /// The server's version, from `/api/version`.
    ///
    /// # Errors
    /// As for any request: unreachable, timeout, error status or an unexpected body.
    pub async fn version(&self) -> Result<String, ModelError> {
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        let url = self.http.url("/api/version");
        let answer: Version = self.http.get_json(url, MAX_INFO_BYTES).await?;
        Ok(answer.version)
    }

    /// What the server says about `model`, from `/api/show`.
    ///
    /// # Errors
    /// [`ModelError::ModelNotFound`] when the model is not pulled; otherwise as for any request.
    pub async fn show(&self, model: &str) -> Result<ModelDetails, ModelError> {
        #[derive(Deserialize)]
        struct Show {
            #[serde(default)]
            capabilities: Vec<String>,
            #[serde(default)]
            model_info: Map<String, Value>,
        }
        let url = self.http.url("/api/show");
        let body = serde_json::json!({ "model": model });
        let answer: Show = self
            .http
            .post_json(url, &body, MAX_INFO_BYTES)
            .await
            .map_err(|e| classify(e, model))?;
        let context_length = answer
            .model_info
            .iter()
            .find(|(key, _)| key.ends_with(".context_length"))
            .and_then(|(_, value)| value.as_u64());
        Ok(ModelDetails {
            capabilities: answer.capabilities,
            context_length,
        })
    }

    /// The context window `model` is loaded with now, from `/api/ps`; `None` when it is not
    /// loaded (or the server does not say).
    ///
    /// # Errors
    /// As for any request: unreachable, timeout, error status or an unexpected body.
    pub async fn loaded_context(&self, model: &str) -> Result<Option<u64>, ModelError> {
        #[derive(Deserialize)]
        struct Running {
            #[serde(default)]
            models: Vec<Loaded>,
        }
        #[derive(Deserialize)]
        struct Loaded {
            #[serde(default)]
            name: String,
            #[serde(default)]
            model: String,
            #[serde(default)]
            context_length: Option<u64>,
        }
        let wanted = if model.contains(':') {
            model.to_owned()
        } else {
            format!("{model}:latest")
        };
        let running: Running = self
            .http
            .get_json(self.http.url("/api/ps"), MAX_INFO_BYTES)
            .await?;
        Ok(running
            .models
            .into_iter()
            .find(|m| m.name == wanted || m.model == wanted)
            .and_then(|m| m.context_length))
    }

    fn body<'a>(&'a self, request: &ChatRequest<'a>) -> ChatBody<'a> {
        ChatBody {
            model: &self.name,
            messages: request.messages.iter().map(WireMessage::from).collect(),
            tools: request.tools.iter().map(WireTool::from).collect(),
            stream: true,
            think: self.think,
            options: Options {
                num_ctx: self.num_ctx,
                temperature: self.temperature,
            },
            keep_alive: self.keep_alive.as_ref().map(WireKeepAlive),
        }
    }
}

#[async_trait]
impl ChatModel for OllamaClient {
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
        let mut reply = ReplyBuilder::default();
        let mut usage = Usage::default();
        while let Some(line) = lines.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            let chunk: Chunk = serde_json::from_str(&line).map_err(|e| {
                ModelError::Decode(format!(
                    "a line of the reply is not an Ollama chat chunk ({e}): {}",
                    truncate(&line, 200)
                ))
            })?;
            if let Some(message) = chunk.error.as_ref().and_then(error_message) {
                return Err(ModelError::Server {
                    status: 200,
                    message: truncate(&message, MAX_ERROR_CHARS),
                });
            }
            if let Some(message) = chunk.message {
                reply.push_text(message.content.as_deref().unwrap_or_default(), on_delta)?;
                let calls = message.tool_calls.unwrap_or_default();
                if !calls.is_empty() {
                    reply.charge(line.len())?;
                }
                for call in calls {
                    let function = call.function.unwrap_or_default();
                    reply.push_call(ToolCall {
                        id: call.id.filter(|id| !id.is_empty()),
                        name: function.name,
                        arguments: arguments_from_wire(function.arguments),
                    })?;
                }
            }
            if chunk.done == Some(true) {
                usage = Usage {
                    prompt_tokens: chunk.prompt_eval_count.map(saturate),
                    completion_tokens: chunk.eval_count.map(saturate),
                    server_duration: chunk.total_duration.map(Duration::from_nanos),
                };
                tracing::debug!(
                    model = %self.name,
                    prompt_tokens = ?usage.prompt_tokens,
                    completion_tokens = ?usage.completion_tokens,
                    tool_calls = reply.call_count(),
                    done_reason = ?chunk.done_reason,
                    "model reply finished"
                );
                let cut = (chunk.done_reason.as_deref() == Some("length")).then_some(Cut::Length);
                return Ok(reply.finish(chunk.done_reason, usage).with_cut(cut));
            }
        }
        // A connection that breaks is an error of the line stream; a clean end without the final
        // chunk is Ollama's guard against a model repeating itself.
        tracing::warn!(
            model = %self.name,
            tool_calls = reply.call_count(),
            "the model server ended the reply without finishing it (Ollama stops a model that repeats one token over and over)"
        );
        Ok(reply.finish(None, usage).with_cut(Some(Cut::Unfinished)))
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        #[derive(Deserialize)]
        struct Embeddings {
            embeddings: Vec<Vec<f32>>,
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.http.url("/api/embed");
        let body = serde_json::json!({ "model": model, "input": inputs });
        let answer: Embeddings = self
            .http
            .post_json(url, &body, MAX_EMBED_BYTES)
            .await
            .map_err(|e| classify(e, model))?;
        if answer.embeddings.len() != inputs.len() {
            return Err(ModelError::Decode(format!(
                "asked for {} embeddings, got {}",
                inputs.len(),
                answer.embeddings.len()
            )));
        }
        Ok(answer.embeddings)
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            models: Vec<Tag>,
        }
        #[derive(Deserialize)]
        struct Tag {
            name: String,
        }
        let tags: Tags = self
            .http
            .get_json(self.http.url("/api/tags"), MAX_INFO_BYTES)
            .await?;
        Ok(tags.models.into_iter().map(|tag| tag.name).collect())
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

/// Turns Ollama's "model not found" answer into [`ModelError::ModelNotFound`], whose message
/// says which `ollama pull` to run (a bare 404 means the URL is not an Ollama server), and its
/// 400 for tools offered to a model without the capability
/// (`registry.ollama.ai/library/gemma2:2b does not support tools`) into
/// [`ModelError::ToolsUnsupported`].
fn classify(error: ModelError, model: &str) -> ModelError {
    match error {
        ModelError::Server {
            status: 400,
            message,
        } if message.ends_with("does not support tools") => ModelError::ToolsUnsupported {
            model: model.to_owned(),
        },
        ModelError::Server {
            status: 404,
            message,
        } => {
            let lower = message.to_lowercase();
            if lower.contains("model") && lower.contains("not found") {
                ModelError::ModelNotFound {
                    model: model.to_owned(),
                }
            } else {
                ModelError::Server {
                    status: 404,
                    message: format!("{message} (is [model].base_url an Ollama server?)"),
                }
            }
        }
        other => other,
    }
}

fn saturate(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// `keep_alive` on the wire: a number of seconds goes as a JSON number (Ollama refuses a string
/// without a unit), a duration as the string it was written as.
#[derive(Debug)]
struct WireKeepAlive<'a>(&'a KeepAlive);

impl Serialize for WireKeepAlive<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            // Whole numbers go without a fraction, as people write them.
            #[allow(clippy::cast_possible_truncation)]
            KeepAlive::Seconds(s) if s.fract() == 0.0 && s.abs() < 1e15 => {
                serializer.serialize_i64(*s as i64)
            }
            KeepAlive::Seconds(s) => serializer.serialize_f64(*s),
            KeepAlive::Duration(d) => serializer.serialize_str(d),
        }
    }
}

/// The `/api/chat` request, borrowing the conversation.
#[derive(Debug, Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    stream: bool,
    think: bool,
    options: Options,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_alive: Option<WireKeepAlive<'a>>,
}

#[derive(Debug, Serialize)]
struct Options {
    num_ctx: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
}

/// A message as `/api/chat` takes it: tool calls as `{"id","function":{"name","arguments"}}`
/// with object arguments, tool results with `tool_name`.
#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: Role,
    content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> From<&'a Message> for WireMessage<'a> {
    /// The message as Ollama takes it. An assistant message that calls tools goes without its
    /// text: the qwen templates render `{{ if .Content }}…{{ else if .ToolCalls }}`, so with its
    /// text the model would not see its own call in the next round.
    fn from(message: &'a Message) -> Self {
        let calls_only = message.role == Role::Assistant && !message.tool_calls.is_empty();
        Self {
            role: message.role,
            content: if calls_only { "" } else { &message.content },
            tool_calls: message.tool_calls.iter().map(WireCall::from).collect(),
            tool_name: message.tool_name.as_deref(),
            tool_call_id: message.tool_call_id.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
struct WireCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    function: WireCallFunction<'a>,
}

#[derive(Debug, Serialize)]
struct WireCallFunction<'a> {
    name: &'a str,
    /// Ollama only accepts an object here; arguments that never were one (a model's malformed
    /// string) go back as `{}`, and the tool's error result tells the model what went wrong.
    #[serde(serialize_with = "object_or_empty")]
    arguments: &'a Value,
}

impl<'a> From<&'a ToolCall> for WireCall<'a> {
    fn from(call: &'a ToolCall) -> Self {
        Self {
            id: call.id.as_deref(),
            function: WireCallFunction {
                name: &call.name,
                arguments: &call.arguments,
            },
        }
    }
}

fn object_or_empty<S: Serializer>(value: &&Value, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Value::Object(map) => map.serialize(serializer),
        _ => Map::new().serialize(serializer),
    }
}

/// One line of the `/api/chat` stream; every field optional so that odd lines still parse.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    message: Option<ChunkMessage>,
    #[serde(default)]
    done: Option<bool>,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    total_duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ChunkMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ChunkCall>>,
}

#[derive(Debug, Deserialize)]
struct ChunkCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<ChunkFunction>,
}

#[derive(Debug, Default, Deserialize)]
struct ChunkFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::ToolSpec;

    /// Numbers written as text go as numbers; durations stay strings.
    #[test]
    fn keep_alive_forms() {
        let wire = |text: &str| {
            KeepAlive::parse(text)
                .ok()
                .and_then(|k| serde_json::to_value(WireKeepAlive(&k)).ok())
        };
        assert_eq!(wire("-1"), Some(json!(-1)));
        assert_eq!(wire(" 3600 "), Some(json!(3600)));
        assert_eq!(wire("1.5"), Some(json!(1.5)));
        assert_eq!(wire("30m"), Some(json!("30m")));
        assert_eq!(wire("0"), Some(json!(0)));
        assert_eq!(wire("1d"), None);
    }

    /// The request carries `num_ctx` always, the tools in wire shape, tool calls with object
    /// arguments and their ids, and tool results with `tool_name`.
    #[test]
    fn request_shape() {
        let config = ModelConfig {
            provider: crate::config::Provider::Ollama,
            base_url: Url::parse("http://127.0.0.1:11434").unwrap_or_else(|e| panic!("{e}")),
            name: "qwen2.5:7b".into(),
            num_ctx: 8192,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            parallel: 1,
            queue_notice: Duration::from_secs(4),
            think: false,
            embed_name: None,
            api_key_file: None,
            keep_alive: Some(KeepAlive::Seconds(-1.0)),
            temperature: None,
        };
        let client = OllamaClient::new(&config).unwrap_or_else(|e| panic!("{e}"));
        let call = ToolCall {
            id: Some("call_abc12345".into()),
            name: "everything_echo".into(),
            arguments: json!("not json"),
        };
        let messages = vec![
            Message::user("hi"),
            Message {
                tool_calls: vec![call.clone()],
                ..Message::assistant("")
            },
            Message::tool_result(&call, "echoed"),
        ];
        let tools = vec![ToolSpec {
            name: "everything_echo".into(),
            description: "Echo".into(),
            parameters: json!({"type": "object"}).into(),
        }];
        let request = ChatRequest {
            messages: &messages,
            tools: &tools,
        };
        let body = serde_json::to_value(client.body(&request)).unwrap_or_default();
        assert_eq!(
            body,
            json!({
                "model": "qwen2.5:7b",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "call_abc12345", "function": {"name": "everything_echo", "arguments": {}}}
                    ]},
                    {"role": "tool", "content": "echoed", "tool_name": "everything_echo",
                     "tool_call_id": "call_abc12345"}
                ],
                "tools": [tools[0].to_wire()],
                "stream": true,
                "think": false,
                "options": {"num_ctx": 8192},
                "keep_alive": -1
            })
        );
    }

    /// An assistant message that calls tools goes with its calls only, so the qwen templates
    /// render the call; other messages keep their text.
    #[test]
    fn calls_go_without_their_text() {
        let call = ToolCall {
            id: Some("call_1".into()),
            name: "notion_search".into(),
            arguments: json!({"query": "trip"}),
        };
        let both = Message {
            tool_calls: vec![call],
            ..Message::assistant("Let me look.")
        };
        assert_eq!(
            serde_json::to_value(WireMessage::from(&both)).unwrap_or_default(),
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "function": {"name": "notion_search", "arguments": {"query": "trip"}}}
            ]})
        );
        let text = Message::assistant("hi");
        assert_eq!(WireMessage::from(&text).content, "hi");
        let user = Message::user("hi");
        assert_eq!(WireMessage::from(&user).content, "hi");
    }

    /// A 404 about a model becomes "not found" with the pull command; any other 404 points at the
    /// base URL.
    #[test]
    fn not_found_classification() {
        let server = |message: &str| ModelError::Server {
            status: 404,
            message: message.into(),
        };
        let err = classify(
            server("model \"qwen2.5:7b\" not found, try pulling it first"),
            "qwen2.5:7b",
        );
        assert!(err.to_string().contains("ollama pull qwen2.5:7b"), "{err}");
        let err = classify(server("404 page not found"), "m");
        assert!(err.to_string().contains("base_url"), "{err}");
        let err = classify(
            ModelError::Server {
                status: 400,
                message: "registry.ollama.ai/library/gemma2:2b does not support tools".into(),
            },
            "gemma2:2b",
        );
        assert!(
            matches!(&err, ModelError::ToolsUnsupported { model } if model == "gemma2:2b"),
            "{err}"
        );
        let err = classify(
            ModelError::Server {
                status: 500,
                message: "model not found".into(),
            },
            "m",
        );
        assert!(matches!(err, ModelError::Server { status: 500, .. }));
    }

    /// Odd but valid lines parse: nulls, missing fields, unknown fields.
    #[test]
    fn lenient_chunks() {
        let chunk: Result<Chunk, _> = serde_json::from_str(
            r#"{"message":{"role":"assistant","content":null,"thinking":"hm"},"done":null,"extra":1}"#,
        );
        assert!(chunk.is_ok());
        let chunk: Result<Chunk, _> =
            serde_json::from_str(r#"{"message":{"tool_calls":[{"function":{"name":"x"}}]}}"#);
        let calls = chunk
            .ok()
            .and_then(|c| c.message)
            .and_then(|m| m.tool_calls);
        assert_eq!(calls.map(|c| c.len()), Some(1));
    }
}
