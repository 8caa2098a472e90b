//! The Notion REST client: base URL, `Notion-Version` header, and errors turned into guidance.

use http::{HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::servers::Grant;
use crate::servers::tooling::ToolFailure;
use crate::servers::upstream_http::{Limits, UpstreamClient, UpstreamError, UpstreamRequest};

/// The Notion API version sent on every call: 2026-03-11, the first with the `position` object
/// of Append block children (before it, only an `after` block id); every other parameter the
/// tools send is the same in both.
pub const NOTION_VERSION: &str = "2026-03-11";

/// A Notion REST client rooted at the configured API URL (e.g. `https://api.notion.com`).
#[derive(Clone, Debug)]
pub struct NotionApi {
    client: UpstreamClient,
}

impl NotionApi {
    /// A client for the API at `api_url` with the default limits.
    pub fn new(api_url: Url, http: reqwest::Client) -> Self {
        Self::with_limits(api_url, http, Limits::default())
    }

    /// A client for the API at `api_url` with the given limits.
    pub fn with_limits(api_url: Url, http: reqwest::Client, limits: Limits) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("notion-version", HeaderValue::from_static(NOTION_VERSION));
        Self {
            client: UpstreamClient::new(api_url, http, headers, limits),
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

    /// Sends `request` (paths relative to the API root, e.g. `["v1", "pages", id]`) before
    /// `deadline`.
    pub(crate) async fn call(
        &self,
        grant: &Grant,
        request: &UpstreamRequest,
        deadline: tokio::time::Instant,
    ) -> Result<Value, UpstreamError> {
        self.client.call(grant, request, deadline).await
    }
}

/// The guidance for a failed call about `what` (e.g. "page", "block").
pub fn explain(error: UpstreamError, what: &str) -> ToolFailure {
    match &error {
        UpstreamError::Status { status: 404, .. } => ToolFailure::new(format!(
            "{what} not found: check the id with the search tool (or get_block_children for block ids). \
             If the id is right, the person must share that {what} with the integration in Notion \
             (\"Connections\" in the page menu)."
        )),
        UpstreamError::Status {
            status: 403,
            message,
            ..
        } => ToolFailure::new(format!(
            "Notion refused access to this {what} ({message}). The integration lacks the capability or the \
             {what} is not shared with it; ask the person to share it with the integration."
        )),
        UpstreamError::Status {
            status: 400,
            code,
            message,
        } => ToolFailure::new(format!(
            "Notion rejected the request ({code}: {message}). Fix the arguments and call the tool again."
        )),
        UpstreamError::Status { status: 409, .. } => ToolFailure::new(
            "Notion reported a conflicting edit of the same data; call the tool again.",
        ),
        UpstreamError::Status { status, code, .. } if *status >= 500 => ToolFailure::new(format!(
            "Notion is having trouble ({status} {code}); try again in a little while."
        )),
        _ => ToolFailure::new(format!("Notion: {error}")),
    }
}

/// Normalises a Notion id: a bare id, a dashed UUID or a Notion URL ending in the id all become
/// the dashed UUID; anything else is passed on trimmed.
pub fn normalize_id(raw: &str) -> String {
    let trimmed = raw.trim();
    let without_query = trimmed.split(['?', '#']).next().unwrap_or(trimmed);
    let hex: Vec<char> = without_query.chars().filter(|c| *c != '-').collect();
    if hex.len() >= 32 {
        let tail = &hex[hex.len() - 32..];
        if tail.iter().all(char::is_ascii_hexdigit) {
            let s: String = tail.iter().collect::<String>().to_ascii_lowercase();
            return format!(
                "{}-{}-{}-{}-{}",
                &s[0..8],
                &s[8..12],
                &s[12..16],
                &s[16..20],
                &s[20..32]
            );
        }
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_normalized() {
        let dashed = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b";
        assert_eq!(normalize_id("1f2e3d4c5b6a47988a9b0c1d2e3f4a5b"), dashed);
        assert_eq!(normalize_id(&format!(" {dashed} ")), dashed);
        assert_eq!(
            normalize_id(
                "https://www.notion.so/acme/My-Page-1f2e3d4c5b6a47988a9b0c1d2e3f4a5b?pvs=4"
            ),
            dashed
        );
        assert_eq!(normalize_id("me"), "me");
        assert_eq!(normalize_id("ü"), "ü");
    }
}
