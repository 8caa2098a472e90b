//! What the tests of every chat platform read and configure alike: the pairing code in a reply,
//! an MCP server people connect with OAuth, and account links that record the pages they hand out.

#![allow(dead_code)] // each test binary uses a different part

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::config::{ServerAuth, ServerConfig};
use mcp_gateway::mcp::accounts::{AccountError, AccountLinks, Disconnected};
use parking_lot::Mutex;

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

/// Account links that hand out a recognisable authorization URL and page, recording who each
/// page was for.
#[derive(Default)]
pub struct Links {
    /// The pages handed out: (authorization URL, server, who it is for).
    pub pages: Mutex<Vec<(String, String, String)>>,
    /// Whether the gateway's public address is `localhost` (a host Telegram takes no button
    /// for).
    pub local: bool,
}

#[async_trait]
impl AccountLinks for Links {
    async fn connect_link(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<String, AccountError> {
        Ok(format!(
            "https://as.example/authorize?server={server}&for={}",
            principal.as_str().replace(':', "-")
        ))
    }

    fn present_link(&self, url: &str, server: &str, who: &str) -> String {
        let mut pages = self.pages.lock();
        pages.push((url.to_owned(), server.to_owned(), who.to_owned()));
        let base = if self.local {
            "http://localhost:18789"
        } else {
            "https://gw.example"
        };
        format!("{base}/connect/page{}", pages.len())
    }

    async fn disconnect(&self, _: &Principal, _: &str) -> Result<Disconnected, AccountError> {
        Ok(Disconnected::default())
    }

    async fn connected(&self, _: &Principal) -> Result<Vec<String>, AccountError> {
        Ok(Vec::new())
    }
}
