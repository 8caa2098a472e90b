//! Integration tests of the MCP client pool against real MCP servers: the official
//! `server-everything` (TypeScript SDK) and a FastMCP server (Python SDK), run as child processes.

#[path = "support/mcp_peers.rs"]
mod mcp_peers;

#[path = "mcp/common.rs"]
mod common;
#[path = "mcp/everything.rs"]
mod everything;
#[path = "mcp/fastmcp.rs"]
mod fastmcp;
#[path = "mcp/recovery.rs"]
mod recovery;
