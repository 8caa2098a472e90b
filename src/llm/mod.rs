//! The chat model boundary: one trait in front of Ollama's native API and OpenAI-compatible servers.
//!
//! The agent speaks only [`ChatModel`]. [`ollama`] implements it over `/api/chat` (streaming NDJSON,
//! `tools`, `tool_calls`, `options.num_ctx` always sent) and [`openai`] over
//! `/v1/chat/completions` (server-sent events) for vLLM or llama.cpp users.

mod lines;
pub mod ollama;
pub mod openai;
mod reply;
pub(crate) mod slots;
mod sse;
mod transport;
mod types;
mod wire;

pub use slots::Slots;
pub use types::{
    ChatOutcome, ChatRequest, Cut, Message, ModelError, Role, ToolCall, ToolSpec, Usage,
};

use async_trait::async_trait;

use crate::config::{ModelConfig, Provider};

/// Receives the text of a reply as it streams, one fragment at a time.
pub type DeltaSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A chat model that can stream a reply and call tools.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Sends one chat request and streams the reply's text into `on_delta` as it arrives.
    ///
    /// Returns the whole reply (text and tool calls) once the model is done.
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError>;

    /// Embeds each input text with the configured embedding model, in order.
    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;

    /// Lists the models the server has, by name (`qwen2.5:7b`).
    async fn list_models(&self) -> Result<Vec<String>, ModelError>;

    /// The configured model's name, as sent in requests.
    fn model_name(&self) -> &str;

    /// The context window in tokens that every request asks for.
    fn context_tokens(&self) -> u32;

    /// The model server's request slots, when the gateway must queue for them: a request waits
    /// for a slot there before it is sent, so the server never queues the gateway's requests
    /// out of sight. `None` for models that need no queue.
    fn slots(&self) -> Option<&Slots> {
        None
    }
}

/// Builds the client that the configuration asks for.
///
/// # Errors
/// Fails when the HTTP client cannot be built (for example, no TLS roots).
pub fn from_config(config: &ModelConfig) -> Result<Box<dyn ChatModel>, ModelError> {
    Ok(match config.provider {
        Provider::Ollama => Box::new(ollama::OllamaClient::new(config)?),
        Provider::OpenAi => Box::new(openai::OpenAiClient::new(config)?),
    })
}
