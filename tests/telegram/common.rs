//! Starting the channel against the fake Bot API.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway::channels::engine::{ChannelOptions, Shared};
use mcp_gateway::channels::stream::StreamConfig;
use mcp_gateway::channels::telegram::{TelegramError, run};
use mcp_gateway::config::{Policy, ServerConfig, TelegramConfig};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

use crate::fake_telegram::FakeTelegram;
use crate::scripted_agent::{FakeTools, ScriptedModel, agent};

/// The bot token the fake accepts.
pub const TOKEN: &str = "123456:TEST-token_abc";

/// A generous wait for things that take milliseconds.
pub const WAIT: Duration = Duration::from_secs(10);

/// The channel running against a fake, with its parts reachable.
pub struct Harness {
    pub fake: FakeTelegram,
    pub store: Store,
    pub model: Arc<ScriptedModel>,
    pub tools: Arc<FakeTools>,
    pub metrics: Metrics,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), TelegramError>>>,
    _dir: tempfile::TempDir,
}

/// Streaming fast enough for tests: an edit at most every 200 ms, typing every 400 ms.
pub fn fast_stream() -> StreamConfig {
    StreamConfig {
        settle: Duration::ZERO,
        edit_interval: Duration::from_millis(200),
        typing_interval: Duration::from_millis(400),
        backoff: Duration::from_millis(50),
        ..StreamConfig::default()
    }
}

impl Harness {
    /// Starts the channel with `policy`, `allow_from` and the model `model`.
    pub async fn start(policy: Policy, allow_from: Vec<i64>, model: Arc<ScriptedModel>) -> Self {
        Self::start_with(
            policy,
            allow_from,
            model,
            ChannelOptions {
                stream: fast_stream(),
                poll_timeout: Duration::from_secs(1),
                ..ChannelOptions::default()
            },
        )
        .await
    }

    /// As [`Harness::start`], with explicit options.
    pub async fn start_with(
        policy: Policy,
        allow_from: Vec<i64>,
        model: Arc<ScriptedModel>,
        options: ChannelOptions,
    ) -> Self {
        Self::build(policy, allow_from, 1000, model, options, Vec::new()).await
    }

    /// As [`Harness::start_with`], with `servers` configured (for `/connect`).
    pub async fn start_with_servers(
        policy: Policy,
        model: Arc<ScriptedModel>,
        options: ChannelOptions,
        servers: Vec<ServerConfig>,
    ) -> Self {
        Self::build(policy, Vec::new(), 1000, model, options, servers).await
    }

    /// As [`Harness::start_with`], allowing `per_minute` messages per sender.
    pub async fn start_limited(
        policy: Policy,
        per_minute: u32,
        model: Arc<ScriptedModel>,
        options: ChannelOptions,
    ) -> Self {
        Self::build(policy, Vec::new(), per_minute, model, options, Vec::new()).await
    }

    async fn build(
        policy: Policy,
        allow_from: Vec<i64>,
        per_minute: u32,
        model: Arc<ScriptedModel>,
        options: ChannelOptions,
        servers: Vec<ServerConfig>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let token_file = dir.path().join("telegram-token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write the token");
        let fake = FakeTelegram::start(TOKEN).await;
        let config = TelegramConfig {
            token_file,
            api_url: fake.url().parse().expect("fake URL"),
            policy,
            allow_from,
            admins: Vec::new(),
            rate_limit_per_minute: per_minute,
        };
        let store = Store::open(&dir.path().join("gateway.db")).expect("open the store");
        let metrics = Metrics::unregistered();
        let tools = FakeTools::new();
        let agent = agent(model.clone(), tools.clone(), store.clone(), metrics.clone());
        let shutdown = CancellationToken::new();
        let shared = Shared::new(agent, store.clone(), metrics.clone(), &servers);
        let task = tokio::spawn(run(config, shared, options, shutdown.clone()));
        let harness = Self {
            fake,
            store,
            model,
            tools,
            metrics,
            shutdown,
            task: Some(task),
            _dir: dir,
        };
        // The channel is polling once it has asked for updates.
        harness
            .fake
            .wait_for("the first GetUpdates", WAIT, |calls| {
                calls.iter().any(|c| c.method == "getupdates")
            })
            .await;
        harness
    }

    /// Stops the channel and checks that it ended cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(WAIT, task)
                .await
                .expect("the channel stops")
                .expect("the channel task");
            result.expect("the channel ends without error");
        }
    }
}
