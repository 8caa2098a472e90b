//! The tool catalog: every MCP tool a principal may use, named `<server>_<tool>` for the model.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::llm::ToolSpec;

/// Hints from a tool's MCP annotations that change how the gateway treats it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolHints {
    /// The tool only reads (`readOnlyHint`).
    pub read_only: bool,
    /// The tool may delete, archive or overwrite (`destructiveHint`): the user must confirm.
    pub destructive: bool,
    /// Calling it twice with the same arguments has no further effect (`idempotentHint`).
    pub idempotent: bool,
}

/// One tool in a principal's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogTool {
    /// The configured server's name (`notion`).
    pub server: String,
    /// The tool's name on its server (`search`).
    pub tool: String,
    /// The name offered to the model (`notion_search`).
    pub qualified: String,
    /// A human title, when the server gave one.
    pub title: Option<String>,
    /// What the tool does.
    pub description: String,
    /// The tool's input JSON Schema (an object schema), shared with the specs made from it.
    pub input_schema: Arc<Value>,
    /// Behaviour hints from the annotations.
    pub hints: ToolHints,
}

impl CatalogTool {
    /// Builds a catalog entry from an MCP `Tool` of server `server`.
    ///
    /// MCP's `destructiveHint` defaults to true when `readOnlyHint` is false; a tool without
    /// annotations is therefore treated as destructive only when the server says so explicitly,
    /// because most servers omit annotations and a confirmation on every call would be useless.
    #[must_use]
    pub fn from_mcp(server: &str, tool: &rmcp::model::Tool) -> Self {
        let hints = tool
            .annotations
            .as_ref()
            .map(|a| ToolHints {
                read_only: a.read_only_hint.unwrap_or(false),
                destructive: !a.read_only_hint.unwrap_or(false)
                    && a.destructive_hint.unwrap_or(false),
                idempotent: a.idempotent_hint.unwrap_or(false),
            })
            .unwrap_or_default();
        let title = tool
            .title
            .clone()
            .or_else(|| tool.annotations.as_ref().and_then(|a| a.title.clone()));
        Self {
            server: server.to_owned(),
            tool: tool.name.to_string(),
            qualified: qualified_name(server, &tool.name),
            title,
            description: tool.description.as_deref().unwrap_or_default().to_owned(),
            input_schema: Arc::new(Value::Object((*tool.input_schema).clone())),
            hints,
        }
    }

    /// The tool as offered to the model.
    #[must_use]
    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.qualified.clone(),
            description: self.description.clone(),
            parameters: self.input_schema.clone(),
        }
    }
}

/// The name the model sees for `tool` of `server`: `<server>_<tool>`.
#[must_use]
pub fn qualified_name(server: &str, tool: &str) -> String {
    format!("{server}_{tool}")
}
