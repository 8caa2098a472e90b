//! Per-conversation work queues: each (chat, sender) runs one turn at a time, in order, on its
//! own task, with its own [`CancellationToken`].
//!
//! The channel's update loop never waits for a turn: it submits work and goes on reading
//! updates, so a long generation in one chat delays nobody else, and `/stop` reaches the running
//! turn at once. A session's task ends when its queue is empty, so idle senders cost nothing.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One unit of work for a session; it receives the token that `/stop` and shutdown cancel.
pub type Job = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>;

/// What happened to submitted work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// It starts now.
    Started,
    /// It waits behind the session's running turn.
    Queued,
    /// The session's queue is full; the work was dropped.
    Busy,
}

struct Slot {
    tx: mpsc::Sender<(u64, Job)>,
    /// The running job's token, while one runs.
    current: Option<CancellationToken>,
    /// Bumped by [`Sessions::stop`]: queued work from before is skipped.
    epoch: u64,
    /// Whether a job is running or about to.
    busy: bool,
}

/// The sessions of one channel, keyed by whatever identifies a conversation there.
pub struct Sessions<K> {
    slots: Arc<Mutex<HashMap<K, Slot>>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    queue_limit: usize,
}

impl<K> std::fmt::Debug for Sessions<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("active", &self.slots.lock().len())
            .finish_non_exhaustive()
    }
}

impl<K> Sessions<K>
where
    K: Hash + Eq + Clone + Send + 'static,
{
    /// Sessions whose turns are all cancelled by `shutdown`; each session queues at most
    /// `queue_limit` messages behind its running turn.
    #[must_use]
    pub fn new(shutdown: CancellationToken, queue_limit: usize) -> Self {
        Self {
            slots: Arc::new(Mutex::new(HashMap::new())),
            tracker: TaskTracker::new(),
            shutdown,
            queue_limit: queue_limit.max(1),
        }
    }

    /// Runs `job` in `key`'s session after the work already queued there.
    pub fn submit(&self, key: K, job: Job) -> Submitted {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get_mut(&key) {
            let waiting = slot.busy;
            match slot.tx.try_send((slot.epoch, job)) {
                Ok(()) => {
                    slot.busy = true;
                    return if waiting {
                        Submitted::Queued
                    } else {
                        Submitted::Started
                    };
                }
                Err(mpsc::error::TrySendError::Full(_)) => return Submitted::Busy,
                Err(mpsc::error::TrySendError::Closed((_, job))) => {
                    // The session's task died (a job panicked): start afresh.
                    slots.remove(&key);
                    drop(slots);
                    return self.submit(key, job);
                }
            }
        }
        let (tx, rx) = mpsc::channel(self.queue_limit);
        // A new channel has room for one job.
        let _ = tx.try_send((0, job));
        slots.insert(
            key.clone(),
            Slot {
                tx,
                current: None,
                epoch: 0,
                busy: true,
            },
        );
        drop(slots);
        self.tracker.spawn(worker(
            Arc::clone(&self.slots),
            key,
            rx,
            self.shutdown.clone(),
        ));
        Submitted::Started
    }

    /// Cancels `key`'s running turn and drops its queued work; `false` when nothing was running
    /// or waiting.
    pub fn stop(&self, key: &K) -> bool {
        let mut slots = self.slots.lock();
        let Some(slot) = slots.get_mut(key) else {
            return false;
        };
        slot.epoch += 1;
        let had_work = slot.busy;
        if let Some(token) = &slot.current {
            token.cancel();
        }
        had_work
    }

    /// Whether `key` has a turn running or waiting.
    #[cfg(test)]
    pub fn is_busy(&self, key: &K) -> bool {
        self.slots.lock().get(key).is_some_and(|s| s.busy)
    }

    /// How many sessions have work now.
    #[must_use]
    pub fn active(&self) -> usize {
        self.slots.lock().len()
    }

    /// Cancels every running turn (through the shutdown token given to [`Sessions::new`], which
    /// the caller cancels) and waits up to `grace` for the sessions to wind down.
    pub async fn drain(&self, grace: Duration) {
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                sessions = self.active(),
                "some conversations did not finish before shutdown"
            );
        }
    }
}

/// Runs a session's jobs in order until its queue is empty.
async fn worker<K>(
    slots: Arc<Mutex<HashMap<K, Slot>>>,
    key: K,
    mut rx: mpsc::Receiver<(u64, Job)>,
    shutdown: CancellationToken,
) where
    K: Hash + Eq,
{
    loop {
        let (epoch, job, token) = {
            let mut map = slots.lock();
            let next = rx.try_recv();
            let Some(slot) = map.get_mut(&key) else {
                return;
            };
            let Ok((epoch, job)) = next else {
                // Checked under the lock `submit` holds while sending, so nothing can slip in.
                map.remove(&key);
                return;
            };
            let token = shutdown.child_token();
            slot.current = Some(token.clone());
            (epoch, job, token)
        };
        let current_epoch = slots.lock().get(&key).map_or(u64::MAX, |s| s.epoch);
        if epoch == current_epoch && !shutdown.is_cancelled() {
            job(token).await;
        }
        if let Some(slot) = slots.lock().get_mut(&key) {
            slot.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn job<F>(f: F) -> Job
    where
        F: FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send + 'static,
    {
        Box::new(f)
    }

    #[tokio::test]
    async fn runs_in_order_and_stop_cancels_and_clears() {
        let sessions = Sessions::new(CancellationToken::new(), 4);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let l = Arc::clone(&log);
        let first = job(move |cancel| {
            Box::pin(async move {
                let _ = started_tx.send(());
                cancel.cancelled().await;
                l.lock().push("first cancelled");
            })
        });
        assert_eq!(sessions.submit("a", first), Submitted::Started);
        let l = Arc::clone(&log);
        assert_eq!(
            sessions.submit(
                "a",
                job(move |_| Box::pin(async move { l.lock().push("queued ran") }))
            ),
            Submitted::Queued
        );
        // Another session is not held up.
        let (other_tx, other_rx) = tokio::sync::oneshot::channel();
        assert_eq!(
            sessions.submit(
                "b",
                job(move |_| Box::pin(async move {
                    let _ = other_tx.send(());
                }))
            ),
            Submitted::Started
        );
        other_rx.await.unwrap();
        started_rx.await.unwrap();
        assert!(sessions.is_busy(&"a"));
        assert!(sessions.stop(&"a"));
        tokio::time::timeout(Duration::from_secs(5), async {
            while sessions.active() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert_eq!(*log.lock(), vec!["first cancelled"]);
        assert!(!sessions.stop(&"a"));
    }

    #[tokio::test]
    async fn full_queue_is_busy() {
        let sessions = Sessions::new(CancellationToken::new(), 1);
        let gate = Arc::new(tokio::sync::Notify::new());
        let ran = Arc::new(AtomicUsize::new(0));
        let (g, r) = (Arc::clone(&gate), Arc::clone(&ran));
        sessions.submit(
            1,
            job(move |_| {
                Box::pin(async move {
                    g.notified().await;
                    r.fetch_add(1, Ordering::SeqCst);
                })
            }),
        );
        // Let the worker take the first job off the queue.
        while sessions
            .slots
            .lock()
            .get(&1)
            .is_some_and(|s| s.current.is_none())
        {
            tokio::task::yield_now().await;
        }
        let r = Arc::clone(&ran);
        assert_eq!(
            sessions.submit(
                1,
                job(move |_| Box::pin(async move {
                    r.fetch_add(1, Ordering::SeqCst);
                }))
            ),
            Submitted::Queued
        );
        assert_eq!(
            sessions.submit(1, job(|_| Box::pin(async {}))),
            Submitted::Busy
        );
        gate.notify_one();
        sessions.drain(Duration::from_secs(5)).await;
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
