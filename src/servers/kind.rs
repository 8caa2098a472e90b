//! Which of our two MCP servers a process runs, and what differs between them.

use std::fmt;

use crate::config::{Config, McpServerConfig};

/// One of our MCP servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// The Notion server (`notion-mcp`, `[notion_mcp]`).
    Notion,
    /// The Google Calendar server (`gcal-mcp`, `[gcal_mcp]`).
    Gcal,
}

impl ServerKind {
    /// The short name used in the database, in metrics labels and in logs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Notion => "notion",
            Self::Gcal => "gcal",
        }
    }

    /// The configuration section of this server, as written in the file.
    #[must_use]
    pub fn section(self) -> &'static str {
        match self {
            Self::Notion => "[notion_mcp]",
            Self::Gcal => "[gcal_mcp]",
        }
    }

    /// This server's settings.
    #[must_use]
    pub fn config(self, config: &Config) -> &McpServerConfig {
        match self {
            Self::Notion => &config.notion_mcp,
            Self::Gcal => &config.gcal_mcp,
        }
    }

    /// The upstream service, as shown to people.
    #[must_use]
    pub fn upstream_title(self) -> &'static str {
        match self {
            Self::Notion => "Notion",
            Self::Gcal => "Google Calendar",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
