//! Turn latency when several people talk at once to a model server that answers one request at
//! a time, as Ollama does by default.
//!
//! The fake Ollama (`tests/support/fake_ollama.rs`, strict: one slot, nothing sent before the
//! first output, qwen3 thinking unless told not to) serves `qwen3:8b`, taking a fixed
//! [`REQUEST_TIME`] per request (prompt evaluation) plus [`THINKING_TIME`] when the model is
//! allowed to think. Each burst, three people send a message at the same instant; each turn is
//! one tool round (a search on an in-process tool) and an answer: two model requests. The
//! gateway runs with the shipped defaults except the request timeout, scaled down like the
//! rest: `request_timeout_secs = 2`; a second series lets the model think (`think = true`), so
//! every request takes the longer time.
//!
//! Reported: per turn, from the message to the outcome, p50/p95/max over all bursts; turns that
//! failed (and why); how many people were told their place in line; the most requests that
//! waited at the server without a byte of answer.
//!
//! Run with `cargo bench --bench model_queue`.

#[path = "../tests/support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use measure::percentile;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink};
use mcp_gateway::config::Config;
use mcp_gateway::llm::ChatModel;
use mcp_gateway::llm::ollama::OllamaClient;
use mcp_gateway::mcp::{Catalog, CatalogTool, ToolError, ToolHints, ToolHost, ToolOutput};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use fake_ollama::{FakeOllama, Reply};

/// The server's time for one request before its first output.
const REQUEST_TIME: Duration = Duration::from_millis(300);
/// The time qwen3 thinks when the request lets it.
const THINKING_TIME: Duration = Duration::from_millis(500);
/// People writing at the same instant.
const PEOPLE: usize = 3;
/// Bursts measured.
const BURSTS: usize = 12;

/// The person's side of a turn: counts the notices of a place in line.
#[derive(Default)]
struct Sink {
    told: Mutex<usize>,
}

#[async_trait]
impl TurnSink for Sink {
    fn progress(&self, _: &str) {}
    async fn activity(&self, activity: Activity) {
        if matches!(activity, Activity::Queued { .. }) {
            *self.told.lock() += 1;
        }
    }
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        true
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

/// One search tool that answers at once.
struct Search;

#[async_trait]
impl ToolHost for Search {
    async fn catalog(&self, _: &Principal) -> Catalog {
        Catalog {
            tools: vec![CatalogTool {
                server: "notion".into(),
                tool: "search".into(),
                qualified: "notion_search".into(),
                title: Some("Search pages".into()),
                description: "Search the person's Notion pages".into(),
                input_schema: json!({"type": "object",
                    "properties": {"query": {"type": "string"}}, "required": ["query"]})
                .into(),
                hints: ToolHints {
                    read_only: true,
                    destructive: false,
                    idempotent: true,
                },
            }],
            ..Catalog::default()
        }
    }

    async fn call(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput {
            text: "Lisbon trip, 3 pages".into(),
            structured: None,
            is_error: false,
        })
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    println!(
        "{PEOPLE} people at once x {BURSTS} bursts, one slot, {} ms per request (+{} ms thinking when allowed), 2 model requests per turn",
        REQUEST_TIME.as_millis(),
        THINKING_TIME.as_millis()
    );
    series("shipped defaults (think = false)", "").await;
    series("think = true", "think = true\n").await;
}

/// Runs every burst against a fresh fake and agent configured with the defaults plus `extra`
/// (lines of `[model]`), and prints the figures under `label`.
async fn series(label: &str, extra: &str) {
    let fake = FakeOllama::start(|request: &Value| {
        let last = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["role"].as_str())
            .unwrap_or_default()
            .to_owned();
        if last == "tool" {
            Reply::text("You have three pages about Lisbon.")
        } else {
            Reply::tool_call("notion_search", json!({"query": "Lisbon"}))
        }
    })
    .await;
    fake.set_models(vec!["qwen3:8b".into()]);
    fake.set_request_time(REQUEST_TIME);
    fake.set_thinking_time(THINKING_TIME);
    fake.set_recording(false);

    let dir = tempfile::tempdir().expect("temporary folder");
    let text = format!(
        "[model]\nbase_url = \"{}\"\nname = \"qwen3:8b\"\nrequest_timeout_secs = 2\n{extra}",
        fake.url()
    );
    let config = Config::parse(&text, &dir.path().join("bench.toml")).expect("configuration");
    let model: Arc<dyn ChatModel> = Arc::new(OllamaClient::new(&config.model).expect("client"));
    let store = Store::open(&dir.path().join("bench.db")).expect("store");
    let agent = Agent::new(
        model,
        Arc::new(Search),
        store,
        config.agent.clone(),
        config.servers.clone(),
        Metrics::unregistered(),
    )
    .expect("agent");

    let mut latencies = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut told = 0;
    for burst in 0..BURSTS {
        let turns: Vec<_> = (0..PEOPLE)
            .map(|person| {
                let agent = agent.clone();
                tokio::spawn(async move {
                    let principal = Principal::console(&format!("p{burst}-{person}"));
                    let sink = Sink::default();
                    let input = TurnInput {
                        principal: &principal,
                        chat: "bench",
                        text: "Which of my pages are about Lisbon?",
                    };
                    let started = Instant::now();
                    let result = agent
                        .run_turn(input, &sink, &CancellationToken::new())
                        .await;
                    let told = *sink.told.lock();
                    (started.elapsed(), result.map(|o| o.reply), told)
                })
            })
            .collect();
        for turn in turns {
            let (latency, result, notices) = turn.await.expect("turn task");
            told += notices;
            match result {
                Ok(reply) if reply.contains("three pages") => latencies.push(latency),
                Ok(reply) => failures.push(format!("answered without the tool: {reply:?}")),
                Err(e) => failures.push(e.user_message()),
            }
        }
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("{label}:");
    if latencies.is_empty() {
        println!("  turn latency: no turn was answered");
    } else {
        println!(
            "  turn latency: p50 {:>6.0} ms  p95 {:>6.0} ms  max {:>6.0} ms  ({} answered)",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.95)),
            ms(latencies[latencies.len() - 1]),
            latencies.len()
        );
    }
    println!("  failed turns: {} of {}", failures.len(), PEOPLE * BURSTS);
    let mut reasons = failures.clone();
    reasons.sort();
    reasons.dedup();
    for reason in reasons {
        let n = failures.iter().filter(|f| **f == reason).count();
        println!("    {n} x {reason}");
    }
    println!("  people told their place in line: {told}");
    println!(
        "  most requests waiting at the server without an answer: {}",
        fake.most_waiting()
    );
}
