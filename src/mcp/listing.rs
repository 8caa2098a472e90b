//! Turning a server's `tools/list` into catalog entries: the configured filters and the bounds.
//!
//! A server is untrusted input. Its listing is read page by page up to a page limit, at most
//! [`Limits::max_tools`] tools are kept, and tools are skipped (with a warning) when their
//! qualified name is not 1-64 characters of `[A-Za-z0-9_-]`, when their input schema is larger
//! than [`Limits::max_schema_bytes`], or when their name repeats an earlier one. Descriptions and
//! titles are cut to a bounded length. Tools that the server's `allow_tools`/`deny_tools` exclude
//! are left out silently. Each kept tool's input schema is compiled into the subset of JSON
//! Schema that Ollama's decoder keeps ([`super::schema`]), for every server and either provider.
//! A listing saved as text ([`from_text`], for `route --catalog`) goes through the same rules,
//! so it yields the tools a turn would be offered.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use rmcp::ServiceError;
use rmcp::model::{ListToolsResult, PaginatedRequestParams, Tool};
use rmcp::service::{Peer, RoleClient};

use super::{CatalogTool, schema};
use crate::config::ServerConfig;

/// The most `tools/list` pages read from one server.
const MAX_PAGES: usize = 64;
/// The most bytes of a tool description kept.
const MAX_DESCRIPTION_BYTES: usize = 4096;
/// The most bytes of a tool title kept.
const MAX_TITLE_BYTES: usize = 200;

/// Bounds on what one server's listing may contribute to the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most tools kept from one server.
    pub max_tools: usize,
    /// The largest input schema accepted, in bytes of compact JSON.
    pub max_schema_bytes: usize,
}

impl Default for Limits {
    /// 512 tools a server, and input schemas up to 64 KiB.
    fn default() -> Self {
        Self {
            max_tools: 512,
            max_schema_bytes: 64 * 1024,
        }
    }
}

/// The tools kept so far from one server's listing.
struct Kept<'a> {
    server: &'a ServerConfig,
    limits: Limits,
    tools: Vec<CatalogTool>,
    seen: HashSet<String>,
}

impl<'a> Kept<'a> {
    fn new(server: &'a ServerConfig, limits: Limits) -> Self {
        Self {
            server,
            limits,
            tools: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Keeps `tool` when the rules allow it; `false` once no more tools are kept.
    fn offer(&mut self, tool: &Tool) -> bool {
        if self.tools.len() == self.limits.max_tools {
            tracing::warn!(
                server = %self.server.name,
                max_tools = self.limits.max_tools,
                "the server lists more tools than the gateway keeps; the rest is ignored"
            );
            return false;
        }
        if let Some(entry) = accept(self.server, tool, self.limits, &self.seen) {
            self.seen.insert(entry.tool.clone());
            self.tools.push(entry);
        }
        true
    }
}

/// Reads every page of the server's tool list and keeps the tools the catalog may offer.
pub(crate) async fn list_tools(
    peer: &Peer<RoleClient>,
    server: &ServerConfig,
    limits: Limits,
) -> Result<Vec<CatalogTool>, ServiceError> {
    let mut kept = Kept::new(server, limits);
    let mut cursor: Option<String> = None;
    for page_number in 0.. {
        if page_number == MAX_PAGES {
            tracing::warn!(
                server = %server.name,
                pages = MAX_PAGES,
                "the server's tool list has more pages than the gateway reads; the rest is ignored"
            );
            break;
        }
        let params = PaginatedRequestParams::default().with_cursor(cursor.take());
        let page = peer.list_tools(Some(params)).await?;
        for tool in &page.tools {
            if !kept.offer(tool) {
                return Ok(kept.tools);
            }
        }
        match page.next_cursor {
            Some(next) if !next.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(kept.tools)
}

/// The catalog entries of a `tools/list` result saved as text (`{"tools": [...]}`), kept by the
/// same rules as a live listing.
///
/// # Errors
/// Fails with the parser's error when the text is not a `tools/list` result.
pub fn from_text(
    server: &ServerConfig,
    text: &str,
    limits: Limits,
) -> Result<Vec<CatalogTool>, serde_json::Error> {
    let listing: ListToolsResult = serde_json::from_str(text)?;
    let mut kept = Kept::new(server, limits);
    for tool in &listing.tools {
        if !kept.offer(tool) {
            break;
        }
    }
    Ok(kept.tools)
}

/// The catalog entry for `tool`, or `None` when it is filtered out or out of bounds.
fn accept(
    server: &ServerConfig,
    tool: &Tool,
    limits: Limits,
    seen: &HashSet<String>,
) -> Option<CatalogTool> {
    let name: &str = &tool.name;
    if !server.permits(name) {
        return None;
    }
    let qualified = super::qualified_name(&server.name, name);
    if !valid_tool_name(&qualified) {
        tracing::warn!(
            server = %server.name,
            tool = %truncate(name, 100),
            "skipping a tool whose name is not 1-64 characters of A-Z, a-z, 0-9, '_' and '-' \
             once prefixed with the server name"
        );
        return None;
    }
    if seen.contains(name) {
        tracing::warn!(server = %server.name, tool = name, "skipping a repeated tool name");
        return None;
    }
    let schema_bytes = json_len(&*tool.input_schema);
    if schema_bytes > limits.max_schema_bytes {
        tracing::warn!(
            server = %server.name,
            tool = name,
            schema_bytes,
            max_schema_bytes = limits.max_schema_bytes,
            "skipping a tool whose input schema is too large"
        );
        return None;
    }
    let mut entry = CatalogTool::from_mcp(&server.name, tool);
    entry.input_schema = Arc::new(schema::compile(&tool.input_schema));
    entry.description = truncate(&entry.description, MAX_DESCRIPTION_BYTES);
    entry.title = entry.title.map(|t| truncate(&t, MAX_TITLE_BYTES));
    Some(entry)
}

/// Whether `name` is a tool name every model API accepts: 1-64 characters of `[A-Za-z0-9_-]`.
#[must_use]
pub fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The length of `value` as compact JSON, computed without building the string.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_model_apis_rules() {
        assert!(valid_tool_name("everything_echo"));
        assert!(valid_tool_name("everything_get-tiny-image"));
        assert!(!valid_tool_name("fast_dotted.name"));
        assert!(!valid_tool_name("fast_with space"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name(&"x".repeat(65)));
        assert!(valid_tool_name(&"x".repeat(64)));
        assert!(!valid_tool_name("fast_é"));
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn json_length_matches_serialisation() {
        let v = serde_json::json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(json_len(&v), v.to_string().len());
    }
}
