//! `connections list [--principal P] | revoke PRINCIPAL SERVER`: the operator's view of the
//! accounts people connected, and a way to remove one on both sides.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use prometheus_client::registry::Registry;

use crate::Principal;
use crate::config::{Config, ServerAuth};
use crate::mcp::oauth::{ConnectionStatus, OAuthClient};
use crate::store::Store;
use crate::store::seal::Sealer;
use crate::telemetry::metrics::Metrics;

/// `connections` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ConnectionsCommand {
    /// List connected accounts.
    List {
        /// Only this principal's connections.
        #[arg(long)]
        principal: Option<String>,
    },
    /// Disconnect PRINCIPAL from SERVER on both sides.
    Revoke {
        /// The principal (`telegram:123`).
        principal: String,
        /// The configured server's name.
        server: String,
    },
}

fn parse_principal(text: &str) -> anyhow::Result<Principal> {
    Principal::parse(text).with_context(|| {
        format!(
            "`{text}` is not a principal; write it as telegram:<id>, slack:<team>:<user> or console:<name>"
        )
    })
}

fn when(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Runs one `connections` subcommand and prints its result.
///
/// # Errors
/// Fails when the seal key or the database cannot be opened, the principal is malformed, or the
/// server is not configured with `auth = "oauth"`.
pub async fn run(config: &Config, command: &ConnectionsCommand) -> anyhow::Result<ExitCode> {
    let sealer =
        Sealer::load(&config.store.seal_key_file, false).context("[store].seal_key_file")?;
    let store = Store::open(&config.store.path).context("[store].path")?;
    let mut registry = Registry::default();
    let oauth = OAuthClient::new(config, store, sealer, Metrics::new(&mut registry))?;
    match command {
        ConnectionsCommand::List { principal } => {
            let principal = principal.as_deref().map(parse_principal).transpose()?;
            let list = oauth.connections(principal.as_ref()).await?;
            if list.is_empty() {
                println!("No connected accounts.");
                return Ok(ExitCode::SUCCESS);
            }
            println!("PRINCIPAL\tSERVER\tSTATUS\tCONNECTED AS\tCONNECTED\tTOKEN EXPIRES");
            for c in list {
                let status = match c.status {
                    ConnectionStatus::Ok => "connected",
                    ConnectionStatus::Broken => "broken (must reconnect)",
                };
                println!(
                    "{}\t{}\t{status}\t{}\t{}\t{}",
                    c.principal,
                    c.server,
                    c.account.as_deref().unwrap_or("-"),
                    when(c.connected_at),
                    c.expires_at.map_or_else(|| "-".to_owned(), when)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionsCommand::Revoke { principal, server } => {
            let principal = parse_principal(principal)?;
            let configured = config.server(server).with_context(|| {
                format!("no server named `{server}` is configured in [[servers]]")
            })?;
            if configured.auth != ServerAuth::OAuth {
                anyhow::bail!(
                    "the server `{server}` is not configured with auth = \"oauth\"; it has no per-person connections"
                );
            }
            let done = oauth.disconnect(&principal, server).await?;
            if !done.was_connected {
                println!("{principal} has no connection to {server}.");
                return Ok(ExitCode::SUCCESS);
            }
            match done.unconfirmed {
                None => {
                    println!("Revoked {principal}'s connection to {server}, on both sides.");
                    Ok(ExitCode::SUCCESS)
                }
                Some(why) => {
                    println!("Removed {principal}'s connection to {server} here.");
                    eprintln!("The server could not confirm the revocation: {why}.");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
