//! The conversation engine: what happens to a person's message on every chat platform, written
//! once.
//!
//! A platform module reads its updates into [`Event`]s and hands them to [`Engine::dispatch`],
//! which never waits for a reply. For a message the engine applies the per-sender rate limit and
//! `/stop` at once, then queues the rest in the sender's session for that chat (see
//! [`crate::channels::sessions`]): there the access policy is checked (an unknown sender under
//! `pairing` gets a code and nothing else), commands are answered, the input is capped, and the
//! turn runs with one [`StreamEditor`] and the engine's [`TurnSink`](crate::agent::TurnSink),
//! which asks for confirmations with buttons and shows connect links. A button press resolves the
//! confirmation it belongs to. When a person finishes connecting an account, the message that
//! needed the connection is answered in its chat, queued behind their other messages there.
//!
//! The platform is a [`Platform`]: a chat identity ([`Chat`]), a surface to write into, buttons,
//! how to answer a press, and its facts: its limits for a chat ([`Pace`]) and which links it
//! takes as buttons. Because a chat can be written into from its identity alone
//! ([`Engine::say`]), messages the gateway sends first need no inbound message.
//!
//! Every message the engine sends goes through one door ([`Engine::post`]): nothing empty is
//! sent, it waits for the chat's budget ([`crate::channels::pace`]), and a link button the
//! platform would refuse becomes the link written under the text, so a link reaches the person
//! whatever path sends it (a command, the model's connect link, a scheduled message). A reply's
//! streamed text follows the editor's rule ([`crate::channels::stream`]): formatted, else plain,
//! else a short note that it could not be shown.

pub(crate) mod admins;
mod platform;
pub(crate) mod reminders;
mod sink;
pub(crate) mod texts;

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use platform::{Button, Chat, Event, Incoming, Names, Platform, Press, Sender, SentId, Tone};

use crate::Principal;
use crate::agent::{Agent, TurnInput};
use crate::channels::access::{Access, Decision};
use crate::channels::admin_line::AdminLine;
use crate::channels::commands::{self, ChatCommand, Commands, ServerSummary, StatusScreen};
use crate::channels::confirm::{self, Confirmations, Resolution};
pub use crate::channels::pace::Pace;
use crate::channels::pace::{ChatPace, Pacer};
use crate::channels::pairing::AccessError;
use crate::channels::rate_limit::{RateDecision, RateLimiter, SLOW_DOWN};

use crate::channels::reply;
use crate::channels::sessions::{Sessions, Submitted};
use crate::channels::stream::{StreamConfig, StreamEditor, SurfaceError};
use crate::config::{Policy, ServerConfig};
use crate::mcp::accounts::{AccountLinks, ConnectListener, ConnectedNotice};
use crate::schedule::{Delivered, Delivery, Outlet};
use crate::store::Store;
use crate::telemetry::metrics::{MessageLabels, Metrics};

use sink::EngineSink;

/// Tuning of a chat channel; the defaults suit production.
#[derive(Clone)]
pub struct ChannelOptions {
    /// Pacing and retries of streamed replies.
    pub stream: StreamConfig,
    /// How long one long poll for updates waits, on platforms that poll (Telegram).
    pub poll_timeout: Duration,
    /// How long a confirmation of a destructive tool waits for a button press.
    pub confirm_ttl: Duration,
    /// Messages queued per sender behind a running turn before they are refused as busy.
    pub queue_per_sender: usize,
    /// How long shutdown waits for running replies to show that they stopped.
    pub drain_grace: Duration,
    /// The OAuth client's hook for `/connect` and `/disconnect`, when the gateway has one.
    pub accounts: Option<Arc<dyn AccountLinks>>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            poll_timeout: Duration::from_secs(10),
            confirm_ttl: confirm::DEFAULT_TTL,
            queue_per_sender: 4,
            drain_grace: Duration::from_secs(10),
            accounts: None,
        }
    }
}

impl std::fmt::Debug for ChannelOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelOptions")
            .field("stream", &self.stream)
            .field("poll_timeout", &self.poll_timeout)
            .field("confirm_ttl", &self.confirm_ttl)
            .field("queue_per_sender", &self.queue_per_sender)
            .field("drain_grace", &self.drain_grace)
            .field("accounts", &self.accounts.is_some())
            .finish()
    }
}

/// Who may talk to the assistant on one platform, as its configuration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The access policy.
    pub policy: Policy,
    /// The senders `allowlist` lets in.
    pub allow: Vec<Principal>,
    /// The admins: they answer pairing requests with buttons and may always talk.
    pub admins: Vec<Principal>,
    /// Messages a sender may send a minute.
    pub per_minute: u32,
}

/// What every channel shares with the rest of the gateway.
#[derive(Clone)]
pub struct Shared {
    /// The agent that runs turns.
    pub agent: Agent,
    /// The database (pairing codes, approvals, conversations).
    pub store: Store,
    /// The metrics the channel counts messages in.
    pub metrics: Metrics,
    /// The configured MCP servers, as `/connect` and `/connections` describe them.
    pub servers: Vec<ServerSummary>,
    /// The line to the admins of every channel, which each channel joins.
    pub admin_line: AdminLine,
    /// The operator's screen `/status` shows admins.
    pub status_screen: Option<StatusScreen>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("agent", &self.agent)
            .field("store", &self.store)
            .field("servers", &self.servers)
            .field("admin_line", &self.admin_line)
            .field("status_screen", &self.status_screen.is_some())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The parts of the gateway a channel needs, with the configured `servers`.
    #[must_use]
    pub fn new(agent: Agent, store: Store, metrics: Metrics, servers: &[ServerConfig]) -> Self {
        Self {
            agent,
            store,
            metrics,
            servers: ServerSummary::from_config(servers),
            admin_line: AdminLine::default(),
            status_screen: None,
        }
    }

    /// The same, with the channels joining `line`.
    #[must_use]
    pub fn with_admin_line(mut self, line: AdminLine) -> Self {
        self.admin_line = line;
        self
    }

    /// The same, with `screen` as what `/status` shows admins.
    #[must_use]
    pub fn with_status_screen(mut self, screen: StatusScreen) -> Self {
        self.status_screen = Some(screen);
        self
    }
}

/// One platform's conversations; see the module documentation.
pub struct Engine<P: Platform> {
    platform: P,
    agent: Agent,
    access: Access,
    limiter: RateLimiter,
    sessions: Sessions<(P::Chat, Principal)>,
    confirmations: Confirmations,
    /// The admins, who answer pairing requests.
    admins: HashSet<Principal>,
    /// The pairing requests the admins were asked about.
    requests: admins::Requests<P>,
    commands: Commands,
    /// The OAuth client's hook, for the pages connect links lead to.
    accounts: Option<Arc<dyn AccountLinks>>,
    stream: StreamConfig,
    confirm_ttl: Duration,
    metrics: Metrics,
    /// Every chat's budget of sends and edits.
    pacer: Pacer,
    /// Replies and button presses handled outside the sessions.
    side: TaskTracker,
}

impl<P: Platform> std::fmt::Debug for Engine<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("platform", &P::NAMES.name)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Engine<P> {
    /// The engine for `platform`, told about connections its people finish through
    /// `options.accounts` for as long as it runs; its turns are cancelled when `shutdown` is.
    #[must_use]
    pub fn start(
        platform: P,
        admission: Admission,
        shared: Shared,
        options: &ChannelOptions,
        shutdown: &CancellationToken,
    ) -> Arc<Self> {
        let Shared {
            agent,
            store,
            metrics,
            servers,
            admin_line,
            status_screen,
        } = shared;
        let engine = Arc::new(Self {
            platform,
            agent,
            access: Access::new(
                admission.policy,
                admission
                    .allow
                    .into_iter()
                    .chain(admission.admins.iter().cloned()),
                store.clone(),
            ),
            admins: admission.admins.into_iter().collect(),
            requests: admins::Requests::default(),
            limiter: RateLimiter::new(admission.per_minute, P::NAMES.name, &metrics),
            sessions: Sessions::new(shutdown.child_token(), options.queue_per_sender),
            confirmations: Confirmations::new(),
            commands: Commands::new(store, servers, options.accounts.clone())
                .with_status_screen(status_screen),
            accounts: options.accounts.clone(),
            stream: options.stream,
            confirm_ttl: options.confirm_ttl,
            metrics,
            pacer: Pacer::default(),
            side: TaskTracker::new(),
        });
        if let Some(accounts) = &options.accounts {
            accounts.listen(P::NAMES.name, Arc::new(Listener(Arc::downgrade(&engine))));
        }
        let desk = Arc::downgrade(&engine);
        admin_line.join(move |text| desk.upgrade().map(|engine| engine.tell_admins(text)));
        if let Some(schedule) = engine.agent.schedule() {
            schedule.attach(P::NAMES.name, Arc::new(Deliverer(Arc::downgrade(&engine))));
        }
        engine
    }

    /// Says `text` to each admin in their direct chat, on the engine's own tasks; returns how
    /// many admins it was handed to.
    pub fn tell_admins(self: &Arc<Self>, text: &str) -> usize {
        let mut told = 0;
        for admin in &self.admins {
            if let Some(chat) = self.platform.direct_chat(admin) {
                self.say(&chat, text.to_owned());
                told += 1;
            }
        }
        told
    }

    /// The platform the engine drives.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Records whether the platform's connection (a long poll, a socket) works, for `status`.
    pub fn set_connected(&self, connected: bool) {
        self.metrics.live.set_connected(P::NAMES.name, connected);
    }

    /// Handles one event without waiting for any reply.
    pub fn dispatch(self: &Arc<Self>, event: Event<P>) {
        self.metrics.live.update_arrived(P::NAMES.name);
        match event {
            Event::Message(incoming) => self.on_message(incoming),
            Event::Press(press) => {
                let this = Arc::clone(self);
                self.side.spawn(async move { this.on_press(press).await });
            }
        }
    }

    /// Says `text` in `chat` on its own task, without any message to answer.
    pub fn say(self: &Arc<Self>, chat: &P::Chat, text: String) {
        self.reply_later(chat.clone(), self.platform.surface(chat), text);
    }

    /// The budget of sends and edits `chat` shares with every reply in it.
    fn pace(&self, chat: &P::Chat) -> Arc<ChatPace> {
        self.pacer
            .chat(&self.platform.pace_scope(chat), self.platform.pace(chat))
    }

    /// Sends `text` with `buttons` into `chat` through `surface`: the one door every message
    /// of the engine goes through. Nothing empty is sent; the message waits for the chat's
    /// budget; and a link button the platform would refuse is left out, with its link written
    /// under the text instead.
    ///
    /// # Errors
    /// The platform's refusal, as [`Platform::post`] gives it.
    pub async fn post(
        &self,
        chat: &P::Chat,
        surface: &P::Surface,
        text: &str,
        buttons: &[Button],
    ) -> Result<SentId<P>, SurfaceError> {
        let mut text = text.trim_end().to_owned();
        let mut kept = Vec::with_capacity(buttons.len());
        for button in buttons {
            match button {
                Button::Link { url, .. } if !self.platform.takes_link_button(url) => {
                    text.push('\n');
                    text.push_str(url);
                }
                other => kept.push(other.clone()),
            }
        }
        if text.trim().is_empty() {
            return Err(SurfaceError::Failed("an empty message is not sent".into()));
        }
        self.pace(chat).take_final().await;
        let sent = self.platform.post(surface, &text, &kept).await;
        if let Err(SurfaceError::FormatRejected(reason)) = &sent
            && kept.iter().any(|b| matches!(b, Button::Link { .. }))
        {
            // The platform refused a link button after all: the links go under the text.
            tracing::info!(channel = P::NAMES.name, reason = %reason, "a link button was refused; sending the link as text");
            let mut plain = text.clone();
            let mut rest = Vec::new();
            for button in kept {
                match button {
                    Button::Link { url, .. } => {
                        plain.push('\n');
                        plain.push_str(&url);
                    }
                    other => rest.push(other),
                }
            }
            self.pace(chat).take_final().await;
            return self.platform.post(surface, &plain, &rest).await;
        }
        sent
    }

    /// Waits (up to `grace`) for running replies to finish once shutdown was requested.
    pub async fn drain(&self, grace: Duration) {
        self.sessions.drain(grace).await;
        self.side.close();
        let _ = tokio::time::timeout(grace, self.side.wait()).await;
    }

    fn count(&self, direction: &str) {
        self.metrics
            .messages
            .get_or_create(&MessageLabels {
                channel: P::NAMES.name.into(),
                direction: direction.into(),
            })
            .inc();
    }

    fn on_message(self: &Arc<Self>, incoming: Incoming<P>) {
        self.count("in");
        let principal = &incoming.sender.principal;
        if let RateDecision::Limited { notify } = self.limiter.check(principal) {
            if notify {
                self.reply_later(incoming.chat, incoming.surface, SLOW_DOWN.to_owned());
            }
            return;
        }
        let key = (incoming.chat.clone(), principal.clone());
        if incoming.command == Some(ChatCommand::Stop) && self.sessions.stop(&key) {
            self.reply_later(
                incoming.chat,
                incoming.surface,
                commands::STOPPED.to_owned(),
            );
            return;
        }
        let surface = incoming.surface.clone();
        let chat = incoming.chat.clone();
        let this = Arc::clone(self);
        let submitted = self.sessions.submit(
            key,
            Box::new(move |cancel| Box::pin(async move { this.handle(incoming, cancel).await })),
        );
        if submitted == Submitted::Busy {
            self.reply_later(chat, surface, commands::BUSY.to_owned());
        }
    }

    /// Sends a short reply on its own task.
    fn reply_later(self: &Arc<Self>, chat: P::Chat, surface: P::Surface, text: String) {
        let this = Arc::clone(self);
        self.side
            .spawn(async move { this.reply(&chat, &surface, &text).await });
    }

    /// Sends a short plain reply.
    async fn reply(&self, chat: &P::Chat, surface: &P::Surface, text: &str) {
        match self.post(chat, surface, text, &[]).await {
            Ok(_) => self.count("out"),
            Err(e) => tracing::warn!(channel = P::NAMES.name, error = %e, "could not send a reply"),
        }
    }

    /// Sends `text` with a button opening `url` (or the link under the text, where the
    /// platform would refuse the button). `false` when nothing could be sent.
    async fn post_link(
        &self,
        chat: &P::Chat,
        surface: &P::Surface,
        text: &str,
        label: &str,
        url: &str,
    ) -> bool {
        let button = [Button::Link {
            label: label.to_owned(),
            url: url.to_owned(),
        }];
        match self.post(chat, surface, text, &button).await {
            Ok(_) => {
                self.count("out");
                true
            }
            Err(e) => {
                tracing::warn!(channel = P::NAMES.name, error = %e, "could not send a link");
                false
            }
        }
    }

    /// Runs in the sender's session: access, then a command or a turn.
    async fn handle(&self, incoming: Incoming<P>, cancel: CancellationToken) {
        let Incoming {
            chat,
            surface,
            sender,
            text,
            command,
        } = incoming;
        if !self.admitted(&sender, &chat, &surface).await {
            return;
        }
        if let Some(command) = command {
            self.command(&command, &sender, &chat, &surface).await;
            return;
        }
        match text {
            Some(text) if !text.trim().is_empty() => {
                let asker = Asker {
                    principal: &sender.principal,
                    who: &sender.who,
                };
                let _ = self.turn(asker, &chat, surface, &text, &cancel).await;
            }
            // A message with no text at all (a photo, a sticker) in a chat with the bot alone.
            None if chat.is_private() => self.reply(&chat, &surface, texts::TEXT_ONLY).await,
            _ => {}
        }
    }

    /// Whether `sender` may talk to the assistant; when not, tells them what they can do.
    async fn admitted(&self, sender: &Sender, chat: &P::Chat, surface: &P::Surface) -> bool {
        let decision = match self.access.decide(&sender.principal, &sender.display).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "could not check a sender's access; ignoring the message");
                return false;
            }
        };
        match decision {
            Decision::Allowed => true,
            Decision::Pair { code, fresh } => {
                if fresh {
                    tracing::info!(principal = %sender.principal, admins = self.admins.len(), "new sender asked for access; approve with `mcp-gateway pairing approve CODE`");
                }
                self.reply(chat, surface, &texts::pairing(&code)).await;
                if fresh {
                    self.ask_admins(&code, sender, chat).await;
                }
                false
            }
            Decision::Denied { notify } => {
                if notify {
                    self.reply(chat, surface, &texts::denied(P::NAMES.title, &sender.id))
                        .await;
                }
                false
            }
        }
    }

    /// Answers a chat command; `/stop` reaches this only when nothing was running.
    async fn command(
        &self,
        command: &ChatCommand,
        sender: &Sender,
        chat: &P::Chat,
        surface: &P::Surface,
    ) {
        if *command == ChatCommand::Stop {
            self.reply(chat, surface, commands::NOTHING_TO_STOP).await;
            return;
        }
        let admin = self.admins.contains(&sender.principal);
        if admin && *command == ChatCommand::Status && !chat.is_private() {
            self.reply(chat, surface, texts::STATUS_IN_PRIVATE).await;
            return;
        }
        if let Some(schedule) = self.agent.schedule() {
            match command {
                ChatCommand::Reminders => {
                    let (text, buttons) =
                        reminders::list(schedule, &sender.principal, P::NAMES.command_prefix, true)
                            .await;
                    match self.post(chat, surface, &text, &buttons).await {
                        Ok(_) => self.count("out"),
                        Err(e) => {
                            tracing::warn!(channel = P::NAMES.name, error = %e, "could not send a reply");
                        }
                    }
                    return;
                }
                ChatCommand::Timezone(name) => {
                    let text = reminders::timezone(
                        schedule,
                        &sender.principal,
                        name.as_deref(),
                        P::NAMES.command_prefix,
                    )
                    .await;
                    self.reply(chat, surface, &text).await;
                    return;
                }
                _ => {}
            }
        }
        let reply = self
            .commands
            .reply(command, &sender.principal, &chat.key(), false, admin)
            .await;
        match &reply.link {
            Some(link) => {
                let asker = Asker {
                    principal: &sender.principal,
                    who: &sender.who,
                };
                self.offer_link(surface, asker, chat, &link.server, &link.url, &reply.text)
                    .await;
            }
            None => self.reply(chat, surface, &reply.text).await,
        }
    }

    /// Shows `asker` `text` with a button to `url`, the authorization link for `server`, on
    /// the page that names them. A link is never shown where others see it: in a shared chat it
    /// goes to the person's private chat and the shared chat is told so, or told how to ask
    /// privately when the bot cannot write to them there.
    async fn offer_link(
        &self,
        surface: &P::Surface,
        asker: Asker<'_>,
        chat: &P::Chat,
        server: &str,
        url: &str,
        text: &str,
    ) {
        let link = match &self.accounts {
            Some(accounts) => accounts.present_link(url, server, asker.who),
            None => url.to_owned(),
        };
        let label = format!("Connect {server}");
        if chat.is_private() {
            self.post_link(chat, surface, text, &label, &link).await;
            return;
        }
        let sent = match self.platform.direct_chat(asker.principal) {
            Some(direct) => {
                let surface = self.platform.surface(&direct);
                self.post_link(&direct, &surface, text, &label, &link).await
            }
            None => false,
        };
        let note = if sent {
            texts::link_sent(P::NAMES.private_chat, server)
        } else {
            tracing::info!(
                channel = P::NAMES.name,
                "could not send a connect link privately; none is posted in the shared chat"
            );
            texts::link_refused(
                P::NAMES.private_chat,
                P::NAMES.shared_chat,
                &self.platform.how_to_reach_privately(),
                P::NAMES.command_prefix,
                server,
            )
        };
        self.reply(chat, surface, &note).await;
    }

    /// Delivers a scheduled entry of `principal` into the chat whose key is `chat`, when they
    /// may still talk to the assistant: a message is posted through the one door; a task is
    /// answered by a turn as the person, queued in their session for that chat behind their
    /// own messages.
    async fn deliver(
        self: &Arc<Self>,
        principal: &Principal,
        chat: &str,
        delivery: Delivery,
    ) -> Delivered {
        match self.access.allows(principal).await {
            Ok(true) => {}
            Ok(false) => return Delivered::NoAccess,
            Err(e) => return Delivered::Failed(e.to_string()),
        }
        let Some(chat) = P::Chat::parse(chat) else {
            return Delivered::Failed(format!("`{chat}` is not a {} chat", P::NAMES.title));
        };
        let surface = self.platform.surface(&chat);
        match delivery {
            Delivery::Say(text) => match self.post(&chat, &surface, &text, &[]).await {
                Ok(_) => {
                    self.count("out");
                    Delivered::Sent
                }
                Err(e) => Delivered::Failed(e.to_string()),
            },
            Delivery::Task(text) => {
                let (done, finished) = tokio::sync::oneshot::channel();
                let who = self.platform.who(principal);
                let principal = principal.clone();
                let key = (chat.clone(), principal.clone());
                let this = Arc::clone(self);
                let submitted = self.sessions.submit(
                    key,
                    Box::new(move |cancel| {
                        Box::pin(async move {
                            let asker = Asker {
                                principal: &principal,
                                who: &who,
                            };
                            let complete = this.turn(asker, &chat, surface, &text, &cancel).await;
                            let _ = done.send(complete);
                        })
                    }),
                );
                if submitted == Submitted::Busy {
                    return Delivered::Failed("the person's chat is busy".into());
                }
                match finished.await {
                    Ok(true) => Delivered::Sent,
                    Ok(false) => Delivered::Failed("the answer could not be sent in full".into()),
                    Err(_) => Delivered::Failed("the turn stopped before it ended".into()),
                }
            }
        }
    }

    /// Runs one agent turn on `text`, streaming the reply into `surface`; whether the reply
    /// was delivered in full.
    async fn turn(
        &self,
        asker: Asker<'_>,
        chat: &P::Chat,
        surface: P::Surface,
        text: &str,
        cancel: &CancellationToken,
    ) -> bool {
        let (text, cut) = texts::cap_input(text);
        if cut {
            self.reply(chat, &surface, &texts::cut()).await;
        }
        let surface = Arc::new(surface);
        let editor = StreamEditor::start(Arc::clone(&surface), self.stream, self.pace(chat));
        let key = chat.key();
        let principal = asker.principal;
        let sink = EngineSink {
            engine: self,
            editor: &editor,
            surface: &surface,
            asker,
            chat,
            cancel,
        };
        let input = TurnInput {
            principal,
            chat: &key,
            text,
        };
        let result = self.agent.run_turn(input, &sink, cancel).await;
        if let Err(e) = &result {
            tracing::warn!(channel = P::NAMES.name, error = %e, principal = %principal, "turn failed");
        }
        let reply = reply::final_text(&editor.current_text(), &result);
        let delivery = editor.finish(&reply).await;
        if delivery.complete {
            self.count("out");
        } else {
            tracing::warn!(
                channel = P::NAMES.name,
                messages = delivery.messages,
                "a reply could not be delivered in full"
            );
        }
        delivery.complete
    }

    /// Sends each admin the new pairing request with `code`, from `sender` in `chat`, with
    /// Approve and Deny buttons in their direct chat.
    async fn ask_admins(&self, code: &str, sender: &Sender, chat: &P::Chat) {
        if self.admins.is_empty() {
            return;
        }
        let question = texts::pairing_request(P::NAMES.title, &sender.who, code);
        self.requests.open(code, chat.clone(), question.clone());
        let buttons = [
            Button::Callback {
                label: "Approve".into(),
                data: admins::callback_data(code, true),
                tone: Tone::Yes,
            },
            Button::Callback {
                label: "Deny".into(),
                data: admins::callback_data(code, false),
                tone: Tone::No,
            },
        ];
        for admin in &self.admins {
            let Some(direct) = self.platform.direct_chat(admin) else {
                continue;
            };
            let surface = self.platform.surface(&direct);
            match self.post(&direct, &surface, &question, &buttons).await {
                Ok(message) => {
                    self.count("out");
                    if !self.requests.asked(code, direct.clone(), message.clone()) {
                        // An admin answered before this copy was sent.
                        self.settle(&direct, &message, &question, texts::PAIRING_GONE)
                            .await;
                    }
                }
                Err(e) => {
                    tracing::warn!(channel = P::NAMES.name, admin = %admin, error = %e, "could not send a pairing request to an admin; they must have written to the bot first");
                }
            }
        }
    }

    /// Replaces a question's buttons with `outcome` under its text.
    async fn settle(&self, chat: &P::Chat, message: &SentId<P>, question: &str, outcome: &str) {
        let surface = self.platform.surface(chat);
        self.pace(chat).take_final().await;
        if let Err(e) = self
            .platform
            .settle(&surface, message, &format!("{question}\n\n{outcome}"))
            .await
        {
            tracing::debug!(channel = P::NAMES.name, error = %e, "could not show a pairing request's outcome");
        }
    }

    /// Answers the pairing request with `code` as the admin who pressed `press` decided:
    /// approved as `mcp-gateway pairing approve` approves, or declined. The requester is told,
    /// and every admin's copy of the question shows the outcome instead of its buttons. A
    /// press by anyone else, or on a request already answered or expired, changes nothing.
    async fn on_pairing_press(&self, press: Press<P>, code: &str, approve: bool) {
        if !self.admins.contains(&press.principal) {
            tracing::warn!(channel = P::NAMES.name, principal = %press.principal, "a pairing button was pressed by someone who is not an admin; nothing was done");
            self.platform
                .answer_press(press.handle, texts::PAIRING_NOT_ADMIN, false)
                .await;
            return;
        }
        let pairing = self.access.pairing();
        let answered = if approve {
            pairing.approve(code).await.map(|a| a.principal)
        } else {
            pairing.decline(code).await.map(|d| d.principal)
        };
        let requester = match answered {
            Ok(requester) => requester,
            Err(AccessError::UnknownCode(_) | AccessError::ExpiredCode(_)) => {
                tracing::info!(channel = P::NAMES.name, admin = %press.principal, "a pairing button was pressed on a request already answered or expired");
                if let Some(request) = self.requests.take(code) {
                    for (chat, message) in &request.asked {
                        self.settle(chat, message, &request.question, texts::PAIRING_GONE)
                            .await;
                    }
                }
                self.platform
                    .answer_press(press.handle, texts::PAIRING_GONE, true)
                    .await;
                return;
            }
            Err(e) => {
                tracing::error!(channel = P::NAMES.name, error = %e, "could not record an admin's answer to a pairing request");
                self.platform
                    .answer_press(press.handle, texts::PAIRING_NOT_RECORDED, false)
                    .await;
                return;
            }
        };
        if !approve {
            self.access.declined(&requester);
        }
        let by = self.platform.who(&press.principal);
        tracing::info!(channel = P::NAMES.name, principal = %requester, admin = %press.principal, approved = approve, "an admin answered a pairing request");
        let request = self.requests.take(code);
        let outcome = texts::pairing_outcome(approve, &by);
        // The pressed copy is settled with the others when this process sent it; otherwise
        // (sent before a restart) its buttons are taken away with the note.
        self.platform
            .answer_press(
                press.handle,
                texts::pairing_press_note(approve),
                request.is_none(),
            )
            .await;
        let requester_chat = match &request {
            Some(request) => {
                for (chat, message) in &request.asked {
                    self.settle(chat, message, &request.question, &outcome)
                        .await;
                }
                Some(request.chat.clone())
            }
            None => self.platform.direct_chat(&requester),
        };
        if let Some(chat) = requester_chat {
            let told = if approve {
                texts::PAIRING_APPROVED
            } else {
                texts::PAIRING_DECLINED
            };
            self.reply(&chat, &self.platform.surface(&chat), told).await;
        }
    }

    /// Resolves the confirmation a button press answers and tells the presser what it did.
    async fn on_press(&self, press: Press<P>) {
        if let Some((code, approve)) = press.data.as_deref().and_then(admins::parse_callback) {
            self.on_pairing_press(press, &code, approve).await;
            return;
        }
        if let (Some(id), Some(schedule)) = (
            press.data.as_deref().and_then(reminders::cancel_id),
            self.agent.schedule(),
        ) {
            let note = reminders::cancel(schedule, &press.principal, id).await;
            self.platform.answer_press(press.handle, &note, false).await;
            return;
        }
        let resolution = press
            .data
            .as_deref()
            .and_then(confirm::parse_callback)
            .map(|(id, allow)| self.confirmations.resolve(id, &press.principal, allow));
        if resolution == Some(Resolution::NotYours) {
            tracing::info!(principal = %press.principal, "a confirmation button was pressed by someone who was not asked");
        }
        let stale = matches!(resolution, Some(Resolution::Expired) | None);
        self.platform
            .answer_press(press.handle, texts::press_note(resolution), stale)
            .await;
    }

    /// Tells the person that their account is connected and answers the message that was
    /// waiting for it, in the chat it was written in, queued behind their other messages there.
    /// Without a waiting message the person is told in their direct chat, where the platform
    /// has one.
    fn on_connected(self: &Arc<Self>, notice: ConnectedNotice) {
        if notice.principal.channel() != P::NAMES.name {
            return;
        }
        let said = texts::connected(&notice.server, notice.account.as_deref());
        let Some(pending) = notice.pending else {
            if let Some(chat) = self.platform.direct_chat(&notice.principal) {
                self.say(&chat, said);
            }
            return;
        };
        let Some(chat) = P::Chat::parse(&pending.chat) else {
            tracing::warn!(
                channel = P::NAMES.name,
                "a waiting message names a chat this platform does not know"
            );
            return;
        };
        let surface = self.platform.surface(&chat);
        let principal = notice.principal;
        let who = self.platform.who(&principal);
        let key = (chat.clone(), principal.clone());
        let this = Arc::clone(self);
        self.sessions.submit(
            key,
            Box::new(move |cancel| {
                Box::pin(async move {
                    this.reply(&chat, &surface, &said).await;
                    let asker = Asker {
                        principal: &principal,
                        who: &who,
                    };
                    this.turn(asker, &chat, surface, &pending.text, &cancel)
                        .await;
                })
            }),
        );
    }
}

/// The person a turn or a command answers, as connect links need them.
#[derive(Debug, Clone, Copy)]
struct Asker<'a> {
    principal: &'a Principal,
    /// How a connect link's page names them.
    who: &'a str,
}

/// Delivers scheduled entries into an engine's chats while it runs; the schedule's registry of
/// outlets does not keep the engine alive.
struct Deliverer<P: Platform>(Weak<Engine<P>>);

#[async_trait]
impl<P: Platform> Outlet for Deliverer<P> {
    async fn deliver(&self, principal: &Principal, chat: &str, delivery: Delivery) -> Delivered {
        match self.0.upgrade() {
            Some(engine) => engine.deliver(principal, chat, delivery).await,
            None => Delivered::Failed("the channel has stopped".into()),
        }
    }
}

/// Passes finished connections to an engine while it runs; the OAuth client's registry of
/// listeners does not keep the engine alive.
struct Listener<P: Platform>(Weak<Engine<P>>);

#[async_trait]
impl<P: Platform> ConnectListener for Listener<P> {
    async fn connected(&self, notice: ConnectedNotice) {
        if let Some(engine) = self.0.upgrade() {
            engine.on_connected(notice);
        }
    }
}

#[cfg(test)]
mod tests;
