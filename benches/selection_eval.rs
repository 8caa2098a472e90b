//! Evaluation of per-turn tool selection on `tests/fixtures/selection/eval.json` over the Notion
//! and Calendar catalogs in `tests/fixtures/catalog/`.
//!
//! Reports, for the single messages: recall (an expected first tool is among those offered; for
//! small talk and services the catalog does not have, that no catalog tool is offered) on the
//! tuning split, the held-out split and all of them, and the mean offered schema bytes as a share
//! of offering every tool. For the scripted conversations, it runs real agent turns (the same
//! code as the gateway) against a scripted model that calls the scripted tools (through
//! `find_tools` when they are not offered), renders each model request as Ollama does (tools
//! before messages), and counts the bytes after the longest common prefix with the previous
//! request of the conversation: what a prefix cache cannot reuse. Both `"auto"` and `"all"`.
//!
//! Run: `cargo bench --bench selection_eval` (set `SELECT_EVAL_VERBOSE=1` to list every miss).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::select::{self, ToolSelector};
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink};
use mcp_gateway::config::{Config, ToolSelection};
use mcp_gateway::llm::{
    ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError, Role, ToolCall, ToolSpec,
};
use mcp_gateway::mcp::{Catalog, CatalogTool, ToolError, ToolHost, ToolOutput};
use mcp_gateway::ops::route;
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Deserialize)]
struct EvalSet {
    messages: Vec<EvalMessage>,
    conversations: Vec<Conversation>,
}

#[derive(Debug, Deserialize)]
struct EvalMessage {
    text: String,
    server: Option<String>,
    tools: Vec<String>,
    #[serde(default)]
    context: Vec<String>,
    split: String,
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
    let text = "[[servers]]\nname = \"notion\"\nurl = \"http://127.0.0.1:8000/mcp\"\nauth = \"oauth\"\n\
                [[servers]]\nname = \"gcal\"\nurl = \"http://127.0.0.1:8001/mcp\"\nauth = \"oauth\"\n";
    let mut config =
        Config::parse(text, &root().join("eval.toml")).expect("the evaluation config is valid");
    config.agent.tool_selection = selection;
    config
}

#[derive(Default)]
struct Tally {
    hits: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
    fn pct(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.hits as f64 / self.total as f64
    }
    fn show(&self) -> String {
        format!("{:5.1} % ({}/{})", self.pct(), self.hits, self.total)
    }
}

async fn evaluate_messages(set: &EvalSet, catalog: &Catalog, verbose: bool) {
    let config = config(ToolSelection::Auto);
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let all_specs: Vec<ToolSpec> = catalog.tools.iter().map(CatalogTool::spec).collect();
    let all_bytes = select::schema_bytes(&all_specs) as f64;
    let (mut tune, mut held, mut every) = (Tally::default(), Tally::default(), Tally::default());
    let (mut tools_recall, mut none_right) = (Tally::default(), Tally::default());
    let mut share_sum = 0.0;
    let mut offered_sum = 0usize;
    for (i, m) in set.messages.iter().enumerate() {
        let key = format!("m{i}");
        for earlier in &m.context {
            selector.select(&key, catalog, earlier).await;
        }
        let selection = selector.select(&key, catalog, &m.text).await;
        let names = selection.names();
        let hit = match m.server {
            None => names.is_empty(),
            Some(_) => m.tools.iter().any(|t| names.contains(&t.as_str())),
        };
        if m.server.is_some() {
            tools_recall.add(hit);
        } else {
            none_right.add(hit);
        }
        every.add(hit);
        if m.split == "held" {
            held.add(hit);
        } else {
            tune.add(hit);
        }
        let bytes = select::schema_bytes(&selection.specs(catalog)) as f64;
        share_sum += bytes / all_bytes;
        offered_sum += names.len();
        if verbose && !hit {
            println!(
                "  miss [{}] {:?} expected {:?}, offered {:?}",
                m.split, m.text, m.tools, names
            );
        }
    }
    let n = set.messages.len() as f64;
    println!("messages: {}", set.messages.len());
    println!("  recall, tuning split    {}", tune.show());
    println!("  recall, held-out split  {}", held.show());
    println!(
        "  recall, all             {}  (target >= 95 %)",
        every.show()
    );
    println!("    of which tool messages       {}", tools_recall.show());
    println!("    of which no-tool messages    {}", none_right.show());
    println!(
        "  mean offered schema bytes: {:.1} % of all ({:.0} of {:.0} bytes; {:.1} tools on average)  (target <= 20 %)",
        100.0 * share_sum / n,
        share_sum / n * all_bytes,
        all_bytes,
        offered_sum as f64 / n
    );
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

/// A model that calls the current turn's scripted tools in order (searching with `find_tools`
/// first when one is not offered) and then answers; it renders every request it receives.
#[derive(Default)]
struct ScriptModel {
    state: Mutex<ScriptState>,
}

#[derive(Default)]
struct ScriptState {
    pending: VecDeque<String>,
    searched: bool,
    user_text: String,
    rendered: Vec<String>,
    offered_at_need: usize,
    found_by_search: usize,
    missed: usize,
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

/// The request as Ollama lays it out: the tool list first, then the messages.
fn render(request: &ChatRequest<'_>) -> String {
    let mut out = String::new();
    for tool in request.tools {
        out.push_str(&tool.to_wire().to_string());
        out.push('\n');
    }
    for m in request.messages {
        let role = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        out.push_str(&format!("<|{role}|>\n{}\n", m.content));
        for call in &m.tool_calls {
            out.push_str(&json!({"name": call.name, "arguments": call.arguments}).to_string());
            out.push('\n');
        }
    }
    out
}

#[async_trait]
impl ChatModel for ScriptModel {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        _: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        let mut s = self.state.lock();
        s.rendered.push(render(request));
        let Some(next) = s.pending.front().cloned() else {
            return Ok(ChatOutcome {
                content: "Done. Here is what I found and did, in short.".into(),
                ..ChatOutcome::default()
            });
        };
        let offered = request.tools.iter().find(|t| t.name == next);
        let call = match offered {
            Some(spec) => {
                if s.searched {
                    s.found_by_search += 1;
                } else {
                    s.offered_at_need += 1;
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
                s.missed += 1;
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
            "no embeddings in this evaluation".into(),
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

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// Runs one conversation; returns (uncached bytes per request, model state).
async fn run_conversation(
    conversation: &Conversation,
    catalog: &Catalog,
    selection: ToolSelection,
) -> (Vec<usize>, usize, usize, usize) {
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
    let principal = Principal::console("eval");
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
    let s = model.state.lock();
    let mut uncached = Vec::new();
    let mut previous = String::new();
    let verbose = std::env::var_os("SELECT_EVAL_VERBOSE").is_some();
    for request in &s.rendered {
        uncached.push(request.len() - common_prefix(request, &previous));
        if verbose {
            let tools: Vec<&str> = request
                .lines()
                .take_while(|l| l.starts_with('{'))
                .filter_map(|l| l.split("\"name\":\"").nth(1))
                .filter_map(|l| l.split('"').next())
                .collect();
            println!(
                "    {selection:?} {} bytes, {} uncached, tools {tools:?}",
                request.len(),
                uncached.last().copied().unwrap_or(0)
            );
        }
        previous.clone_from(request);
    }
    (uncached, s.offered_at_need, s.found_by_search, s.missed)
}

async fn evaluate_conversations(set: &EvalSet, catalog: &Catalog) {
    println!("conversations: {}", set.conversations.len());
    println!(
        "  {:<26} {:>5} {:>9} {:>9} {:>7} {:>12} {:>12}",
        "", "reqs", "auto B", "all B", "share", "auto B/req", "all B/req"
    );
    let (mut auto_total, mut all_total) = (0usize, 0usize);
    let (mut direct, mut searched, mut missed) = (0usize, 0usize, 0usize);
    for conversation in &set.conversations {
        let (auto, d, f, m) = run_conversation(conversation, catalog, ToolSelection::Auto).await;
        let (all, ..) = run_conversation(conversation, catalog, ToolSelection::All).await;
        direct += d;
        searched += f;
        missed += m;
        let a: usize = auto.iter().sum();
        let b: usize = all.iter().sum();
        auto_total += a;
        all_total += b;
        println!(
            "  {:<26} {:>5} {:>9} {:>9} {:>6.1}% {:>12.0} {:>12.0}",
            conversation.name,
            auto.len(),
            a,
            b,
            100.0 * a as f64 / b.max(1) as f64,
            a as f64 / auto.len().max(1) as f64,
            b as f64 / all.len().max(1) as f64,
        );
    }
    println!(
        "  total uncached prompt bytes: auto {auto_total}, all {all_total}: {:.1} % of all  (target <= 50 %)",
        100.0 * auto_total as f64 / all_total.max(1) as f64
    );
    let calls = direct + searched + missed;
    println!(
        "  scripted tool calls: {calls}; offered when needed {direct}, found with find_tools {searched}, never offered {missed}"
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let verbose = std::env::var_os("SELECT_EVAL_VERBOSE").is_some();
    let set: EvalSet = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/selection/eval.json"))
            .expect("tests/fixtures/selection/eval.json is readable"),
    )
    .expect("the evaluation set parses");
    let config = config(ToolSelection::Auto);
    let catalog = route::catalog_from_dir(&config.servers, &root().join("tests/fixtures/catalog"))
        .expect("the catalog fixtures load");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    println!(
        "catalog: {} tools ({} bytes of schemas); max_offered_tools = {}",
        catalog.tools.len(),
        select::schema_bytes(
            &catalog
                .tools
                .iter()
                .map(CatalogTool::spec)
                .collect::<Vec<_>>()
        ),
        config.agent.max_offered_tools
    );
    runtime.block_on(async {
        evaluate_messages(&set, &catalog, verbose).await;
        evaluate_conversations(&set, &catalog).await;
    });
}
