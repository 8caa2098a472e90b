//! Refresh tokens the upstream refused, and the pattern an operator must hear about: Google ends
//! every authorization of an app whose publishing status is "Testing" 7 days after it was made
//! (`invalid_grant`, "Token has been expired or revoked.", the same answer as for a person who
//! removed the access). One refusal at that age may be chance; a second within
//! [`REFUSAL_MEMORY_SECS`](super::REFUSAL_MEMORY_SECS) is a pattern, and the operator is told
//! what to change: publish the app. Each refusal at that age is counted in
//! `mcp_gateway_oauth_testing_expiries_total`, and the notice goes to the log at warning level.
//!
//! The account's authorization then ends with an [`EndReason`], and a client that refreshes its
//! token on that account is told why in the refusal's `error_description` ([`description`]),
//! which the gateway shows the person with the reconnect link.

use std::ops::Range;

use super::AuthServer;
use crate::mcp::accounts::GOOGLE_TESTING_ENDED;
use crate::servers::ServerKind;
use crate::store::now_unix;

/// How long Google lets a refresh token of an app in Testing live.
pub const TESTING_LIFETIME_SECS: i64 = 7 * 86_400;
/// Refusals at this many refresh-token ages or more (within the memory) make the notice.
pub const NOTICE_AFTER: u64 = 2;

/// The refresh-token ages that match Testing's expiry: from an hour before 7 days (clocks differ)
/// to 14 days (a token unused for a while is refused late; by then a published app's tokens
/// would have been refused for other reasons only, at any age).
#[must_use]
pub fn testing_ages() -> Range<i64> {
    (TESTING_LIFETIME_SECS - 3600)..(2 * TESTING_LIFETIME_SECS)
}

/// The operator's notice after `count` refusals at Testing's age.
#[must_use]
pub fn testing_notice(count: u64) -> String {
    format!(
        "{count} Google refresh tokens were refused about 7 days after they were issued within 30 days: the Google app is most likely in Testing, where Google ends every authorization after 7 days and only listed test users can connect. Publish the app (Google Cloud console, Google Auth Platform, Audience, Publish app), then ask people to connect again once; until then everyone must reconnect every week"
    )
}

/// Why the upstream ended an account's authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Google refused the refresh token at Testing's age.
    Testing,
    /// The upstream refused the refresh token (access removed, or expired for another reason).
    Refused,
}

impl EndReason {
    /// The reason as stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Testing => "testing",
            Self::Refused => "refused",
        }
    }

    /// A stored reason; `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "testing" => Some(Self::Testing),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }
}

/// The `error_description` of a refresh refused because `kind`'s upstream ended the account's
/// authorization for `reason` (unknown: its access expired without a way to renew it), in words
/// a person can act on, within RFC 6749's characters (printable ASCII, no quote or backslash).
#[must_use]
pub fn description(kind: ServerKind, reason: Option<EndReason>) -> String {
    match (reason, kind) {
        (Some(EndReason::Testing), _) => GOOGLE_TESTING_ENDED.to_owned(),
        (Some(EndReason::Refused), ServerKind::Gcal) => {
            "Google no longer accepts this connection: its access was removed in the Google account, or it expired".to_owned()
        }
        (Some(EndReason::Refused), ServerKind::Notion) => {
            "Notion no longer accepts this connection: the integration was removed from the workspace, or its access expired".to_owned()
        }
        (None, kind) => format!(
            "the {} access of this connection expired and cannot be renewed",
            kind.upstream_title()
        ),
    }
}

/// Records that the upstream refused `account`'s refresh token, issued at `issued_at`, and tells
/// the operator when the refusals show a Google app in Testing. Returns why the account's
/// authorization ended.
pub async fn refused(auth: &AuthServer, account: &str, issued_at: Option<i64>) -> EndReason {
    let now = now_unix();
    let age = issued_at.map(|t| now.saturating_sub(t));
    let since = now.saturating_sub(super::REFUSAL_MEMORY_SECS);
    let count = match auth
        .store()
        .record_refusal(account, now, age, since, testing_ages())
        .await
    {
        Ok(count) => count,
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot record a refused refresh token");
            0
        }
    };
    if auth.kind() != ServerKind::Gcal || !age.is_some_and(|a| testing_ages().contains(&a)) {
        return EndReason::Refused;
    }
    auth.metrics().testing_expiry();
    let days = age.unwrap_or_default() / 86_400;
    if count >= NOTICE_AFTER {
        tracing::warn!(server = %auth.kind(), refusals = count, "{}", testing_notice(count));
    } else {
        tracing::info!(server = %auth.kind(), account, days, "Google refused a refresh token about 7 days after it was issued, as it does for an app in Testing");
    }
    EndReason::Testing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_days_matches_and_other_ages_do_not() {
        let ages = testing_ages();
        assert!(ages.contains(&TESTING_LIFETIME_SECS));
        assert!(ages.contains(&(TESTING_LIFETIME_SECS + 3 * 86_400)));
        assert!(
            !ages.contains(&(2 * 86_400)),
            "a person who removed access on day 2"
        );
        assert!(
            !ages.contains(&(60 * 86_400)),
            "a token that lived two months"
        );
        assert!(testing_notice(2).contains("Publish the app"));
    }

    #[test]
    fn each_reason_is_described_in_the_characters_rfc_6749_allows() {
        let reasons = [None, Some(EndReason::Testing), Some(EndReason::Refused)];
        for kind in [ServerKind::Gcal, ServerKind::Notion] {
            for reason in reasons {
                let text = description(kind, reason);
                assert!(
                    text.bytes()
                        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                    "{text}"
                );
                if let Some(reason) = reason {
                    assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
                }
            }
        }
        assert!(description(ServerKind::Gcal, Some(EndReason::Testing)).contains("7 days"));
        assert_eq!(EndReason::parse("other"), None);
    }
}
