//! What each Slack event does: addressing, rate limit, `/stop`, access, commands, turns and
//! button presses — the same rules as every channel, through the shared machinery.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::SlackOptions;
use super::api::{PostedMessage, SlackApi};
use super::events::{Inbound, strip_mention};
use super::links::{Asker, LinkDelivery};
use super::sink::SlackSink;
use super::surface::SlackSurface;
use crate::Principal;
use crate::agent::{Agent, TurnInput};
use crate::channels::access::{Access, Decision};
use crate::channels::commands::ServerSummary;
use crate::channels::commands::{self, ChatCommand, Commands};
use crate::channels::confirm::{self, Confirmations, Resolution};
use crate::channels::listener::WeakListener;
use crate::channels::rate_limit::{RateDecision, RateLimiter, SLOW_DOWN};
use crate::channels::reply;
use crate::channels::sessions::{Sessions, Submitted};
use crate::channels::stream::{Body, ChatSurface, StreamConfig, StreamEditor};
use crate::config::SlackConfig;
use crate::mcp::accounts::ConnectedNotice;
use crate::store::Store;
use crate::telemetry::metrics::{MessageLabels, Metrics};

/// The longest message text passed to the model; longer messages are cut with a note.
const MAX_INPUT_CHARS: usize = 16_000;

/// A message addressed to the bot, reduced to what the handler needs.
#[derive(Debug, Clone)]
struct Message {
    principal: Principal,
    user: String,
    channel: String,
    /// The thread replies go to: the mention's thread (or the mention itself); none in a DM.
    thread: Option<String>,
    text: String,
    command: Option<ChatCommand>,
}

impl Message {
    /// The person, as connect links need them.
    fn asker(&self) -> Asker {
        let team = self
            .principal
            .as_str()
            .strip_prefix("slack:")
            .and_then(|rest| rest.split_once(':'))
            .map_or("", |(team, _)| team);
        Asker {
            user: self.user.clone(),
            who: format!(
                "Slack user {} (workspace {})",
                crate::display::sanitize(&self.user, 32),
                crate::display::sanitize(team, 32)
            ),
            private: self.thread.is_none(),
        }
    }

    /// The conversation's id for history: the DM channel, or the channel's thread.
    fn chat(&self) -> String {
        match &self.thread {
            Some(thread) => format!("{}/{thread}", self.channel),
            None => self.channel.clone(),
        }
    }
}

/// Everything the Slack channel shares between events.
pub(super) struct Handler {
    api: SlackApi,
    bot_user: String,
    agent: Agent,
    access: Access,
    limiter: RateLimiter,
    sessions: Sessions<(String, String)>,
    confirmations: Confirmations,
    commands: Commands,
    links: LinkDelivery,
    stream: StreamConfig,
    confirm_ttl: Duration,
    metrics: Metrics,
    side: TaskTracker,
}

impl Handler {
    #[allow(clippy::too_many_arguments)] // the channel's dependencies, assembled once
    pub(super) fn new(
        api: SlackApi,
        bot_user: String,
        team: &str,
        config: &SlackConfig,
        servers: Vec<ServerSummary>,
        agent: Agent,
        store: Store,
        metrics: Metrics,
        options: &SlackOptions,
        shutdown: &CancellationToken,
    ) -> Self {
        let allow = config
            .allow_from
            .iter()
            .map(|user| Principal::slack(team, user));
        Self {
            links: LinkDelivery::new(api.clone(), options.accounts.clone()),
            api,
            bot_user,
            agent,
            access: Access::new(config.policy, allow, store.clone()),
            limiter: RateLimiter::new(config.rate_limit_per_minute, "slack", &metrics),
            sessions: Sessions::new(shutdown.child_token(), options.queue_per_sender),
            confirmations: Confirmations::new(),
            commands: Commands::new(store, servers, options.accounts.clone()),
            stream: options.stream,
            confirm_ttl: options.confirm_ttl,
            metrics,
            side: TaskTracker::new(),
        }
    }

    /// Handles one event without waiting for any reply.
    pub(super) fn dispatch(self: &Arc<Self>, inbound: Inbound) {
        match inbound {
            Inbound::Message {
                team,
                user,
                channel,
                text,
                ts,
                thread_ts,
                mention,
            } => {
                if user == self.bot_user {
                    return;
                }
                let text = strip_mention(&text, &self.bot_user);
                // Slack's clients run `/word` as their own slash command, so `!word` works too.
                let normalised = text
                    .strip_prefix('!')
                    .map_or_else(|| text.clone(), |rest| format!("/{rest}"));
                let command = commands::parse(&normalised, None);
                let thread = mention.then(|| thread_ts.unwrap_or(ts));
                let message = Message {
                    principal: Principal::slack(&team, &user),
                    user,
                    channel,
                    thread,
                    text,
                    command,
                };
                self.on_message(message);
            }
            Inbound::Action {
                team,
                user,
                channel,
                message_ts,
                value,
                ..
            } => {
                let this = Arc::clone(self);
                self.side.spawn(async move {
                    this.on_action(&team, &user, channel, message_ts, &value)
                        .await
                });
            }
        }
    }

    /// Waits (up to `grace`) for running replies to finish after shutdown was requested.
    pub(super) async fn drain(&self, grace: Duration) {
        self.sessions.drain(grace).await;
        self.side.close();
        let _ = tokio::time::timeout(grace, self.side.wait()).await;
    }

    fn count(&self, direction: &str) {
        self.metrics
            .messages
            .get_or_create(&MessageLabels {
                channel: "slack".into(),
                direction: direction.into(),
            })
            .inc();
    }

    fn surface(&self, message: &Message) -> SlackSurface {
        SlackSurface::new(
            self.api.clone(),
            message.channel.clone(),
            message.thread.clone(),
        )
    }

    fn on_message(self: &Arc<Self>, message: Message) {
        self.count("in");
        let surface = self.surface(&message);
        if let RateDecision::Limited { notify } = self.limiter.check(&message.principal) {
            if notify {
                self.reply_later(surface, SLOW_DOWN.to_owned());
            }
            return;
        }
        let key = (message.chat(), message.user.clone());
        if message.command == Some(ChatCommand::Stop) && self.sessions.stop(&key) {
            self.reply_later(surface, commands::STOPPED.to_owned());
            return;
        }
        let this = Arc::clone(self);
        let job_surface = surface.clone();
        let submitted = self.sessions.submit(
            key,
            Box::new(move |cancel| {
                Box::pin(async move { this.handle(message, job_surface, cancel).await })
            }),
        );
        if submitted == Submitted::Busy {
            self.reply_later(surface, commands::BUSY.to_owned());
        }
    }

    fn reply_later(self: &Arc<Self>, surface: SlackSurface, text: String) {
        let this = Arc::clone(self);
        self.side
            .spawn(async move { this.reply(&surface, &text).await });
    }

    async fn reply(&self, surface: &SlackSurface, text: &str) {
        match surface.send(Body::Plain(text)).await {
            Ok(_) => self.count("out"),
            Err(e) => tracing::warn!(error = %e, "could not send a Slack reply"),
        }
    }

    /// Runs in the sender's session: access, then a command or a turn.
    async fn handle(&self, message: Message, surface: SlackSurface, cancel: CancellationToken) {
        let decision = match self.access.decide(&message.principal, &message.user).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "could not check a sender's access; ignoring the message");
                return;
            }
        };
        match decision {
            Decision::Allowed => {}
            Decision::Pair { code, fresh } => {
                if fresh {
                    tracing::info!(principal = %message.principal, "new sender asked for access; approve with `mcp-gateway pairing approve CODE`");
                }
                let text = format!(
                    "Hi! This assistant is private. To be let in, give this code to its operator:\n\n{code}\n\nThey approve it with: mcp-gateway pairing approve {code}\nThe code is valid for one hour."
                );
                self.reply(&surface, &text).await;
                return;
            }
            Decision::Denied { notify } => {
                if notify {
                    let text = format!(
                        "Sorry, this assistant is private. If you should have access, ask its operator to add your Slack user id {} to allow_from.",
                        message.user
                    );
                    self.reply(&surface, &text).await;
                }
                return;
            }
        }
        if let Some(command) = &message.command {
            if *command == ChatCommand::Stop {
                self.reply(&surface, commands::NOTHING_TO_STOP).await;
                return;
            }
            let reply = self
                .commands
                .reply(command, &message.principal, &message.chat(), false)
                .await;
            match &reply.link {
                Some(link) => match self
                    .links
                    .offer(
                        &surface,
                        &message.asker(),
                        &link.server,
                        &link.url,
                        &reply.text,
                    )
                    .await
                {
                    Ok(()) => self.count("out"),
                    Err(e) => tracing::warn!(error = %e, "could not send a connect link"),
                },
                None => self.reply(&surface, &reply.text).await,
            }
            return;
        }
        if message.text.is_empty() {
            return;
        }
        self.turn(&message, surface, &cancel).await;
    }

    /// Tells the person that their account is connected and answers the message that was
    /// waiting for it, in the conversation it was written in, queued behind their other messages.
    /// The listener that passes finished connections of Slack users to this handler, while
    /// it runs.
    pub(super) fn listener(self: &Arc<Self>) -> WeakListener<Self> {
        WeakListener::new(self, Self::on_connected)
    }

    fn on_connected(self: &Arc<Self>, notice: ConnectedNotice) {
        let Some(user) = notice
            .principal
            .as_str()
            .strip_prefix("slack:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, user)| user.to_owned())
        else {
            return;
        };
        // Without a waiting message there is no conversation to answer in.
        let Some(pending) = notice.pending else {
            return;
        };
        let (channel, thread) = match pending.chat.split_once('/') {
            Some((channel, thread)) => (channel.to_owned(), Some(thread.to_owned())),
            None => (pending.chat.clone(), None),
        };
        let message = Message {
            principal: notice.principal,
            user,
            channel,
            thread,
            text: pending.text,
            command: None,
        };
        let said = format!("Connected your {} account.", notice.server);
        let surface = self.surface(&message);
        let key = (message.chat(), message.user.clone());
        let this = Arc::clone(self);
        self.sessions.submit(
            key,
            Box::new(move |cancel| {
                Box::pin(async move {
                    this.reply(&surface, &said).await;
                    this.turn(&message, surface, &cancel).await;
                })
            }),
        );
    }

    /// Runs one agent turn, streaming the reply into the conversation.
    async fn turn(&self, message: &Message, surface: SlackSurface, cancel: &CancellationToken) {
        let text = match message.text.char_indices().nth(MAX_INPUT_CHARS) {
            Some((i, _)) => {
                self.reply(&surface, &format!("Your message was long, so I read only its first {MAX_INPUT_CHARS} characters.")).await;
                &message.text[..i]
            }
            None => message.text.as_str(),
        };
        let surface = Arc::new(surface);
        let editor = StreamEditor::start(Arc::clone(&surface), self.stream);
        let chat = message.chat();
        let asker = message.asker();
        let sink = SlackSink {
            editor: &editor,
            surface: &surface,
            links: &self.links,
            asker: &asker,
            principal: &message.principal,
            confirmations: &self.confirmations,
            confirm_ttl: self.confirm_ttl,
            cancel,
        };
        let input = TurnInput {
            principal: &message.principal,
            chat: &chat,
            text,
        };
        let result = self.agent.run_turn(input, &sink, cancel).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, principal = %message.principal, "turn failed");
        }
        let reply = reply::final_text(&editor.current_text(), &result);
        let delivery = editor.finish(&reply).await;
        if delivery.complete {
            self.count("out");
        } else {
            tracing::warn!(
                messages = delivery.messages,
                "a reply could not be delivered in full"
            );
        }
    }

    /// Resolves a confirmation button; a stale one loses its buttons.
    async fn on_action(
        &self,
        team: &str,
        user: &str,
        channel: String,
        message_ts: String,
        value: &str,
    ) {
        let who = Principal::slack(team, user);
        let resolution = confirm::parse_callback(value)
            .map(|(id, allow)| self.confirmations.resolve(id, &who, allow));
        match resolution {
            Some(Resolution::Resolved { .. }) => {}
            Some(Resolution::NotYours) => {
                tracing::info!(principal = %who, "a confirmation button was pressed by someone who was not asked");
            }
            Some(Resolution::Expired) | None => {
                let stale = PostedMessage {
                    channel,
                    ts: message_ts,
                };
                if let Err(e) = self
                    .api
                    .update_message(&stale, "This request has expired.", None)
                    .await
                {
                    tracing::debug!(error = %e, "could not retire a stale confirmation");
                }
            }
        }
    }
}
