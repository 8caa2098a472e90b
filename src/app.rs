//! Assembling the running gateway from its configuration: store, seal key, model, OAuth client,
//! MCP pool, metrics and agent, shared by `chat`, `serve` and `up`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use prometheus_client::registry::Registry;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::Principal;
use crate::agent::Agent;
use crate::channels::Configured;
use crate::channels::admin_line::AdminLine;
use crate::channels::commands::{Commands, ServerSummary, StatusScreen};
use crate::channels::console::{self, Console};
use crate::channels::engine::{ChannelOptions, Shared};
use crate::config::{Config, read_secret};
use crate::llm::{self, ChatModel};
use crate::mcp::accounts::AccountLinks;
use crate::mcp::oauth::OAuthClient;
use crate::mcp::pool::McpPool;
use crate::ops::alertmanager;
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
    /// The OAuth client through which people connect their accounts.
    pub oauth: OAuthClient,
    /// The agent every channel shares.
    pub agent: Agent,
    /// The metrics registry served at `/metrics`.
    pub registry: Arc<Registry>,
    /// The line to the admins of every channel.
    pub admin_line: AdminLine,
    /// The bearer token Alertmanager's webhook must carry, with `[alerting]`.
    alert_token: Option<SecretString>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config.origin)
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
        crate::store::seal::check_key_exposure(
            &config.store.seal_key_file,
            crate::store::seal::KeyReaders::of(&config.store),
        )
        .context("[store].seal_key_file")?;
        let store = Store::open(&config.store.path).context("[store].path")?;
        let alert_token = config
            .alerting
            .as_ref()
            .map(|a| read_secret(&a.webhook_token_file))
            .transpose()
            .context("[alerting].webhook_token_file")?;
        let model: Arc<dyn ChatModel> =
            Arc::from(llm::from_config(&config.model).context("[model]")?);
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        let oauth = OAuthClient::new(&config, store.clone(), sealer.clone(), metrics.clone())?;
        let admin_line = AdminLine::default();
        let line = admin_line.clone();
        oauth.tell_admins_with(move |text| line.tell(text));
        let pool = McpPool::from_config_with_oauth(&config, oauth.clone())?;
        let agent = Agent::new(
            Arc::clone(&model),
            Arc::new(pool.clone()),
            store.clone(),
            config.agent.clone(),
            config.servers.clone(),
            metrics,
        )
        .context("[agent].system_prompt_file")?
        .with_embed_model(config.model.embed_name.clone())
        .with_accounts(Arc::new(oauth.clone()));
        Ok(Self {
            config: Arc::new(config),
            store,
            sealer,
            model,
            pool,
            oauth,
            agent,
            registry: Arc::new(registry),
            admin_line,
            alert_token,
        })
    }
}

impl Gateway {
    /// The console conversation of `principal` on this terminal, answered by `agent` (the
    /// gateway's, or under `up` the one with the schedule behind its built-in tools).
    #[must_use]
    pub fn console(&self, agent: Agent, principal: Principal, interactive: bool) -> Console {
        let accounts: Arc<dyn AccountLinks> = Arc::new(self.oauth.clone());
        Console {
            agent,
            commands: Commands::new(
                self.store.clone(),
                ServerSummary::from_config(&self.config.servers),
                Some(accounts),
            )
            .with_help_note(console::HELP_NOTE)
            .with_status_screen(Some(self.status_screen())),
            principal,
            interactive,
        }
    }

    /// What `/status` shows admins (and the console): the operator's screen of this process.
    #[must_use]
    pub fn status_screen(&self) -> StatusScreen {
        let config = Arc::clone(&self.config);
        let store = self.store.clone();
        let live = self.agent.metrics().live.clone();
        Arc::new(move || {
            let (config, store, live) = (Arc::clone(&config), store.clone(), live.clone());
            Box::pin(async move { crate::ops::status::screen(&config, &store, &live).await })
        })
    }

    /// The gateway's HTTP surface: `/healthz`, `/readyz`, `/metrics`, `/oauth/callback`, and
    /// with `[alerting]` `POST /alertmanager`.
    pub fn router(&self) -> axum::Router {
        let router = crate::http::router(crate::http::HealthState {
            store: self.store.clone(),
            model: Arc::clone(&self.model),
            registry: Arc::clone(&self.registry),
        })
        .merge(crate::mcp::oauth::callback::router(self.oauth.clone()));
        match &self.alert_token {
            Some(token) => router.merge(alertmanager::router(alertmanager::AlertState::new(
                token.clone(),
                self.admin_line.clone(),
            ))),
            None => router,
        }
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
    gateway
        .console(gateway.agent.clone(), principal, interactive)
        .run(
            stdin,
            Box::new(std::io::stdout()),
            console::Inbox::default(),
        )
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// How long running turns and requests may take to finish after shutdown.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// How long the scheduler waits for the chat channels to start before it delivers anyway.
const SCHEDULER_START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `mcp-gateway serve`: the configured chat channels and the HTTP surface until `shutdown` is
/// cancelled (the command line cancels it on SIGTERM or Ctrl-C), then a bounded drain.
///
/// # Errors
/// Fails when the gateway cannot be built or its address cannot be bound. A chat channel that
/// stops with an error stops the process, which then exits with [`ExitCode::FAILURE`].
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let gateway = Gateway::build(config, false)?;
    let spawned = spawn_gateway(&gateway, &shutdown, false).await?;
    shutdown.cancelled().await;
    drain(spawned.tasks).await;
    Ok(exit_code(&spawned.failed))
}

/// [`ExitCode::FAILURE`] once a chat channel has stopped with an error.
fn exit_code(failed: &AtomicBool) -> ExitCode {
    if failed.load(Ordering::Acquire) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// What [`spawn_gateway`] started.
struct Spawned {
    /// The HTTP surface, the scheduler and the channels.
    tasks: tokio::task::JoinSet<()>,
    /// Set when a channel stopped with an error (which also cancels the shutdown token).
    failed: Arc<AtomicBool>,
    /// The agent the channels share, with each person's schedule behind its built-in tools.
    agent: Agent,
}

/// Starts the gateway's HTTP surface, the scheduler and every configured channel. With
/// `console`, the scheduler also waits for the console (channel [`console::CONSOLE_CHANNEL`])
/// to attach as an outlet before it delivers what fell due while the gateway was down.
async fn spawn_gateway(
    gateway: &Gateway,
    shutdown: &CancellationToken,
    console: bool,
) -> anyhow::Result<Spawned> {
    let config = &gateway.config;
    let listener = crate::http::bind(config.http.listen, "[http].listen").await?;
    let limits = config.http.limits;
    let app = gateway.router();
    let accounts: Arc<dyn AccountLinks> = Arc::new(gateway.oauth.clone());
    let mut tasks = tokio::task::JoinSet::new();
    let token = shutdown.clone();
    tracing::info!(listen = %config.http.listen, "gateway HTTP surface listening");
    tasks.spawn(async move {
        if let Err(e) = crate::http::serve(listener, app, token, limits).await {
            tracing::error!(error = %e, "the HTTP surface stopped");
        }
    });
    let channels = Configured::all(&config.channels);
    let names: Vec<&str> = channels.iter().map(Configured::name).collect();
    let servers: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    gateway.agent.metrics().initialise(&names, &servers);
    gateway.agent.metrics().live.know_channels(&names);
    if channels.is_empty() {
        tracing::warn!(
            "no chat channel is configured ([channels.telegram] or [channels.slack]); serving HTTP only"
        );
    }
    let schedule = crate::schedule::Schedule::new(
        gateway.store.clone(),
        config.agent.time_zone,
        config.agent.max_scheduled,
        Arc::new(crate::schedule::SystemClock),
    );
    let agent = gateway.agent.clone().with_schedule(schedule.clone());
    let scheduler = crate::schedule::Scheduler::new(
        schedule.clone(),
        config.agent.task_grace,
        agent.metrics().clone(),
    );
    let mut outlets: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    if console {
        outlets.push(console::CONSOLE_CHANNEL.to_owned());
    }
    let token = shutdown.clone();
    tasks.spawn(async move {
        // What fell due while the gateway was down is delivered once its channels are up.
        let names: Vec<&str> = outlets.iter().map(String::as_str).collect();
        tokio::select! {
            () = schedule.attached(&names) => {}
            () = tokio::time::sleep(SCHEDULER_START_WAIT) => {
                tracing::warn!("not every chat channel started in time; scheduled entries of the others are tried again later");
            }
            () = token.cancelled() => return,
        }
        scheduler.run(token).await;
    });
    let shared = Shared::new(
        agent.clone(),
        gateway.store.clone(),
        gateway.agent.metrics().clone(),
        &config.servers,
    )
    .with_admin_line(gateway.admin_line.clone())
    .with_status_screen(gateway.status_screen());
    if config.alerting.is_some() {
        let admins = config
            .channels
            .telegram
            .as_ref()
            .map_or(0, |t| t.admins.len())
            + config.channels.slack.as_ref().map_or(0, |s| s.admins.len());
        if admins == 0 {
            tracing::warn!(
                "[alerting] is on but no channel has admins: alerts reach nobody; set [channels.telegram].admins or [channels.slack].admins"
            );
        }
    }
    let failed = Arc::new(AtomicBool::new(false));
    for channel in channels {
        let name = channel.name();
        let options = ChannelOptions {
            accounts: Some(Arc::clone(&accounts)),
            ..ChannelOptions::default()
        };
        let run = channel.run(shared.clone(), options, shutdown.child_token());
        let stop = shutdown.clone();
        let failed = Arc::clone(&failed);
        tasks.spawn(async move {
            if let Err(e) = run.await {
                tracing::error!(channel = name, error = %e, "a chat channel stopped");
                failed.store(true, Ordering::Release);
                stop.cancel();
            }
        });
    }
    Ok(Spawned {
        tasks,
        failed,
        agent,
    })
}

/// `mcp-gateway up`: the gateway (its HTTP surface, the configured channels and a console chat
/// on this terminal) and both MCP servers in one process, until `shutdown` is cancelled (the
/// command line cancels it on SIGTERM or Ctrl-C) or the console reads `/quit`.
///
/// A server whose upstream credentials cannot be read is not started, with a warning naming the
/// setting; the rest runs. The console offers the built-in schedule tools and prints the
/// console person's reminders and tasks as they fall due; it answers connections finished in
/// the browser; at the end of its input it stops reading and the rest keeps running.
///
/// # Errors
/// Fails when the gateway cannot be built or an address cannot be bound.
pub async fn up(config: Config, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    use crate::servers::ServerKind;
    let gateway = Gateway::build(config, true)?;
    let config = Arc::clone(&gateway.config);
    gateway.agent.metrics().initialise(&["console"], &[]);
    let Spawned {
        mut tasks,
        failed,
        agent,
    } = spawn_gateway(&gateway, &shutdown, true).await?;
    for kind in [ServerKind::Notion, ServerKind::Gcal] {
        let auth =
            match crate::servers::run::authorization_server(kind, &config, gateway.store.clone()) {
                Ok(auth) => auth,
                Err(e) => {
                    tracing::warn!(server = %kind, error = %e, "not starting this MCP server");
                    eprintln!("warning: not starting {kind}: {e}");
                    continue;
                }
            };
        crate::servers::run::spawn_pruning(auth.clone(), shutdown.clone());
        let app = crate::servers::run::app(kind, &config, auth, shutdown.clone())?;
        let section = kind.config(&config);
        let limits = section.listener;
        let listener =
            crate::http::bind(section.listen, &format!("{}.listen", kind.section())).await?;
        tracing::info!(server = %kind, listen = %section.listen, "MCP server listening");
        let token = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = crate::http::serve(listener, app, token, limits).await {
                tracing::error!(server = %kind, error = %e, "the MCP server stopped");
            }
        });
    }
    let user = std::env::var("USER").ok();
    let principal = console::principal_from_env(user.as_deref());
    let (listener, notices) = console::ConsoleListener::new();
    gateway.oauth.listen("console", Arc::new(listener));
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "Chatting with {} as {principal}; the gateway listens on {}. /help for commands, Ctrl-C to quit.",
            gateway.model.model_name(),
            config.http.listen
        );
    }
    let (outlet, deliveries) = console::ConsoleOutlet::new();
    if let Some(schedule) = agent.schedule() {
        schedule.attach(console::CONSOLE_CHANNEL, Arc::new(outlet));
    }
    let console = gateway.console(agent, principal, interactive);
    let console_stop = shutdown.clone();
    tasks.spawn(async move {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let inbox = console::Inbox {
            notices: Some(notices),
            deliveries: Some(deliveries),
        };
        let run = console.run(stdin, Box::new(std::io::stdout()), inbox);
        tokio::select! {
            result = run => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "the console stopped");
                }
                // `/quit` ends the whole process.
                console_stop.cancel();
            }
            () = console_stop.cancelled() => {}
        }
    });
    shutdown.cancelled().await;
    drain(tasks).await;
    Ok(exit_code(&failed))
}

/// Waits for tasks to finish, up to [`DRAIN_TIMEOUT`].
async fn drain(mut tasks: tokio::task::JoinSet<()>) {
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, all).await.is_err() {
        tracing::warn!(
            "some work did not finish within {} s of shutdown",
            DRAIN_TIMEOUT.as_secs()
        );
    }
}
