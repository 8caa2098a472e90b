//! A configuration over the fake model and the catalog fixtures, and helpers to run turns and
//! `route`; the tool host and the sink are the shared ones of `tests/support/fixture_agent.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcp_gateway::Principal;
use mcp_gateway::agent::{Agent, TurnInput, TurnOutcome};
use mcp_gateway::config::Config;
use mcp_gateway::mcp::Catalog;
use mcp_gateway::ops::route;
use mcp_gateway::schedule::{Schedule, SystemClock};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::fake_ollama::FakeOllama;
pub use crate::fixture_agent::{FixtureTools, Sink, catalog_dir};

/// A temporary folder with a configuration naming both servers and the fake model.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
    pub config: Config,
}

impl Setup {
    /// `[model]` points at `ollama`; `extra_model` and `agent` are added to their sections.
    pub fn new(ollama: &FakeOllama, extra_model: &str, agent: &str) -> Self {
        Self::with_servers(ollama, extra_model, agent, &["notion", "gcal"])
    }

    /// The same with only `servers` (of the fixtures) configured.
    pub fn with_servers(
        ollama: &FakeOllama,
        extra_model: &str,
        agent: &str,
        servers: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("mcp-gateway.toml");
        let mut text = format!(
            "[model]\nbase_url = \"{}\"\n{extra_model}\n[agent]\n{agent}\n",
            ollama.url()
        );
        for name in servers {
            text.push_str(&format!(
                "[[servers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/mcp\"\nauth = \"oauth\"\n"
            ));
        }
        std::fs::write(&file, text).expect("write config");
        let config = Config::load(&file).expect("the test config is valid");
        Self { dir, file, config }
    }

    /// The fixture catalog, filtered by this configuration.
    pub fn catalog(&self) -> Catalog {
        route::catalog_from_dir(&self.config.servers, &catalog_dir()).expect("fixtures load")
    }

    /// An agent over the fake model and the fixture catalog, as `serve` builds it: with each
    /// person's schedule behind the built-in `assistant_*` tools.
    pub fn agent(&self, tools: Arc<FixtureTools>) -> Agent {
        let model = Arc::from(mcp_gateway::llm::from_config(&self.config.model).expect("client"));
        let store = Store::open(&self.dir.path().join("data/test.db")).expect("store");
        let schedule = Schedule::new(
            store.clone(),
            self.config.agent.time_zone,
            self.config.agent.max_scheduled,
            Arc::new(SystemClock),
        );
        Agent::new(
            model,
            tools,
            store,
            self.config.agent.clone(),
            self.config.servers.clone(),
            Metrics::unregistered(),
        )
        .expect("agent")
        .with_embed_model(self.config.model.embed_name.clone())
        .with_schedule(schedule)
    }

    /// Runs `mcp-gateway route --config <file> --catalog <fixtures> [args...]`; returns stdout.
    pub async fn route(&self, args: &[&str]) -> String {
        self.route_with(&catalog_dir(), args).await
    }

    /// Runs `mcp-gateway route --config <file> --catalog <dir> [args...]`; returns stdout.
    pub async fn route_with(&self, dir: &Path, args: &[&str]) -> String {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .arg("route")
            .arg("--config")
            .arg(&self.file)
            .arg("--catalog")
            .arg(dir)
            .args(args)
            .env_remove("MCP_GATEWAY_CONFIG")
            .kill_on_drop(true)
            .output()
            .await
            .expect("run mcp-gateway route");
        assert!(
            out.status.success(),
            "route failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// The tools `route --json` prints for `message`, in wire shape.
    pub async fn route_json(&self, message: &str) -> Vec<Value> {
        let text = self.route(&["--json", message]).await;
        let value: Value = serde_json::from_str(text.trim()).expect("route --json prints JSON");
        value["tools"].as_array().cloned().expect("a tools array")
    }
}

/// Runs one turn of `console:tester` in chat `c`.
pub async fn turn(agent: &Agent, text: &str) -> TurnOutcome {
    let principal = Principal::console("tester");
    agent
        .run_turn(
            TurnInput {
                principal: &principal,
                chat: "c",
                text,
            },
            &Sink,
            &CancellationToken::new(),
        )
        .await
        .expect("the turn runs")
}

/// The tool names of a chat request body.
pub fn names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
