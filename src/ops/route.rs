//! `route`: a dry run of tool selection for one message, computed by the same code as a turn.
//!
//! The catalog comes from the configured servers (connecting as the console principal) or, with
//! `--catalog DIR`, from `DIR/<server name>.json` files holding MCP `tools/list` results. The
//! configured allow and deny lists, tool-name rules and bounds of a live listing apply either way.
//! The gateway's own `assistant_*` tools join it as they join every turn of `serve` and `up`
//! ([`turn_catalog`]), and a server the person has not connected adds its `<server>_connect`
//! stand-in as in a turn. The tools are printed exactly as the model would receive them
//! (`--json`) or as a readable list with scores.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde_json::json;

use crate::agent::select::{self, Selection, ToolSelector};
use crate::agent::{add_assistant_tools, connect_tools};
use crate::config::{Config, ServerConfig};
use crate::mcp::listing::{self, Limits};
use crate::mcp::{Catalog, CatalogTool, ToolHost};

/// Options of `route`.
#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// Read `DIR/<server>.json` (a `tools/list` result) instead of connecting to each server.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Print `{"tools": [...]}` exactly as sent to the model.
    #[arg(long)]
    pub json: bool,
    /// The message to route.
    pub message: String,
}

/// The largest catalog file read.
const MAX_CATALOG_BYTES: u64 = 8 << 20;
/// The conversation key of the dry run; a new selector is made for each run.
const ROUTE_CONVERSATION: &str = "route";

/// Why a catalog folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A server's file could not be read.
    #[error(
        "cannot read {path} (the catalog of server `{server}`): {reason}; --catalog DIR needs DIR/<server name>.json for every configured server"
    )]
    Read {
        /// The server.
        server: String,
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A server's file is not a `tools/list` result.
    #[error("{path} is not an MCP tools/list result (`{{\"tools\": [...]}}`): {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Reads `DIR/<server>.json` for every configured server into a catalog, keeping the tools a
/// live listing of the server would keep (see [`crate::mcp::listing`]).
///
/// # Errors
/// Fails naming the file that is missing, too large or not a `tools/list` result.
pub fn catalog_from_dir(servers: &[ServerConfig], dir: &Path) -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::default();
    for server in servers {
        let path = dir.join(format!("{}.json", server.name));
        let read_err = |reason: String| CatalogError::Read {
            server: server.name.clone(),
            path: path.clone(),
            reason,
        };
        let len = std::fs::metadata(&path)
            .map_err(|e| read_err(e.to_string()))?
            .len();
        if len > MAX_CATALOG_BYTES {
            return Err(read_err(format!(
                "it is larger than {MAX_CATALOG_BYTES} bytes"
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(e.to_string()))?;
        let tools = listing::from_text(server, &text, Limits::default()).map_err(|e| {
            CatalogError::Parse {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
        catalog.tools.extend(tools);
    }
    Ok(catalog)
}

/// The catalog a turn of `serve` or `up` chooses from, given the servers' tools: those, then
/// the gateway's own tools, added by the code a turn adds them with.
#[must_use]
pub fn turn_catalog(mut servers: Catalog) -> Catalog {
    add_assistant_tools(&mut servers);
    servers
}

/// The selector `route` uses: the configuration's, with embeddings when `[model].embed_name` is
/// set (tool vectors cached in the configured store when it opens, else only in memory).
///
/// # Errors
/// Fails when the model client cannot be built.
pub fn selector(config: &Config) -> anyhow::Result<ToolSelector> {
    let Some(embed_name) = config.model.embed_name.clone() else {
        return Ok(ToolSelector::new(&config.agent, &config.servers));
    };
    let model: Arc<dyn crate::llm::ChatModel> = Arc::from(crate::llm::from_config(&config.model)?);
    let store = match crate::store::Store::open(&config.store.path) {
        Ok(store) => Some(store),
        Err(e) => {
            tracing::warn!(error = %e, "tool vectors are not cached: the store does not open");
            None
        }
    };
    Ok(ToolSelector::with_embeddings(
        &config.agent,
        &config.servers,
        model,
        embed_name,
        store,
    ))
}

/// Selects the tools for `message` as the first message of a new conversation.
///
/// # Errors
/// Fails when the model client for embeddings cannot be built.
pub async fn route(config: &Config, catalog: &Catalog, message: &str) -> anyhow::Result<Selection> {
    let selector = selector(config)?;
    Ok(selector.select(ROUTE_CONVERSATION, catalog, message).await)
}

/// Prints the selection as `{"tools": [...]}` in the model's wire shape, with the connect
/// stand-ins a turn adds.
#[must_use]
pub fn render_json(selection: &Selection, catalog: &Catalog) -> String {
    let tools: Vec<serde_json::Value> = selection
        .specs(catalog)
        .into_iter()
        .chain(connect_tools(catalog))
        .map(|spec| spec.to_wire())
        .collect();
    json!({ "tools": tools }).to_string()
}

/// Prints the selection as a readable list, one tool per line with its score.
#[must_use]
pub fn render_text(selection: &Selection, catalog: &Catalog) -> String {
    let specs = selection.specs(catalog);
    let all_bytes = select::schema_bytes(
        &catalog
            .tools
            .iter()
            .map(CatalogTool::spec)
            .collect::<Vec<_>>(),
    );
    let mut out = String::new();
    if selection.tools.is_empty() {
        out.push_str("no catalog tools\n");
    }
    if selection.find_tools {
        out.push_str(&format!("{:>7}  {}\n", "meta", select::FIND_TOOLS));
    }
    for tool in &selection.tools {
        let mark = if tool.core { "  (core)" } else { "" };
        out.push_str(&format!("{:>7.2}  {}{mark}\n", tool.score, tool.name));
    }
    for stand_in in connect_tools(catalog) {
        out.push_str(&format!("{:>7}  {}\n", "connect", stand_in.name));
    }
    out.push_str(&format!(
        "{} of {} catalog tools, {} of {} schema bytes\n",
        selection.tools.len(),
        catalog.tools.len(),
        select::schema_bytes(&specs),
        all_bytes
    ));
    for server in &catalog.needs_connection {
        out.push_str(&format!(
            "note: `{server}` is not connected for this user\n"
        ));
    }
    for (server, reason) in &catalog.unavailable {
        out.push_str(&format!("note: `{server}` is unavailable: {reason}\n"));
    }
    out
}

/// Runs `mcp-gateway route`.
///
/// # Errors
/// Fails when the catalog cannot be read or the servers' pool cannot be built.
pub async fn run(config: &Config, args: &RouteArgs) -> anyhow::Result<ExitCode> {
    let servers = match &args.catalog {
        Some(dir) => catalog_from_dir(&config.servers, dir)?,
        None => {
            let pool = crate::mcp::McpPool::from_config(config)?;
            let user = std::env::var("USER").ok();
            let principal = crate::channels::console::principal_from_env(user.as_deref());
            pool.catalog(&principal).await
        }
    };
    let catalog = turn_catalog(servers);
    let selection = route(config, &catalog, &args.message).await?;
    if args.json {
        println!("{}", render_json(&selection, &catalog));
    } else {
        print!("{}", render_text(&selection, &catalog));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in tools join the catalog as in a turn, and a server the person has not
    /// connected shows its stand-in, in both renderings.
    #[tokio::test]
    async fn the_built_in_tools_and_connect_stand_ins_are_shown() {
        let config = Config::parse("", Path::new("/tmp/route.toml")).unwrap();
        let catalog = turn_catalog(Catalog {
            needs_connection: vec!["notion".into()],
            ..Catalog::default()
        });
        let selection = route(&config, &catalog, "remind me at 5 to call the plumber")
            .await
            .unwrap();
        let printed: serde_json::Value =
            serde_json::from_str(&render_json(&selection, &catalog)).unwrap();
        let names: Vec<&str> = printed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["function"]["name"].as_str())
            .collect();
        assert!(names.contains(&"assistant_schedule"), "{names:?}");
        assert_eq!(names.last(), Some(&"notion_connect"), "{names:?}");
        let text = render_text(&selection, &catalog);
        assert!(text.contains("assistant_schedule"), "{text}");
        assert!(text.contains("connect  notion_connect"), "{text}");
        assert!(text.contains("`notion` is not connected"), "{text}");
    }
}
