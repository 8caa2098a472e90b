//! The Notion MCP server's tools: 30 tools over the Notion REST API (version 2026-03-11), each
//! call made with the upstream token of the request's [`Grant`](crate::servers::Grant), within
//! Notion's request limits ([`request_limits`]) and rate limits.

mod api;
mod call;
mod catalog;
mod content;
mod handlers;
pub(crate) mod markdown;
pub(crate) mod params;
mod request_limits;
mod slim;

pub use api::{NOTION_VERSION, NotionApi, normalize_id};
pub use catalog::tool_list;
pub(crate) use catalog::tools;

/// What the server tells clients about itself and how to use its tools.
pub(crate) const INSTRUCTIONS: &str = "Tools for the person's Notion workspace. Find pages and databases with \
`search` first and use the ids it returns; read a page's text with `get_page_content`; write \
content as Markdown with `create_page` and `append_block_children`. Only pages shared with the \
integration are visible.";
