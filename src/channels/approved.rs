//! The senders the operator has approved under the `pairing` policy, as this process last read
//! them, so that a message from an approved sender is let in without a trip to the database.
//!
//! Approvals are given and taken back by another process (`mcp-gateway pairing approve` and
//! `revoke`), so the list is read again whenever it is older than [`REFRESH`] and a message
//! needs it: a revocation takes effect within that time. A sender missing from the list is
//! looked up in the database before being refused, so an approval takes effect with the
//! sender's next message. One read of the list serves every message waiting for it, and wakes
//! them all at once rather than one after another.

use std::collections::HashSet;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::pairing::{AccessError, Pairing};
use crate::Principal;

/// How old the list may be before it is read again.
pub const REFRESH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Snapshot {
    senders: HashSet<Principal>,
    /// When the list was read; `None` before the first read.
    read_at: Option<Instant>,
    /// Whether a message is reading the list now.
    reading: bool,
}

/// The approved senders; see the module documentation.
#[derive(Debug)]
pub struct ApprovedSenders {
    pairing: Pairing,
    snapshot: Mutex<Snapshot>,
    /// Wakes every message that waited for a read of the list, all at once.
    read_done: Notify,
}

impl ApprovedSenders {
    /// The approvals kept by `pairing`'s database.
    #[must_use]
    pub fn new(pairing: Pairing) -> Self {
        Self {
            pairing,
            snapshot: Mutex::new(Snapshot::default()),
            read_done: Notify::new(),
        }
    }

    /// Whether `principal` is approved.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn contains(&self, principal: &Principal) -> Result<bool, AccessError> {
        if self.listed_or_read(principal).await {
            return Ok(true);
        }
        let approved = self.pairing.is_approved(principal).await?;
        if approved {
            self.snapshot.lock().senders.insert(principal.clone());
        }
        Ok(approved)
    }

    /// Whether the list holds `principal`, reading it first when it is too old (or waiting for
    /// the message that reads it); `false` also when it could not be read.
    async fn listed_or_read(&self, principal: &Principal) -> bool {
        // Made before the check, so that a read finishing in between still wakes this message.
        let done = self.read_done.notified();
        let read_now = {
            let mut snapshot = self.snapshot.lock();
            if let Some(listed) = fresh(&snapshot, principal) {
                return listed;
            }
            !std::mem::replace(&mut snapshot.reading, true)
        };
        if read_now {
            let reading = Reading(self);
            match self.pairing.approved().await {
                Ok(list) => {
                    let mut snapshot = self.snapshot.lock();
                    snapshot.senders = list.into_iter().map(|s| s.principal).collect();
                    snapshot.read_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the approved senders; checking one at a time");
                }
            }
            drop(reading);
        } else {
            done.await;
        }
        fresh(&self.snapshot.lock(), principal).unwrap_or(false)
    }
}

/// Whether `snapshot` holds `principal`, or `None` when it is too old to say.
fn fresh(snapshot: &Snapshot, principal: &Principal) -> Option<bool> {
    let read_at = snapshot.read_at?;
    (read_at.elapsed() < REFRESH).then(|| snapshot.senders.contains(principal))
}

/// Marks the end of a read of the list, also when the reading message is dropped midway, and
/// wakes the messages that waited for it.
struct Reading<'a>(&'a ApprovedSenders);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.snapshot.lock().reading = false;
        self.0.read_done.notify_waiters();
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

    /// A message that was reading the list and is dropped midway (its turn was stopped) does
    /// not leave the others waiting.
    #[tokio::test]
    async fn a_read_given_up_midway_wakes_the_waiting() {
        let store = Store::open_in_memory().unwrap();
        let ann = Principal::telegram(1);
        approve(&Pairing::new(store.clone()), &ann).await;
        let approved = ApprovedSenders::new(Pairing::new(store.clone()));
        // Hold the connection thread, so that the read cannot finish.
        let release = crate::store::tests::hold(&store);
        let mut reader = Box::pin(approved.contains(&ann));
        assert!(futures::poll!(&mut reader).is_pending());
        let mut waiter = Box::pin(approved.contains(&ann));
        assert!(futures::poll!(&mut waiter).is_pending());
        drop(reader);
        drop(release);
        let answer = tokio::time::timeout(Duration::from_secs(10), waiter).await;
        assert!(answer.expect("the waiting message was woken").unwrap());
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
