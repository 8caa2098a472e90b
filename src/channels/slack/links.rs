//! Connect links on Slack: shown only in the person's direct message with the bot.
//!
//! Whoever opens a connect link and signs in connects *their* account to the chat identity of
//! the person who asked for it, so a link is never posted in a channel. Asked for in a direct
//! message, the link is shown there; asked for in a channel, it goes to the person's direct
//! message with the bot and the thread is told so, or told how to ask from a direct message
//! when that cannot be written. The link itself leads to the gateway's page naming the person
//! (see [`AccountLinks::present_link`]).

use std::sync::Arc;

use super::api::SlackApi;
use super::surface::{SlackSurface, link_blocks};
use crate::channels::stream::{Body, ChatSurface, SurfaceError};
use crate::mcp::accounts::AccountLinks;

/// The person a link is for, as Slack knows them.
#[derive(Debug, Clone)]
pub(super) struct Asker {
    /// Their Slack user id; posting to it reaches their direct message with the bot.
    pub(super) user: String,
    /// How the link's page names them: "Slack user U0123 (workspace T0123)".
    pub(super) who: String,
    /// Whether they asked in their direct message with the bot.
    pub(super) private: bool,
}

/// Delivers connect links by the rule above.
#[derive(Clone)]
pub(super) struct LinkDelivery {
    api: SlackApi,
    accounts: Option<Arc<dyn AccountLinks>>,
}

impl LinkDelivery {
    pub(super) fn new(api: SlackApi, accounts: Option<Arc<dyn AccountLinks>>) -> Self {
        Self { api, accounts }
    }

    /// Shows `asker` `text` with a button to `url`, the authorization link for `server`: in
    /// `surface` when that is their direct message; otherwise in their direct message, telling
    /// `surface` (a channel thread) that it went there or why it could not.
    ///
    /// # Errors
    /// Fails when nothing could be sent.
    pub(super) async fn offer(
        &self,
        surface: &SlackSurface,
        asker: &Asker,
        server: &str,
        url: &str,
        text: &str,
    ) -> Result<(), SurfaceError> {
        let link = match &self.accounts {
            Some(accounts) => accounts.present_link(url, server, &asker.who),
            None => url.to_owned(),
        };
        let blocks = link_blocks(text, &format!("Connect {server}"), &link);
        if asker.private {
            return surface.send_blocks(text, blocks).await.map(|_| ());
        }
        let direct = SlackSurface::new(self.api.clone(), asker.user.clone(), None);
        let note = match direct.send_blocks(text, blocks).await {
            Ok(_) => format!("I've sent you a link to connect {server} in a direct message."),
            Err(e) => {
                tracing::info!(error = %e, "could not send a connect link directly; none is posted in the channel");
                format!(
                    "I can't send you a direct message, and a connect link must not be posted \
                     in a channel. Open a direct message with me and send !connect {server} there."
                )
            }
        };
        surface.send(Body::Plain(&note)).await.map(|_| ())
    }
}
