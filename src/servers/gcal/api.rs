//! The Google Calendar v3 REST client and its errors turned into guidance.

use http::HeaderMap;
use serde_json::Value;
use url::Url;

use crate::servers::Grant;
use crate::servers::tooling::ToolFailure;
use crate::servers::upstream_http::{Limits, UpstreamClient, UpstreamError, UpstreamRequest};

/// A Calendar v3 client rooted at the configured API URL (e.g.
/// `https://www.googleapis.com/calendar/v3`).
#[derive(Clone, Debug)]
pub struct GcalApi {
    client: UpstreamClient,
}

impl GcalApi {
    /// A client for the API at `api_url` with the default limits.
    pub fn new(api_url: Url, http: reqwest::Client) -> Self {
        Self::with_limits(api_url, http, Limits::default())
    }

    /// A client for the API at `api_url` with the given limits.
    pub fn with_limits(api_url: Url, http: reqwest::Client, limits: Limits) -> Self {
        Self {
            client: UpstreamClient::new(api_url, http, HeaderMap::new(), limits),
        }
    }

    /// The same client, sending at most `per_second` requests per second on average for each
    /// connected account (no budget when 0).
    #[must_use]
    pub fn with_budget(mut self, per_second: u32) -> Self {
        self.client = self.client.with_budget(per_second);
        self
    }

    /// The deadline of a tool call starting now.
    pub(crate) fn deadline(&self) -> tokio::time::Instant {
        self.client.deadline()
    }

    /// Sends `request` (paths relative to the API root, e.g. `["calendars", id, "events"]`)
    /// before `deadline`.
    pub(crate) async fn call(
        &self,
        grant: &Grant,
        request: &UpstreamRequest,
        deadline: tokio::time::Instant,
    ) -> Result<Value, UpstreamError> {
        self.client.call(grant, request, deadline).await
    }
}

/// The guidance for a failed call about `what` (e.g. "event"), by the status and Google's own
/// reason; `find` names the tool that lists valid ids.
pub fn explain(error: UpstreamError, what: &str, find: &str) -> ToolFailure {
    let UpstreamError::Status {
        status,
        code,
        message,
    } = &error
    else {
        return ToolFailure::new(format!("Google Calendar: {error}"));
    };
    let reason = code.as_str();
    ToolFailure::new(match (*status, reason) {
        (404, _) => format!("{what} not found: check the id with {find} and call again."),
        (410, _) => format!("this {what} was already deleted; nothing left to do."),
        (403 | 429, "rateLimitExceeded" | "userRateLimitExceeded") | (429, _) => format!(
            "Google Calendar is rate limiting this account ({reason}: {message}) and did not recover in time; \
             wait a minute and try again."
        ),
        (403, "dailyLimitExceeded") => format!(
            "Google Calendar's daily request quota for this server is used up ({reason}: {message}). It resets at \
             midnight Pacific time; tell the person it cannot be done before then (the operator can raise the \
             quota in the Google Cloud console). Do not retry now."
        ),
        (403, "quotaExceeded") => format!(
            "Google Calendar's usage limits for this person's calendar were reached ({reason}: {message}): too \
             many events, calendars or invitations in a short time. Google lifts them after a while, sometimes \
             hours; tell the person, and do not retry now."
        ),
        (403, "requiredAccessLevel") => format!(
            "the person has no write access to this calendar ({reason}: {message}); they can only read it. Use \
             a calendar whose access_role (list_calendars) is owner or writer."
        ),
        (403, "accessNotConfigured" | "SERVICE_DISABLED") => format!(
            "the Google Calendar API is switched off in the Google Cloud project of this server's OAuth client \
             ({reason}: {message}). Only the operator can fix it: enable \"Google Calendar API\" in the Google \
             Cloud console (APIs & Services, Library) for that project, wait a few minutes, and try again. Tell \
             the person; do not retry now."
        ),
        (403, "insufficientPermissions" | "ACCESS_TOKEN_SCOPE_INSUFFICIENT") => format!(
            "the connected Google account did not grant Calendar access ({reason}: {message}). Ask the person \
             to connect again and leave Calendar access ticked on Google's consent screen."
        ),
        (403, "forbiddenForNonOrganizer") => format!(
            "only the organizer can change this {what} ({reason}: {message}); the person can answer the \
             invitation with respond_to_event instead."
        ),
        (403, _) => format!(
            "no permission for this {what} ({reason}: {message}); the person may only have read access to that \
             calendar."
        ),
        (400, _) => format!(
            "Google Calendar rejected the request ({reason}: {message}). Fix the arguments and call again."
        ),
        (409, _) => format!(
            "conflict ({reason}: {message}); the {what} already exists or was changed meanwhile."
        ),
        (412, _) => format!(
            "the {what} changed since it was read ({reason}); read it again and repeat the change."
        ),
        (s, _) if s >= 500 => format!(
            "Google Calendar is having trouble ({s} {reason}); try again in a little while."
        ),
        _ => format!("Google Calendar: {error}"),
    })
}

/// The calendar id to use: the given one, trimmed, or `primary`.
pub fn calendar(id: Option<&str>) -> String {
    id.map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("primary")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(reason: &str) -> String {
        explain(
            UpstreamError::Status {
                status: 403,
                code: reason.to_owned(),
                message: "m".to_owned(),
            },
            "event",
            "list_events",
        )
        .0
    }

    #[test]
    fn a_switched_off_api_and_an_unticked_scope_are_told_apart_from_read_access() {
        assert!(forbidden("accessNotConfigured").contains("enable \"Google Calendar API\""));
        assert!(forbidden("insufficientPermissions").contains("leave Calendar access ticked"));
        assert!(forbidden("somethingElse").contains("read access"));
    }
}
