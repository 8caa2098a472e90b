//! An in-process agent for channel tests: a scripted [`ChatModel`] that streams its replies
//! through `on_delta` (with optional pauses) and can call tools, and a [`ToolHost`] with one
//! ordinary and one destructive tool. No network model is involved.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::Agent;
use mcp_gateway::config::{AgentConfig, ToolSelection};
use mcp_gateway::llm::{
    ChatModel, ChatOutcome, ChatRequest, DeltaSink, Message, ModelError, Role, ToolCall,
};
use mcp_gateway::mcp::{Catalog, CatalogTool, ToolError, ToolHints, ToolHost, ToolOutput};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

/// One scripted model reply.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// Text fragments streamed one by one.
    pub chunks: Vec<String>,
    /// The pause before each fragment.
    pub pause: Duration,
    /// Tools to call after the text.
    pub tool_calls: Vec<ToolCall>,
}

impl Reply {
    /// A reply streamed as `chunks`, pausing `pause` before each.
    pub fn streamed(chunks: &[&str], pause: Duration) -> Self {
        Self {
            chunks: chunks.iter().map(|c| (*c).to_owned()).collect(),
            pause,
            tool_calls: Vec::new(),
        }
    }

    /// A reply that is one piece of text.
    pub fn text(text: &str) -> Self {
        Self::streamed(&[text], Duration::ZERO)
    }

    /// A reply that calls `name` with `arguments`.
    pub fn call(name: &str, arguments: Value) -> Self {
        Self {
            tool_calls: vec![ToolCall {
                id: Some("call_1".into()),
                name: name.into(),
                arguments,
            }],
            ..Self::default()
        }
    }
}

/// A model that plays scripted replies in order, then echoes: `echo(N): <last message>`, where N
/// counts the person's messages in the conversation it was given.
#[derive(Default)]
pub struct ScriptedModel {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Vec<Message>>>,
    calls: AtomicUsize,
}

impl ScriptedModel {
    /// A model with these replies first.
    pub fn new(script: Vec<Reply>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into()),
            ..Self::default()
        })
    }

    /// Adds a reply to the script.
    pub fn push(&self, reply: Reply) {
        self.script.lock().push_back(reply);
    }

    /// How many chat requests were made.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The conversations the model was given, in order.
    pub fn requests(&self) -> Vec<Vec<Message>> {
        self.requests.lock().clone()
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().push(request.messages.to_vec());
        let reply = self.script.lock().pop_front().unwrap_or_else(|| {
            let users: Vec<&Message> = request
                .messages
                .iter()
                .filter(|m| m.role == Role::User)
                .collect();
            let last = users.last().map(|m| m.content.clone()).unwrap_or_default();
            Reply::text(&format!("echo({}): {last}", users.len()))
        });
        let mut content = String::new();
        for chunk in &reply.chunks {
            if !reply.pause.is_zero() {
                tokio::time::sleep(reply.pause).await;
            }
            content.push_str(chunk);
            on_delta(chunk);
        }
        Ok(ChatOutcome {
            content,
            tool_calls: reply.tool_calls,
            done_reason: Some("stop".into()),
            ..ChatOutcome::default()
        })
    }

    async fn embed(&self, _model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(inputs.iter().map(|_| vec![0.0]).collect())
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Ok(vec!["scripted".into()])
    }

    fn model_name(&self) -> &str {
        "scripted"
    }

    fn context_tokens(&self) -> u32 {
        16_384
    }
}

/// One recorded tool call: (principal, tool, arguments).
pub type ToolCallRecord = (Principal, String, Map<String, Value>);

/// A tool host with `files_read` (ordinary) and `files_delete` (destructive). Like the real
/// pool, it lists its tools once and hands out copies of that list.
pub struct FakeTools {
    calls: Mutex<Vec<ToolCallRecord>>,
    tools: Vec<CatalogTool>,
}

impl FakeTools {
    /// A new host.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::default(),
            tools: vec![
                tool("read", "Read a file", false),
                tool("delete", "Delete a file", true),
            ],
        })
    }

    /// The calls made: (principal, tool, arguments).
    pub fn calls(&self) -> Vec<ToolCallRecord> {
        self.calls.lock().clone()
    }
}

fn tool(name: &str, description: &str, destructive: bool) -> CatalogTool {
    CatalogTool {
        server: "files".into(),
        tool: name.into(),
        qualified: format!("files_{name}"),
        title: Some(description.into()),
        description: description.into(),
        input_schema: json!({ "type": "object", "properties": { "path": { "type": "string" } }, "required": ["path"] }).into(),
        hints: ToolHints {
            read_only: !destructive,
            destructive,
            idempotent: false,
        },
    }
}

#[async_trait]
impl ToolHost for FakeTools {
    async fn catalog(&self, _principal: &Principal) -> Catalog {
        Catalog {
            tools: self.tools.clone(),
            ..Catalog::default()
        }
    }

    async fn call(
        &self,
        principal: &Principal,
        _server: &str,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        self.calls
            .lock()
            .push((principal.clone(), tool.to_owned(), arguments));
        Ok(ToolOutput {
            text: format!("{tool}: done"),
            structured: None,
            is_error: false,
        })
    }
}

/// The agent configuration the channel tests use.
pub fn agent_config() -> AgentConfig {
    AgentConfig {
        system_prompt_file: None,
        max_tool_rounds: 4,
        tool_selection: ToolSelection::All,
        max_offered_tools: 12,
        turn_timeout: Duration::from_secs(120),
        tool_timeout: Duration::from_secs(10),
        max_tool_result_chars: 4000,
        history_share: 0.5,
        time_zone: chrono_tz::Tz::UTC,
        task_grace: Duration::from_secs(3600),
        max_scheduled: 50,
    }
}

/// An agent over `model`, `tools` and `store`.
pub fn agent(
    model: Arc<dyn ChatModel>,
    tools: Arc<dyn ToolHost>,
    store: Store,
    metrics: Metrics,
) -> Agent {
    Agent::new(model, tools, store, agent_config(), Vec::new(), metrics).expect("build the agent")
}
