//! `pairing list | approve CODE | revoke PRINCIPAL`: the operator's side of the `pairing` policy.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::Principal;
use crate::channels::pairing::Pairing;
use crate::config::Config;
use crate::store::{Store, now_unix};

/// `pairing` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PairingCommand {
    /// List senders waiting for approval.
    List,
    /// Approve the sender who was given CODE.
    Approve {
        /// The code the sender was shown.
        code: String,
    },
    /// Remove an approved sender (`telegram:123`, `slack:T1:U2`).
    Revoke {
        /// The principal to remove.
        principal: String,
    },
}

/// Runs one `pairing` subcommand and prints its result.
///
/// # Errors
/// Fails when the database cannot be opened, the code is unknown or expired, or the principal
/// is not written as `telegram:<id>` / `slack:<team>:<user>`.
pub async fn run(config: &Config, command: &PairingCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.store.path)?;
    let pairing = Pairing::new(store);
    match command {
        PairingCommand::List => {
            let pending = pairing.pending().await?;
            if pending.is_empty() {
                println!("No senders are waiting for approval.");
            } else {
                println!("Waiting for approval:");
                let now = now_unix();
                for p in &pending {
                    let minutes = (p.expires_at - now).max(0) / 60;
                    println!(
                        "  {}  {}  {}  (expires in {minutes} min)",
                        p.code, p.principal, p.display
                    );
                }
                println!("Approve one with: mcp-gateway pairing approve CODE");
            }
            let approved = pairing.approved().await?;
            if !approved.is_empty() {
                println!("Approved:");
                for a in &approved {
                    println!(
                        "  {}  {}  (since {})",
                        a.principal,
                        a.display,
                        when(a.approved_at)
                    );
                }
            }
        }
        PairingCommand::Approve { code } => {
            let approved = pairing.approve(code).await?;
            println!(
                "Approved {} ({}). They can talk to the assistant now.",
                approved.principal, approved.display
            );
        }
        PairingCommand::Revoke { principal } => {
            let Some(p) = Principal::parse(principal.trim()) else {
                anyhow::bail!(
                    "`{principal}` is not a principal; write it as telegram:<user id> or slack:<team>:<user>, as `pairing list` shows"
                );
            };
            if pairing.revoke(&p).await? {
                println!("Revoked {p}. Their next message gets a new pairing code.");
            } else {
                anyhow::bail!("{p} was neither approved nor waiting; `pairing list` shows who is");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn when(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}
