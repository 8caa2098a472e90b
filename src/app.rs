//! Assembling the running gateway from its configuration: store, seal key, model, MCP pool,
//! metrics and agent, shared by `chat`, `serve` and `up`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;

use crate::agent::Agent;
use crate::channels::console;
use crate::config::Config;
use crate::llm::{self, ChatModel};
use crate::mcp::pool::McpPool;
use crate::store::Store;
use crate::store::seal::Sealer;
use crate::telemetry::metrics::Metrics;

/// The gateway's parts, built once per process.
#[derive(Clone)]
pub struct Gateway {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// The gateway's seal key.
    pub sealer: Sealer,
    /// The chat model.
    pub model: Arc<dyn ChatModel>,
    /// The MCP client pool.
    pub pool: McpPool,
    /// The agent every channel shares.
    pub agent: Agent,
    /// The metrics registry served at `/metrics`.
    pub registry: Arc<Registry>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config.file)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds the gateway. `create_key` lets a missing seal key be generated (`chat`, `up`).
    ///
    /// # Errors
    /// Fails with a message naming what to fix: the seal key, the database, the model client or
    /// the system prompt.
    pub fn build(config: Config, create_key: bool) -> anyhow::Result<Self> {
        let sealer = Sealer::load(&config.store.seal_key_file, create_key)
            .context("[store].seal_key_file")?;
        let store = Store::open(&config.store.path).context("[store].path")?;
        let model: Arc<dyn ChatModel> =
            Arc::from(llm::from_config(&config.model).context("[model]")?);
        let pool = McpPool::from_config(&config)?;
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        let agent = Agent::new(
            Arc::clone(&model),
            Arc::new(pool.clone()),
            store.clone(),
            config.agent.clone(),
            config.servers.clone(),
            metrics,
        )
        .context("[agent].system_prompt_file")?;
        Ok(Self {
            config: Arc::new(config),
            store,
            sealer,
            model,
            pool,
            agent,
            registry: Arc::new(registry),
        })
    }
}

/// `mcp-gateway chat`: the console conversation on stdin/stdout.
///
/// # Errors
/// Fails when the gateway cannot be built or stdin cannot be read.
pub async fn chat(config: Config) -> anyhow::Result<ExitCode> {
    let gateway = Gateway::build(config, true)?;
    let user = std::env::var("USER").ok();
    let principal = console::principal_from_env(user.as_deref());
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "Chatting with {} as {principal}. /help for commands, Ctrl-D to quit.",
            gateway.model.model_name()
        );
    }
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    console::run(
        &gateway.agent,
        &principal,
        stdin,
        Box::new(std::io::stdout()),
        interactive,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
