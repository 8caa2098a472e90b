//! The rmcp server handler both tool sets share: server information, the tool list, and each
//! call run by its entry in the set's tool table with the request's
//! [`Grant`](crate::servers::Grant).

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::Grant;
use super::gcal::GcalApi;
use super::notion::NotionApi;
use super::tooling::{ToolResult, ToolSpec, find, grant_of};

/// One of our tool sets, with the upstream API it calls.
#[derive(Clone, Debug)]
pub enum ToolSet {
    /// The 30 Notion tools.
    Notion(NotionApi),
    /// The 20 Google Calendar tools.
    Gcal(GcalApi),
}

impl ToolSet {
    /// The tool definitions of this set.
    #[must_use]
    pub fn tool_list(&self) -> Vec<Tool> {
        match self {
            Self::Notion(_) => super::notion::tool_list(),
            Self::Gcal(_) => super::gcal::tool_list(),
        }
    }

    fn info(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Notion(_) => ("mcp-gateway-notion", "Notion", super::notion::INSTRUCTIONS),
            Self::Gcal(_) => (
                "mcp-gateway-gcal",
                "Google Calendar",
                super::gcal::INSTRUCTIONS,
            ),
        }
    }
}

/// A tool set as an rmcp server handler; cheap to clone (one per MCP session).
#[derive(Clone, Debug)]
pub struct ToolServer {
    set: ToolSet,
    tools: Arc<Vec<Tool>>,
}

impl ToolServer {
    /// The handler serving `set`.
    #[must_use]
    pub fn new(set: ToolSet) -> Self {
        let tools = Arc::new(set.tool_list());
        Self { set, tools }
    }

    /// Runs the tool `name` with `arguments` for `grant`; `None` when the set has no such tool.
    async fn run(
        &self,
        grant: &Grant,
        name: &str,
        arguments: Option<&JsonObject>,
    ) -> Option<ToolResult> {
        async fn run_in<Api>(
            table: &[ToolSpec<Api>],
            api: &Api,
            grant: &Grant,
            name: &str,
            arguments: Option<&JsonObject>,
        ) -> Option<ToolResult> {
            let spec = find(table, name)?;
            Some((spec.run)(api, grant, arguments).await)
        }
        match &self.set {
            ToolSet::Notion(api) => {
                run_in(super::notion::tools(), api, grant, name, arguments).await
            }
            ToolSet::Gcal(api) => run_in(super::gcal::tools(), api, grant, name, arguments).await,
        }
    }
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        let (name, title, instructions) = self.set.info();
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(name, env!("CARGO_PKG_VERSION")).with_title(title),
            )
            .with_instructions(instructions)
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
            return Err(unknown_tool(&request.name));
        }
        let grant = match grant_of(&context) {
            Ok(grant) => grant,
            Err(failure) => return Ok(failure.into_result().into()),
        };
        let Some(result) = self
            .run(&grant, &request.name, request.arguments.as_ref())
            .await
        else {
            return Err(unknown_tool(&request.name));
        };
        Ok(match result {
            Ok(output) => output.into_result(),
            Err(failure) => {
                tracing::debug!(tool = %request.name, "tool failed");
                failure.into_result()
            }
        }
        .into())
    }
}

/// The MCP error for a call to a tool the set does not have.
fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!("unknown tool `{name}`; list the tools to see the names"),
        None,
    )
}
