//! The agent's side of one Slack turn: streamed text into the editor, Allow / Deny buttons for
//! destructive tools, and a button for connect links (in the person's direct message only, see
//! [`super::links`]).

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::links::{Asker, LinkDelivery};
use super::surface::{SlackSurface, confirm_blocks};
use crate::Principal;
use crate::agent::{Activity, ConfirmRequest, TurnOutcome, TurnSink, queue_notice};
use crate::channels::confirm::{self, Answer, Confirmations};
use crate::channels::reply;
use crate::channels::stream::{Body, ChatSurface, StreamEditor};

/// One turn's [`TurnSink`] in a Slack conversation.
pub(super) struct SlackSink<'a> {
    pub(super) editor: &'a StreamEditor,
    pub(super) surface: &'a SlackSurface,
    pub(super) links: &'a LinkDelivery,
    pub(super) asker: &'a Asker,
    pub(super) principal: &'a Principal,
    pub(super) confirmations: &'a Confirmations,
    pub(super) confirm_ttl: Duration,
    pub(super) cancel: &'a CancellationToken,
}

#[async_trait]
impl TurnSink for SlackSink<'_> {
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
            && let Err(e) = self.surface.send(Body::Plain(&queue_notice(place))).await
        {
            tracing::debug!(error = %e, "could not say the place in line");
        }
    }

    async fn confirm(&self, request: &ConfirmRequest) -> bool {
        self.editor.set_working(false);
        let ticket = self.confirmations.open(self.principal);
        let question = format!(
            "Allow this action?\n\n{} ({})\n{}",
            request.title, request.tool, request.arguments
        );
        let blocks = confirm_blocks(
            &question,
            &confirm::callback_data(ticket.id(), true),
            &confirm::callback_data(ticket.id(), false),
        );
        let message = match self.surface.send_blocks(&question, blocks).await {
            Ok(m) => m,
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
        if let Err(e) = self
            .surface
            .replace(&message, &format!("{question}\n\n{outcome}"))
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
