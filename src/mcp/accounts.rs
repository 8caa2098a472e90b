//! A person's account connections, as the agent and the chat channels see them.
//!
//! The agent offers `<server>_connect` and shows links for connections that broke, and chat
//! commands (`/connect`, `/disconnect`, `/connections`) list and change connections; both reach the
//! gateway's OAuth client ([`crate::mcp::oauth`]) only through [`AccountLinks`], so they work
//! (and say so) when no OAuth client is configured. When a person finishes connecting, the OAuth
//! client tells the person's channel through a [`ConnectListener`], with the message that was
//! waiting for the connection ([`PendingMessage`]).

use async_trait::async_trait;

use crate::Principal;

/// Why a connection could not be listed, started or removed; the text is shown to the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccountError(pub String);

/// A person's account connections to OAuth-protected MCP servers.
#[async_trait]
pub trait AccountLinks: Send + Sync {
    /// A link the person opens to connect their account on `server`.
    async fn connect_link(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<String, AccountError>;

    /// Like [`AccountLinks::connect_link`], remembering `pending`, the message that needed the
    /// connection, so that it can be answered once the person has connected.
    async fn connect_link_for(
        &self,
        principal: &Principal,
        server: &str,
        pending: Option<PendingMessage>,
    ) -> Result<String, AccountError> {
        let _ = pending;
        self.connect_link(principal, server).await
    }

    /// The link a chat shows `who` (the person as the chat knows them, such as
    /// "Telegram user @ann (id 42)") for the authorization `url` of `server`: a page that names
    /// `who`, warns not to continue with a link someone else sent, and leads on to `url`. The
    /// default shows `url` itself.
    fn present_link(&self, url: &str, server: &str, who: &str) -> String {
        let _ = (server, who);
        url.to_owned()
    }

    /// Removes the person's connection to `server` on both sides, saying whether there was one
    /// and what the server could not confirm.
    async fn disconnect(
        &self,
        principal: &Principal,
        server: &str,
    ) -> Result<Disconnected, AccountError>;

    /// The servers the person has connected.
    async fn connected(&self, principal: &Principal) -> Result<Vec<String>, AccountError>;

    /// The servers the person has connected, each with the account it is connected as when
    /// the server named it. The default names none.
    async fn accounts(&self, principal: &Principal) -> Result<Vec<ConnectedAccount>, AccountError> {
        Ok(self
            .connected(principal)
            .await?
            .into_iter()
            .map(|server| ConnectedAccount {
                server,
                account: None,
            })
            .collect())
    }

    /// Why the person's connection to `server` ended, when it did and its server said why. The
    /// default knows of none.
    async fn ended(&self, principal: &Principal, server: &str) -> Option<ConnectionEnded> {
        let _ = (principal, server);
        None
    }

    /// Tells `listener` about connections finished by people of `channel` (`telegram`,
    /// `slack`, `console`). The default ignores it, for account links that never finish.
    fn listen(&self, channel: &str, listener: std::sync::Arc<dyn ConnectListener>) {
        let _ = (channel, listener);
    }
}

/// A server the person has connected, and as which account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    /// The configured server.
    pub server: String,
    /// The account (an email address, a workspace name), when the server named it.
    pub account: Option<String>,
}

/// The `error_description` with which our Calendar server refuses a refresh after Google ended
/// the account's authorization at Testing's 7 days. The gateway recognizes it to tell the person
/// why and to tell the admins about the pattern; it is printable ASCII without quotes, as RFC
/// 6749 requires of a description.
pub const GOOGLE_TESTING_ENDED: &str = "Google ended this connection 7 days after it was made, as it does for apps still in testing; the administrator can stop this by publishing the app";

/// Why a connection ended, from the authorization server's refusal of its refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEnded {
    /// Google ended it 7 days after it was made, as it does for apps still in Testing.
    GoogleTesting,
    /// The server said why, in its own words (tidied and bounded).
    Said(String),
}

impl ConnectionEnded {
    /// The reason a server gave (its `error_description`, tidied).
    #[must_use]
    pub fn from_description(text: &str) -> Self {
        if text.starts_with(GOOGLE_TESTING_ENDED) {
            Self::GoogleTesting
        } else {
            Self::Said(text.to_owned())
        }
    }
}

/// What removing a connection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disconnected {
    /// Whether there was a connection to remove.
    pub was_connected: bool,
    /// What the server did not confirm (its revocation failed or it answered an error); the
    /// connection is removed here all the same. `None` when every revocation was confirmed.
    pub unconfirmed: Option<String>,
}

/// A message that could not be answered until the person connected an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingMessage {
    /// The chat it was written in.
    pub chat: String,
    /// What the person wrote.
    pub text: String,
}

/// A person finished connecting their account on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedNotice {
    /// The person.
    pub principal: Principal,
    /// The configured server.
    pub server: String,
    /// The account connected (an email address, a workspace name), when the server named it.
    pub account: Option<String>,
    /// The message that needed the connection, to answer now.
    pub pending: Option<PendingMessage>,
}

/// A channel's side of a finished connection: tell the person and answer the waiting message.
#[async_trait]
pub trait ConnectListener: Send + Sync {
    /// Called once per finished connection of a person on this listener's channel.
    async fn connected(&self, notice: ConnectedNotice);
}
