//! A wire-faithful fake of the Slack Web API and Socket Mode, on 127.0.0.1:0; it stops when
//! dropped.
//!
//! Web API methods live under `/api/<method>` and answer `{"ok":true,…}` or `{"ok":false,"error"}`;
//! `apps.connections.open` hands out a `ws://` URL to this server's socket endpoint, which sends
//! `hello`, then whatever envelopes the test pushes, and records every acknowledgement with the
//! time it took.
//!
//! It keeps Slack's rules, strict by default:
//! - What people type arrives as Slack writes it ([`slack_text`]): `&`, `<`, `>` escaped, links
//!   as `<https://…>`.
//! - `chat.postMessage` splits a `text` longer than 4,000 characters (as sent, after escaping)
//!   into several messages, cutting blindly; `chat.update` refuses one with `msg_too_long`; an
//!   empty text without blocks is `no_text`.
//! - Block Kit: a section's text over 3,000 characters, a button's text over 75, or a button URL
//!   over 3,000 is `invalid_blocks`.
//! - `chat.update` is a Tier 3 method: more than 50 calls a minute are answered with HTTP 429 and
//!   `Retry-After`.
//! - A link button's click still sends an interaction payload, without a `value`
//!   ([`FakeSlack::push_link_press`]).
//! - An event whose acknowledgement was lost is delivered again with the same `event_id`,
//!   `retry_attempt` 1 and `retry_reason` `timeout` ([`FakeSlack::lose_next_ack`]).
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

/// One Web API call as received.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// The method (`chat.postMessage`).
    pub method: String,
    /// The bearer token used.
    pub token: String,
    /// The JSON body.
    pub body: Value,
}

/// The longest `text` Slack keeps in one message (as sent).
pub const MAX_TEXT: usize = 4_000;
/// The longest text of a section block.
pub const MAX_SECTION_TEXT: usize = 3_000;
/// `chat.update` calls allowed a minute (Tier 3).
pub const UPDATES_PER_MINUTE: usize = 50;

/// What Slack delivers when a person types `typed`: `&`, `<` and `>` escaped, and each bare
/// `http(s)://` address written as a link, `<address>`.
pub fn slack_text(typed: &str) -> String {
    let mut out = String::new();
    for (i, word) in typed.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let escaped = word
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        if word.starts_with("http://") || word.starts_with("https://") {
            out.push('<');
            out.push_str(&escaped);
            out.push('>');
        } else {
            out.push_str(&escaped);
        }
    }
    out
}

#[derive(Default)]
struct Shared {
    calls: Vec<ApiCall>,
    /// Acknowledged envelope ids with the delay from send to acknowledgement.
    acks: Vec<(String, Duration)>,
    sent_at: HashMap<String, Instant>,
    /// Methods to answer with 429 (Retry-After seconds) the next N times.
    rate_limits: HashMap<String, (u32, u64)>,
    connections_opened: u32,
    next_ts: u64,
    messages: HashMap<(String, String), String>,
    /// The blocks of each message, as last set.
    blocks: HashMap<(String, String), Value>,
    /// Accepted posts in order: (channel, ts, request body).
    posted: Vec<(String, String, Value)>,
    /// Posts Slack split into several messages because their text was too long.
    split_posts: u32,
    /// When `chat.update` was called, for the Tier 3 limit.
    updates: VecDeque<Instant>,
    /// Envelopes pushed, by id, to deliver again.
    frames: HashMap<String, Value>,
    /// Whether the next acknowledgement of an event is lost.
    lose_ack: bool,
}

/// The fake; every clone shares state.
#[derive(Clone)]
pub struct FakeSlack {
    addr: std::net::SocketAddr,
    shared: Arc<Mutex<Shared>>,
    push: broadcast::Sender<String>,
    task: Arc<tokio::task::JoinHandle<()>>,
    _connected: Arc<mpsc::UnboundedReceiver<()>>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Mutex<Shared>>,
    push: broadcast::Sender<String>,
    base: String,
}

impl FakeSlack {
    /// Starts the fake.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared {
            next_ts: 1000,
            ..Shared::default()
        }));
        let (push, _) = broadcast::channel(1024);
        let state = AppState {
            shared: Arc::clone(&shared),
            push: push.clone(),
            base: format!("http://{addr}"),
        };
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/socket", any(socket))
            .with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let (_tx, rx) = mpsc::unbounded_channel();
        Self {
            addr,
            shared,
            push,
            task: Arc::new(task),
            _connected: Arc::new(rx),
        }
    }

    /// The Web API base URL, as configured in `[channels.slack].api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// Sends an `events_api` envelope carrying `event` to every open socket; returns its id.
    pub fn push_event(&self, team: &str, event: Value) -> String {
        let id = format!("env-{}", rand_id());
        let frame = json!({"envelope_id": id, "type": "events_api", "accepts_response_payload": false,
            "retry_attempt": 0, "retry_reason": "",
            "payload": {"team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": format!("Ev{id}"), "event": event}});
        self.send(&id, frame);
        id
    }

    /// Loses the next acknowledgement of an event: Slack then delivers that event again.
    pub fn lose_next_ack(&self) {
        self.shared.lock().lose_ack = true;
    }

    /// Sends the interaction payload Slack sends when a link button is clicked: the action
    /// carries the button's `url` and no `value`. Returns the envelope id.
    pub fn push_link_press(
        &self,
        team: &str,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        url: &str,
    ) -> String {
        let id = format!("env-{}", rand_id());
        let frame = json!({"envelope_id": id, "type": "interactive", "accepts_response_payload": false,
            "payload": {"type": "block_actions", "user": {"id": user, "team_id": team}, "team": {"id": team},
                "channel": {"id": channel}, "message": {"ts": message_ts}, "container": {"message_ts": message_ts},
                "actions": [{"action_id": action_id, "block_id": "b1", "type": "button", "url": url,
                    "text": {"type": "plain_text", "text": "link"}, "action_ts": "1.2"}]}});
        self.send(&id, frame);
        id
    }

    /// Sends an `interactive` block-actions envelope; returns its id.
    pub fn push_action(
        &self,
        team: &str,
        user: &str,
        channel: &str,
        message_ts: &str,
        action_id: &str,
        value: &str,
    ) -> String {
        let id = format!("env-{}", rand_id());
        let frame = json!({"envelope_id": id, "type": "interactive", "accepts_response_payload": false,
            "payload": {"type": "block_actions", "user": {"id": user, "team_id": team}, "team": {"id": team},
                "channel": {"id": channel}, "message": {"ts": message_ts}, "container": {"message_ts": message_ts},
                "actions": [{"action_id": action_id, "value": value, "type": "button"}]}});
        self.send(&id, frame);
        id
    }

    /// Sends a `disconnect` frame, as Slack does before rotating a connection.
    pub fn push_disconnect(&self) {
        let _ = self.push.send(json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}).to_string());
    }

    fn send(&self, id: &str, frame: Value) {
        let mut shared = self.shared.lock();
        shared.sent_at.insert(id.to_owned(), Instant::now());
        shared.frames.insert(id.to_owned(), frame.clone());
        drop(shared);
        let _ = self.push.send(frame.to_string());
    }

    /// Answers the next `times` calls of `method` with HTTP 429 and `Retry-After: secs`.
    pub fn rate_limit(&self, method: &str, times: u32, secs: u64) {
        self.shared
            .lock()
            .rate_limits
            .insert(method.to_owned(), (times, secs));
    }

    /// Every Web API call so far.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.shared.lock().calls.clone()
    }

    /// Calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<ApiCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Acknowledged envelopes with their delays.
    pub fn acks(&self) -> Vec<(String, Duration)> {
        self.shared.lock().acks.clone()
    }

    /// How many socket connections were opened with `apps.connections.open`.
    pub fn connections_opened(&self) -> u32 {
        self.shared.lock().connections_opened
    }

    /// How many sockets are connected now (and would receive a pushed envelope).
    pub fn sockets(&self) -> usize {
        self.push.receiver_count()
    }

    /// Posts Slack accepted, in order: (channel, ts, request body).
    pub fn posted(&self) -> Vec<(String, String, Value)> {
        self.shared.lock().posted.clone()
    }

    /// How many posts Slack split into several messages.
    pub fn split_posts(&self) -> u32 {
        self.shared.lock().split_posts
    }

    /// The current blocks of a message the bot posted.
    pub fn message_blocks(&self, channel: &str, ts: &str) -> Option<Value> {
        self.shared
            .lock()
            .blocks
            .get(&(channel.to_owned(), ts.to_owned()))
            .cloned()
    }

    /// The current text of a message the bot posted.
    pub fn message_text(&self, channel: &str, ts: &str) -> Option<String> {
        self.shared
            .lock()
            .messages
            .get(&(channel.to_owned(), ts.to_owned()))
            .cloned()
    }

    /// Waits until `check` holds, up to `limit`.
    pub async fn wait_for(&self, limit: Duration, check: impl Fn(&Self) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        check(self)
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn api(
    State(state): State<AppState>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let body = body.map(|Json(b)| b).unwrap_or(Value::Null);
    let mut shared = state.shared.lock();
    shared.calls.push(ApiCall {
        method: method.clone(),
        token: token.clone(),
        body: body.clone(),
    });
    if let Some((times, secs)) = shared.rate_limits.get_mut(&method)
        && *times > 0
    {
        *times -= 1;
        let secs = *secs;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
    }
    let ok = |v: Value| Json(v).into_response();
    match method.as_str() {
        "auth.test" if token.starts_with("xoxb-") => ok(
            json!({"ok": true, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1", "url": "https://fake.slack.com/"}),
        ),
        "apps.connections.open" if token.starts_with("xapp-") => {
            shared.connections_opened += 1;
            let ws = state.base.replace("http://", "ws://");
            ok(json!({"ok": true, "url": format!("{ws}/socket")}))
        }
        "chat.postMessage" if token.starts_with("xoxb-") => {
            let channel = str_field(&body, "channel");
            let text = str_field(&body, "text");
            let blocks = body.get("blocks").cloned();
            if let Some(error) = check_message(&text, blocks.as_ref()) {
                return ok(json!({"ok": false, "error": error}));
            }
            // Slack posts a text over 4,000 characters as several messages, cut where the
            // count runs out.
            let chars: Vec<char> = text.chars().collect();
            let parts: Vec<String> = if chars.is_empty() {
                vec![String::new()]
            } else {
                chars.chunks(MAX_TEXT).map(|c| c.iter().collect()).collect()
            };
            if parts.len() > 1 {
                shared.split_posts += 1;
            }
            let mut first = None;
            for part in parts {
                shared.next_ts += 1;
                let ts = format!("{}.000100", shared.next_ts);
                shared
                    .messages
                    .insert((channel.clone(), ts.clone()), part.clone());
                if let Some(blocks) = &blocks {
                    shared
                        .blocks
                        .insert((channel.clone(), ts.clone()), blocks.clone());
                }
                let mut posted = body.clone();
                posted["text"] = json!(part);
                shared.posted.push((channel.clone(), ts.clone(), posted));
                first.get_or_insert(ts);
            }
            let ts = first.unwrap_or_default();
            ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}}))
        }
        "chat.update" if token.starts_with("xoxb-") => {
            let now = Instant::now();
            while shared
                .updates
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
            {
                shared.updates.pop_front();
            }
            if shared.updates.len() >= UPDATES_PER_MINUTE {
                let oldest = shared.updates.front().copied().unwrap_or(now);
                let wait = 60 - now.duration_since(oldest).as_secs().min(59);
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", wait.to_string())],
                    Json(json!({"ok": false, "error": "ratelimited"})),
                )
                    .into_response();
            }
            shared.updates.push_back(now);
            let channel = str_field(&body, "channel");
            let ts = str_field(&body, "ts");
            let text = str_field(&body, "text");
            let blocks = body.get("blocks").cloned();
            if text.chars().count() > MAX_TEXT {
                return ok(json!({"ok": false, "error": "msg_too_long"}));
            }
            if let Some(error) = check_message(&text, blocks.as_ref()) {
                return ok(json!({"ok": false, "error": error}));
            }
            let key = (channel.clone(), ts.clone());
            match shared.messages.get_mut(&key) {
                Some(existing) => {
                    *existing = text;
                    // Blocks left out are kept; an empty list removes them.
                    match blocks {
                        Some(Value::Array(list)) if list.is_empty() => {
                            shared.blocks.remove(&key);
                        }
                        Some(blocks) => {
                            shared.blocks.insert(key, blocks);
                        }
                        None => {}
                    }
                    ok(json!({"ok": true, "channel": channel, "ts": ts}))
                }
                None => ok(json!({"ok": false, "error": "message_not_found"})),
            }
        }
        _ if token.is_empty() => ok(json!({"ok": false, "error": "not_authed"})),
        "auth.test" | "apps.connections.open" | "chat.postMessage" | "chat.update" => {
            ok(json!({"ok": false, "error": "invalid_auth"}))
        }
        _ => ok(json!({"ok": false, "error": "unknown_method"})),
    }
}

fn str_field(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Slack's checks of a message's text and blocks: the error code it answers, if any.
fn check_message(text: &str, blocks: Option<&Value>) -> Option<&'static str> {
    let blocks = blocks.and_then(Value::as_array).filter(|b| !b.is_empty());
    if text.trim().is_empty() && blocks.is_none() {
        return Some("no_text");
    }
    for block in blocks.into_iter().flatten() {
        match block["type"].as_str() {
            Some("section") => {
                let section = block["text"]["text"].as_str().unwrap_or_default();
                if section.is_empty() || section.chars().count() > MAX_SECTION_TEXT {
                    return Some("invalid_blocks");
                }
            }
            Some("actions") => {
                let Some(elements) = block["elements"].as_array() else {
                    return Some("invalid_blocks");
                };
                for element in elements {
                    let label = element["text"]["text"].as_str().unwrap_or_default();
                    let url = element["url"].as_str().unwrap_or_default();
                    if label.is_empty() || label.chars().count() > 75 || url.chars().count() > 3_000
                    {
                        return Some("invalid_blocks");
                    }
                }
            }
            _ => return Some("invalid_blocks"),
        }
    }
    None
}

async fn socket(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |ws| serve_socket(ws, state))
}

async fn serve_socket(mut ws: WebSocket, state: AppState) {
    let mut frames = state.push.subscribe();
    let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}});
    if ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Ok(frame) = frame else { return };
                let disconnect = frame.contains("\"disconnect\"");
                if ws.send(Message::Text(frame.into())).await.is_err() {
                    return;
                }
                if disconnect {
                    // Slack closes the old connection shortly after asking to reconnect.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = ws.send(Message::Close(None)).await;
                    return;
                }
            }
            incoming = ws.recv() => {
                let Some(Ok(message)) = incoming else { return };
                if let Message::Text(text) = message
                    && let Ok(value) = serde_json::from_str::<Value>(&text)
                    && let Some(id) = value.get("envelope_id").and_then(Value::as_str)
                {
                    let mut shared = state.shared.lock();
                    let delay = shared.sent_at.get(id).map_or(Duration::ZERO, Instant::elapsed);
                    let frame = shared.frames.get(id).cloned();
                    let lost = shared.lose_ack
                        && frame.as_ref().is_some_and(|f| f["type"] == "events_api");
                    if !lost {
                        shared.acks.push((id.to_owned(), delay));
                        continue;
                    }
                    // The acknowledgement never reached Slack: it delivers the event again.
                    shared.lose_ack = false;
                    let mut again = frame.unwrap_or_default();
                    let retry = format!("{id}-retry");
                    again["envelope_id"] = json!(retry);
                    again["retry_attempt"] = json!(again["retry_attempt"].as_u64().unwrap_or(0) + 1);
                    again["retry_reason"] = json!("timeout");
                    shared.sent_at.insert(retry.clone(), Instant::now());
                    shared.frames.insert(retry, again.clone());
                    drop(shared);
                    let _ = state.push.send(again.to_string());
                }
            }
        }
    }
}
