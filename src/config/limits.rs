//! The limits a listener and an authorization server hold against slow clients, floods and
//! greedy token holders: every one configurable, every default safe for a small box.

use std::time::Duration;

/// How one HTTP listener bounds its connections (`[http]`, `[notion_mcp]`, `[gcal_mcp]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// How long a request head may take to arrive in full (`header_timeout_secs`).
    pub header_timeout: Duration,
    /// How long a connection may pass no byte either way (`idle_timeout_secs`).
    pub idle_timeout: Duration,
    /// The most connections open at once (`max_connections`).
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// How many requests one source address may make to an endpoint: a bucket of `per_minute`
/// requests, refilled evenly over a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per minute, and the burst allowed at once.
    pub per_minute: u32,
}

/// What an authorization server keeps and lets one client or address do (`[notion_mcp]`,
/// `[gcal_mcp]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// `/register` per source address (`register_per_minute`).
    pub register: Rate,
    /// `/authorize` and `/consent` per source address (`authorize_per_minute`).
    pub authorize: Rate,
    /// `/token` and `/revoke` per source address (`token_per_minute`).
    pub token: Rate,
    /// Whether the source address is the last one in `X-Forwarded-For`, as a reverse proxy in
    /// front of the server appends it (`trust_forwarded_for`).
    pub trust_forwarded_for: bool,
    /// The most registered clients kept (`max_clients`).
    pub max_clients: usize,
    /// How long a registered client that never obtained a token is kept
    /// (`unused_client_ttl_secs`).
    pub unused_client_ttl: Duration,
    /// How long a client whose tokens have all lapsed is kept after its last token
    /// (`idle_client_ttl_secs`).
    pub idle_client_ttl: Duration,
    /// The most authorizations waiting for consent or the upstream at once (`max_pending`).
    pub max_pending: usize,
    /// Whether client ID metadata documents may be fetched from loopback and private addresses,
    /// for development (`allow_private_client_documents`).
    pub allow_private_client_documents: bool,
    /// MCP session limits.
    pub sessions: SessionLimits,
}

/// How many MCP sessions may be open at once, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Over the whole server (`max_sessions`); each costs tens of kilobytes of memory.
    pub total: usize,
    /// Per upstream account, over all its grants and clients (`max_sessions_per_account`).
    pub per_account: usize,
    /// Per client, over all the people it serves (`max_sessions_per_client`).
    pub per_client: usize,
    /// Per grant: one client's authorization for one account (`max_sessions_per_grant`).
    pub per_grant: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            total: 2000,
            per_account: 32,
            per_client: 1000,
            per_grant: 16,
        }
    }
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            register: Rate { per_minute: 20 },
            authorize: Rate { per_minute: 60 },
            token: Rate { per_minute: 120 },
            trust_forwarded_for: false,
            max_clients: 2000,
            unused_client_ttl: Duration::from_secs(86_400),
            idle_client_ttl: Duration::from_secs(90 * 86_400),
            max_pending: 2000,
            allow_private_client_documents: false,
            sessions: SessionLimits::default(),
        }
    }
}
