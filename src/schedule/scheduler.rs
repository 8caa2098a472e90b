//! Delivers what falls due: one timer on the soonest due entry, woken when entries change.
//!
//! The scheduler reads the soonest due time from the store and waits for it on the
//! [`Clock`](super::Clock); nothing runs while nothing is due. An entry added or moved in this
//! process wakes it at once. A cancel (from a chat, or from `mcp-gateway schedule cancel` in
//! another process) needs no wake-up: every entry is read again from the store the moment it
//! fires, and the send is recorded only while the entry is still active and still due at that
//! time, so a cancelled entry is never delivered, however it was cancelled.
//!
//! When an entry fires its next time is computed after now, so what fell due while the gateway
//! was down fires once at start, not once per missed occurrence; a task more than its grace
//! period late is reported as missed instead of run. A person who lost access gets nothing,
//! and their entry stops. The send is recorded after it was made: an entry is never lost, and
//! is delivered twice only if the process dies between the send and that write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Schedule;
use super::rule::{self, Timing};
use crate::Principal;
use crate::store::schedule::{EntryKind, EntryState, StoredEntry};
use crate::telemetry::metrics::{Metrics, ScheduleLabels};

/// The most deliveries under way at once.
const CONCURRENT: usize = 64;
/// How many due entries are read at once beyond those under way.
const BATCH: usize = 256;
/// How long a delivery that failed waits before it is tried again.
const RETRY: chrono::Duration = chrono::Duration::seconds(60);
/// How long to wait before reading the store again after it failed.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// How often a delivery is tried before the entry moves on.
const ATTEMPTS: u32 = 60;
/// A reminder later than this says when it was due.
const LATE_NOTE: chrono::Duration = chrono::Duration::seconds(120);

/// What to deliver into a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A message to send as it is.
    Say(String),
    /// A message to answer with an agent turn as the entry's person, whose answer is sent.
    Task(String),
}

/// How a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// It was sent.
    Sent,
    /// The person may no longer talk to the assistant: nothing was sent.
    NoAccess,
    /// It could not be sent; it is tried again later.
    Failed(String),
}

/// A chat channel the scheduler delivers through.
#[async_trait]
pub trait Outlet: Send + Sync {
    /// Delivers `delivery` for `principal` into the chat whose key is `chat`.
    async fn deliver(&self, principal: &Principal, chat: &str, delivery: Delivery) -> Delivered;
}

/// The timer; see the module documentation.
pub struct Scheduler {
    schedule: Schedule,
    grace: chrono::Duration,
    metrics: Metrics,
    in_flight: Mutex<HashSet<i64>>,
    /// Failed attempts of entries being retried.
    attempts: Mutex<HashMap<i64, u32>>,
    /// Wakes the loop when a delivery finished.
    finished: Notify,
    permits: Arc<Semaphore>,
    tasks: TaskTracker,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler for `schedule` that runs tasks up to `grace` late.
    #[must_use]
    pub fn new(schedule: Schedule, grace: Duration, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            schedule,
            grace: chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(1)),
            metrics,
            in_flight: Mutex::new(HashSet::new()),
            attempts: Mutex::new(HashMap::new()),
            finished: Notify::new(),
            permits: Arc::new(Semaphore::new(CONCURRENT)),
            tasks: TaskTracker::new(),
        })
    }

    /// Runs until `shutdown`, then waits for the deliveries under way.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let clock = Arc::clone(self.schedule.clock());
        let store = self.schedule.store().clone();
        self.count_active().await;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let now = clock.now();
            let under_way = self.in_flight.lock().len();
            let due = match store.schedule_due(now.timestamp(), under_way + BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the schedule; trying again shortly");
                    tokio::select! {
                        () = tokio::time::sleep(STORE_RETRY) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            };
            let mut started = 0;
            for entry in due {
                if self.in_flight.lock().insert(entry.id) {
                    started += 1;
                    let this = Arc::clone(&self);
                    self.tasks.spawn(async move {
                        let id = entry.id;
                        let Ok(_permit) = Arc::clone(&this.permits).acquire_owned().await else {
                            return;
                        };
                        this.fire(entry).await;
                        this.in_flight.lock().remove(&id);
                        this.finished.notify_one();
                    });
                }
            }
            if started > 0 {
                continue;
            }
            let under_way = !self.in_flight.lock().is_empty();
            let next = if under_way {
                // The soonest entries are being delivered; the next read follows their end.
                None
            } else {
                match store.schedule_next_due().await {
                    Ok(next) => next.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the schedule; trying again shortly");
                        Some(now + chrono::Duration::seconds(5))
                    }
                }
            };
            let sleep = next.map(|at| clock.sleep_until(at));
            tokio::select! {
                () = async { match sleep { Some(s) => s.await, None => std::future::pending().await } } => {}
                () = self.schedule.changed() => {}
                () = self.finished.notified() => {}
                () = shutdown.cancelled() => break,
            }
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Sets the active entries gauge from the store.
    async fn count_active(&self) {
        if let Ok(n) = self.schedule.store().schedule_count_active().await {
            self.metrics.schedule_active.set(n);
        }
    }

    /// Whether entry `id`, whose delivery failed, is tried again (up to [`ATTEMPTS`] times).
    fn retry(&self, id: i64) -> bool {
        let mut attempts = self.attempts.lock();
        let n = attempts.entry(id).or_insert(0);
        *n += 1;
        if *n < ATTEMPTS {
            return true;
        }
        attempts.remove(&id);
        false
    }

    /// Delivers one due entry and records it.
    async fn fire(&self, entry: StoredEntry) {
        let store = self.schedule.store();
        let Some(due_secs) = entry.next_due else {
            return;
        };
        let now = self.schedule.now();
        let due = DateTime::<Utc>::from_timestamp(due_secs, 0).unwrap_or(now);
        let zone: Tz = entry.zone.parse().unwrap_or(Tz::UTC);
        let next = match Timing::new(entry.first, zone, entry.rule.as_deref()) {
            Ok(timing) if timing.repeats() => timing.next_after(now.max(due)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(entry = entry.id, error = %e, "a stored recurrence rule no longer parses; the entry fires this once");
                None
            }
        };
        let late = now - due;
        let missed = entry.kind == EntryKind::Task && late > self.grace;
        let delivery = match entry.kind {
            EntryKind::Reminder if late > LATE_NOTE => Delivery::Say(format!(
                "⏰ Reminder (due {}): {}",
                rule::readable(due, zone, now),
                entry.text
            )),
            EntryKind::Reminder => Delivery::Say(format!("⏰ Reminder: {}", entry.text)),
            EntryKind::Task if missed => Delivery::Say(format!(
                "I missed a scheduled task due {} because I was not running, so it did not run: “{}”. Ask me now if you still want it.",
                rule::readable(due, zone, now),
                entry.text
            )),
            EntryKind::Task => Delivery::Task(entry.text.clone()),
        };
        let outlet = self.schedule.outlet(entry.principal.channel());
        let delivered = match outlet {
            Some(outlet) => {
                outlet
                    .deliver(&entry.principal, &entry.chat, delivery)
                    .await
            }
            None => Delivered::Failed(format!(
                "the {} channel is not running",
                entry.principal.channel()
            )),
        };
        let outcome = match (&delivered, missed) {
            (Delivered::Sent, true) => "missed",
            (Delivered::Sent, false) => "delivered",
            (Delivered::NoAccess, _) => "no_access",
            (Delivered::Failed(_), _) => "failed",
        };
        self.metrics
            .schedule_fired
            .get_or_create(&ScheduleLabels {
                kind: entry.kind.as_str().into(),
                outcome: outcome.into(),
            })
            .inc();
        let recorded = match delivered {
            Delivered::Sent => {
                self.metrics
                    .schedule_lateness
                    .observe(late.num_milliseconds().max(0) as f64 / 1000.0);
                store
                    .schedule_fired(entry.id, due_secs, next.map(|n| n.timestamp()), outcome)
                    .await
                    .map(drop)
            }
            Delivered::NoAccess => {
                tracing::info!(entry = entry.id, principal = %entry.principal, "a scheduled entry's person may no longer use the assistant; it is stopped");
                store.schedule_end(entry.id, EntryState::Stopped).await
            }
            Delivered::Failed(reason) if self.retry(entry.id) => {
                tracing::warn!(entry = entry.id, reason = %reason, "could not deliver a scheduled entry; trying again in a minute");
                store
                    .schedule_retry(entry.id, due_secs, (now + RETRY).timestamp())
                    .await
                    .map(drop)
            }
            Delivered::Failed(reason) => {
                tracing::warn!(entry = entry.id, reason = %reason, "could not deliver a scheduled entry within its grace period; it moves on");
                store
                    .schedule_fired(entry.id, due_secs, next.map(|n| n.timestamp()), outcome)
                    .await
                    .map(drop)
            }
        };
        if !matches!(outcome, "failed") || next.is_some() {
            self.attempts.lock().remove(&entry.id);
        }
        if let Err(e) = recorded {
            tracing::warn!(entry = entry.id, error = %e, "could not record a scheduled delivery");
        }
        self.count_active().await;
    }
}
