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

/// The guidance for a failed call about `what` (e.g. "event"); `find` names the tool that
/// lists valid ids.
pub fn explain(error: UpstreamError, what: &str, find: &str) -> ToolFailure {
    match &error {
        UpstreamError::Status { status: 404, .. } => ToolFailure::new(format!(
            "{what} not found: check the id with {find} and call again."
        )),
        UpstreamError::Status { status: 410, .. } => ToolFailure::new(format!(
            "this {what} was already deleted; nothing left to do."
        )),
        UpstreamError::Status {
            status: 403,
            code,
            message,
        } if code.contains("ateLimit") || code == "quotaExceeded" => ToolFailure::new(format!(
            "Google Calendar is rate limiting ({message}); wait a minute and try again."
        )),
        UpstreamError::Status {
            status: 403,
            message,
            ..
        } => ToolFailure::new(format!(
            "no permission for this {what} ({message}); the person may only have read access to that calendar."
        )),
        UpstreamError::Status {
            status: 400,
            code,
            message,
        } => ToolFailure::new(format!(
            "Google Calendar rejected the request ({code}: {message}). Fix the arguments and call again."
        )),
        UpstreamError::Status {
            status: 409,
            message,
            ..
        } => ToolFailure::new(format!(
            "conflict ({message}); the {what} already exists or was changed meanwhile."
        )),
        UpstreamError::Status { status, code, .. } if *status >= 500 => ToolFailure::new(format!(
            "Google Calendar is having trouble ({status} {code}); try again in a little while."
        )),
        _ => ToolFailure::new(format!("Google Calendar: {error}")),
    }
}

/// The calendar id to use: the given one, trimmed, or `primary`.
pub fn calendar(id: Option<&str>) -> String {
    id.map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("primary")
        .to_owned()
}
