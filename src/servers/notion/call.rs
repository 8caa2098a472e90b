//! One Notion tool call: the API client, the connected account's grant and the call's deadline,
//! shared by the tools ([`super::handlers`]) and the content reader and writer
//! ([`super::content`]).

use serde_json::Value;
use tokio::time::Instant;

use super::api::{NotionApi, explain};
use crate::servers::Grant;
use crate::servers::tooling::ToolFailure;
use crate::servers::upstream_http::UpstreamRequest;

/// The path segments of `parts` under `/v1`.
pub(super) fn segs(parts: &[&str]) -> Vec<String> {
    std::iter::once("v1")
        .chain(parts.iter().copied())
        .map(str::to_owned)
        .collect()
}

/// One tool call: the API client and the grant it acts for.
pub(super) struct Call<'a> {
    pub(super) api: &'a NotionApi,
    pub(super) grant: &'a Grant,
    /// When the call must answer, with what it has by then.
    pub(super) deadline: Instant,
}

impl<'a> Call<'a> {
    /// The context of one call to `api` for `grant`.
    pub(super) fn new(api: &'a NotionApi, grant: &'a Grant) -> Self {
        Self {
            api,
            grant,
            deadline: api.deadline(),
        }
    }
}

impl Call<'_> {
    /// Sends `request`, explaining a failure about `what` (e.g. "page") to the model.
    pub(super) async fn send(
        &self,
        request: UpstreamRequest,
        what: &str,
    ) -> Result<Value, ToolFailure> {
        self.api
            .call(self.grant, &request, self.deadline)
            .await
            .map_err(|e| explain(e, what))
    }

    /// Sends a GET to the path of `parts`.
    pub(super) async fn get(&self, parts: &[&str], what: &str) -> Result<Value, ToolFailure> {
        self.send(UpstreamRequest::get(segs(parts)), what).await
    }
}
