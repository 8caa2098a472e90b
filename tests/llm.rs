//! Integration tests of the model clients, of whole agent turns and of the operator's model
//! checks and `status` against the strict fake Ollama (`tests/support/fake_ollama.rs`), over
//! real HTTP on loopback, and of the fake itself.

#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;
#[path = "support/mcp_peers.rs"]
mod mcp_peers;

#[path = "llm/fake.rs"]
mod fake;
#[path = "llm/ollama_chat.rs"]
mod ollama_chat;
#[path = "llm/ollama_faults.rs"]
mod ollama_faults;
#[path = "llm/ollama_info.rs"]
mod ollama_info;
#[path = "llm/openai.rs"]
mod openai;
#[path = "llm/operator.rs"]
mod operator;
#[path = "llm/serve.rs"]
mod serve;
#[path = "llm/status.rs"]
mod status;
#[path = "llm/turns.rs"]
mod turns;

use std::sync::Mutex;
use std::time::Duration;

use mcp_gateway::config::{ModelConfig, Provider};
use mcp_gateway::llm::{ChatModel, ChatOutcome, ChatRequest, Message, ModelError, ToolSpec};

/// A model configuration pointing at `base_url`, with a short idle timeout.
fn model_config(provider: Provider, base_url: &str) -> ModelConfig {
    ModelConfig {
        provider,
        base_url: url::Url::parse(base_url).expect("test URLs are valid"),
        name: "qwen2.5:7b".into(),
        num_ctx: 8192,
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(10),
        parallel: 1,
        queue_notice: Duration::from_secs(4),
        think: false,
        embed_name: None,
        api_key_file: None,
        keep_alive: None,
        temperature: None,
    }
}

/// A tool as the agent would offer it.
fn echo_tool() -> ToolSpec {
    ToolSpec {
        name: "everything_echo".into(),
        description: "Echoes back the input".into(),
        parameters: serde_json::json!({
            "type": "object",
            "properties": {"message": {"type": "string", "description": "Message to echo"}},
            "required": ["message"],
        })
        .into(),
    }
}

/// Sends one chat request and returns the outcome with every delta seen, in order.
async fn chat(
    model: &dyn ChatModel,
    messages: &[Message],
    tools: &[ToolSpec],
) -> (Result<ChatOutcome, ModelError>, Vec<String>) {
    let deltas = Mutex::new(Vec::new());
    let sink = |text: &str| deltas.lock().expect("not poisoned").push(text.to_owned());
    let request = ChatRequest { messages, tools };
    let outcome = model.chat(&request, &sink).await;
    (outcome, deltas.into_inner().expect("not poisoned"))
}
