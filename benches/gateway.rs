//! Gateway overhead per turn, and memory, with an instant model and a real local MCP server.
//!
//! Each turn: the person asks to add two numbers; the model (in-process, instant) calls the
//! `bench_add` tool; the gateway runs it on a FastMCP server (`tests/peers/fastmcp_server.py`,
//! 100 tools, streamable HTTP on loopback) through the real MCP pool; the model answers. The
//! gateway's overhead is the turn's wall time minus the time spent inside the model and inside
//! the tool call (the HTTP round trip to the MCP server included), so it covers history loading
//! and storing (SQLite on disk, WAL), prompt assembly, argument validation, auditing and
//! streaming.
//!
//! Run: `cargo bench --bench gateway` (needs the peers installed under `tests/peers`).

#[path = "../tests/support/mcp_peers.rs"]
mod mcp_peers;
#[path = "support/measure.rs"]
mod measure;

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink};
use mcp_gateway::config::{Config, ToolSelection};
use mcp_gateway::llm::{
    ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError, Role, ToolCall,
};
use mcp_gateway::mcp::pool::McpPool;
use mcp_gateway::mcp::{Catalog, ToolError, ToolHost, ToolOutput};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use measure::{percentile, rss_mib};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

tokio::task_local! {
    /// Time spent inside the model and the tools during the current turn.
    static SPENT: Cell<Duration>;
}

fn charge(d: Duration) {
    let _ = SPENT.try_with(|s| s.set(s.get() + d));
}

/// A model that answers at once: a tool call to the first message, then a short answer.
struct InstantModel;

#[async_trait]
impl ChatModel for InstantModel {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        let started = Instant::now();
        let last = request.messages.last().map(|m| m.role);
        let outcome = if last == Some(Role::Tool) {
            for piece in ["The sum ", "is ", "5."] {
                on_delta(piece);
            }
            ChatOutcome {
                content: "The sum is 5.".into(),
                ..ChatOutcome::default()
            }
        } else {
            ChatOutcome {
                tool_calls: vec![ToolCall {
                    id: Some("call_1".into()),
                    name: "bench_add".into(),
                    arguments: json!({"a": 2, "b": 3}),
                }],
                ..ChatOutcome::default()
            }
        };
        charge(started.elapsed());
        Ok(outcome)
    }
    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(Vec::new())
    }
    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Ok(Vec::new())
    }
    fn model_name(&self) -> &str {
        "instant"
    }
    fn context_tokens(&self) -> u32 {
        16384
    }
}

/// The real pool, with the time spent inside each call charged to the turn.
struct TimedTools(McpPool);

#[async_trait]
impl ToolHost for TimedTools {
    async fn catalog(&self, principal: &Principal) -> Catalog {
        self.0.catalog(principal).await
    }
    async fn call(
        &self,
        principal: &Principal,
        server: &str,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        let started = Instant::now();
        let result = self.0.call(principal, server, tool, arguments).await;
        charge(started.elapsed());
        result
    }
}

struct NullSink;

#[async_trait]
impl TurnSink for NullSink {
    fn progress(&self, _: &str) {}
    async fn activity(&self, _: Activity) {}
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        true
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

/// One turn; returns (wall time, gateway overhead).
async fn turn(agent: &Agent, principal: &Principal) -> (Duration, Duration) {
    SPENT
        .scope(Cell::new(Duration::ZERO), async {
            let started = Instant::now();
            let input = TurnInput {
                principal,
                chat: "bench",
                text: "please add 2 and 3",
            };
            let outcome = agent
                .run_turn(input, &NullSink, &CancellationToken::new())
                .await
                .expect("turn");
            assert_eq!(
                outcome.tool_calls, 1,
                "the tool call must succeed: {}",
                outcome.reply
            );
            let wall = started.elapsed();
            (wall, wall.saturating_sub(SPENT.with(Cell::get)))
        })
        .await
}

fn report(label: &str, mut overheads: Vec<Duration>, mut walls: Vec<Duration>) {
    overheads.sort();
    walls.sort();
    println!(
        "{label:<28} turns {:>5}  overhead p50 {:>7.3} ms  p99 {:>7.3} ms   (wall p50 {:>7.3} ms)",
        overheads.len(),
        percentile(&overheads, 0.50).as_secs_f64() * 1e3,
        percentile(&overheads, 0.99).as_secs_f64() * 1e3,
        percentile(&walls, 0.50).as_secs_f64() * 1e3,
    );
}

fn main() {
    // As `mcp-gateway serve` does before its runtime starts.
    let _ = mcp_gateway::process::prepare();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    // 8 visible named tools + 92 generated ones = 100 tools in the catalog.
    let server = mcp_peers::FastMcpServer::start(mcp_peers::FastMcpOptions {
        extra_tools: 92,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[[servers]]\nname = \"bench\"\nurl = \"{}\"\n",
        server.url()
    );
    let mut config = Config::parse(&text, &dir.path().join("bench.toml")).expect("config");
    config.agent.tool_selection = ToolSelection::All;
    let store = Store::open(&dir.path().join("bench.db")).expect("store");
    let pool = McpPool::from_config(&config).expect("pool");
    let agent = Agent::new(
        Arc::new(InstantModel),
        Arc::new(TimedTools(pool.clone())),
        store,
        config.agent.clone(),
        config.servers.clone(),
        Metrics::unregistered(),
    )
    .expect("agent");
    let catalog = pool.catalog(&Principal::console("warmup")).await;
    assert!(
        catalog.tools.len() >= 100,
        "expected 100 tools, got {} ({:?})",
        catalog.tools.len(),
        catalog.unavailable
    );
    println!(
        "catalog: {} tools from one FastMCP server",
        catalog.tools.len()
    );
    // Warm up connections and code paths.
    for _ in 0..20 {
        turn(&agent, &Principal::console("warmup")).await;
    }
    let idle = rss_mib();

    let principal = Principal::console("solo");
    let mut overheads = Vec::new();
    let mut walls = Vec::new();
    for _ in 0..300 {
        let (wall, overhead) = turn(&agent, &principal).await;
        walls.push(wall);
        overheads.push(overhead);
    }
    report("1 principal", overheads, walls);

    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let agent = agent.clone();
            tokio::spawn(async move {
                let p = Principal::telegram(10_000 + i);
                let mut out = Vec::new();
                for _ in 0..15 {
                    out.push(turn(&agent, &p).await);
                }
                out
            })
        })
        .collect();
    let mut overheads = Vec::new();
    let mut walls = Vec::new();
    for t in tasks {
        for (wall, overhead) in t.await.expect("task") {
            walls.push(wall);
            overheads.push(overhead);
        }
    }
    report("64 concurrent principals", overheads, walls);

    // 1,000 turns across 1,000 principals, 32 at a time.
    let started = Instant::now();
    for chunk in 0..(1000 / 32 + 1) {
        let tasks: Vec<_> = (0..32)
            .map(|i| chunk * 32 + i)
            .filter(|n| *n < 1000)
            .map(|n| {
                let agent = agent.clone();
                tokio::spawn(async move { turn(&agent, &Principal::telegram(1_000_000 + n)).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    }
    let loaded = rss_mib();
    println!(
        "1,000 turns across 1,000 principals in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("RSS idle (gateway built, 100-tool catalog loaded): {idle:.1} MiB");
    println!("RSS after 1,000 turns across 1,000 principals:     {loaded:.1} MiB");
    println!("targets: overhead p50 <= 2 ms, p99 <= 10 ms; RSS <= 30 MiB idle, <= 64 MiB loaded");
}
