//! The agent's side of one turn on any platform: streamed text into the editor, the typing
//! indicator while the assistant works, Allow / Deny buttons before destructive tools, and
//! connect links as buttons.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::platform::{Button, Platform, Tone};
use super::texts;
use super::{Asker, Engine};
use crate::agent::{Activity, ConfirmRequest, TurnOutcome, TurnSink, queue_notice};
use crate::channels::confirm;
use crate::channels::reply;
use crate::channels::stream::StreamEditor;
use crate::mcp::accounts::ConnectionEnded;

/// One turn's [`TurnSink`] in one chat.
pub(super) struct EngineSink<'a, P: Platform> {
    pub(super) engine: &'a Engine<P>,
    pub(super) editor: &'a StreamEditor,
    pub(super) surface: &'a P::Surface,
    pub(super) asker: Asker<'a>,
    pub(super) chat: &'a P::Chat,
    pub(super) cancel: &'a CancellationToken,
}

#[async_trait]
impl<P: Platform> TurnSink for EngineSink<'_, P> {
    fn progress(&self, text: &str) {
        self.editor.update(text);
    }

    fn answered(&self, outcome: &TurnOutcome) {
        let text = reply::answered_text(&self.editor.current_text(), outcome);
        self.editor.complete(&text);
    }

    async fn activity(&self, activity: Activity) {
        self.editor.set_working(true);
        if let Activity::Queued { place } = activity {
            match self
                .engine
                .post(self.chat, self.surface, &queue_notice(place), &[])
                .await
            {
                // The notice clears the typing indicator in the person's app; the turn still
                // waits, so it comes back at once.
                Ok(_) => self.editor.renew_typing(),
                Err(e) => tracing::debug!(error = %e, "could not say the place in line"),
            }
        }
    }

    async fn confirm(&self, request: &ConfirmRequest) -> bool {
        // Waiting for the person is not work: no typing indicator meanwhile.
        self.editor.set_working(false);
        let engine = self.engine;
        let ticket = engine.confirmations.open(self.asker.principal);
        let question = texts::confirm_question(&request.title, &request.tool, &request.arguments);
        let buttons = [
            Button::Callback {
                label: "Allow".into(),
                data: confirm::callback_data(ticket.id(), true),
                tone: Tone::Yes,
            },
            Button::Callback {
                label: "Deny".into(),
                data: confirm::callback_data(ticket.id(), false),
                tone: Tone::No,
            },
        ];
        let message = match engine
            .post(self.chat, self.surface, &question, &buttons)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for a confirmation; the action is not done");
                self.editor.set_working(true);
                return false;
            }
        };
        let answer = ticket.wait(engine.confirm_ttl, self.cancel).await;
        let decided = format!("{question}\n\n{}", texts::confirm_outcome(answer));
        engine.pace(self.chat).take_final().await;
        if let Err(e) = engine
            .platform
            .settle(self.surface, &message, &decided)
            .await
        {
            tracing::debug!(error = %e, "could not show the confirmation's outcome");
        }
        self.editor.set_working(true);
        answer.allowed()
    }

    async fn connect_link(&self, server: &str, url: &str) {
        let text = texts::connect_link(server);
        self.engine
            .offer_link(self.surface, self.asker, self.chat, server, url, &text)
            .await;
    }

    async fn reconnect_link(&self, server: &str, url: &str, ended: &ConnectionEnded) {
        let text = texts::reconnect_link(server, ended);
        self.engine
            .offer_link(self.surface, self.asker, self.chat, server, url, &text)
            .await;
    }
}
