//! A wire-faithful fake Ollama for tests and benchmarks.
//!
//! [`FakeOllama::start`] binds `127.0.0.1:0` and serves what the gateway uses of Ollama:
//! `POST /api/chat` (streamed NDJSON, or one object when the request says `"stream": false`),
//! `POST /api/embed`, `GET /api/tags`, `POST /api/show`, `GET /api/version` and `GET /`, plus the
//! OpenAI-compatible routes that Ollama also serves: `POST /v1/chat/completions` (server-sent
//! events), `POST /v1/embeddings` and `GET /v1/models`. Both chat routes ask the same responder
//! for a [`Reply`] and encode it in their own wire format, with Ollama's field names, ids
//! (`call_` + 8 characters) and final-chunk metrics. The server stops when the value is dropped,
//! cutting off any reply still streaming.
//!
//! Replies stream without delays unless [`Reply::with_chunk_delay`] asks for them, so the fake
//! suits benchmarks (turn [`FakeOllama::set_recording`] off there to keep memory flat).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use parking_lot::{Mutex, RwLock};
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The model `/api/tags` lists until [`FakeOllama::set_models`] says otherwise.
pub const DEFAULT_MODEL: &str = "qwen2.5:7b";
/// The version `/api/version` reports.
pub const FAKE_VERSION: &str = "0.12.6";
/// The pause between the pieces of a line split by [`Reply::split_inside_utf8`] or
/// [`Reply::with_chunk_bytes`], long enough for each piece to arrive in its own read.
pub const SPLIT_PAUSE: Duration = Duration::from_millis(15);
/// The number of dimensions of the default embeddings.
pub const EMBED_DIMS: usize = 64;

/// Decides the reply to one request from its JSON body.
pub type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// The path, such as `/api/chat`.
    pub path: String,
    /// The request's headers (`authorization` included, for bearer-key tests).
    pub headers: HeaderMap,
    /// The JSON body; `Value::Null` for a request without one.
    pub body: Value,
}

/// A running fake Ollama; dropping it stops the server.
pub struct FakeOllama {
    addr: SocketAddr,
    state: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    responder: RwLock<Responder>,
    embed_responder: RwLock<Option<Responder>>,
    models: RwLock<Vec<String>>,
    requests: Mutex<Vec<RecordedRequest>>,
    recording: AtomicBool,
    shutdown: CancellationToken,
    replies: AtomicU64,
}

impl FakeOllama {
    /// Starts a fake whose chat routes answer with `responder(request_body)`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start<F>(responder: F) -> Self
    where
        F: Fn(&Value) -> Reply + Send + Sync + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Ollama binds a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let state = Arc::new(Shared {
            responder: RwLock::new(Arc::new(responder)),
            embed_responder: RwLock::new(None),
            models: RwLock::new(vec![DEFAULT_MODEL.to_owned()]),
            requests: Mutex::new(Vec::new()),
            recording: AtomicBool::new(true),
            shutdown: CancellationToken::new(),
            replies: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/", get(|| async { "Ollama is running" }))
            .route("/api/chat", post(chat))
            .route("/api/embed", post(embed))
            .route("/api/tags", get(tags))
            .route("/api/show", post(show))
            .route("/api/version", get(version))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embed))
            .route("/v1/models", get(tags))
            .with_state(Arc::clone(&state));
        let shutdown = state.shutdown.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
        });
        Self { addr, state, task }
    }

    /// Starts a fake that answers chat requests with `replies` in order, then with an error
    /// status saying the script ran out.
    pub async fn scripted(replies: Vec<Reply>) -> Self {
        let queue = Mutex::new(VecDeque::from(replies));
        Self::start(move |_| {
            queue.lock().pop_front().unwrap_or_else(|| {
                Reply::status(
                    500,
                    json!({"error": "the fake Ollama has no scripted reply left"}),
                )
            })
        })
        .await
    }

    /// The base URL, `http://127.0.0.1:<port>`, as `[model].base_url` takes it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the chat responder.
    pub fn set_responder<F>(&self, responder: F)
    where
        F: Fn(&Value) -> Reply + Send + Sync + 'static,
    {
        *self.state.responder.write() = Arc::new(responder);
    }

    /// Answers `/api/embed` and `/v1/embeddings` with `responder(request_body)` (typically
    /// [`Reply::embeddings`] or [`Reply::status`]) instead of the default, which embeds every
    /// input with [`hash_embedding`] and answers 404 for a model not in [`FakeOllama::set_models`].
    pub fn set_embed_responder<F>(&self, responder: F)
    where
        F: Fn(&Value) -> Reply + Send + Sync + 'static,
    {
        *self.state.embed_responder.write() = Some(Arc::new(responder));
    }

    /// Sets the models that `/api/tags`, `/v1/models`, `/api/show` and the default embedder know.
    pub fn set_models(&self, models: Vec<String>) {
        *self.state.models.write() = models;
    }

    /// Turns recording of requests on (the default) or off.
    pub fn set_recording(&self, on: bool) {
        self.state.recording.store(on, Ordering::Relaxed);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().clone()
    }

    /// The bodies of every chat request (`/api/chat` and `/v1/chat/completions`), in order.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.bodies(|path| path == "/api/chat" || path == "/v1/chat/completions")
    }

    /// The bodies of every embedding request (`/api/embed` and `/v1/embeddings`), in order.
    pub fn embed_requests(&self) -> Vec<Value> {
        self.bodies(|path| path == "/api/embed" || path == "/v1/embeddings")
    }

    /// How many chat replies the fake has started to send.
    pub fn replies_sent(&self) -> u64 {
        self.state.replies.load(Ordering::Relaxed)
    }

    /// A base URL on loopback where nothing listens (a port bound and released at once), for
    /// "Ollama is down" tests.
    pub fn unreachable_url() -> String {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port can be bound");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        drop(listener);
        format!("http://{addr}")
    }

    fn bodies(&self, wanted: impl Fn(&str) -> bool) -> Vec<Value> {
        let requests = self.state.requests.lock();
        requests
            .iter()
            .filter(|r| wanted(&r.path))
            .map(|r| r.body.clone())
            .collect()
    }
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
        self.task.abort();
    }
}

/// What the fake answers to one request, built with the constructors below.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: Kind,
    chunk_delay: Duration,
    header_delay: Duration,
    split: Split,
    counts: Option<(u64, u64)>,
    done_reason: String,
}

#[derive(Debug, Clone)]
enum Kind {
    Stream {
        text: Vec<String>,
        calls: Vec<(String, Value)>,
        error: Option<String>,
    },
    Status(u16, Value),
    Raw(Vec<String>),
    Embeddings(Vec<Vec<f32>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    None,
    InsideUtf8,
    Every(usize),
}

impl Reply {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            chunk_delay: Duration::ZERO,
            header_delay: Duration::ZERO,
            split: Split::None,
            counts: None,
            done_reason: "stop".to_owned(),
        }
    }

    fn stream(text: Vec<String>, calls: Vec<(String, Value)>, error: Option<String>) -> Self {
        Self::new(Kind::Stream { text, calls, error })
    }

    /// `text` streamed as one chunk per word (each with its trailing space), then the final
    /// `done` chunk.
    pub fn text(text: &str) -> Self {
        Self::stream(words(text), Vec::new(), None)
    }

    /// Exactly these content chunks, in order, then the final chunk.
    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::stream(
            chunks.into_iter().map(Into::into).collect(),
            Vec::new(),
            None,
        )
    }

    /// One tool call. `arguments` goes on the wire as given: an object as Ollama sends it, or a
    /// JSON string value to imitate models that send their arguments as a string.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::tool_calls(vec![(name, arguments)])
    }

    /// Several tool calls, one chunk each (with `function.index` 0, 1, ...), in order.
    pub fn tool_calls<N: Into<String>>(calls: Vec<(N, Value)>) -> Self {
        let calls = calls.into_iter().map(|(n, a)| (n.into(), a)).collect();
        Self::stream(Vec::new(), calls, None)
    }

    /// Streams `text_before` (as [`Reply::text`]), then the line `{"error": message}`, then ends,
    /// as Ollama does when generation fails after the status was sent.
    pub fn error_mid_stream(text_before: &str, message: &str) -> Self {
        Self::stream(words(text_before), Vec::new(), Some(message.to_owned()))
    }

    /// An error status with `body` as JSON, such as
    /// `Reply::status(404, json!({"error": "model \"x\" not found, try pulling it first"}))`.
    pub fn status(code: u16, body: Value) -> Self {
        Self::new(Kind::Status(code, body))
    }

    /// Ollama's exact 404 for a model that is not pulled.
    pub fn model_not_found(model: &str) -> Self {
        Self::status(
            404,
            json!({"error": format!("model {model:?} not found, try pulling it first")}),
        )
    }

    /// These lines sent verbatim, each followed by `\n`, with status 200 (NDJSON or SSE alike).
    pub fn raw_lines<S: Into<String>>(lines: impl IntoIterator<Item = S>) -> Self {
        Self::new(Kind::Raw(lines.into_iter().map(Into::into).collect()))
    }

    /// An embeddings answer (for [`FakeOllama::set_embed_responder`]).
    pub fn embeddings(vectors: Vec<Vec<f32>>) -> Self {
        Self::new(Kind::Embeddings(vectors))
    }

    /// Puts `text` (one chunk per word) before the tool calls or error of this reply.
    pub fn with_text(mut self, text: &str) -> Self {
        if let Kind::Stream { text: chunks, .. } = &mut self.kind {
            *chunks = words(text);
        }
        self
    }

    /// Waits `delay` before every line (or event) after the first.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Waits `delay` before answering at all (status and headers included), like a model that
    /// is still loading.
    pub fn with_header_delay(mut self, delay: Duration) -> Self {
        self.header_delay = delay;
        self
    }

    /// Sends every line that holds a multi-byte character in two HTTP chunks, cut inside the
    /// first such character, [`SPLIT_PAUSE`] apart.
    pub fn split_inside_utf8(mut self) -> Self {
        self.split = Split::InsideUtf8;
        self
    }

    /// Sends every line in HTTP chunks of at most `bytes` bytes, [`SPLIT_PAUSE`] apart.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.split = Split::Every(bytes.max(1));
        self
    }

    /// Reports these token counts (`prompt_eval_count`, `eval_count`) instead of estimates.
    pub fn with_counts(mut self, prompt: u64, eval: u64) -> Self {
        self.counts = Some((prompt, eval));
        self
    }

    /// Ends with this `done_reason` (default `stop`).
    pub fn with_done_reason(mut self, reason: &str) -> Self {
        self.done_reason = reason.to_owned();
        self
    }
}

/// A deterministic embedding of `text`: hashed lower-case words, L2-normalised, so that texts
/// sharing words are close.
pub fn hash_embedding(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0_f32; EMBED_DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        let slot = usize::try_from(hash % EMBED_DIMS as u64).unwrap_or(0);
        vector[slot] += if hash & (1 << 32) == 0 { 1.0 } else { -1.0 };
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

fn call_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("call_{suffix}")
}

fn created_at() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn json_line(value: &Value) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn sse_event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn error_response(code: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// Parses and records a request; an unreadable body gets Ollama's 400.
fn receive(
    state: &Shared,
    method: Method,
    uri: &Uri,
    headers: HeaderMap,
    body: &[u8],
) -> Result<Value, Box<Response>> {
    let parsed = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body)
    };
    let value =
        parsed.map_err(|e| Box::new(error_response(400, json!({"error": e.to_string()}))))?;
    if state.recording.load(Ordering::Relaxed) {
        state.requests.lock().push(RecordedRequest {
            method,
            path: uri.path().to_owned(),
            headers,
            body: value.clone(),
        });
    }
    Ok(value)
}

async fn chat(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let request = match receive(&state, method, &uri, headers, &body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return error_response(400, json!({"error": "model is required"}));
    };
    let responder = Arc::clone(&*state.responder.read());
    let reply = responder(&request);
    state.replies.fetch_add(1, Ordering::Relaxed);
    if !wait(&state, reply.header_delay).await {
        return error_response(503, json!({"error": "the fake Ollama is shutting down"}));
    }
    let openai = uri.path().starts_with("/v1/");
    let streaming = request.get("stream").and_then(Value::as_bool) != Some(false);
    let estimate = u64::try_from(body.len() / 4).unwrap_or(u64::MAX);
    let plan = match &reply.kind {
        Kind::Status(code, body) => return error_response(*code, body.clone()),
        Kind::Embeddings(_) => {
            return error_response(
                500,
                json!({"error": "the fake was given embeddings for a chat"}),
            );
        }
        Kind::Raw(lines) => lines
            .iter()
            .map(|l| Piece::Ready(Bytes::from(format!("{l}\n"))))
            .collect(),
        Kind::Stream { .. } if !streaming => {
            return whole_reply(&reply, &model, openai, estimate, started);
        }
        Kind::Stream { .. } if openai => {
            let usage = request
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            sse_plan(&reply, &model, usage, estimate)
        }
        Kind::Stream { .. } => ndjson_plan(&reply, &model, estimate),
    };
    let content_type = if openai {
        "text/event-stream"
    } else {
        "application/x-ndjson"
    };
    let body = Body::from_stream(
        emit(plan, reply.chunk_delay, reply.split, started)
            .take_until(state.shutdown.clone().cancelled_owned()),
    );
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Sleeps for `delay` unless the fake is dropped first; says whether the full delay passed.
async fn wait(state: &Shared, delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = state.shutdown.cancelled() => false,
    }
}

/// One line or event of a streamed reply; `Timed` ones are built when sent, from the time spent.
enum Piece {
    Ready(Bytes),
    Timed(Box<dyn FnOnce(Duration) -> Bytes + Send>),
}

fn counts(reply: &Reply, estimate: u64) -> (u64, u64) {
    reply.counts.unwrap_or_else(|| match &reply.kind {
        Kind::Stream { text, calls, .. } => (estimate, (text.len() + calls.len() * 8) as u64),
        _ => (estimate, 0),
    })
}

fn ndjson_plan(reply: &Reply, model: &str, estimate: u64) -> Vec<Piece> {
    let Kind::Stream { text, calls, error } = &reply.kind else {
        return Vec::new();
    };
    let mut plan: Vec<Piece> = text
        .iter()
        .map(|chunk| {
            Piece::Ready(json_line(&json!({
                "model": model,
                "created_at": created_at(),
                "message": {"role": "assistant", "content": chunk},
                "done": false,
            })))
        })
        .collect();
    for (index, (name, arguments)) in calls.iter().enumerate() {
        plan.push(Piece::Ready(json_line(&json!({
            "model": model,
            "created_at": created_at(),
            "message": {"role": "assistant", "content": "", "tool_calls": [{
                "id": call_id(),
                "function": {"index": index, "name": name, "arguments": arguments},
            }]},
            "done": false,
        }))));
    }
    if let Some(message) = error {
        plan.push(Piece::Ready(json_line(&json!({"error": message}))));
        return plan;
    }
    let model = model.to_owned();
    let reason = reply.done_reason.clone();
    let (prompt, eval) = counts(reply, estimate);
    plan.push(Piece::Timed(Box::new(move |spent| {
        let total = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        json_line(&json!({
            "model": model,
            "created_at": created_at(),
            "message": {"role": "assistant", "content": ""},
            "done": true,
            "done_reason": reason,
            "total_duration": total,
            "load_duration": 0,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": 0,
            "eval_count": eval,
            "eval_duration": total,
        }))
    })));
    plan
}

/// Chat completion chunks as OpenAI-compatible servers stream them: text deltas, each tool call
/// as a first fragment with id and name and then its arguments string in pieces, a finish chunk,
/// the usage chunk when asked for, then `[DONE]`.
fn sse_plan(reply: &Reply, model: &str, usage: bool, estimate: u64) -> Vec<Piece> {
    let Kind::Stream { text, calls, error } = &reply.kind else {
        return Vec::new();
    };
    let id = format!("chatcmpl-{}", rand::rng().random_range(100..1000));
    let created = chrono::Utc::now().timestamp();
    let chunk = |choices: Value| {
        sse_event(&json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_ollama", "choices": choices,
        }))
    };
    let delta = |delta: Value| json!([{"index": 0, "delta": delta, "finish_reason": null}]);
    let mut plan: Vec<Piece> = text
        .iter()
        .map(|t| Piece::Ready(chunk(delta(json!({"role": "assistant", "content": t})))))
        .collect();
    for (index, (name, arguments)) in calls.iter().enumerate() {
        let head = json!({"tool_calls": [{"index": index, "id": call_id(), "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        plan.push(Piece::Ready(chunk(delta(head))));
        let arguments = match arguments {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        let chars: Vec<char> = arguments.chars().collect();
        for piece in chars.chunks(chars.len().div_ceil(3).max(1)) {
            let piece: String = piece.iter().collect();
            let fragment =
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
            plan.push(Piece::Ready(chunk(delta(fragment))));
        }
    }
    if let Some(message) = error {
        let body = json!({"error": {"message": message, "type": "api_error", "param": null, "code": null}});
        plan.push(Piece::Ready(sse_event(&body)));
        return plan;
    }
    let reason = if calls.is_empty() {
        reply.done_reason.as_str()
    } else {
        "tool_calls"
    };
    plan.push(Piece::Ready(chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": reason}]),
    )));
    if usage {
        let (prompt, eval) = counts(reply, estimate);
        plan.push(Piece::Ready(sse_event(&json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_ollama", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": eval, "total_tokens": prompt + eval},
        }))));
    }
    plan.push(Piece::Ready(Bytes::from_static(b"data: [DONE]\n\n")));
    plan
}

/// The reply as one JSON object, for requests with `"stream": false`.
fn whole_reply(
    reply: &Reply,
    model: &str,
    openai: bool,
    estimate: u64,
    started: Instant,
) -> Response {
    let Kind::Stream { text, calls, error } = &reply.kind else {
        return error_response(500, json!({"error": "not a streamable reply"}));
    };
    if let Some(message) = error {
        return error_response(500, json!({"error": message}));
    }
    let content = text.concat();
    let (prompt, eval) = counts(reply, estimate);
    let body = if openai {
        let tool_calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(index, (name, arguments))| {
                let arguments = match arguments {
                    Value::String(raw) => raw.clone(),
                    other => other.to_string(),
                };
                json!({"index": index, "id": call_id(), "type": "function",
                    "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        let mut message = json!({"role": "assistant", "content": content});
        if !tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(tool_calls);
        }
        let reason = if calls.is_empty() {
            reply.done_reason.as_str()
        } else {
            "tool_calls"
        };
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": chrono::Utc::now().timestamp(),
            "model": model, "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "message": message, "finish_reason": reason}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": eval, "total_tokens": prompt + eval},
        })
    } else {
        let tool_calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(index, (name, arguments))| {
                json!({"id": call_id(), "function": {"index": index, "name": name, "arguments": arguments}})
            })
            .collect();
        let mut message = json!({"role": "assistant", "content": content});
        if !tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(tool_calls);
        }
        let total = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        json!({
            "model": model, "created_at": created_at(), "message": message, "done": true,
            "done_reason": reply.done_reason, "total_duration": total, "load_duration": 0,
            "prompt_eval_count": prompt, "prompt_eval_duration": 0, "eval_count": eval,
            "eval_duration": total,
        })
    };
    axum::Json(body).into_response()
}

/// Streams the plan: `delay` before every piece after the first, split pieces [`SPLIT_PAUSE`]
/// apart.
fn emit(
    plan: Vec<Piece>,
    delay: Duration,
    split: Split,
    started: Instant,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Emitter {
        plan: VecDeque<Piece>,
        pending: VecDeque<Bytes>,
        first: bool,
    }
    let state = Emitter {
        plan: plan.into(),
        pending: VecDeque::new(),
        first: true,
    };
    futures::stream::unfold(state, move |mut state| async move {
        if let Some(part) = state.pending.pop_front() {
            tokio::time::sleep(SPLIT_PAUSE).await;
            return Some((Ok(part), state));
        }
        let piece = state.plan.pop_front()?;
        if !state.first && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        state.first = false;
        let bytes = match piece {
            Piece::Ready(bytes) => bytes,
            Piece::Timed(build) => build(started.elapsed()),
        };
        let mut parts = split_bytes(bytes, split);
        let first = parts.pop_front().unwrap_or_default();
        state.pending = parts;
        Some((Ok(first), state))
    })
}

fn split_bytes(bytes: Bytes, split: Split) -> VecDeque<Bytes> {
    match split {
        Split::None => VecDeque::from([bytes]),
        Split::InsideUtf8 => match bytes.iter().position(|b| *b >= 0xC0) {
            Some(lead) => VecDeque::from([bytes.slice(..=lead), bytes.slice(lead + 1..)]),
            None => VecDeque::from([bytes]),
        },
        Split::Every(size) => (0..bytes.len())
            .step_by(size)
            .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
            .collect(),
    }
}

async fn embed(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match receive(&state, method, &uri, headers, &body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let custom = state.embed_responder.read().clone();
    let reply = match custom {
        Some(responder) => responder(&request),
        None if !state.models.read().contains(&model) => Reply::model_not_found(&model),
        None => {
            let inputs: Vec<String> = match request.get("input") {
                Some(Value::String(one)) => vec![one.clone()],
                Some(Value::Array(many)) => many
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            Reply::embeddings(inputs.iter().map(|t| hash_embedding(t)).collect())
        }
    };
    if !wait(&state, reply.header_delay).await {
        return error_response(503, json!({"error": "the fake Ollama is shutting down"}));
    }
    match reply.kind {
        Kind::Embeddings(vectors) if uri.path().starts_with("/v1/") => {
            let data: Vec<Value> = vectors
                .iter()
                .enumerate()
                .map(|(index, v)| json!({"object": "embedding", "embedding": v, "index": index}))
                .collect();
            axum::Json(json!({"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}))
            .into_response()
        }
        Kind::Embeddings(vectors) => axum::Json(json!({
            "model": model, "embeddings": vectors, "total_duration": 1000,
            "load_duration": 0, "prompt_eval_count": 0,
        }))
        .into_response(),
        Kind::Status(code, body) => error_response(code, body),
        _ => error_response(
            500,
            json!({"error": "the fake's embed responder gave a chat reply"}),
        ),
    }
}

async fn tags(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let _ = receive(&state, method, &uri, headers, &[]);
    let models = state.models.read().clone();
    if uri.path().starts_with("/v1/") {
        let data: Vec<Value> = models
            .iter()
            .map(|m| json!({"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "library"}))
            .collect();
        return axum::Json(json!({"object": "list", "data": data})).into_response();
    }
    let entries: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({
                "name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 4_683_087_332_u64,
                "digest": hex::encode(Sha256::digest(m.as_bytes())),
                "details": details(m),
            })
        })
        .collect();
    axum::Json(json!({"models": entries})).into_response()
}

fn details(model: &str) -> Value {
    json!({"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
        "parameter_size": "7.6B", "quantization_level": "Q4_K_M", "name": model})
}

async fn show(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match receive(&state, method, &uri, headers, &body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let model = request
        .get("model")
        .or_else(|| request.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !state.models.read().iter().any(|m| m == model) {
        return error_response(404, json!({"error": format!("model '{model}' not found")}));
    }
    let capabilities = if model.contains("embed") {
        json!(["embedding"])
    } else {
        json!(["completion", "tools"])
    };
    axum::Json(json!({
        "license": "", "modelfile": format!("FROM {model}\n"), "parameters": "", "template": "{{ .Prompt }}",
        "details": details(model),
        "model_info": {"general.architecture": "qwen2", "general.parameter_count": 7_615_616_512_u64,
            "qwen2.context_length": 32768, "qwen2.embedding_length": 3584},
        "capabilities": capabilities,
        "modified_at": "2025-01-01T00:00:00Z",
    }))
    .into_response()
}

async fn version(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let _ = receive(&state, method, &uri, headers, &[]);
    axum::Json(json!({"version": FAKE_VERSION})).into_response()
}
