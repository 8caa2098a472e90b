//! The Google Calendar MCP server's tools: 20 tools over the Calendar v3 REST API, each call made
//! with the upstream token of the request's [`Grant`](crate::servers::Grant).

mod catalog;
pub mod params;

pub use catalog::tool_list;
