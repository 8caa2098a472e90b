//! Refresh tokens the upstream refused, and the pattern an operator must hear about: Google ends
//! every authorization of an app whose publishing status is "Testing" 7 days after it was made
//! (`invalid_grant`, "Token has been expired or revoked.", the same answer as for a person who
//! removed the access). One refusal at that age may be chance; a second within
//! [`REFUSAL_MEMORY_SECS`](super::REFUSAL_MEMORY_SECS) is a pattern, and the operator is told
//! what to change: publish the app. Each refusal at that age is counted in
//! `mcp_gateway_oauth_testing_expiries_total`, and the notice goes to the log at warning level.

use std::ops::Range;

use super::AuthServer;
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

/// Records that the upstream refused `account`'s refresh token, issued at `issued_at`, and tells
/// the operator when the refusals show a Google app in Testing.
pub async fn refused(auth: &AuthServer, account: &str, issued_at: Option<i64>) {
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
            return;
        }
    };
    if auth.kind() != ServerKind::Gcal || !age.is_some_and(|a| testing_ages().contains(&a)) {
        return;
    }
    auth.metrics().testing_expiry();
    let days = age.unwrap_or_default() / 86_400;
    if count >= NOTICE_AFTER {
        tracing::warn!(server = %auth.kind(), refusals = count, "{}", testing_notice(count));
    } else {
        tracing::info!(server = %auth.kind(), account, days, "Google refused a refresh token about 7 days after it was issued, as it does for an app in Testing");
    }
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
}
