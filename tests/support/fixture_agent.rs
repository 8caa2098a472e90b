//! An agent over the Notion and Calendar catalog fixtures (`tests/fixtures/catalog/`), shared by
//! the selection tests and the selection and prompt benchmarks: a configuration naming some of
//! the fixture servers, the tool host that serves the fixture catalog, a sink that accepts every
//! confirmation, and a scripted model that calls each turn's tools in order (searching with
//! `find_tools` first when one is not offered) and records every request it receives, with a
//! runner for the scripted conversations of `tests/fixtures/selection/eval.json`.

#![allow(dead_code)] // each binary uses a different part

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::select;
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink};
use mcp_gateway::config::{Config, ToolSelection};
use mcp_gateway::llm::{
    ChatModel, ChatOutcome, ChatRequest, DeltaSink, Message, ModelError, ToolCall, ToolSpec,
};
use mcp_gateway::mcp::{Catalog, ToolError, ToolHost, ToolOutput};
use mcp_gateway::ops::route;
use mcp_gateway::schedule::{Schedule, SystemClock};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// The servers of the catalog fixtures, in configuration order.
pub const SERVERS: [&str; 2] = ["notion", "gcal"];

/// The reply the scripted model gives once a turn's tools are called.
pub const ANSWER: &str = "Done. Here is what I found and did, in short.";

/// The project's root folder.
#[must_use]
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder of the catalog fixtures (`notion.json`, `gcal.json`).
#[must_use]
pub fn catalog_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog");
    assert!(
        dir.join("notion.json").is_file() && dir.join("gcal.json").is_file(),
        "the catalog fixtures are missing under {}",
        dir.display()
    );
    dir
}

/// A configuration with `servers` (of [`SERVERS`]) and the selection mode `selection`.
#[must_use]
pub fn config(servers: &[&str], selection: ToolSelection) -> Config {
    let mut text = String::new();
    for (i, name) in servers.iter().enumerate() {
        text.push_str(&format!(
            "[[servers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/mcp\"\nauth = \"oauth\"\n",
            8000 + i
        ));
    }
    let mut config = Config::parse(&text, &root().join("fixture-agent.toml"))
        .expect("the fixture configuration is valid");
    config.agent.tool_selection = selection;
    config
}

/// The fixture catalog of `config`'s servers, as a live listing keeps it.
#[must_use]
pub fn catalog(config: &Config) -> Catalog {
    route::catalog_from_dir(&config.servers, &catalog_dir()).expect("the catalog fixtures load")
}

/// What every fixture tool call returns: five items of about a hundred bytes each.
#[must_use]
pub fn result_text(server: &str, tool: &str) -> String {
    format!(
        "{{\"server\":\"{server}\",\"tool\":\"{tool}\",\"results\":[{}]}}",
        ["{\"id\":\"3f2a9c1b-8e7d-4f6a-9b0c-1d2e3f4a5b6c\",\"title\":\"An item\",\"when\":\"2026-05-01T10:00:00+02:00\"}"; 5].join(",")
    )
}

/// Serves the fixture catalog, answers every call with [`result_text`] and records the calls.
pub struct FixtureTools {
    /// The catalog it serves.
    pub catalog: Catalog,
    /// The qualified names of the tools called, in order.
    pub calls: Mutex<Vec<String>>,
}

impl FixtureTools {
    /// A host serving `catalog`.
    #[must_use]
    pub fn new(catalog: Catalog) -> Arc<Self> {
        Arc::new(Self {
            catalog,
            calls: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl ToolHost for FixtureTools {
    async fn catalog(&self, _: &Principal) -> Catalog {
        self.catalog.clone()
    }
    async fn call(
        &self,
        _: &Principal,
        server: &str,
        tool: &str,
        _: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        self.calls.lock().push(format!("{server}_{tool}"));
        Ok(ToolOutput {
            text: result_text(server, tool),
            structured: None,
            is_error: false,
        })
    }
}

/// Accepts every confirmation.
pub struct Sink;

#[async_trait]
impl TurnSink for Sink {
    fn progress(&self, _: &str) {}
    async fn activity(&self, _: Activity) {}
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        true
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

/// One scripted conversation of the evaluation file.
#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    /// Its name, also the chat it runs in.
    pub name: String,
    /// Its turns, in order.
    pub turns: Vec<Turn>,
}

/// One turn: what the person writes and the tools the model calls for it, in order.
#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    /// The message.
    pub user: String,
    /// The qualified names of the tools called.
    pub calls: Vec<String>,
}

/// The server all of a conversation's calls go to, when there is one.
#[must_use]
pub fn single_server(conversation: &Conversation) -> Option<&'static str> {
    let mut servers = conversation
        .turns
        .iter()
        .flat_map(|t| t.calls.iter())
        .filter_map(|call| SERVERS.iter().find(|s| call.starts_with(&format!("{s}_"))));
    let first = *servers.next()?;
    servers.all(|s| *s == first).then_some(first)
}

/// One model request as the scripted model received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The tools offered, in order.
    pub tools: Vec<ToolSpec>,
    /// The messages, system prompt first.
    pub messages: Vec<Message>,
}

/// What a scripted conversation did.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Every model request, in order.
    pub requests: Vec<Request>,
    /// Scripted calls whose tool was offered when the model needed it.
    pub offered_at_need: usize,
    /// Scripted calls whose tool `find_tools` found.
    pub found_by_search: usize,
    /// Scripted calls whose tool was never offered.
    pub missed: usize,
}

#[derive(Default)]
struct ScriptState {
    pending: VecDeque<String>,
    searched: bool,
    user_text: String,
    script: Script,
}

/// A model that calls the current turn's scripted tools in order (searching with `find_tools`
/// first when one is not offered, then calling it anyway) and then answers with [`ANSWER`].
#[derive(Default)]
pub struct ScriptModel {
    state: Mutex<ScriptState>,
}

impl ScriptModel {
    /// Starts a turn in which the person writes `user` and the model calls `calls`.
    pub fn start_turn(&self, user: &str, calls: &[String]) {
        let mut s = self.state.lock();
        s.pending = calls.iter().cloned().collect();
        s.searched = false;
        s.user_text = user.to_owned();
    }

    /// What the model has done so far.
    #[must_use]
    pub fn script(&self) -> Script {
        self.state.lock().script.clone()
    }
}

/// Arguments that satisfy `schema`'s required parameters.
#[must_use]
pub fn dummy_arguments(schema: &Value) -> Value {
    let mut args = Map::new();
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        let prop = &schema["properties"][name];
        let value = if let Some(first) = prop["enum"].as_array().and_then(|e| e.first()) {
            first.clone()
        } else {
            match prop["type"].as_str() {
                Some("integer" | "number") => json!(1),
                Some("boolean") => json!(true),
                Some("object") => json!({}),
                Some("array") => json!([]),
                _ => json!("3f2a9c1b8e7d4f6a9b0c1d2e3f4a5b6c"),
            }
        };
        args.insert(name.to_owned(), value);
    }
    Value::Object(args)
}

#[async_trait]
impl ChatModel for ScriptModel {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        _: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        let mut s = self.state.lock();
        s.script.requests.push(Request {
            tools: request.tools.to_vec(),
            messages: request.messages.to_vec(),
        });
        let Some(next) = s.pending.front().cloned() else {
            return Ok(ChatOutcome {
                content: ANSWER.into(),
                ..ChatOutcome::default()
            });
        };
        let call = match request.tools.iter().find(|t| t.name == next) {
            Some(spec) => {
                if s.searched {
                    s.script.found_by_search += 1;
                } else {
                    s.script.offered_at_need += 1;
                }
                s.pending.pop_front();
                s.searched = false;
                ToolCall {
                    id: None,
                    name: next,
                    arguments: dummy_arguments(&spec.parameters),
                }
            }
            None if !s.searched && request.tools.iter().any(|t| t.name == select::FIND_TOOLS) => {
                s.searched = true;
                ToolCall {
                    id: None,
                    name: select::FIND_TOOLS.into(),
                    arguments: json!({"query": s.user_text}),
                }
            }
            None => {
                s.script.missed += 1;
                s.pending.pop_front();
                s.searched = false;
                ToolCall {
                    id: None,
                    name: next,
                    arguments: json!({}),
                }
            }
        };
        Ok(ChatOutcome {
            tool_calls: vec![call],
            ..ChatOutcome::default()
        })
    }
    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Err(ModelError::Decode(
            "the scripted model has no embeddings".into(),
        ))
    }
    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Ok(vec!["script".into()])
    }
    fn model_name(&self) -> &str {
        "script"
    }
    fn context_tokens(&self) -> u32 {
        32_768
    }
}

/// Runs `conversation` as real agent turns under `config` over `catalog`, the model scripted.
pub async fn run_conversation(
    conversation: &Conversation,
    config: &Config,
    catalog: &Catalog,
) -> Script {
    run_conversation_with(conversation, config, catalog, false).await
}

/// The same, with the built-in `assistant_*` tools in the catalog as `serve` offers them when
/// `schedule` is set (over an in-memory schedule).
pub async fn run_conversation_with(
    conversation: &Conversation,
    config: &Config,
    catalog: &Catalog,
    schedule: bool,
) -> Script {
    let model = Arc::new(ScriptModel::default());
    let store = Store::open_in_memory().expect("an in-memory store opens");
    let mut agent = Agent::new(
        model.clone(),
        FixtureTools::new(catalog.clone()),
        store.clone(),
        config.agent.clone(),
        config.servers.clone(),
        Metrics::unregistered(),
    )
    .expect("the agent builds");
    if schedule {
        agent = agent.with_schedule(Schedule::new(
            store,
            config.agent.time_zone,
            config.agent.max_scheduled,
            Arc::new(SystemClock),
        ));
    }
    let principal = Principal::console("script");
    for turn in &conversation.turns {
        model.start_turn(&turn.user, &turn.calls);
        agent
            .run_turn(
                TurnInput {
                    principal: &principal,
                    chat: &conversation.name,
                    text: &turn.user,
                },
                &Sink,
                &CancellationToken::new(),
            )
            .await
            .expect("the turn runs");
    }
    model.script()
}

/// The length of the longest common prefix of `a` and `b`, in bytes.
#[must_use]
pub fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}
