//! `schedule list [--principal P] [--json] | cancel ID`: the operator's view of everyone's
//! reminders and scheduled tasks.
//!
//! The command writes to the same database a running `serve` uses; a cancelled entry is never
//! delivered, because the gateway reads each entry again the moment it fires and records a
//! delivery only of an entry that is still active.

use std::process::ExitCode;

use clap::Subcommand;

use crate::Principal;
use crate::config::Config;
use crate::schedule::{Schedule, SystemClock};
use crate::store::Store;

/// `schedule` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ScheduleCommand {
    /// List active reminders and scheduled tasks, soonest first.
    List {
        /// Only this person's (`telegram:123`, `slack:T1:U2`).
        #[arg(long)]
        principal: Option<String>,
        /// Print `{"entries": [...]}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel the entry with this id.
    Cancel {
        /// The entry's id, as `schedule list` shows it.
        id: String,
    },
}

/// Runs one `schedule` subcommand and prints its result.
///
/// # Errors
/// Fails when the database cannot be opened, the principal is not written as one, or there is
/// no active entry with that id.
pub async fn run(config: &Config, command: &ScheduleCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.store.path)?;
    let schedule = Schedule::new(
        store,
        config.agent.time_zone,
        config.agent.max_scheduled,
        std::sync::Arc::new(SystemClock),
    );
    match command {
        ScheduleCommand::List { principal, json } => {
            let principal = match principal {
                Some(text) => Some(Principal::parse(text.trim()).ok_or_else(|| {
                    anyhow::anyhow!(
                        "`{text}` is not a principal; write it as telegram:<user id> or slack:<team>:<user>, as `pairing list` shows"
                    )
                })?),
                None => None,
            };
            let entries = schedule.list(principal.as_ref()).await?;
            if *json {
                let list: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| {
                        let mut v = e.json();
                        if let serde_json::Value::Object(o) = &mut v {
                            o.insert("principal".into(), e.entry.principal.as_str().into());
                        }
                        v
                    })
                    .collect();
                println!("{}", serde_json::json!({ "entries": list }));
            } else if entries.is_empty() {
                println!("No reminders or scheduled tasks are active.");
            } else {
                let now = schedule.now();
                for e in &entries {
                    println!(
                        "  {}  {}  {} ({})",
                        e.entry.id,
                        e.entry.principal,
                        e.line(now),
                        e.zone.name()
                    );
                }
                println!("Cancel one with: mcp-gateway schedule cancel ID");
            }
        }
        ScheduleCommand::Cancel { id } => {
            let cancelled = schedule.cancel(None, id).await.map_err(|e| match e {
                crate::schedule::ScheduleError::NotFound(id) => anyhow::anyhow!(
                    "there is no active scheduled entry with id `{id}`; see `mcp-gateway schedule list`"
                ),
                other => anyhow::Error::new(other),
            })?;
            println!(
                "Cancelled {} of {}: {}",
                cancelled.entry.id, cancelled.entry.principal, cancelled.entry.text
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
