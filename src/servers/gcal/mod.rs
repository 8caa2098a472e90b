//! The Google Calendar MCP server's tools: 20 tools over the Calendar v3 REST API, each call made
//! with the upstream token of the request's [`Grant`](crate::servers::Grant).

mod api;
mod catalog;
mod handlers;
pub mod params;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

pub use api::GcalApi;
pub use catalog::tool_list;

use crate::servers::tooling::grant_of;

/// What the server tells clients about itself and how to use its tools.
const INSTRUCTIONS: &str = "Tools for the person's Google Calendar. Call `get_current_time` before \
working out relative dates; list a day or week with `list_events` (time_min/time_max); create \
events with `create_event` (RFC3339 times, or YYYY-MM-DD for all-day) or `quick_add_event`; \
event ids come from `list_events`. Calendar ids default to \"primary\".";

/// The Calendar tool set as an rmcp server handler; cheap to clone (one per MCP session).
#[derive(Clone, Debug)]
pub struct GcalTools {
    api: GcalApi,
    tools: std::sync::Arc<Vec<Tool>>,
}

impl GcalTools {
    /// Tools calling the Calendar API through `api`.
    pub fn new(api: GcalApi) -> Self {
        Self {
            api,
            tools: std::sync::Arc::new(tool_list()),
        }
    }
}

impl ServerHandler for GcalTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("mcp-gateway-gcal", env!("CARGO_PKG_VERSION"))
                    .with_title("Google Calendar"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == request.name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; list the tools to see the names",
                    request.name
                ),
                None,
            ));
        }
        let grant = match grant_of(&context) {
            Ok(grant) => grant,
            Err(failure) => return Ok(failure.into_result().into()),
        };
        let result =
            handlers::dispatch(&self.api, &grant, &request.name, request.arguments.as_ref()).await;
        Ok(match result {
            Ok(output) => output.into_result(),
            Err(failure) => {
                tracing::debug!(tool = %request.name, "Calendar tool failed");
                failure.into_result()
            }
        }
        .into())
    }
}
