//! The Notion MCP server's tools: 30 tools over the Notion REST API (version 2025-09-03), each
//! call made with the upstream token of the request's [`Grant`](crate::servers::Grant).

mod catalog;
pub mod markdown;
pub mod params;

pub use catalog::tool_list;
