//! Connect links on Telegram: shown only in the person's private chat with the bot.
//!
//! Whoever opens a connect link and signs in connects *their* account to the chat identity of
//! the person who asked for it, so a link is never posted where others can see it. Asked for in
//! a private chat, the link is shown there; asked for in a group, it goes to the person's private
//! chat with the bot and the group is told so, or, when the bot cannot write to them (they never
//! started a chat with it), the group is told how to ask from a private chat instead. The link
//! itself leads to the gateway's page naming the person (see [`AccountLinks::present_link`]).

use std::sync::Arc;

use teloxide::types::ChatId;

use super::surface::url_button;
use super::surface::{BotApi, TelegramSurface};
use crate::channels::stream::{Body, SurfaceError};
use crate::mcp::accounts::AccountLinks;

/// The person a link is for, as Telegram knows them.
#[derive(Debug, Clone)]
pub(super) struct Asker {
    /// Their Telegram user id (also the id of their private chat with the bot).
    pub(super) user_id: u64,
    /// How the link's page names them: "Telegram user @ann (id 42)".
    pub(super) who: String,
    /// Whether they asked in their private chat with the bot.
    pub(super) private: bool,
}

/// Delivers connect links by the rule above.
#[derive(Clone)]
pub(super) struct LinkDelivery {
    api: BotApi,
    accounts: Option<Arc<dyn AccountLinks>>,
    bot_username: String,
}

impl LinkDelivery {
    pub(super) fn new(
        api: BotApi,
        accounts: Option<Arc<dyn AccountLinks>>,
        bot_username: String,
    ) -> Self {
        Self {
            api,
            accounts,
            bot_username,
        }
    }

    /// Shows `asker` `text` with a button to `url`, the authorization link for `server`: in
    /// `surface` when that is their private chat; otherwise in their private chat, telling
    /// `surface` (the group) that it went there or why it could not.
    ///
    /// # Errors
    /// Fails when nothing could be sent.
    pub(super) async fn offer(
        &self,
        surface: &TelegramSurface,
        asker: &Asker,
        server: &str,
        url: &str,
        text: &str,
    ) -> Result<(), SurfaceError> {
        let link = match &self.accounts {
            Some(accounts) => accounts.present_link(url, server, &asker.who),
            None => url.to_owned(),
        };
        if asker.private {
            return show(surface, text, server, &link).await;
        }
        let private = i64::try_from(asker.user_id)
            .map(|chat| TelegramSurface::new(self.api.clone(), ChatId(chat), None, None));
        let sent = match &private {
            Ok(private) => show(private, text, server, &link).await,
            Err(_) => Err(SurfaceError::Failed("not a user id".to_owned())),
        };
        let note = match sent {
            Ok(()) => format!("I've sent you a link to connect {server} in a private message."),
            Err(e) => {
                tracing::info!(error = %e, "could not send a connect link privately; none is posted in the group");
                format!(
                    "I can't send you a private message, and a connect link must not be posted \
                     in a group. Open a private chat with @{bot}, press Start, and send \
                     /connect {server} there.",
                    bot = self.bot_username
                )
            }
        };
        surface.deliver(Body::Plain(&note), None).await.map(|_| ())
    }
}

/// Sends `text` with a button to `link` into `surface`, or with the link in the text when
/// Telegram refuses it in a button (local addresses).
async fn show(
    surface: &TelegramSurface,
    text: &str,
    server: &str,
    link: &str,
) -> Result<(), SurfaceError> {
    if let Some(buttons) = url_button(&format!("Connect {server}"), link) {
        match surface.deliver(Body::Plain(text), Some(buttons)).await {
            Ok(_) => return Ok(()),
            Err(SurfaceError::Gone(reason)) => return Err(SurfaceError::Gone(reason)),
            Err(_) => {}
        }
    }
    surface
        .deliver(Body::Plain(&format!("{text}\n{link}")), None)
        .await
        .map(|_| ())
}
