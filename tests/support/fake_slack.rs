//! A wire-faithful fake of the Slack Web API and Socket Mode, on 127.0.0.1:0; it stops when
//! dropped.
//!
//! Web API methods live under `/api/<method>` and answer `{"ok":true,…}` or `{"ok":false,"error"}`;
//! `apps.connections.open` hands out a `ws://` URL to this server's socket endpoint, which sends
//! `hello`, then whatever envelopes the test pushes, and records every acknowledgement with the
//! time it took.
#![allow(dead_code)]

use std::collections::HashMap;
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
    /// Accepted posts in order: (channel, ts, request body).
    posted: Vec<(String, String, Value)>,
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
        let frame = json!({"envelope_id": id, "type": "events_api", "accepts_response_payload": false, "retry_attempt": 0,
            "payload": {"team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": format!("Ev{id}"), "event": event}});
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
        self.shared
            .lock()
            .sent_at
            .insert(id.to_owned(), Instant::now());
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
            shared.next_ts += 1;
            let ts = format!("{}.000100", shared.next_ts);
            let channel = body
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let text = body
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            shared.messages.insert((channel.clone(), ts.clone()), text);
            shared
                .posted
                .push((channel.clone(), ts.clone(), body.clone()));
            ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}}))
        }
        "chat.update" if token.starts_with("xoxb-") => {
            let channel = body
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let ts = body
                .get("ts")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let text = body
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            match shared.messages.get_mut(&(channel.clone(), ts.clone())) {
                Some(existing) => {
                    *existing = text;
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
                    shared.acks.push((id.to_owned(), delay));
                }
            }
        }
    }
}
