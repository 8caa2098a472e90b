//! A fake Telegram Bot API, faithful to the wire: `POST /bot<token>/<Method>` with JSON bodies
//! (method names are matched case-insensitively, as Telegram does; teloxide sends PascalCase),
//! answers `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,"description":…,
//! "parameters":{"retry_after":…}}`.
//!
//! It serves `GetMe`, `GetWebhookInfo`, `DeleteWebhook`, `SetMyCommands`, a long-polling
//! `GetUpdates` fed from a queue the test pushes to, `SendMessage`, `EditMessageText`,
//! `EditMessageReplyMarkup`, `SendChatAction` and `AnswerCallbackQuery`. It checks what Telegram
//! checks: text length (4096 UTF-16 units after entity parsing), HTML well-formedness,
//! "message is not modified", unknown messages, and that a bot cannot write first to a user who
//! never started a private chat with it (403, "Forbidden: bot can't initiate conversation with a
//! user").
//!
//! It keeps Telegram's stricter rules too, by default:
//! - "message text is empty" when the visible text of a send or an edit is empty (`<pre></pre>`);
//! - a group takes at most 20 messages and edits a minute; more are answered with 429 and a
//!   `retry_after` of at least 30 s, as Telegram answers in groups;
//! - an inline keyboard URL must be `http(s)` to a host with a dot or an IP literal, or `tg://`
//!   ("Bad Request: inline keyboard button URL '…' is invalid: Wrong HTTP URL", or
//!   "Unsupported URL protocol"), as TDLib's link check decides;
//! - a text link (`<a href>`) to a host without a dot or to `mailto:` is dropped without a word:
//!   the label shows, the address is lost ([`FakeTelegram::message_links`] has the links kept);
//! - the links' addresses together may hold about 9,500 characters ("Bad Request:
//!   ENTITIES_TOO_LONG").
//!
//! It records every call with the time it arrived,
//! can answer the next call of a method with an injected error (a 429 with `retry_after`), and
//! stops when dropped.

#![allow(dead_code)] // each test binary uses a different part of the fake

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

/// The bot's user id.
pub const BOT_ID: u64 = 4_242_424_242;
/// The bot's username.
pub const BOT_USERNAME: &str = "test_gateway_bot";
/// Telegram's limit on one message's text.
pub const MAX_TEXT: usize = 4096;
/// Messages and edits a group takes within [`GROUP_WINDOW`].
pub const GROUP_LIMIT: usize = 20;
/// The window [`GROUP_LIMIT`] counts over.
pub const GROUP_WINDOW: Duration = Duration::from_secs(60);
/// The shortest `retry_after` a group's limit is answered with.
pub const GROUP_RETRY_AFTER: u64 = 30;
/// About how many characters the addresses of one message's links may hold together.
pub const MAX_LINKS_SIZE: usize = 9_500;

/// One recorded API call.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method as Telegram documents it, lower case (`sendmessage`).
    pub method: String,
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// Whether the fake answered with success.
    pub ok: bool,
}

impl Call {
    /// The `chat_id` the call is about.
    #[must_use]
    pub fn chat(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(Value::as_i64)
    }

    /// The `text` sent.
    #[must_use]
    pub fn text(&self) -> &str {
        self.body
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether the body asks for HTML parse mode.
    #[must_use]
    pub fn is_html(&self) -> bool {
        self.body.get("parse_mode").and_then(Value::as_str) == Some("HTML")
    }

    /// Whether this call changed what a chat shows (a send or a text edit).
    #[must_use]
    pub fn is_text(&self) -> bool {
        matches!(self.method.as_str(), "sendmessage" | "editmessagetext")
    }
}

/// An error the fake answers the next matching call with.
#[derive(Debug, Clone)]
struct Injected {
    method: String,
    status: u16,
    description: String,
    retry_after: Option<u64>,
    /// Only calls that ask for HTML parse mode.
    html_only: bool,
}

#[derive(Debug, Clone)]
struct Stored {
    /// The visible text (entities parsed).
    text: String,
    /// The raw text and parse mode as last sent, to detect "not modified".
    raw: (String, Option<String>),
    markup: Option<Value>,
    /// The text links Telegram kept: (label, address).
    links: Vec<(String, String)>,
}

#[derive(Default)]
struct Inner {
    /// Queued updates: their ids and their JSON text (serialised once, when pushed).
    updates: VecDeque<(i64, String)>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<Arc<Call>>,
    messages: HashMap<(i64, i64), Stored>,
    injected: Vec<Injected>,
    delivered: HashMap<i64, Instant>,
    subscribers: Vec<mpsc::UnboundedSender<Arc<Call>>>,
    get_updates_in_flight: usize,
    /// The client ends (address and port) of the connections calls arrived on.
    peers: HashSet<SocketAddr>,
    /// Users who have a private chat with the bot (they wrote to it there).
    started: HashSet<i64>,
    /// When each group's recent messages and edits were accepted, oldest first.
    group_changes: HashMap<i64, VecDeque<Instant>>,
}

struct Shared {
    token: String,
    inner: Mutex<Inner>,
    /// Woken when updates are pushed (for long polls) and when calls are recorded (for waiters).
    changed: Notify,
    updates_pushed: Notify,
}

/// The running fake; stops when dropped.
pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    /// Starts a fake that accepts `token` on 127.0.0.1 and a free port.
    pub async fn start(token: &str) -> Self {
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            inner: Mutex::new(Inner {
                next_update_id: 1000,
                next_message_id: 1,
                ..Inner::default()
            }),
            changed: Notify::new(),
            updates_pushed: Notify::new(),
        });
        let app = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Bot API");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Self { addr, shared, task }
    }

    /// The Bot API base URL to configure (`api_url`).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues an update (the `update_id` is assigned here) and returns its id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.shared.inner.lock();
            let id = inner.next_update_id;
            inner.next_update_id += 1;
            update["update_id"] = json!(id);
            if let Some(chat) = update
                .pointer("/message/chat")
                .filter(|c| c["type"] == "private")
                .and_then(|c| c["id"].as_i64())
            {
                inner.started.insert(chat);
            }
            if let Some(message) = update.get_mut("message") {
                // Incoming messages get distinct ids (the update's), as in a real chat.
                message["message_id"] = json!(id);
            }
            inner.updates.push_back((id, update.to_string()));
            id
        };
        self.shared.updates_pushed.notify_waiters();
        id
    }

    /// Queues a text message from `user` in their private chat (chat id = user id).
    pub fn push_private(&self, user: u64, text: &str) -> i64 {
        self.push_update(json!({ "message": message_json(user_chat(user), Some(user), text) }))
    }

    /// Queues a text message from `user` in the supergroup `chat` (a negative id).
    pub fn push_group(&self, chat: i64, user: u64, text: &str) -> i64 {
        let chat = json!({ "id": chat, "type": "supergroup", "title": "Test group" });
        self.push_update(json!({ "message": message_json(chat, Some(user), text) }))
    }

    /// Queues a button press by `user` on the bot's message `message_id` in `chat`.
    pub fn push_callback(&self, user: u64, chat: i64, message_id: i64, data: &str) -> String {
        let id = format!("cq{}", self.shared.inner.lock().next_update_id);
        let text = self.message_text(chat, message_id).unwrap_or_default();
        let chat_json = if chat > 0 {
            user_chat(u64::try_from(chat).unwrap_or_default())
        } else {
            json!({ "id": chat, "type": "supergroup", "title": "Test group" })
        };
        let mut message = message_json(chat_json, None, &text);
        message["message_id"] = json!(message_id);
        message["from"] = bot_user();
        self.push_update(json!({
            "callback_query": { "id": id, "from": user_json(user), "chat_instance": "ci", "data": data, "message": message }
        }));
        id
    }

    /// Every call so far.
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        let calls: Vec<Arc<Call>> = self.shared.inner.lock().calls.clone();
        calls.iter().map(|c| Call::clone(c)).collect()
    }

    /// The calls to `method` (case-insensitive).
    #[must_use]
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let m = method.to_ascii_lowercase();
        self.calls().into_iter().filter(|c| c.method == m).collect()
    }

    /// The calls that changed what `chat` shows (sends and text edits), in order.
    #[must_use]
    pub fn text_calls(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.is_text() && c.chat() == Some(chat))
            .collect()
    }

    /// Every call about `chat`.
    #[must_use]
    pub fn chat_calls(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.chat() == Some(chat))
            .collect()
    }

    /// The visible text of a message the bot sent.
    #[must_use]
    pub fn message_text(&self, chat: i64, message_id: i64) -> Option<String> {
        self.shared
            .inner
            .lock()
            .messages
            .get(&(chat, message_id))
            .map(|m| m.text.clone())
    }

    /// The text links of a message the bot sent that Telegram kept: (label, address).
    #[must_use]
    pub fn message_links(&self, chat: i64, message_id: i64) -> Vec<(String, String)> {
        self.shared
            .inner
            .lock()
            .messages
            .get(&(chat, message_id))
            .map(|m| m.links.clone())
            .unwrap_or_default()
    }

    /// The inline keyboard of a message the bot sent.
    #[must_use]
    pub fn message_markup(&self, chat: i64, message_id: i64) -> Option<Value> {
        self.shared
            .inner
            .lock()
            .messages
            .get(&(chat, message_id))
            .and_then(|m| m.markup.clone())
    }

    /// The first message in `chat` whose first row of buttons has both `first` and `second`:
    /// its id and the two buttons' callback data.
    #[must_use]
    pub fn button_pair(
        &self,
        chat: i64,
        first: &str,
        second: &str,
    ) -> Option<(i64, String, String)> {
        self.messages_in(chat).into_iter().find_map(|id| {
            let markup = self.message_markup(chat, id)?;
            let buttons = markup["inline_keyboard"][0].as_array()?;
            let data = |label: &str| {
                buttons
                    .iter()
                    .find(|b| b["text"] == label)
                    .and_then(|b| b["callback_data"].as_str())
                    .map(str::to_owned)
            };
            Some((id, data(first)?, data(second)?))
        })
    }

    /// The ids of the messages the bot sent to `chat`, in order.
    #[must_use]
    pub fn messages_in(&self, chat: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .shared
            .inner
            .lock()
            .messages
            .keys()
            .filter(|(c, _)| *c == chat)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// How many connections the calls so far arrived on.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.shared.inner.lock().peers.len()
    }

    /// When update `id` was first handed out by `GetUpdates`.
    #[must_use]
    pub fn delivered_at(&self, id: i64) -> Option<Instant> {
        self.shared.inner.lock().delivered.get(&id).copied()
    }

    /// Answers the next call of `method` with a 429 asking to retry after `seconds`.
    pub fn fail_next_with_retry_after(&self, method: &str, seconds: u64) {
        self.shared.inner.lock().injected.push(Injected {
            method: method.to_ascii_lowercase(),
            status: 429,
            description: format!("Too Many Requests: retry after {seconds}"),
            retry_after: Some(seconds),
            html_only: false,
        });
    }

    /// Answers the next call of `method` with `status` and `description`.
    pub fn fail_next(&self, method: &str, status: u16, description: &str) {
        self.shared.inner.lock().injected.push(Injected {
            method: method.to_ascii_lowercase(),
            status,
            description: description.to_owned(),
            retry_after: None,
            html_only: false,
        });
    }

    /// Answers the next call of `method` that asks for HTML parse mode with a 400 "can't parse
    /// entities", as Telegram does for markup it rejects.
    pub fn reject_next_html(&self, method: &str) {
        self.shared.inner.lock().injected.push(Injected {
            method: method.to_ascii_lowercase(),
            status: 400,
            description:
                "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0"
                    .into(),
            retry_after: None,
            html_only: true,
        });
    }

    /// A stream of every call from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Arc<Call>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.inner.lock().subscribers.push(tx);
        rx
    }

    /// Waits until `check` holds for the recorded calls, or panics after `timeout`.
    pub async fn wait_for<F>(&self, what: &str, timeout: Duration, mut check: F) -> Vec<Call>
    where
        F: FnMut(&[Call]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let calls = self.calls();
            if check(&calls) {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let calls = self.calls();
                if check(&calls) {
                    return calls;
                }
                let summary: Vec<String> = calls
                    .iter()
                    .map(|c| format!("{} {}", c.method, c.body))
                    .collect();
                panic!(
                    "timed out waiting for {what}; calls so far:\n{}",
                    summary.join("\n")
                );
            }
        }
    }

    /// Waits until `chat` got a final (HTML) text call, and returns its visible messages' texts.
    pub async fn wait_for_final(&self, chat: i64, finals: usize, timeout: Duration) -> Vec<Call> {
        self.wait_for(
            &format!("{finals} formatted replies in chat {chat}"),
            timeout,
            |calls| {
                calls
                    .iter()
                    .filter(|c| c.is_text() && c.ok && c.is_html() && c.chat() == Some(chat))
                    .count()
                    >= finals
            },
        )
        .await
    }
}

fn user_json(user: u64) -> Value {
    json!({ "id": user, "is_bot": false, "first_name": format!("User{user}"), "username": format!("user{user}") })
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Gateway", "username": BOT_USERNAME })
}

fn user_chat(user: u64) -> Value {
    json!({ "id": user, "type": "private", "first_name": format!("User{user}"), "username": format!("user{user}") })
}

fn message_json(chat: Value, from: Option<u64>, text: &str) -> Value {
    let mut m = json!({ "message_id": 1, "date": 1_700_000_000, "chat": chat, "text": text });
    if let Some(user) = from {
        m["from"] = user_json(user);
    }
    m
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "ok": true, "result": result })),
    )
        .into_response()
}

fn err(status: u16, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({ "ok": false, "error_code": status, "description": description });
    if let Some(secs) = retry_after {
        body["parameters"] = json!({ "retry_after": secs });
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    shared.inner.lock().peers.insert(peer);
    if bot != format!("bot{}", shared.token) {
        return err(401, "Unauthorized", None);
    }
    let method = method.to_ascii_lowercase();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return err(400, "Bad Request: can't parse JSON body", None),
        }
    };
    if method == "getupdates" {
        return get_updates(&shared, body).await;
    }
    let response = {
        let mut inner = shared.inner.lock();
        let html = body.get("parse_mode").and_then(Value::as_str) == Some("HTML");
        let injected = inner
            .injected
            .iter()
            .position(|i| i.method == method && (html || !i.html_only))
            .map(|i| inner.injected.remove(i));
        let (response, ok_flag) = match injected {
            Some(i) => (err(i.status, &i.description, i.retry_after), false),
            None => answer(&mut inner, &method, &body),
        };
        let call = Arc::new(Call {
            method: method.clone(),
            body,
            at: Instant::now(),
            ok: ok_flag,
        });
        inner
            .subscribers
            .retain(|s| s.send(Arc::clone(&call)).is_ok());
        inner.calls.push(call);
        response
    };
    shared.changed.notify_waiters();
    response
}

async fn get_updates(shared: &Arc<Shared>, body: Value) -> Response {
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let limit = usize::try_from(
        body.get("limit")
            .and_then(Value::as_u64)
            .unwrap_or(100)
            .clamp(1, 100),
    )
    .unwrap_or(100);
    let timeout = Duration::from_secs(body.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    // Recorded on arrival: the caller is polling from now on.
    shared.inner.lock().calls.push(Arc::new(Call {
        method: "getupdates".into(),
        body,
        at: Instant::now(),
        ok: true,
    }));
    shared.changed.notify_waiters();
    loop {
        let pushed = shared.updates_pushed.notified();
        {
            let mut inner = shared.inner.lock();
            // Updates below the offset are confirmed: Telegram forgets them.
            while inner.updates.front().is_some_and(|(id, _)| *id < offset) {
                inner.updates.pop_front();
            }
            if !inner.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                let now = Instant::now();
                let mut body = String::from(r#"{"ok":true,"result":["#);
                let Inner {
                    updates, delivered, ..
                } = &mut *inner;
                for (i, (id, update)) in updates.iter().take(limit).enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    body.push_str(update);
                    delivered.entry(*id).or_insert(now);
                }
                drop(inner);
                body.push_str("]}");
                return (
                    StatusCode::OK,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
        }
        if tokio::time::timeout_at(deadline, pushed).await.is_err() {
            continue;
        }
    }
}

/// Answers one non-polling method; returns the response and whether it succeeded.
fn answer(inner: &mut Inner, method: &str, body: &Value) -> (Response, bool) {
    match method {
        "getme" => (
            ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Gateway", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
                "has_main_web_app": false
            })),
            true,
        ),
        "getwebhookinfo" => (
            ok(
                json!({ "url": "", "has_custom_certificate": false, "pending_update_count": inner.updates.len() }),
            ),
            true,
        ),
        "deletewebhook" | "setmycommands" | "answercallbackquery" | "sendchataction" => {
            (ok(json!(true)), true)
        }
        "sendmessage" | "editmessagetext" => {
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            if let Some(refused) = group_limit(inner, chat) {
                return (refused, false);
            }
            if let Some(refused) = check_keyboard(body) {
                return (refused, false);
            }
            let (response, accepted) = if method == "sendmessage" {
                send_message(inner, body)
            } else {
                edit_message_text(inner, body)
            };
            if accepted && chat < 0 {
                inner
                    .group_changes
                    .entry(chat)
                    .or_default()
                    .push_back(Instant::now());
            }
            (response, accepted)
        }
        "editmessagereplymarkup" => {
            let (Some(chat), Some(id)) = (body["chat_id"].as_i64(), body["message_id"].as_i64())
            else {
                return (
                    err(
                        400,
                        "Bad Request: message identifier is not specified",
                        None,
                    ),
                    false,
                );
            };
            if let Some(refused) = check_keyboard(body) {
                return (refused, false);
            }
            let Some(stored) = inner.messages.get_mut(&(chat, id)) else {
                return (
                    err(400, "Bad Request: message to edit not found", None),
                    false,
                );
            };
            stored.markup = body.get("reply_markup").cloned();
            let text = stored.text.clone();
            (ok(sent_message(chat, id, &text)), true)
        }
        _ => (err(404, "Not Found", None), false),
    }
}

fn send_message(inner: &mut Inner, body: &Value) -> (Response, bool) {
    let Some(chat) = body["chat_id"].as_i64() else {
        return (err(400, "Bad Request: chat not found", None), false);
    };
    if chat > 0 && !inner.started.contains(&chat) {
        return (
            err(
                403,
                "Forbidden: bot can't initiate conversation with a user",
                None,
            ),
            false,
        );
    }
    let raw = body["text"].as_str().unwrap_or_default().to_owned();
    let mode = body["parse_mode"].as_str().map(str::to_owned);
    let (visible, links) = match parse_text(&raw, mode.as_deref(), "message is too long") {
        Ok(parsed) => parsed,
        Err(refused) => return (err(400, &refused, None), false),
    };
    let id = inner.next_message_id;
    inner.next_message_id += 1;
    inner.messages.insert(
        (chat, id),
        Stored {
            text: visible.clone(),
            raw: (raw, mode),
            markup: body.get("reply_markup").cloned(),
            links,
        },
    );
    (ok(sent_message(chat, id, &visible)), true)
}

fn edit_message_text(inner: &mut Inner, body: &Value) -> (Response, bool) {
    let (Some(chat), Some(id)) = (body["chat_id"].as_i64(), body["message_id"].as_i64()) else {
        return (
            err(
                400,
                "Bad Request: message identifier is not specified",
                None,
            ),
            false,
        );
    };
    let raw = body["text"].as_str().unwrap_or_default().to_owned();
    let mode = body["parse_mode"].as_str().map(str::to_owned);
    let (visible, links) = match parse_text(&raw, mode.as_deref(), "MESSAGE_TOO_LONG") {
        Ok(parsed) => parsed,
        Err(refused) => return (err(400, &refused, None), false),
    };
    let markup = body.get("reply_markup").cloned();
    let Some(stored) = inner.messages.get_mut(&(chat, id)) else {
        return (
            err(400, "Bad Request: message to edit not found", None),
            false,
        );
    };
    if stored.raw == (raw.clone(), mode.clone()) && stored.markup == markup {
        return (
            err(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                None,
            ),
            false,
        );
    }
    *stored = Stored {
        text: visible.clone(),
        raw: (raw, mode),
        markup,
        links,
    };
    (ok(sent_message(chat, id, &visible)), true)
}

fn sent_message(chat: i64, id: i64, text: &str) -> Value {
    let chat_json = if chat > 0 {
        user_chat(u64::try_from(chat).unwrap_or_default())
    } else {
        json!({ "id": chat, "type": "supergroup", "title": "Test group" })
    };
    let mut m = message_json(chat_json, None, text);
    m["message_id"] = json!(id);
    m["from"] = bot_user();
    m
}

/// A 429 when `chat` is a group that had its fill of messages and edits this minute.
fn group_limit(inner: &mut Inner, chat: i64) -> Option<Response> {
    if chat >= 0 {
        return None;
    }
    let now = Instant::now();
    let recent = inner.group_changes.entry(chat).or_default();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= GROUP_WINDOW)
    {
        recent.pop_front();
    }
    if recent.len() < GROUP_LIMIT {
        return None;
    }
    let room = recent.front().map_or(Duration::ZERO, |t| {
        GROUP_WINDOW.saturating_sub(now.duration_since(*t))
    });
    let wait = (room.as_secs() + 1).max(GROUP_RETRY_AFTER);
    Some(err(
        429,
        &format!("Too Many Requests: retry after {wait}"),
        Some(wait),
    ))
}

/// Whether Telegram's link check takes `url`: `http(s)` to a host with a dot or an IP literal
/// ("Wrong HTTP URL" otherwise), or `tg://`; any other scheme is "Unsupported URL protocol".
fn check_url(url: &str) -> Result<(), &'static str> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("tg://") {
        return Ok(());
    }
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(if lower.contains("://") || lower.starts_with("mailto:") {
            "Unsupported URL protocol"
        } else {
            "Wrong HTTP URL"
        });
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.starts_with('[') {
        return Ok(());
    }
    let host = host.split(':').next().unwrap_or_default();
    if host.contains('.') {
        Ok(())
    } else {
        Err("Wrong HTTP URL")
    }
}

/// A 400 when an inline keyboard button's URL is one Telegram refuses.
fn check_keyboard(body: &Value) -> Option<Response> {
    let rows = body.pointer("/reply_markup/inline_keyboard")?.as_array()?;
    for button in rows.iter().filter_map(Value::as_array).flatten() {
        if let Some(url) = button.get("url").and_then(Value::as_str)
            && let Err(why) = check_url(url)
        {
            return Some(err(
                400,
                &format!("Bad Request: inline keyboard button URL '{url}' is invalid: {why}"),
                None,
            ));
        }
    }
    None
}

/// The text a user sees and the links kept, or the description of Telegram's refusal (a 400):
/// markup it cannot parse, an empty text, a text too long (`too_long`, which differs between
/// sending and editing), or links too long together.
fn parse_text(
    raw: &str,
    mode: Option<&str>,
    too_long: &str,
) -> Result<(String, Vec<(String, String)>), String> {
    let parsed = match mode {
        None => Ok((raw.to_owned(), Vec::new())),
        Some("HTML") => parse_html(raw),
        Some(other) => Err(format!("unsupported parse mode {other}")),
    };
    let (visible, links) = parsed.map_err(|e| format!("Bad Request: can't parse entities: {e}"))?;
    if visible.trim().is_empty() {
        return Err("Bad Request: message text is empty".into());
    }
    if visible.encode_utf16().count() > MAX_TEXT {
        return Err(format!("Bad Request: {too_long}"));
    }
    if links.iter().map(|(_, url)| url.len()).sum::<usize>() > MAX_LINKS_SIZE {
        return Err("Bad Request: ENTITIES_TOO_LONG".into());
    }
    let kept = links
        .into_iter()
        .filter(|(_, url)| check_url(url).is_ok())
        .collect();
    Ok((visible, kept))
}

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
];

/// The visible text of Telegram HTML and its text links (label, address), checking the markup as
/// strictly as Telegram does.
fn parse_html(raw: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut out = String::new();
    let mut links = Vec::new();
    // Open links: where their label starts in `out`, and their address.
    let mut open_links: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("Unclosed start tag")?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match stack.pop() {
                        Some(open) if open == name.trim() => {}
                        _ => return Err(format!("Unexpected end tag {name}")),
                    }
                    if name.trim() == "a"
                        && let Some((start, url)) = open_links.pop()
                    {
                        links.push((out[start..].to_owned(), url));
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or_default();
                    if !TAGS.contains(&name) {
                        return Err(format!("Unsupported start tag \"{name}\""));
                    }
                    if name == "a" {
                        let href = tag
                            .split_once("href=\"")
                            .and_then(|(_, rest)| rest.split_once('"'))
                            .map(|(href, _)| decode_entities(href))
                            .ok_or("a tag without href")?;
                        open_links.push((out.len(), href));
                    }
                    stack.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '>' => return Err("Character '>' is reserved".into()),
            '&' => {
                let end = rest
                    .find(';')
                    .filter(|e| *e <= 10)
                    .ok_or("Character '&' is reserved")?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    _ => {
                        let n = entity
                            .strip_prefix('#')
                            .and_then(|d| d.parse::<u32>().ok())
                            .ok_or("Unsupported HTML entity")?;
                        char::from_u32(n).ok_or("Bad numeric entity")?
                    }
                };
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok((out, links))
}

/// An attribute's value with the entities Telegram decodes in it.
fn decode_entities(value: &str) -> String {
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}
