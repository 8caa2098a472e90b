//! A request budget per connected account: at most `rate` upstream requests per second on
//! average, with bursts of up to `rate` requests, shared by every call made for that account.
//!
//! Notion allows each connection about three requests per second and answers more with 429. A
//! budget kept on our side spaces the requests of one person's calls (however many run at
//! once) so that they stay under that limit instead of running into it; a 429 that still comes
//! pushes the account's next slot past its `Retry-After`, so every call for that account waits
//! it out, not only the one that got it. The budget follows the generic cell rate algorithm: each
//! account keeps the theoretical time of its next request, which a request moves on by one
//! interval; a request may start as long as that time is at most one burst ahead of now.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Accounts remembered before idle ones are forgotten.
const MAX_ACCOUNTS: usize = 10_000;

/// Upstream requests allowed per account.
#[derive(Debug)]
pub struct RequestBudget {
    /// The time between two requests at the average rate.
    interval: Duration,
    /// How far ahead of now an account's next slot may be while a request still starts.
    tolerance: Duration,
    /// Each account's theoretical time of its next request.
    next: Mutex<HashMap<String, Instant>>,
}

/// The budget could not admit a request before the call's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    /// How long the request would have had to wait.
    pub wait: Duration,
}

impl RequestBudget {
    /// A budget of `per_second` requests per second per account, with bursts of as many.
    #[must_use]
    pub fn per_second(per_second: u32) -> Self {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        Self {
            interval,
            tolerance: interval * (per_second - 1),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves the next slot of `account` and waits for it.
    ///
    /// # Errors
    /// [`OverBudget`] without waiting when the slot comes after `deadline`.
    pub async fn acquire(&self, account: &str, deadline: Instant) -> Result<(), OverBudget> {
        let start = self.reserve(account, Instant::now(), deadline)?;
        tokio::time::sleep_until(start).await;
        Ok(())
    }

    /// Reserves the next slot of `account` as of `now`: the instant the request may start.
    fn reserve(
        &self,
        account: &str,
        now: Instant,
        deadline: Instant,
    ) -> Result<Instant, OverBudget> {
        let mut next = self.next.lock();
        if next.len() >= MAX_ACCOUNTS && !next.contains_key(account) {
            next.retain(|_, at| *at > now);
        }
        let theoretical = next.get(account).copied().unwrap_or(now).max(now);
        let start = theoretical
            .checked_sub(self.tolerance)
            .unwrap_or(now)
            .max(now);
        if start > deadline {
            return Err(OverBudget {
                wait: start.saturating_duration_since(now),
            });
        }
        next.insert(account.to_owned(), theoretical + self.interval);
        Ok(start)
    }

    /// Holds every request of `account` back until `until` (after the upstream answered 429).
    pub fn hold_off(&self, account: &str, until: Instant) {
        let mut next = self.next.lock();
        let entry = next.entry(account.to_owned()).or_insert(until);
        // The next slot is `until` itself, not one burst earlier.
        let held = until + self.tolerance;
        if *entry < held {
            *entry = held;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_are_spaced() {
        let budget = RequestBudget::per_second(3);
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        let starts: Vec<Duration> = (0..6)
            .map(|_| {
                budget
                    .reserve("a", now, far)
                    .map(|s| s - now)
                    .unwrap_or(Duration::MAX)
            })
            .collect();
        let ms: Vec<u128> = starts.iter().map(Duration::as_millis).collect();
        // Three at once, then one every third of a second.
        assert_eq!(ms, vec![0, 0, 0, 333, 666, 999]);
        // Another account has a budget of its own.
        assert_eq!(budget.reserve("b", now, far), Ok(now));
    }

    #[test]
    fn a_slot_past_the_deadline_is_refused_and_not_taken() {
        let budget = RequestBudget::per_second(1);
        let now = Instant::now();
        let soon = now + Duration::from_millis(500);
        assert_eq!(budget.reserve("a", now, soon), Ok(now));
        let refused = budget.reserve("a", now, soon);
        assert_eq!(
            refused,
            Err(OverBudget {
                wait: Duration::from_secs(1)
            })
        );
        // The refused request took no slot.
        let later = now + Duration::from_secs(5);
        assert_eq!(
            budget.reserve("a", now, later),
            Ok(now + Duration::from_secs(1))
        );
    }

    #[test]
    fn hold_off_delays_every_later_request() {
        let budget = RequestBudget::per_second(3);
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        budget.hold_off("a", now + Duration::from_secs(2));
        let start = budget.reserve("a", now, far).map(|s| s - now);
        assert_eq!(start, Ok(Duration::from_secs(2)));
    }
}
