//! The audit log of tool calls: who called which tool, with what outcome, never the arguments.

use rusqlite::params;
use sha2::{Digest, Sha256};

use super::{Store, StoreError, now_unix};
use crate::Principal;

/// One tool call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who asked.
    pub principal: Principal,
    /// The configured server.
    pub server: String,
    /// The tool's name on that server.
    pub tool: String,
    /// SHA-256 of the canonical JSON arguments, hex.
    pub args_sha256: String,
    /// `ok`, `error`, `timeout`, `denied`, `invalid` or `unavailable`.
    pub outcome: String,
    /// How long the call took, in milliseconds.
    pub latency_ms: u64,
}

/// The hex SHA-256 digest of a tool call's arguments, as recorded instead of the arguments.
#[must_use]
pub fn args_digest(args: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(args.to_string().as_bytes()))
}

impl Store {
    /// Records one tool call.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn record_tool_call(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO audit_tool_calls (at, principal, server, tool, args_sha256, outcome, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                now_unix(),
                entry.principal.as_str(),
                entry.server,
                entry.tool,
                entry.args_sha256,
                entry.outcome,
                i64::try_from(entry.latency_ms).unwrap_or(i64::MAX)
            ])?;
            Ok(())
        })
        .await
    }

    /// The most recent tool calls of `principal`, newest first.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn recent_tool_calls(
        &self,
        principal: &Principal,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let p = principal.clone();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT server, tool, args_sha256, outcome, latency_ms FROM audit_tool_calls
                 WHERE principal = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![p.as_str(), limit], |r| {
                Ok(AuditEntry {
                    principal: p.clone(),
                    server: r.get(0)?,
                    tool: r.get(1)?,
                    args_sha256: r.get(2)?,
                    outcome: r.get(3)?,
                    latency_ms: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
