//! The time the scheduler tells and waits for: the system's, or one moved by hand.
//!
//! The scheduler asks a [`Clock`] for the current time and to wait until a wall-clock instant;
//! [`SystemClock`] does so with the system clock (re-reading it at least every
//! [`MAX_SLEEP`], so a clock that was set or a machine that slept is noticed), and
//! [`ManualClock`] only when it is moved, so a schedule can be driven across months (and
//! daylight-saving changes) in an instant.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::watch;

/// The longest one wait of [`SystemClock`] lasts before it reads the clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// Tells the time and waits for it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;

    /// Resolves at `at` or soon after (possibly earlier, when the clock cannot know; callers
    /// check the time again).
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait.min(MAX_SLEEP)))
    }
}

/// A clock that stands still until it is set or advanced.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    #[must_use]
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
            moved: watch::Sender::new(now),
        }
    }

    /// Sets the time to `now`, waking whoever waits for it.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock() = now;
        self.moved.send_replace(now);
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let now = *self.now.lock() + by;
        self.set(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut moved = self.moved.subscribe();
        Box::pin(async move {
            let _ = moved.wait_for(|now| *now >= at).await;
        })
    }
}
