//! What each Telegram update does: addressing, rate limit, `/stop`, access, commands, turns and
//! button presses.

use std::sync::Arc;
use std::time::Duration;

use teloxide::Bot;
use teloxide::payloads::AnswerCallbackQuerySetters;
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQuery, ChatId, InlineKeyboardMarkup, Message, MessageId, ThreadId, Update, UpdateKind,
    User,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::links::{Asker, LinkDelivery};
use super::sink::TelegramSink;
use super::surface::{BotApi, MAX_CALLS_IN_FLIGHT, TelegramSurface};
use super::{BotIdentity, TelegramOptions};
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
use crate::channels::stream::{Body, StreamConfig, StreamEditor};
use crate::config::TelegramConfig;
use crate::mcp::accounts::ConnectedNotice;
use crate::store::Store;
use crate::telemetry::metrics::{MessageLabels, Metrics};

/// The longest message text passed to the model; longer messages are cut with a note.
const MAX_INPUT_CHARS: usize = 16_000;

/// A message worth handling, reduced to what the handler needs.
#[derive(Debug, Clone)]
struct Inbound {
    chat: ChatId,
    thread: Option<ThreadId>,
    message: MessageId,
    private: bool,
    principal: Principal,
    user_id: u64,
    display: String,
    /// How a connect link's page names the sender: "Telegram user @ann (id 42)".
    who: String,
    /// The text with the bot's mention removed; `None` for messages without text.
    text: Option<String>,
    command: Option<ChatCommand>,
}

/// Everything the Telegram channel shares between updates.
pub(super) struct Handler {
    api: BotApi,
    me: BotIdentity,
    agent: Agent,
    access: Access,
    limiter: RateLimiter,
    sessions: Sessions<(i64, u64)>,
    confirmations: Confirmations,
    commands: Commands,
    links: LinkDelivery,
    stream: StreamConfig,
    confirm_ttl: Duration,
    metrics: Metrics,
    /// Replies and button presses handled outside the sessions.
    side: TaskTracker,
    shutdown: CancellationToken,
}

impl Handler {
    #[allow(clippy::too_many_arguments)] // the channel's dependencies, assembled once
    pub(super) fn new(
        bot: Bot,
        me: BotIdentity,
        config: &TelegramConfig,
        servers: Vec<ServerSummary>,
        agent: Agent,
        store: Store,
        metrics: Metrics,
        options: &TelegramOptions,
        shutdown: &CancellationToken,
    ) -> Self {
        let allow = config
            .allow_from
            .iter()
            .filter_map(|id| u64::try_from(*id).ok())
            .map(Principal::telegram);
        let api = BotApi::new(bot, MAX_CALLS_IN_FLIGHT);
        Self {
            links: LinkDelivery::new(api.clone(), options.accounts.clone(), me.username.clone()),
            api,
            me,
            agent,
            access: Access::new(config.policy, allow, store.clone()),
            limiter: RateLimiter::new(config.rate_limit_per_minute, "telegram", &metrics),
            sessions: Sessions::new(shutdown.child_token(), options.queue_per_sender),
            confirmations: Confirmations::new(),
            commands: Commands::new(store, servers, options.accounts.clone()),
            stream: options.stream,
            confirm_ttl: options.confirm_ttl,
            metrics,
            side: TaskTracker::new(),
            shutdown: shutdown.clone(),
        }
    }

    /// Handles one update without waiting for any reply.
    pub(super) fn dispatch(self: &Arc<Self>, update: Update) {
        match update.kind {
            UpdateKind::Message(message) => self.on_message(&message),
            UpdateKind::CallbackQuery(query) => {
                let this = Arc::clone(self);
                self.side
                    .spawn(async move { this.on_callback(query).await });
            }
            _ => {}
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
                channel: "telegram".into(),
                direction: direction.into(),
            })
            .inc();
    }

    /// Reads who wrote what, or `None` when the message is not for this bot.
    fn inbound(&self, message: &Message) -> Option<Inbound> {
        let from = message.from.as_ref().filter(|u| !u.is_bot)?;
        let chat = &message.chat;
        let private = chat.is_private();
        if !private && !chat.is_group() && !chat.is_supergroup() {
            return None;
        }
        let raw = message.text().or_else(|| message.caption());
        let command = raw.and_then(|t| commands::parse(t, Some(&self.me.username)));
        let mention = format!("@{}", self.me.username);
        let mentioned =
            raw.is_some_and(|t| !self.me.username.is_empty() && contains_ignore_case(t, &mention));
        let replied_to_bot = message
            .reply_to_message()
            .and_then(|r| r.from.as_ref())
            .is_some_and(|u| u.id == self.me.id);
        if !private && !mentioned && !replied_to_bot && command.is_none() {
            return None;
        }
        let text = raw
            .map(|t| remove_ignore_case(t, &mention).trim().to_owned())
            .filter(|t| !t.is_empty());
        Some(Inbound {
            chat: chat.id,
            thread: message.thread_id.filter(|_| message.is_topic_message),
            message: message.id,
            private,
            principal: Principal::telegram(from.id.0),
            user_id: from.id.0,
            display: display_name(from),
            who: identity(from),
            text,
            command,
        })
    }

    fn on_message(self: &Arc<Self>, message: &Message) {
        let Some(inbound) = self.inbound(message) else {
            return;
        };
        self.count("in");
        let surface = self.surface(&inbound);
        if let RateDecision::Limited { notify } = self.limiter.check(&inbound.principal) {
            if notify {
                self.reply_later(surface, SLOW_DOWN.to_owned(), None);
            }
            return;
        }
        let key = (inbound.chat.0, inbound.user_id);
        if inbound.command == Some(ChatCommand::Stop) && self.sessions.stop(&key) {
            self.reply_later(surface, commands::STOPPED.to_owned(), None);
            return;
        }
        let this = Arc::clone(self);
        let job_surface = surface.clone();
        let submitted = self.sessions.submit(
            key,
            Box::new(move |cancel| {
                Box::pin(async move { this.handle(inbound, job_surface, cancel).await })
            }),
        );
        if submitted == Submitted::Busy {
            self.reply_later(surface, commands::BUSY.to_owned(), None);
        }
    }

    fn surface(&self, inbound: &Inbound) -> TelegramSurface {
        let reply_to = (!inbound.private).then_some(inbound.message);
        TelegramSurface::new(self.api.clone(), inbound.chat, inbound.thread, reply_to)
    }

    /// Sends a short reply on its own task.
    fn reply_later(
        self: &Arc<Self>,
        surface: TelegramSurface,
        text: String,
        buttons: Option<InlineKeyboardMarkup>,
    ) {
        let this = Arc::clone(self);
        self.side
            .spawn(async move { this.reply(&surface, &text, buttons).await });
    }

    async fn reply(
        &self,
        surface: &TelegramSurface,
        text: &str,
        buttons: Option<InlineKeyboardMarkup>,
    ) {
        match surface.deliver(Body::Plain(text), buttons).await {
            Ok(_) => self.count("out"),
            Err(e) => tracing::warn!(error = %e, "could not send a Telegram reply"),
        }
    }

    /// Runs in the sender's session: access, then a command or a turn.
    async fn handle(&self, inbound: Inbound, surface: TelegramSurface, cancel: CancellationToken) {
        let decision = match self
            .access
            .decide(&inbound.principal, &inbound.display)
            .await
        {
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
                    tracing::info!(principal = %inbound.principal, "new sender asked for access; approve with `mcp-gateway pairing approve CODE`");
                }
                let text = format!(
                    "Hi! This assistant is private. To be let in, give this code to its operator:\n\n{code}\n\nThey approve it with: mcp-gateway pairing approve {code}\nThe code is valid for one hour."
                );
                self.reply(&surface, &text, None).await;
                return;
            }
            Decision::Denied { notify } => {
                if notify {
                    let text = format!(
                        "Sorry, this assistant is private. If you should have access, ask its operator to add your Telegram user id {} to allow_from.",
                        inbound.user_id
                    );
                    self.reply(&surface, &text, None).await;
                }
                return;
            }
        }
        if let Some(command) = &inbound.command {
            if *command == ChatCommand::Stop {
                self.reply(&surface, commands::NOTHING_TO_STOP, None).await;
                return;
            }
            let chat = inbound.chat.0.to_string();
            let reply = self
                .commands
                .reply(command, &inbound.principal, &chat, false)
                .await;
            match &reply.link {
                Some(link) => {
                    match self
                        .links
                        .offer(
                            &surface,
                            &inbound.asker(),
                            &link.server,
                            &link.url,
                            &reply.text,
                        )
                        .await
                    {
                        Ok(()) => self.count("out"),
                        Err(e) => tracing::warn!(error = %e, "could not send a connect link"),
                    }
                }
                _ => self.reply(&surface, &reply.text, None).await,
            }
            return;
        }
        let Some(text) = inbound.text.as_deref() else {
            if inbound.private {
                self.reply(&surface, "I can only read text messages for now.", None)
                    .await;
            }
            return;
        };
        self.turn(&inbound, surface, text, &cancel).await;
    }

    /// Tells the person that their account is connected and answers the message that was
    /// waiting for it, in the chat it was written in, queued behind their other messages there.
    /// The listener that passes finished connections of Telegram users to this handler, while
    /// it runs.
    pub(super) fn listener(self: &Arc<Self>) -> WeakListener<Self> {
        WeakListener::new(self, Self::on_connected)
    }

    fn on_connected(self: &Arc<Self>, notice: ConnectedNotice) {
        let Some(user_id) = notice
            .principal
            .as_str()
            .strip_prefix("telegram:")
            .and_then(|id| id.parse::<u64>().ok())
        else {
            return;
        };
        let said = format!("Connected your {} account.", notice.server);
        let Some(pending) = notice.pending else {
            // Without a waiting message, tell the person in their private chat with the bot.
            let Ok(chat) = i64::try_from(user_id) else {
                return;
            };
            let surface = TelegramSurface::new(self.api.clone(), ChatId(chat), None, None);
            self.reply_later(surface, said, None);
            return;
        };
        let Ok(chat) = pending.chat.parse::<i64>() else {
            return;
        };
        let inbound = Inbound {
            chat: ChatId(chat),
            thread: None,
            message: MessageId(0),
            private: chat > 0,
            principal: notice.principal,
            user_id,
            display: String::new(),
            who: String::new(),
            text: Some(pending.text),
            command: None,
        };
        let surface = TelegramSurface::new(self.api.clone(), inbound.chat, None, None);
        let this = Arc::clone(self);
        self.sessions.submit(
            (chat, user_id),
            Box::new(move |cancel| {
                Box::pin(async move {
                    this.reply(&surface, &said, None).await;
                    let text = inbound.text.clone().unwrap_or_default();
                    this.turn(&inbound, surface, &text, &cancel).await;
                })
            }),
        );
    }

    /// Runs one agent turn, streaming the reply into the chat.
    async fn turn(
        &self,
        inbound: &Inbound,
        surface: TelegramSurface,
        text: &str,
        cancel: &CancellationToken,
    ) {
        let (text, cut) = match text.char_indices().nth(MAX_INPUT_CHARS) {
            Some((i, _)) => (&text[..i], true),
            None => (text, false),
        };
        if cut {
            self.reply(
                &surface,
                &format!(
                    "Your message was long, so I read only its first {MAX_INPUT_CHARS} characters."
                ),
                None,
            )
            .await;
        }
        let surface = Arc::new(surface);
        let editor = StreamEditor::start(Arc::clone(&surface), self.stream);
        let chat = inbound.chat.0.to_string();
        let asker = inbound.asker();
        let sink = TelegramSink::new(
            &editor,
            &surface,
            &self.links,
            &asker,
            &inbound.principal,
            &self.confirmations,
            self.confirm_ttl,
            cancel,
        );
        let input = TurnInput {
            principal: &inbound.principal,
            chat: &chat,
            text,
        };
        let result = self.agent.run_turn(input, &sink, cancel).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, principal = %inbound.principal, "turn failed");
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

    /// Answers a button press; the callback query is always answered.
    async fn on_callback(&self, query: CallbackQuery) {
        let who = Principal::telegram(query.from.id.0);
        let resolution = query
            .data
            .as_deref()
            .and_then(confirm::parse_callback)
            .map(|(id, allow)| self.confirmations.resolve(id, &who, allow));
        let note = match resolution {
            Some(Resolution::Resolved { allow: true }) => "Allowed",
            Some(Resolution::Resolved { allow: false }) => "Declined",
            Some(Resolution::NotYours) => "Only the person who was asked can answer this.",
            Some(Resolution::Expired) | None => "This request has expired.",
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = self
                .api
                .bot()
                .answer_callback_query(query.id.clone())
                .text(note);
            match self.api.call(request).await {
                Ok(_) => break,
                Err(teloxide::RequestError::RetryAfter(wait)) if attempts < 3 => {
                    tokio::select! {
                        () = tokio::time::sleep(wait.duration().min(Duration::from_secs(30))) => {}
                        () = self.shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %super::surface::redact(&e.to_string()), "could not answer a button press");
                    break;
                }
            }
        }
        // A stale button (expired, or from before a restart): take the buttons away.
        if matches!(resolution, Some(Resolution::Expired) | None)
            && let Some(message) = query.regular_message()
        {
            let request = self
                .api
                .bot()
                .edit_message_reply_markup(message.chat.id, message.id);
            let _ = self.api.call(request).await;
        }
    }
}

/// How a sender is shown in `pairing list`: `@username (First Last)`.
fn display_name(user: &User) -> String {
    let full = crate::display::sanitize(&user.full_name(), 64);
    match &user.username {
        Some(u) => format!("@{} ({full})", crate::display::sanitize(u, 32)),
        None => full,
    }
}

/// How a connect link's page names a sender: `Telegram user @username (id 42)`, or with their
/// name when they have no username.
fn identity(user: &User) -> String {
    let name = match &user.username {
        Some(u) => format!("@{}", crate::display::sanitize(u, 32)),
        None => crate::display::sanitize(&user.full_name(), 64),
    };
    format!("Telegram user {name} (id {})", user.id.0)
}

impl Inbound {
    fn asker(&self) -> Asker {
        Asker {
            user_id: self.user_id,
            who: if self.who.is_empty() {
                format!("Telegram user id {}", self.user_id)
            } else {
                self.who.clone()
            },
            private: self.private,
        }
    }
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// `text` without any occurrence of `needle` (ASCII case-insensitive; usernames are ASCII).
fn remove_ignore_case(text: &str, needle: &str) -> String {
    if needle.is_empty() || !needle.is_ascii() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= needle.len()
            && rest.is_char_boundary(needle.len())
            && rest[..needle.len()].eq_ignore_ascii_case(needle)
        {
            rest = &rest[needle.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_removed() {
        assert_eq!(
            remove_ignore_case("@MyBot what is up", "@mybot"),
            " what is up"
        );
        assert_eq!(remove_ignore_case("héllo @mybot!", "@mybot"), "héllo !");
        assert!(contains_ignore_case("hey @MYBOT", "@mybot"));
    }
}
