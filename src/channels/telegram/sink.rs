//! The agent's side of one Telegram turn: streamed text into the editor, typing while working,
//! Allow / Deny buttons for destructive tools, and URL buttons for connect links (in the
//! person's private chat only, see [`super::links`]).

use std::time::Duration;

use async_trait::async_trait;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use tokio_util::sync::CancellationToken;

use super::links::{Asker, LinkDelivery};
use super::surface::TelegramSurface;
use crate::Principal;
use crate::agent::{Activity, ConfirmRequest, TurnOutcome, TurnSink, queue_notice};
use crate::channels::confirm::{self, Answer, Confirmations};
use crate::channels::reply;
use crate::channels::stream::{Body, StreamEditor};

/// One turn's [`TurnSink`] in a Telegram chat.
pub(super) struct TelegramSink<'a> {
    editor: &'a StreamEditor,
    surface: &'a TelegramSurface,
    links: &'a LinkDelivery,
    asker: &'a Asker,
    principal: &'a Principal,
    confirmations: &'a Confirmations,
    confirm_ttl: Duration,
    cancel: &'a CancellationToken,
}

impl<'a> TelegramSink<'a> {
    #[allow(clippy::too_many_arguments)] // one turn's context, assembled once
    pub(super) fn new(
        editor: &'a StreamEditor,
        surface: &'a TelegramSurface,
        links: &'a LinkDelivery,
        asker: &'a Asker,
        principal: &'a Principal,
        confirmations: &'a Confirmations,
        confirm_ttl: Duration,
        cancel: &'a CancellationToken,
    ) -> Self {
        Self {
            editor,
            surface,
            links,
            asker,
            principal,
            confirmations,
            confirm_ttl,
            cancel,
        }
    }
}

#[async_trait]
impl TurnSink for TelegramSink<'_> {
    fn progress(&self, text: &str) {
        self.editor.update(text);
    }

    fn answered(&self, outcome: &TurnOutcome) {
        let text = reply::answered_text(&self.editor.current_text(), outcome);
        self.editor.complete(&text);
    }

    async fn activity(&self, activity: Activity) {
        self.editor.set_working(true);
        if let Activity::Queued { place } = activity
            && let Err(e) = self
                .surface
                .deliver(Body::Plain(&queue_notice(place)), None)
                .await
        {
            tracing::debug!(error = %e, "could not say the place in line");
        }
    }

    async fn confirm(&self, request: &ConfirmRequest) -> bool {
        // Waiting for the person is not work: no typing indicator meanwhile.
        self.editor.set_working(false);
        let ticket = self.confirmations.open(self.principal);
        let question = format!(
            "Allow this action?\n\n{} ({})\n{}",
            request.title, request.tool, request.arguments
        );
        let buttons = InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("Allow", confirm::callback_data(ticket.id(), true)),
            InlineKeyboardButton::callback("Deny", confirm::callback_data(ticket.id(), false)),
        ]]);
        let message = match self
            .surface
            .deliver(Body::Plain(&question), Some(buttons))
            .await
        {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for a confirmation; the action is not done");
                self.editor.set_working(true);
                return false;
            }
        };
        let answer = ticket.wait(self.confirm_ttl, self.cancel).await;
        let outcome = match answer {
            Answer::Allowed => "Allowed.",
            Answer::Denied => "Declined; not done.",
            Answer::Expired => "No answer in time; not done.",
            Answer::Cancelled => "Stopped; not done.",
        };
        let decided = format!("{question}\n\n{outcome}");
        if let Err(e) = self
            .surface
            .edit_with_buttons(message, Body::Plain(&decided), None)
            .await
        {
            tracing::debug!(error = %e, "could not show the confirmation's outcome");
        }
        self.editor.set_working(true);
        answer.allowed()
    }

    async fn connect_link(&self, server: &str, url: &str) {
        let text = format!(
            "To use {server}, connect your account: open the link and sign in. The link is for you only."
        );
        if let Err(e) = self
            .links
            .offer(self.surface, self.asker, server, url, &text)
            .await
        {
            tracing::warn!(error = %e, "could not send a connect link");
        }
    }
}
