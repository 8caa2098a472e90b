//! A per-sender token bucket: a sender may send `per_minute` messages a minute, in bursts up to
//! the same number; beyond it messages are refused before any model work.
//!
//! A refused sender is told once per minute (not once per refused message), and every refusal is
//! counted in `mcp_gateway_rate_limited_total{channel}`. Buckets that have refilled are forgotten,
//! so the table stays as small as the number of recently active senders.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use tokio::time::Instant;

use crate::Principal;
use crate::telemetry::metrics::{ChannelLabels, Metrics};

/// How often a refused sender is told to slow down.
const NOTICE_WINDOW: Duration = Duration::from_secs(60);
/// Above this many remembered senders, full buckets are dropped on the next check.
const PRUNE_ABOVE: usize = 4096;

/// The reply a refused sender gets (once per minute).
pub const SLOW_DOWN: &str =
    "You are sending messages faster than I can answer. Please wait a minute and try again.";

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Go ahead.
    Allowed,
    /// Refuse it; `notify` says whether to tell the sender this time.
    Limited {
        /// Whether to reply with [`SLOW_DOWN`].
        notify: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    told: Option<Instant>,
}

/// Per-sender token buckets for one channel.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<Principal, Bucket>>,
    refused: Counter,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` messages a minute per sender on `channel`.
    #[must_use]
    pub fn new(per_minute: u32, channel: &str, metrics: &Metrics) -> Self {
        let capacity = f64::from(per_minute.max(1));
        let refused = metrics
            .rate_limited
            .get_or_create(&ChannelLabels {
                channel: channel.to_owned(),
            })
            .clone();
        Self {
            capacity,
            per_second: capacity / 60.0,
            buckets: Mutex::new(HashMap::new()),
            refused,
        }
    }

    /// Takes one message's token for `sender`.
    pub fn check(&self, sender: &Principal) -> RateDecision {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() > PRUNE_ABOVE {
            let (capacity, rate) = (self.capacity, self.per_second);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(sender.clone()).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
            told: None,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return RateDecision::Allowed;
        }
        self.refused.inc();
        let notify = bucket
            .told
            .is_none_or(|at| now.duration_since(at) >= NOTICE_WINDOW);
        if notify {
            bucket.told = Some(now);
        }
        RateDecision::Limited { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_refuses_then_refills() {
        let metrics = Metrics::unregistered();
        let limiter = RateLimiter::new(3, "test", &metrics);
        let ann = Principal::telegram(1);
        let bob = Principal::telegram(2);
        for _ in 0..3 {
            assert_eq!(limiter.check(&ann), RateDecision::Allowed);
        }
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: true });
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: false });
        // Another sender is not affected.
        assert_eq!(limiter.check(&bob), RateDecision::Allowed);
        let refused = metrics
            .rate_limited
            .get_or_create(&ChannelLabels {
                channel: "test".into(),
            })
            .get();
        assert_eq!(refused, 2);
        // One token comes back every 20 s at three a minute.
        tokio::time::advance(Duration::from_secs(21)).await;
        assert_eq!(limiter.check(&ann), RateDecision::Allowed);
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: false });
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(limiter.check(&ann), RateDecision::Allowed);
    }

    #[tokio::test(start_paused = true)]
    async fn told_again_after_a_window() {
        let limiter = RateLimiter::new(1, "test", &Metrics::unregistered());
        let ann = Principal::telegram(1);
        assert_eq!(limiter.check(&ann), RateDecision::Allowed);
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: true });
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: false });
        tokio::time::advance(Duration::from_secs(31)).await;
        // A token has refilled by now (one a minute).
        assert_eq!(limiter.check(&ann), RateDecision::Allowed);
        assert_eq!(limiter.check(&ann), RateDecision::Limited { notify: true });
    }
}
