//! The gateway as an MCP OAuth client: connecting from the chat through our notion-mcp and
//! through a FastMCP server we did not write, per-person sessions, token refresh (ahead of expiry,
//! single-flight), broken and revoked connections, the callback's refusals, `mcp-gateway up`,
//! and no token in plaintext in the database or the logs.

#[path = "support/deployment.rs"]
mod deployment;
#[path = "support/fake_google.rs"]
mod fake_google;
#[path = "support/fake_notion.rs"]
mod fake_notion;
#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

#[path = "oauth/accounts.rs"]
mod accounts;
#[path = "oauth/fastmcp.rs"]
mod fastmcp;
#[path = "oauth/flow.rs"]
mod flow;
#[path = "oauth/harness.rs"]
mod harness;
#[path = "oauth/lifecycle.rs"]
mod lifecycle;
#[path = "oauth/serve.rs"]
mod serve;
#[path = "oauth/up.rs"]
mod up;
