//! Every schema change, in order, for every component.
//!
//! The database's `user_version` counts the migrations applied. Each component owns its tables
//! (named with its prefix): `chat_*`/`audit_*` for the gateway core, `as_*` for the MCP servers'
//! authorization server, `oauth_*` for the gateway's OAuth client, `channel_*` for chat channels, `schedule_*` for
//! proactive messages.
//! Migrations are append-only: a shipped entry is never edited.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// One schema step.
struct Migration {
    /// What it adds, for errors.
    name: &'static str,
    /// The statements, run in one transaction.
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "core: chat history and tool audit",
        sql: include_str!("migrations/0001_core.sql"),
    },
    Migration {
        name: "channels: pairing codes and approved senders",
        sql: include_str!("migrations/0002_channels.sql"),
    },
    Migration {
        name: "tool selection: cached tool embeddings",
        sql: include_str!("migrations/0003_tool_vectors.sql"),
    },
    Migration {
        name: "authorization server: clients, pending authorizations, codes, tokens, upstream accounts",
        sql: include_str!("migrations/0004_authorization_server.sql"),
    },
    Migration {
        name: "OAuth client: registrations, connections, authorizations under way",
        sql: include_str!("migrations/0005_oauth_client.sql"),
    },
    Migration {
        name: "authorization server: when each client last obtained a token",
        sql: include_str!("migrations/0006_client_use.sql"),
    },
    Migration {
        name: "authorization server: refresh token age and refused refresh tokens",
        sql: include_str!("migrations/0007_upstream_accounts.sql"),
    },
    Migration {
        name: "OAuth client: the account each connection is connected as",
        sql: include_str!("migrations/0008_connection_account.sql"),
    },
    Migration {
        name: "schedule: reminders and scheduled tasks, each person's time zone",
        sql: include_str!("migrations/0009_schedule.sql"),
    },
    Migration {
        name: "authorization server: why an upstream account's authorization ended",
        sql: include_str!("migrations/0010_upstream_end.sql"),
    },
    Migration {
        name: "OAuth client: why a connection broke",
        sql: include_str!("migrations/0011_connection_end.sql"),
    },
];

/// The schema version this program writes.
#[must_use]
pub fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the database up to [`latest_version`], one transaction per migration.
pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            supported: latest,
        });
    }
    for (index, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i64::try_from(index).unwrap_or(i64::MAX) {
            continue;
        }
        tx.execute_batch(migration.sql)
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("migration {} ({}) failed: {e}", index + 1, migration.name),
            })?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_twice_without_change() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, Path::new(":memory:")).unwrap();
        apply(&mut conn, Path::new(":memory:")).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest_version());
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        let err = apply(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }
}
