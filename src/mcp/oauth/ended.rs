//! Connections the authorization server ended, and why: the reason a refused refresh carries
//! (its RFC 6749 §5.2 `error_description`) is kept with the broken connection and shown to the
//! person with the reconnect link, and the pattern of a Google app left in Testing (several
//! connections ended at 7 days) is told to the admins, at most once per
//! [`MEMORY_SECS`].
//!
//! rmcp keeps a refused refresh as [`AuthError::TokenRefreshRejected`] with the `oauth2` crate's
//! text of the error response, `Server returned error response: invalid_grant: <description>`
//! with ` (see <uri>)` when the server named a page; the description is read back from it.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use rmcp::transport::auth::AuthError;

/// Connections ended at Testing's 7 days within this many seconds make a pattern (the same
/// memory as the Calendar server's).
pub const MEMORY_SECS: i64 = 30 * 86_400;
/// This many such endings within [`MEMORY_SECS`] make the admins' notice (the Calendar server's
/// rule).
pub const NOTICE_AFTER: usize = 2;
/// The most endings remembered per server.
const MAX_REMEMBERED: usize = 64;

/// The reason in a refused refresh, fit to keep and show: the server's `error_description`
/// tidied and bounded; `None` when it gave none or the error is not a refusal.
#[must_use]
pub fn refusal_reason(error: &AuthError) -> Option<String> {
    let AuthError::TokenRefreshRejected(text) = error else {
        return None;
    };
    let (_, after) = text.split_once("invalid_grant")?;
    let description = after.strip_prefix(": ")?;
    let description = match description.rfind(" (see ") {
        Some(at) if description.ends_with(')') => &description[..at],
        _ => description,
    };
    let visible: String = description
        .chars()
        .filter(|c| !crate::display::is_formatting(*c) || c.is_whitespace())
        .collect();
    super::callback::description(&visible)
}

/// The admins' notice after `count` connections to `server` ended at Testing's 7 days.
#[must_use]
pub fn testing_notice(server: &str, count: usize) -> String {
    format!(
        "Google ended {count} {server} connections 7 days after they were made, within 30 days: the Google app is most likely still in Testing, where Google ends every connection after 7 days and only listed test users can connect. Publish the app (Google Cloud console, Google Auth Platform, Audience, Publish app); each person then connects once more. Until then everyone must reconnect every week."
    )
}

/// The endings at Testing's 7 days seen per server, and when the admins were last told.
#[derive(Debug, Default)]
pub struct TestingEndings {
    servers: Mutex<HashMap<String, Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    /// When each remembered ending happened (Unix seconds), oldest first.
    at: VecDeque<i64>,
    /// When the admins were last told.
    told_at: Option<i64>,
}

impl TestingEndings {
    /// Records a connection to `server` ended at Testing's 7 days at `now`; returns how many
    /// are remembered within [`MEMORY_SECS`] when the admins should be told now (the rule is
    /// met and they were not told within [`MEMORY_SECS`]), else `None`. The caller reports
    /// back with [`TestingEndings::told`].
    pub fn record(&self, server: &str, now: i64) -> Option<usize> {
        let mut servers = self.servers.lock();
        let seen = servers.entry(server.to_owned()).or_default();
        let since = now.saturating_sub(MEMORY_SECS);
        while seen.at.front().is_some_and(|t| *t < since) {
            seen.at.pop_front();
        }
        if seen.at.len() >= MAX_REMEMBERED {
            seen.at.pop_front();
        }
        seen.at.push_back(now);
        let recently_told = seen.told_at.is_some_and(|t| t >= since);
        (seen.at.len() >= NOTICE_AFTER && !recently_told).then_some(seen.at.len())
    }

    /// Records that the admins of `server`'s pattern were told at `now`.
    pub fn told(&self, server: &str, now: i64) {
        if let Some(seen) = self.servers.lock().get_mut(server) {
            seen.told_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::accounts::GOOGLE_TESTING_ENDED;

    #[test]
    fn the_description_is_read_back_from_rmcps_text() {
        let rejected = |t: &str| AuthError::TokenRefreshRejected(t.to_owned());
        assert_eq!(
            refusal_reason(&rejected(&format!(
                "Server returned error response: invalid_grant: {GOOGLE_TESTING_ENDED}"
            )))
            .as_deref(),
            Some(GOOGLE_TESTING_ENDED)
        );
        assert_eq!(
            refusal_reason(&rejected(
                "Server returned error response: invalid_grant: gone.\n (see https://x.example/e)"
            ))
            .as_deref(),
            Some("gone")
        );
        assert_eq!(
            refusal_reason(&rejected(
                "Server returned error response: invalid_grant: a\u{202e}b"
            ))
            .as_deref(),
            Some("ab"),
            "no formatting characters reach a chat"
        );
        assert_eq!(
            refusal_reason(&rejected("Server returned error response: invalid_grant")),
            None
        );
        assert_eq!(refusal_reason(&AuthError::AuthorizationRequired), None);
        let long = format!(
            "Server returned error response: invalid_grant: {}",
            "x".repeat(10_000)
        );
        assert!(refusal_reason(&rejected(&long)).is_some_and(|r| r.len() <= 400));
    }

    #[test]
    fn the_admins_are_told_once_per_window_after_two_endings() {
        let endings = TestingEndings::default();
        let day = 86_400;
        assert_eq!(endings.record("gcal", 0), None, "one may be chance");
        assert_eq!(endings.record("other", day), None, "servers count apart");
        assert_eq!(endings.record("gcal", day), Some(2));
        endings.told("gcal", day);
        assert_eq!(endings.record("gcal", 2 * day), None, "told already");
        assert_eq!(endings.record("gcal", 20 * day), None);
        // A window after the notice, with two endings in it, the admins hear again.
        assert_eq!(endings.record("gcal", 31 * day + 1), Some(3));
        // Not told (no admin listening): the next ending tries again.
        assert_eq!(endings.record("gcal", 32 * day), Some(4));
    }

    #[test]
    fn what_is_remembered_is_capped() {
        let endings = TestingEndings::default();
        for t in 0..1000 {
            endings.record("gcal", t);
        }
        let servers = endings.servers.lock();
        assert_eq!(servers["gcal"].at.len(), MAX_REMEMBERED);
    }
}
