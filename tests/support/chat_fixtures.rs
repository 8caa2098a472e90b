//! What the tests of every chat platform read and configure alike: the pairing code in a reply,
//! and an MCP server people connect with OAuth.

#![allow(dead_code)] // each test binary uses a different part

use mcp_gateway::config::{ServerAuth, ServerConfig};

/// Finds the eight-character pairing code in a reply.
///
/// # Panics
/// Panics, naming the text, when it holds no such code.
pub fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| {
            w.len() == 8
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// A server named `notion` that people connect with OAuth, at an address nothing listens on (the
/// tests only ask for its connect link).
pub fn notion() -> ServerConfig {
    ServerConfig {
        name: "notion".into(),
        url: "http://127.0.0.1:9/mcp".parse().expect("a URL"),
        auth: ServerAuth::OAuth,
        allow_tools: None,
        deny_tools: Vec::new(),
        core_tools: Vec::new(),
        keywords: Vec::new(),
        timeout: None,
    }
}
