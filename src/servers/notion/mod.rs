//! The Notion MCP server's tools: 30 tools over the Notion REST API (version 2025-09-03), each
//! call made with the upstream token of the request's [`Grant`](crate::servers::Grant).

mod api;
mod catalog;
mod handlers;
pub mod markdown;
pub mod params;
mod slim;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

pub use api::{NOTION_VERSION, NotionApi, normalize_id};
pub use catalog::tool_list;

use crate::servers::tooling::grant_of;

/// What the server tells clients about itself and how to use its tools.
const INSTRUCTIONS: &str = "Tools for the person's Notion workspace. Find pages and databases with \
`search` first and use the ids it returns; read a page's text with `get_page_content`; write \
content as Markdown with `create_page` and `append_block_children`. Only pages shared with the \
integration are visible.";

/// The Notion tool set as an rmcp server handler; cheap to clone (one per MCP session).
#[derive(Clone, Debug)]
pub struct NotionTools {
    api: NotionApi,
    tools: std::sync::Arc<Vec<Tool>>,
}

impl NotionTools {
    /// Tools calling the Notion API through `api`.
    pub fn new(api: NotionApi) -> Self {
        Self {
            api,
            tools: std::sync::Arc::new(tool_list()),
        }
    }
}

impl ServerHandler for NotionTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("mcp-gateway-notion", env!("CARGO_PKG_VERSION"))
                    .with_title("Notion"),
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
                tracing::debug!(tool = %request.name, "Notion tool failed");
                failure.into_result()
            }
        }
        .into())
    }
}
