//! Tests of the Notion and Calendar MCP tool sets, mounted as rmcp streamable HTTP services and
//! driven by rmcp's client against wire-faithful fakes of the upstream APIs; and the real
//! `notion-mcp`/`gcal-mcp` processes with their OAuth authorization server.

#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/fake_notion.rs"]
mod fake_notion;

#[path = "servers/common.rs"]
mod common;
#[path = "support/deployment.rs"]
mod deployment;
#[path = "servers/gcal_limits.rs"]
mod gcal_limits;
#[path = "servers/gcal_tools.rs"]
mod gcal_tools;
#[path = "servers/hardening.rs"]
mod hardening;
#[path = "servers/listing.rs"]
mod listing;
#[path = "servers/notion_limits.rs"]
mod notion_limits;
#[path = "servers/notion_tools.rs"]
mod notion_tools;
#[path = "servers/oauth.rs"]
mod oauth;
#[path = "servers/peers.rs"]
mod peers;
#[path = "servers/restore.rs"]
mod restore;
#[path = "servers/startup.rs"]
mod startup;
