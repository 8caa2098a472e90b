//! The senders the operator has approved under the `pairing` policy, as this process last read
//! them, so that a message from an approved sender is let in without a trip to the database.
//!
//! Approvals are given and taken back by another process (`mcp-gateway pairing approve` and
//! `revoke`), so the list is read again whenever it is older than [`REFRESH`] and a message
//! needs it: a revocation takes effect within that time. A sender missing from the list is
//! looked up in the database before being refused, so an approval takes effect with the
//! sender's next message. One read of the list serves every message waiting for it.

use std::collections::HashSet;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::access::{AccessError, Pairing};
use crate::Principal;

/// How old the list may be before it is read again.
pub const REFRESH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Snapshot {
    senders: HashSet<Principal>,
    /// When the list was read; `None` before the first read.
    read_at: Option<Instant>,
}

/// The approved senders; see the module documentation.
#[derive(Debug)]
pub struct ApprovedSenders {
    pairing: Pairing,
    snapshot: Mutex<Snapshot>,
    /// Held while the list is read, so that the messages waiting for it share one read.
    reading: tokio::sync::Mutex<()>,
}

impl ApprovedSenders {
    /// The approvals kept by `pairing`'s database.
    #[must_use]
    pub fn new(pairing: Pairing) -> Self {
        Self {
            pairing,
            snapshot: Mutex::new(Snapshot::default()),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether `principal` is approved.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn contains(&self, principal: &Principal) -> Result<bool, AccessError> {
        let known = match self.listed(principal) {
            Some(listed) => listed,
            None => {
                let _reading = self.reading.lock().await;
                // Another message may have read the list while this one waited.
                match self.listed(principal) {
                    Some(listed) => listed,
                    None => match self.read_list().await {
                        Ok(()) => self.listed(principal).unwrap_or(false),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not read the approved senders; checking one at a time");
                            false
                        }
                    },
                }
            }
        };
        if known {
            return Ok(true);
        }
        let approved = self.pairing.is_approved(principal).await?;
        if approved {
            self.snapshot.lock().senders.insert(principal.clone());
        }
        Ok(approved)
    }

    /// Whether the list holds `principal`, or `None` when the list is too old to say.
    fn listed(&self, principal: &Principal) -> Option<bool> {
        let snapshot = self.snapshot.lock();
        let read_at = snapshot.read_at?;
        (read_at.elapsed() < REFRESH).then(|| snapshot.senders.contains(principal))
    }

    async fn read_list(&self) -> Result<(), AccessError> {
        let senders: HashSet<Principal> = self
            .pairing
            .approved()
            .await?
            .into_iter()
            .map(|s| s.principal)
            .collect();
        *self.snapshot.lock() = Snapshot {
            senders,
            read_at: Some(Instant::now()),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn approve(pairing: &Pairing, principal: &Principal) {
        let (code, _) = pairing
            .code_for(principal, "someone")
            .await
            .unwrap()
            .unwrap();
        pairing.approve(&code).await.unwrap();
    }

    /// Counts the reads of the approved senders' table that reach the database.
    async fn reads(store: &Store) -> i32 {
        store
            .call(|c| {
                let stmt = c.prepare_cached(
                    "SELECT principal, display, approved_at FROM channel_approved_senders ORDER BY principal",
                );
                Ok(stmt.map_or(0, |s| s.get_status(rusqlite::StatementStatus::Run)))
            })
            .await
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn approvals_count_at_once_and_revocations_within_the_refresh() {
        let store = Store::open_in_memory().unwrap();
        let pairing = Pairing::new(store.clone());
        let approved = ApprovedSenders::new(Pairing::new(store.clone()));
        let (ann, bob) = (Principal::telegram(1), Principal::telegram(2));
        approve(&pairing, &ann).await;
        assert!(approved.contains(&ann).await.unwrap());
        assert!(!approved.contains(&bob).await.unwrap());

        // Approved by another process after the list was read: let in with the next message.
        approve(&pairing, &bob).await;
        assert!(approved.contains(&bob).await.unwrap());

        // Revoked by another process: still let in until the list is read again.
        assert!(pairing.revoke(&ann).await.unwrap());
        assert!(approved.contains(&ann).await.unwrap());
        tokio::time::advance(REFRESH).await;
        assert!(!approved.contains(&ann).await.unwrap());
        assert!(approved.contains(&bob).await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn messages_waiting_for_the_list_share_one_read() {
        let store = Store::open_in_memory().unwrap();
        let pairing = Pairing::new(store.clone());
        let senders: Vec<Principal> = (1..=50).map(Principal::telegram).collect();
        for p in &senders {
            approve(&pairing, p).await;
        }
        let approved = ApprovedSenders::new(Pairing::new(store.clone()));
        let before = reads(&store).await;
        let checks = futures::future::join_all(senders.iter().map(|p| approved.contains(p))).await;
        assert!(checks.into_iter().all(|c| c.unwrap()));
        assert_eq!(reads(&store).await - before, 1);
        // Within the refresh no more reads happen; after it, one.
        for p in &senders {
            assert!(approved.contains(p).await.unwrap());
        }
        assert_eq!(reads(&store).await - before, 1);
        tokio::time::advance(REFRESH).await;
        assert!(approved.contains(&senders[0]).await.unwrap());
        assert_eq!(reads(&store).await - before, 2);
    }
}
