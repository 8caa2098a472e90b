//! The command line: one subcommand per role, each taking `--config FILE`.
//!
//! `main.rs` parses [`Cli`] and calls [`main`], which sets up logging and a tokio runtime and
//! dispatches to the module that owns the subcommand. Errors end up here and are printed once, as
//! a short message that says what to do.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::http::shutdown_on_signal;
use crate::telemetry::LogFormat;

/// A self-hosted AI assistant: chat channels, a local model, and per-user MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-gateway", version, about)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The configuration file [default: $MCP_GATEWAY_CONFIG, else ./mcp-gateway.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How logs are written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chat with the assistant in this terminal (reads stdin, works piped).
    Chat,
    /// Run the configured chat channels and the gateway's HTTP surface until SIGTERM.
    Serve,
    /// Run the gateway, the console chat and both MCP servers in one process.
    Up,
    /// Run the Notion MCP server.
    NotionMcp(ServerArgs),
    /// Run the Google Calendar MCP server.
    GcalMcp(ServerArgs),
    /// Validate the configuration file and report every problem.
    CheckConfig,
    /// Check that the model server, the model and every MCP server answer.
    Doctor,
    /// One screen of how the appliance is doing: serve, its channels, the model, the MCP
    /// servers, people, connections, the schedule and the last hour.
    Status(StatusArgs),
    /// Show which tools the gateway would offer the model for a first message.
    Route(crate::ops::route::RouteArgs),
    /// List and approve chat senders waiting for access.
    #[command(subcommand)]
    Pairing(crate::ops::pairing::PairingCommand),
    /// List and revoke people's connected accounts.
    #[command(subcommand)]
    Connections(crate::ops::connections::ConnectionsCommand),
    /// List and cancel people's reminders and scheduled tasks.
    #[command(subcommand)]
    Schedule(crate::ops::schedule::ScheduleCommand),
    /// Write an online backup of the database (`backup --dir DIR`), or restore one
    /// (`backup restore FILE`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Backup(crate::ops::backup::BackupArgs),
}

/// Options of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print one JSON object instead of the text screen.
    #[arg(long)]
    pub json: bool,
}

/// Options of `notion-mcp` and `gcal-mcp`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Print the server's `tools/list` result as JSON and exit.
    #[arg(long)]
    pub list_tools: bool,
}

/// Runs the parsed command line and returns the process's exit code.
#[must_use]
pub fn main(cli: Cli) -> ExitCode {
    // The console chat shares the terminal with the person: only warnings go to stderr there.
    let quiet = matches!(cli.command, Command::Chat | Command::Route(_));
    crate::telemetry::init_logging(
        cli.global.log_format,
        if quiet { "warn,rmcp=off" } else { "info" },
    );
    // Before the runtime starts its threads: room for a burst of connections.
    let prepared = crate::process::prepare();
    tracing::debug!(open_files = ?prepared.open_files, fd_table = prepared.fd_table, "process prepared");
    // Several dependencies link rustls with different crypto back ends; pick one for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    };
    // The work has drained; a read of the console's input that is still waiting for a line
    // (a terminal, or a pipe left open) must not keep the process alive.
    runtime.shutdown_timeout(RUNTIME_STOP);
    code
}

/// How long blocking work may take to end once a command has finished.
const RUNTIME_STOP: std::time::Duration = std::time::Duration::from_secs(2);

/// The error with each of its causes, stating each once: a cause whose text the message so far
/// already holds (an error that prints its source, and then the source itself), or that only
/// restates the error it caused (an error code before the same words), is left out.
#[must_use]
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    let mut previous = text.clone();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) && !cause.contains(&previous) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        previous = cause;
    }
    text
}

/// Loads the configuration named on the command line; without one, and without
/// `./mcp-gateway.toml`, the embedded defaults (relative to the current folder, the model server
/// at `$OLLAMA_HOST` when set).
///
/// # Errors
/// Fails with every problem in the file.
pub fn load_config(global: &GlobalArgs) -> Result<Config, config::ConfigError> {
    let env = std::env::var(config::CONFIG_ENV).ok();
    let ollama_host = std::env::var(config::OLLAMA_HOST_ENV).ok();
    let source = config::resolve_source(global.config.as_deref(), env.as_deref());
    let config = Config::load_source(&source, ollama_host.as_deref())?;
    tracing::debug!(origin = %config.origin, "configuration loaded");
    Ok(config)
}

/// `notion-mcp` / `gcal-mcp`: print the tool list, or serve until SIGTERM or Ctrl-C.
async fn run_server(
    kind: crate::servers::ServerKind,
    global: &GlobalArgs,
    args: &ServerArgs,
) -> anyhow::Result<ExitCode> {
    if args.list_tools {
        println!("{}", crate::servers::run::tool_list_json(kind));
        return Ok(ExitCode::SUCCESS);
    }
    let config = load_config(global)?;
    crate::servers::run::run(kind, &config, shutdown_on_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    use crate::ops;
    match cli.command {
        Command::CheckConfig => Ok(ops::check_config::run(load_config(&cli.global))),
        Command::Backup(args) => ops::backup::run(&load_config(&cli.global)?, &args),
        Command::Chat => crate::app::chat(load_config(&cli.global)?).await,
        Command::Serve => crate::app::serve(load_config(&cli.global)?, shutdown_on_signal()).await,
        Command::Up => crate::app::up(load_config(&cli.global)?, shutdown_on_signal()).await,
        Command::Connections(command) => {
            ops::connections::run(&load_config(&cli.global)?, &command).await
        }
        Command::Doctor => Ok(ops::doctor::run(&load_config(&cli.global)?).await),
        Command::Status(args) => ops::status::run(&load_config(&cli.global)?, args.json).await,
        Command::Pairing(command) => ops::pairing::run(&load_config(&cli.global)?, &command).await,
        Command::Schedule(command) => {
            ops::schedule::run(&load_config(&cli.global)?, &command).await
        }
        Command::Route(args) => ops::route::run(&load_config(&cli.global)?, &args).await,
        Command::NotionMcp(args) => {
            run_server(crate::servers::ServerKind::Notion, &cli.global, &args).await
        }
        Command::GcalMcp(args) => {
            run_server(crate::servers::ServerKind::Gcal, &cli.global, &args).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A corrupt database's error names "malformed" once, though three errors in the chain each
    /// print it; a cause no message holds yet is still added.
    #[test]
    fn an_error_states_each_cause_once() {
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some("database disk image is malformed".into()),
        );
        let error =
            anyhow::Error::new(crate::store::StoreError::from(sqlite)).context("[store].path");
        let text = describe(&error);
        assert_eq!(text.matches("malformed").count(), 1, "{text}");
        assert!(text.starts_with("[store].path: database error:"), "{text}");

        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such thing");
        let text = describe(&anyhow::Error::new(io).context("reading x"));
        assert_eq!(text, "reading x: no such thing");
    }
}
