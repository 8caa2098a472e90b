//! The bytes of every model request in the project's scripted conversations: how much of each
//! prompt is tool schema, and how much a prefix cache cannot reuse.
//!
//! The conversations of `tests/fixtures/selection/eval.json` run as real agent turns (the
//! gateway's code) over the Notion and Calendar catalog fixtures, loaded with the rules of a
//! live listing, against a scripted model that calls each turn's tools in order (through
//! `find_tools` when one is not offered) and then answers. Each request is measured twice:
//!
//! - as sent: the bytes of the `/api/chat` body's `tools`, compact JSON;
//! - as the model sees it: the prompt rendered the way Ollama 0.12.11 renders it for qwen2.5
//!   (the fake's decoding of `tools` and its template, `tests/support/fake_ollama/`): its
//!   total, the part the tools take, its tokens, and the uncached part, what follows the
//!   longest common prefix with the previous request of the same conversation.
//!
//! Both selection modes are run: `"auto"` (per-turn selection) and `"all"` (every tool). With
//! `PROMPT_BYTES_RAW=1` the tools keep the input schemas their servers list, as offered before
//! the schema compiler, for a side-by-side figure. `PROMPT_BYTES_VERBOSE=1` prints every request.
//!
//! Run: `cargo bench --bench prompt_bytes` (the figures are byte counts, not timings).

#[path = "../tests/support/fake_ollama/decode.rs"]
#[allow(dead_code)]
mod decode;
#[path = "../tests/support/fake_ollama/prompt.rs"]
#[allow(dead_code)]
mod prompt;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::select;
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink};
use mcp_gateway::config::{Config, ToolSelection};
use mcp_gateway::llm::{
    ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError, Role, ToolCall, ToolSpec,
};
use mcp_gateway::mcp::{Catalog, ToolError, ToolHost, ToolOutput};
use mcp_gateway::ops::route;
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use prompt::{Msg, Template, Think};

/// The servers of the catalog fixtures, in configuration order.
const SERVERS: [&str; 2] = ["notion", "gcal"];
/// The file holding the scripted conversations.
const CONVERSATIONS_FILE: &str = "tests/fixtures/selection/eval.json";

#[derive(Debug, Deserialize)]
struct EvalSet {
    conversations: Vec<Conversation>,
}

#[derive(Debug, Deserialize)]
struct Conversation {
    name: String,
    turns: Vec<Turn>,
}

#[derive(Debug, Deserialize)]
struct Turn {
    user: String,
    calls: Vec<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config(selection: ToolSelection) -> Config {
    let mut text = String::new();
    for (i, name) in SERVERS.iter().enumerate() {
        text.push_str(&format!(
            "[[servers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/mcp\"\nauth = \"oauth\"\n",
            8000 + i
        ));
    }
    let mut config = Config::parse(&text, &root().join("bench.toml")).expect("the config is valid");
    config.agent.tool_selection = selection;
    config
}

/// The catalog of the fixtures as a live listing keeps it; with `raw`, each tool keeps the
/// input schema its server lists.
fn catalog(raw: bool) -> Catalog {
    let config = config(ToolSelection::Auto);
    let dir = root().join("tests/fixtures/catalog");
    let mut catalog = route::catalog_from_dir(&config.servers, &dir).expect("the fixtures load");
    if raw {
        for server in SERVERS {
            let text = std::fs::read_to_string(dir.join(format!("{server}.json")))
                .expect("the fixture reads");
            let listing: Value = serde_json::from_str(&text).expect("the fixture parses");
            for tool in listing["tools"].as_array().into_iter().flatten() {
                let name = format!("{server}_{}", tool["name"].as_str().unwrap_or(""));
                if let Some(entry) = catalog.tools.iter_mut().find(|t| t.qualified == name) {
                    entry.input_schema = Arc::new(tool["inputSchema"].clone());
                }
            }
        }
    }
    catalog
}

/// A tool host serving the fixture catalog; every call returns a fixed-size result.
struct FixtureTools {
    catalog: Catalog,
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
        let text = format!(
            "{{\"server\":\"{server}\",\"tool\":\"{tool}\",\"results\":[{}]}}",
            ["{\"id\":\"3f2a9c1b-8e7d-4f6a-9b0c-1d2e3f4a5b6c\",\"title\":\"An item\",\"when\":\"2026-05-01T10:00:00+02:00\"}"; 5].join(",")
        );
        Ok(ToolOutput {
            text,
            structured: None,
            is_error: false,
        })
    }
}

/// The figures of one model request.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    /// The `tools` of the body, compact JSON.
    sent_tools: usize,
    /// The rendered prompt.
    prompt: usize,
    /// The part of the prompt the tools take.
    prompt_tools: usize,
    /// The prompt's tokens (the fake's count).
    tokens: usize,
    /// What follows the longest common prefix with the previous request.
    uncached: usize,
}

/// A model that calls the current turn's scripted tools in order (searching with `find_tools`
/// first when one is not offered) and then answers; it measures every request it receives.
#[derive(Default)]
struct ScriptModel {
    state: Mutex<ScriptState>,
}

#[derive(Default)]
struct ScriptState {
    pending: VecDeque<String>,
    searched: bool,
    user_text: String,
    previous: String,
    requests: Vec<Figures>,
}

/// The request's messages as Ollama decodes them.
fn messages(request: &ChatRequest<'_>) -> Vec<Msg> {
    request
        .messages
        .iter()
        .map(|m| Msg {
            role: match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            }
            .to_owned(),
            content: m.content.clone(),
            thinking: String::new(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.arguments.as_object().cloned().unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn dummy_arguments(schema: &Value) -> Value {
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
        let tools: Vec<Value> = request.tools.iter().map(ToolSpec::to_wire).collect();
        let msgs = messages(request);
        let think = Think {
            set: false,
            on: false,
        };
        let rendered = prompt::render(Template::Qwen25, &msgs, &tools, think);
        let bare = prompt::render(Template::Qwen25, &msgs, &[], think);
        let figures = Figures {
            sent_tools: select::schema_bytes(request.tools),
            prompt: rendered.len(),
            prompt_tools: rendered.len().saturating_sub(bare.len()),
            tokens: prompt::count_tokens(&rendered),
            uncached: rendered.len() - common_prefix(&rendered, &s.previous),
        };
        s.requests.push(figures);
        s.previous = rendered;
        let Some(next) = s.pending.front().cloned() else {
            return Ok(ChatOutcome {
                content: "Done. Here is what I found and did, in short.".into(),
                ..ChatOutcome::default()
            });
        };
        let call = match request.tools.iter().find(|t| t.name == next) {
            Some(spec) => {
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
        Err(ModelError::Decode("no embeddings in this benchmark".into()))
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

struct YesSink;

#[async_trait]
impl TurnSink for YesSink {
    fn progress(&self, _: &str) {}
    async fn activity(&self, _: Activity) {}
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        true
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

/// Runs one conversation; returns the figures of each model request.
async fn run(
    conversation: &Conversation,
    catalog: &Catalog,
    selection: ToolSelection,
) -> Vec<Figures> {
    let config = config(selection);
    let model = Arc::new(ScriptModel::default());
    let tools = Arc::new(FixtureTools {
        catalog: catalog.clone(),
    });
    let agent = Agent::new(
        model.clone(),
        tools,
        Store::open_in_memory().expect("an in-memory store opens"),
        config.agent.clone(),
        config.servers.clone(),
        Metrics::unregistered(),
    )
    .expect("the agent builds");
    let principal = Principal::console("bench");
    for turn in &conversation.turns {
        {
            let mut s = model.state.lock();
            s.pending = turn.calls.iter().cloned().collect();
            s.searched = false;
            s.user_text = turn.user.clone();
        }
        agent
            .run_turn(
                TurnInput {
                    principal: &principal,
                    chat: &conversation.name,
                    text: &turn.user,
                },
                &YesSink,
                &CancellationToken::new(),
            )
            .await
            .expect("the turn runs");
    }
    model.state.lock().requests.clone()
}

fn mean(values: impl Iterator<Item = usize>) -> (usize, f64) {
    let (mut n, mut sum) = (0usize, 0usize);
    for v in values {
        n += 1;
        sum += v;
    }
    (sum, sum as f64 / n.max(1) as f64)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let raw = std::env::var_os("PROMPT_BYTES_RAW").is_some();
    let verbose = std::env::var_os("PROMPT_BYTES_VERBOSE").is_some();
    let set: EvalSet = serde_json::from_str(
        &std::fs::read_to_string(root().join(CONVERSATIONS_FILE))
            .unwrap_or_else(|e| panic!("{CONVERSATIONS_FILE} is not readable: {e}")),
    )
    .unwrap_or_else(|e| panic!("{CONVERSATIONS_FILE} does not parse: {e}"));
    let catalog = catalog(raw);
    let all: Vec<ToolSpec> = catalog.tools.iter().map(|t| t.spec()).collect();
    let wire: Vec<Value> = all.iter().map(ToolSpec::to_wire).collect();
    let route_json = json!({ "tools": wire }).to_string();
    println!(
        "schemas: {}",
        if raw {
            "as the servers list them (PROMPT_BYTES_RAW)"
        } else {
            "as offered (compiled for the model)"
        }
    );
    println!(
        "all {} tools: {} bytes as `route --json` prints them; {} bytes of the prompt as the model sees them",
        all.len(),
        route_json.len(),
        prompt::render(
            Template::Qwen25,
            &[],
            &wire,
            Think {
                set: false,
                on: false
            }
        )
        .len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    println!(
        "  {:<26} {:<5} {:>4} {:>10} {:>10} {:>10} {:>9} {:>10}",
        "conversation", "mode", "reqs", "sent tools", "prompt", "its tools", "tokens", "uncached"
    );
    for selection in [ToolSelection::Auto, ToolSelection::All] {
        let mode = format!("{selection:?}").to_lowercase();
        let mut every = Vec::new();
        for conversation in &set.conversations {
            let figures = runtime.block_on(run(conversation, &catalog, selection));
            if verbose {
                for (i, f) in figures.iter().enumerate() {
                    println!(
                        "    {} #{i}: sent tools {} B, prompt {} B ({} B tools, {} tokens), uncached {} B",
                        conversation.name,
                        f.sent_tools,
                        f.prompt,
                        f.prompt_tools,
                        f.tokens,
                        f.uncached
                    );
                }
            }
            let n = figures.len();
            println!(
                "  {:<26} {:<5} {:>4} {:>10.0} {:>10.0} {:>10.0} {:>9.0} {:>10}",
                conversation.name,
                mode,
                n,
                mean(figures.iter().map(|f| f.sent_tools)).1,
                mean(figures.iter().map(|f| f.prompt)).1,
                mean(figures.iter().map(|f| f.prompt_tools)).1,
                mean(figures.iter().map(|f| f.tokens)).1,
                mean(figures.iter().map(|f| f.uncached)).0,
            );
            every.extend(figures);
        }
        println!(
            "  {mode}: {} requests; per request: sent tools {:.0} B, prompt {:.0} B of which tools {:.0} B, {:.0} tokens; uncached {} B in all ({:.0} B per request)",
            every.len(),
            mean(every.iter().map(|f| f.sent_tools)).1,
            mean(every.iter().map(|f| f.prompt)).1,
            mean(every.iter().map(|f| f.prompt_tools)).1,
            mean(every.iter().map(|f| f.tokens)).1,
            mean(every.iter().map(|f| f.uncached)).0,
            mean(every.iter().map(|f| f.uncached)).1,
        );
    }
}
