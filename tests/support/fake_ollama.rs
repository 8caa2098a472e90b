//! A fake Ollama for tests and benchmarks that behaves the way Ollama 0.12.11 does, strictly.
//!
//! [`FakeOllama::start`] binds `127.0.0.1:0` and serves what the gateway uses of Ollama:
//! `POST /api/chat` (streamed NDJSON, or one object when the request says `"stream": false`),
//! `POST /api/embed`, `GET /api/tags`, `POST /api/show`, `GET /api/ps`, `GET /api/version` and
//! `GET /`, plus the OpenAI-compatible routes Ollama also serves: `POST /v1/chat/completions`
//! (server-sent events), `POST /v1/embeddings` and `GET /v1/models`. A responder decides what
//! the model *generates* for each request ([`Reply`]); the fake then does to it what Ollama does:
//!
//! - **One request at a time.** Each model runs [`FakeOllama::set_parallel`] requests at once
//!   (`OLLAMA_NUM_PARALLEL`, one by default); the others wait, first come first served, and get
//!   nothing at all meanwhile: no status and no headers come before the first output.
//! - **Runner options.** A request whose `num_ctx` differs from the loaded runner's reloads the
//!   model ([`FakeOllama::set_load_time`], counted by [`FakeOllama::loads`]); a request without
//!   one gets the server's default context ([`FakeOllama::set_context_length`], 4096 as
//!   `OLLAMA_CONTEXT_LENGTH` defaults).
//! - **Truncation from the front.** The prompt is rendered with the model's qwen template and
//!   counted in tokens; while it is longer than the context, whole messages are dropped from the
//!   front without an error, keeping the system messages and the last message
//!   ([`FakeOllama::seen`] shows what the model saw).
//! - **Thinking.** A thinking model (`qwen3*`) thinks before answering unless the request says
//!   `"think": false`, streaming its reasoning in `message.thinking` and taking
//!   [`FakeOllama::set_thinking_time`]; `"think": true` for a model without the capability is a
//!   400.
//! - **The qwen rendering of calls.** An assistant message with text renders its text only; its
//!   tool calls render only when it has none.
//! - **Tool decoding.** `tools` are decoded into Ollama's Go types before the template renders
//!   them ([`decode`]): a property keeps only the keys its version's `api.ToolProperty` names,
//!   and [`Seen::tools`] shows what is left.
//! - **The tool parser.** Generated text goes through Ollama's parser: text before `<tool_call>`
//!   is content; after it only well-formed calls to tools offered in this request come out, and
//!   everything else is swallowed.
//! - **The repeat guard.** A model that generates one token more than 30 times in a row is
//!   stopped: the stream ends cleanly without its final chunk.
//! - **Capabilities and validation.** `/api/show` lists each model's capabilities; tools offered
//!   to a model without them, an unknown model, a `keep_alive` Go's `time.ParseDuration` refuses
//!   (`"1d"`), a bad `think`, or tool-call arguments that are not an object get Ollama's status
//!   and message.
//!
//! Every chat reply takes [`FakeOllama::set_request_time`] (prompt evaluation) before its first
//! output, zero by default. The server stops when the value is dropped, cutting off any reply
//! still streaming; turn [`FakeOllama::set_recording`] off in benchmarks to keep memory flat.
#![allow(dead_code)]

#[path = "fake_ollama/decode.rs"]
pub mod decode;
#[path = "fake_ollama/prompt.rs"]
pub mod prompt;
#[path = "fake_ollama/tools.rs"]
pub mod tools;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::{Mutex, RwLock};
use rand::Rng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::prompt::{Msg, Template, Think};

/// The model `/api/tags` lists until [`FakeOllama::set_models`] says otherwise.
pub const DEFAULT_MODEL: &str = "qwen2.5:7b";
/// The version `/api/version` reports: the one the appliance ships.
pub const FAKE_VERSION: &str = "0.12.11";
/// The context a request without `options.num_ctx` gets (`OLLAMA_CONTEXT_LENGTH`'s default).
pub const DEFAULT_CONTEXT_LENGTH: usize = 4096;
/// How often one token may repeat before Ollama stops the model.
pub const REPEAT_LIMIT: usize = 30;
/// The pause between the pieces of a line split by [`Reply::split_inside_utf8`] or
/// [`Reply::with_chunk_bytes`], long enough for each piece to arrive in its own read.
pub const SPLIT_PAUSE: Duration = Duration::from_millis(15);
/// The number of dimensions of the default embeddings.
pub const EMBED_DIMS: usize = 64;
/// What a thinking model thinks when the reply does not say.
const DEFAULT_THOUGHT: &str =
    "Okay, the person is asking something. Let me work out what they need before I answer.";

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

/// What the model saw for one chat request that reached it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The model.
    pub model: String,
    /// The rendered prompt, after truncation.
    pub prompt: String,
    /// Its length in tokens (the reply's `prompt_eval_count`).
    pub tokens: usize,
    /// The context it had to fit.
    pub num_ctx: usize,
    /// How many messages were dropped from the front to make it fit.
    pub dropped: usize,
    /// Whether the model thought before answering.
    pub thought: bool,
    /// The tools' functions as Ollama decoded them ([`decode::function`] with the fields of
    /// 0.12.11): what the template rendered.
    pub tools: Vec<Value>,
    /// When the request got its slot, after waiting for others.
    pub slot_at: Instant,
}

/// A model the fake serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Its name, with a tag (`qwen2.5:7b`).
    pub name: String,
    /// What `/api/show` lists: `completion`, `tools`, `thinking`, `embedding`, ...
    pub capabilities: Vec<String>,
    /// The context length it was trained for.
    pub context_length: u64,
}

impl ModelSpec {
    /// A model as its name suggests: `*embed*` embeds, `qwen3*` completes, calls tools and
    /// thinks, every other model completes and calls tools.
    pub fn named(name: &str) -> Self {
        let capabilities: &[&str] = if name.contains("embed") {
            &["embedding"]
        } else if name.starts_with("qwen3") {
            &["completion", "tools", "thinking"]
        } else {
            &["completion", "tools"]
        };
        Self {
            name: with_tag(name),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            context_length: 32768,
        }
    }

    /// A chat model without the tools capability (its template has no `.Tools`).
    pub fn without_tools(name: &str) -> Self {
        Self {
            capabilities: vec!["completion".into()],
            ..Self::named(name)
        }
    }

    fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    fn template(&self) -> Template {
        if self.has("thinking") {
            Template::Qwen3
        } else {
            Template::Qwen25
        }
    }
}

/// A name with Ollama's default tag.
fn with_tag(name: &str) -> String {
    if name.contains(':') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
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
    models: RwLock<Vec<ModelSpec>>,
    requests: Mutex<Vec<RecordedRequest>>,
    seen: Mutex<Vec<Seen>>,
    recording: AtomicBool,
    shutdown: CancellationToken,
    replies: AtomicU64,
    parallel: AtomicUsize,
    context_length: AtomicUsize,
    timing: RwLock<Timing>,
    runners: Mutex<HashMap<String, Arc<Runner>>>,
    any_tool: AtomicBool,
    loads: AtomicU64,
    active: AtomicUsize,
    most_active: AtomicUsize,
    queued: AtomicUsize,
    most_queued: AtomicUsize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    request: Duration,
    thinking: Duration,
    load: Duration,
}

/// One loaded model: its slots and the options it was loaded with.
struct Runner {
    slots: Arc<Semaphore>,
    num_ctx: Mutex<Option<usize>>,
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
            models: RwLock::new(vec![ModelSpec::named(DEFAULT_MODEL)]),
            requests: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            recording: AtomicBool::new(true),
            shutdown: CancellationToken::new(),
            replies: AtomicU64::new(0),
            parallel: AtomicUsize::new(1),
            context_length: AtomicUsize::new(DEFAULT_CONTEXT_LENGTH),
            timing: RwLock::new(Timing::default()),
            runners: Mutex::new(HashMap::new()),
            any_tool: AtomicBool::new(false),
            loads: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            most_active: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            most_queued: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/", get(|| async { "Ollama is running" }))
            .route("/api/chat", post(chat))
            .route("/api/embed", post(embed))
            .route("/api/tags", get(tags))
            .route("/api/show", post(show))
            .route("/api/ps", get(ps))
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
    /// input with [`hash_embedding`] and answers 404 for a model the fake does not have.
    pub fn set_embed_responder<F>(&self, responder: F)
    where
        F: Fn(&Value) -> Reply + Send + Sync + 'static,
    {
        *self.state.embed_responder.write() = Some(Arc::new(responder));
    }

    /// Sets the models the fake has, each as its name suggests ([`ModelSpec::named`]).
    pub fn set_models(&self, models: Vec<String>) {
        *self.state.models.write() = models.iter().map(|m| ModelSpec::named(m)).collect();
    }

    /// Adds a model, or replaces the one with its name.
    pub fn add_model(&self, spec: ModelSpec) {
        let mut models = self.state.models.write();
        models.retain(|m| m.name != spec.name);
        models.push(spec);
    }

    /// How many requests each model runs at once (`OLLAMA_NUM_PARALLEL`, default 1).
    pub fn set_parallel(&self, parallel: usize) {
        self.state
            .parallel
            .store(parallel.max(1), Ordering::Relaxed);
        self.state.runners.lock().clear();
    }

    /// The context a request without `options.num_ctx` gets (`OLLAMA_CONTEXT_LENGTH`).
    pub fn set_context_length(&self, tokens: usize) {
        self.state.context_length.store(tokens, Ordering::Relaxed);
    }

    /// The time every chat request spends, holding its slot, before its first output (the
    /// prompt's evaluation).
    pub fn set_request_time(&self, time: Duration) {
        self.state.timing.write().request = time;
    }

    /// The time a thinking model spends thinking when the request lets it.
    pub fn set_thinking_time(&self, time: Duration) {
        self.state.timing.write().thinking = time;
    }

    /// The time loading a model takes, cold or after a change of runner options.
    pub fn set_load_time(&self, time: Duration) {
        self.state.timing.write().load = time;
    }

    /// Passes every well-formed call through, whether or not the request offered its tool, as
    /// the parsers of some OpenAI-compatible servers (vLLM's hermes parser) do. Ollama does not:
    /// by default a call to a tool not offered is swallowed.
    pub fn pass_every_call(&self) {
        self.state.any_tool.store(true, Ordering::Relaxed);
    }

    /// How many times a model was loaded (the first time, and at every change of options).
    pub fn loads(&self) -> u64 {
        self.state.loads.load(Ordering::Relaxed)
    }

    /// The most chat requests that were being answered at one time.
    pub fn most_at_once(&self) -> usize {
        self.state.most_active.load(Ordering::Relaxed)
    }

    /// The most chat requests that waited at once for a slot, holding their connection open
    /// without a byte of answer.
    pub fn most_waiting(&self) -> usize {
        self.state.most_queued.load(Ordering::Relaxed)
    }

    /// Turns recording of requests on (the default) or off.
    pub fn set_recording(&self, on: bool) {
        self.state.recording.store(on, Ordering::Relaxed);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().clone()
    }

    /// What the model saw for each chat request that reached it, in the order they got a slot.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().clone()
    }

    /// The bodies of every chat request (`/api/chat` and `/v1/chat/completions`), in order.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.bodies(|path| path == "/api/chat" || path == "/v1/chat/completions")
    }

    /// The bodies of every embedding request (`/api/embed` and `/v1/embeddings`), in order.
    pub fn embed_requests(&self) -> Vec<Value> {
        self.bodies(|path| path == "/api/embed" || path == "/v1/embeddings")
    }

    /// How many chat replies the responder was asked for.
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

impl Shared {
    fn model(&self, name: &str) -> Option<ModelSpec> {
        let wanted = with_tag(name);
        self.models
            .read()
            .iter()
            .find(|m| m.name == wanted)
            .cloned()
    }

    fn runner(&self, model: &str) -> Arc<Runner> {
        let parallel = self.parallel.load(Ordering::Relaxed);
        Arc::clone(
            self.runners
                .lock()
                .entry(with_tag(model))
                .or_insert_with(|| {
                    Arc::new(Runner {
                        slots: Arc::new(Semaphore::new(parallel)),
                        num_ctx: Mutex::new(None),
                    })
                }),
        )
    }
}

/// What the model generates for one request, built with the constructors below.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: Kind,
    chunk_delay: Duration,
    header_delay: Duration,
    split: Split,
    counts: Option<(u64, u64)>,
    done_reason: String,
    thinking: Option<String>,
    finished: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    Generate {
        pieces: Vec<String>,
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
            thinking: None,
            finished: true,
        }
    }

    fn generate(pieces: Vec<String>) -> Self {
        Self::new(Kind::Generate {
            pieces,
            error: None,
        })
    }

    /// `text` generated one word at a time (each with its trailing space).
    pub fn text(text: &str) -> Self {
        Self::generate(words(text))
    }

    /// Exactly these pieces generated, in order.
    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::generate(chunks.into_iter().map(Into::into).collect())
    }

    /// The model's raw output, generated token by token ([`prompt::tokens`]) and read by Ollama's
    /// tool parser as any output is: `<tool_call>` markup of every kind, well formed or not.
    pub fn generated(output: &str) -> Self {
        Self::generate(prompt::tokens(output))
    }

    /// A call written the way qwen writes one: `<tool_call>\n{"name": …, "arguments": …}\n
    /// </tool_call>`. `arguments` goes into the markup as given (an object, or a string holding
    /// one, as some models write them); Ollama's parser makes the call of it, or swallows it.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::tool_calls(vec![(name, arguments)])
    }

    /// Several calls, each in its own `<tool_call>` block, in order.
    pub fn tool_calls<N: Into<String>>(calls: Vec<(N, Value)>) -> Self {
        let markup: Vec<String> = calls
            .into_iter()
            .map(|(name, arguments)| {
                format!(
                    "<tool_call>\n{{\"name\": {}, \"arguments\": {}}}\n</tool_call>",
                    Value::String(name.into()),
                    arguments
                )
            })
            .collect();
        Self::generated(&markup.join("\n"))
    }

    /// `text_before` (as [`Reply::text`]), then `token` `times` times in a row: past
    /// [`REPEAT_LIMIT`] repeats Ollama stops the model and ends the stream without a final chunk.
    pub fn repeating(text_before: &str, token: &str, times: usize) -> Self {
        let mut pieces = words(text_before);
        pieces.extend(std::iter::repeat_n(token.to_owned(), times));
        Self::generate(pieces)
    }

    /// Generates `text_before` (as [`Reply::text`]), then fails with `message`: a `{"error": …}`
    /// line after output, or an error status when nothing was sent yet, as Ollama does.
    pub fn error_mid_stream(text_before: &str, message: &str) -> Self {
        Self::new(Kind::Generate {
            pieces: words(text_before),
            error: Some(message.to_owned()),
        })
    }

    /// An error status with `body` as JSON, sent at once without waiting for a slot, such as
    /// `Reply::status(500, json!({"error": "out of memory"}))`.
    pub fn status(code: u16, body: Value) -> Self {
        Self::new(Kind::Status(code, body))
    }

    /// The 404 of older Ollama versions for a model that is not pulled.
    pub fn model_not_found(model: &str) -> Self {
        Self::status(
            404,
            json!({"error": format!("model {model:?} not found, try pulling it first")}),
        )
    }

    /// These lines sent verbatim, each followed by `\n`, with status 200 (NDJSON or SSE alike),
    /// holding a slot while they go.
    pub fn raw_lines<S: Into<String>>(lines: impl IntoIterator<Item = S>) -> Self {
        Self::new(Kind::Raw(lines.into_iter().map(Into::into).collect()))
    }

    /// An embeddings answer (for [`FakeOllama::set_embed_responder`]).
    pub fn embeddings(vectors: Vec<Vec<f32>>) -> Self {
        Self::new(Kind::Embeddings(vectors))
    }

    /// Puts `text` (one piece per word) before what this reply generates.
    pub fn with_text(mut self, text: &str) -> Self {
        if let Kind::Generate { pieces, .. } = &mut self.kind {
            let mut all = words(text);
            all.append(pieces);
            *pieces = all;
        }
        self
    }

    /// What a thinking model thinks before this reply, when the request lets it think.
    pub fn with_thinking(mut self, thought: &str) -> Self {
        self.thinking = Some(thought.to_owned());
        self
    }

    /// Waits `delay` before every generated piece after the first.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Adds `delay` before the first output (a long prompt, a slow machine), holding the slot;
    /// status and headers wait for it too.
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

    /// Reports these token counts (`prompt_eval_count`, `eval_count`) instead of the counted ones.
    pub fn with_counts(mut self, prompt: u64, eval: u64) -> Self {
        self.counts = Some((prompt, eval));
        self
    }

    /// Ends with this `done_reason` (default `stop`; `length` when the output limit was hit).
    pub fn with_done_reason(mut self, reason: &str) -> Self {
        self.done_reason = reason.to_owned();
        self
    }

    /// Ends the stream cleanly without the final chunk, as Ollama does when it stops a runner
    /// on its own.
    pub fn without_done(mut self) -> Self {
        self.finished = false;
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

fn error_response(code: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    error_response(400, json!({"error": message.into()}))
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
    let value = parsed.map_err(|e| Box::new(bad_request(e.to_string())))?;
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

/// What one generated reply sends, before it is encoded for the route.
#[derive(Debug)]
enum Event {
    Thinking(String),
    Content(String),
    Calls(Vec<tools::Call>),
    Error(String),
    Raw(String),
    Done {
        reason: String,
        prompt: u64,
        eval: u64,
        total: Duration,
        calls_sent: bool,
    },
}

/// Everything one generation needs, the slot included (freed when it ends).
struct Generation {
    state: Arc<Shared>,
    reply: Reply,
    thinking: bool,
    parser: Option<tools::Parser>,
    prompt_tokens: u64,
    started: Instant,
    _slot: OwnedSemaphorePermit,
}

impl Generation {
    /// Runs the model: prompt time, thinking, output through the parser and the repeat guard,
    /// then the final chunk. Stops as soon as nobody listens.
    async fn run(mut self, tx: mpsc::Sender<Event>) {
        let timing = *self.state.timing.read();
        if !wait(&self.state, timing.request + self.reply.header_delay).await {
            return;
        }
        let mut eval = 0_u64;
        if self.thinking {
            let thought = self
                .reply
                .thinking
                .clone()
                .unwrap_or_else(|| DEFAULT_THOUGHT.to_owned());
            let pieces = words(&thought);
            let each = timing
                .thinking
                .checked_div(u32::try_from(pieces.len()).unwrap_or(u32::MAX).max(1))
                .unwrap_or_default();
            for piece in pieces {
                if !wait(&self.state, each).await || tx.send(Event::Thinking(piece)).await.is_err()
                {
                    return;
                }
                eval += 1;
            }
        }
        let (pieces, error) = match std::mem::replace(&mut self.reply.kind, Kind::Raw(Vec::new())) {
            Kind::Generate { pieces, error } => (pieces, error),
            Kind::Raw(lines) => {
                for (i, line) in lines.into_iter().enumerate() {
                    if i > 0 && !wait(&self.state, self.reply.chunk_delay).await {
                        return;
                    }
                    if tx.send(Event::Raw(line)).await.is_err() {
                        return;
                    }
                }
                return;
            }
            _ => return,
        };
        let mut last_token: Option<String> = None;
        let mut repeats = 0;
        let mut calls_sent = false;
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 && !wait(&self.state, self.reply.chunk_delay).await {
                return;
            }
            let token = piece.trim().to_owned();
            if last_token.as_deref() == Some(token.as_str()) {
                repeats += 1;
            } else {
                last_token = Some(token);
                repeats = 0;
            }
            if repeats > REPEAT_LIMIT {
                // Ollama's guard: the runner stops and the stream ends without a final chunk.
                return;
            }
            eval += 1;
            let event = match &mut self.parser {
                None if piece.is_empty() => continue,
                None => Event::Content(piece),
                Some(parser) => {
                    let (calls, content) = parser.add(&piece);
                    if !content.is_empty() {
                        // As in Ollama: content wins, and calls parsed in the same piece are lost.
                        Event::Content(content)
                    } else if !calls.is_empty() {
                        calls_sent = true;
                        Event::Calls(calls)
                    } else {
                        continue;
                    }
                }
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        if let Some(message) = error {
            let _ = tx.send(Event::Error(message)).await;
            return;
        }
        if !self.reply.finished {
            return;
        }
        let (prompt, eval) = self.reply.counts.unwrap_or((self.prompt_tokens, eval));
        let _ = tx
            .send(Event::Done {
                reason: self.reply.done_reason.clone(),
                prompt,
                eval,
                total: self.started.elapsed(),
                calls_sent,
            })
            .await;
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        self.state.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sleeps for `delay` unless the fake is dropped first; says whether the full delay passed.
async fn wait(state: &Shared, delay: Duration) -> bool {
    if delay.is_zero() {
        return !state.shutdown.is_cancelled();
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = state.shutdown.cancelled() => false,
    }
}

/// A request decoded the way Ollama binds it, or the 400 it gets.
struct ChatInput {
    model: String,
    messages: Vec<Msg>,
    tools: Vec<Value>,
    think: Option<Value>,
    num_ctx: Option<usize>,
    stream: bool,
}

/// The request as Ollama binds it, or the message of its 400.
fn decode_chat(request: &Value, openai: bool) -> Result<ChatInput, String> {
    if let Some(message) = bind_error(request, openai) {
        return Err(message);
    }
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if model.trim().is_empty() {
        return Err("model is required".to_owned());
    }
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|m| message(m, openai)).collect())
        .unwrap_or_default();
    let tools = request
        .get("tools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let num_ctx = request
        .pointer("/options/num_ctx")
        .and_then(Value::as_f64)
        .map(|n| n.max(4.0) as usize);
    Ok(ChatInput {
        model,
        messages,
        tools,
        think: request.get("think").filter(|t| !t.is_null()).cloned(),
        num_ctx,
        stream: request.get("stream").and_then(Value::as_bool) != Some(false),
    })
}

fn message(value: &Value, openai: bool) -> Msg {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let tool_calls = value
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|call| {
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let arguments = match call.pointer("/function/arguments") {
                        Some(Value::Object(map)) => map.clone(),
                        Some(Value::String(text)) if openai => serde_json::from_str(text)
                            .ok()
                            .and_then(|v: Value| v.as_object().cloned())
                            .unwrap_or_default(),
                        _ => Map::new(),
                    };
                    (name, arguments)
                })
                .collect()
        })
        .unwrap_or_default();
    Msg {
        role: text("role"),
        content: text("content"),
        thinking: text("thinking"),
        tool_calls,
    }
}

/// The 400 Ollama's JSON binding gives a request with a field of the wrong shape.
fn bind_error(request: &Value, openai: bool) -> Option<String> {
    fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    if !request.is_object() {
        return Some(format!(
            "json: cannot unmarshal {} into Go value of type api.ChatRequest",
            kind(request)
        ));
    }
    if let Some(messages) = request.get("messages").filter(|m| !m.is_null()) {
        let Some(messages) = messages.as_array() else {
            return Some(format!(
                "json: cannot unmarshal {} into Go struct field ChatRequest.messages of type []api.Message",
                kind(messages)
            ));
        };
        for m in messages {
            for field in ["role", "content"] {
                if let Some(v) = m.get(field).filter(|v| !v.is_null() && !v.is_string()) {
                    if openai && field == "content" {
                        continue;
                    }
                    return Some(format!(
                        "json: cannot unmarshal {} into Go struct field Message.messages.{field} of type string",
                        kind(v)
                    ));
                }
            }
            for call in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(arguments) = call.pointer("/function/arguments")
                    && !arguments.is_object()
                    && !arguments.is_null()
                    && !openai
                {
                    return Some(format!(
                        "json: cannot unmarshal {} into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments",
                        kind(arguments)
                    ));
                }
            }
        }
    }
    for tool in request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let properties = tool
            .pointer("/function/parameters/properties")
            .and_then(Value::as_object);
        for property in properties.into_iter().flat_map(|p| p.values()) {
            match property.get("type") {
                None | Some(Value::Null | Value::String(_)) => {}
                Some(Value::Array(types)) if types.iter().all(Value::is_string) => {}
                Some(Value::Array(_)) => {
                    return Some(
                        "json: cannot unmarshal number into Go value of type string".to_owned(),
                    );
                }
                Some(other) => {
                    return Some(format!(
                        "json: cannot unmarshal {} into Go value of type []string",
                        kind(other)
                    ));
                }
            }
            if let Some(d) = property
                .get("description")
                .filter(|d| !d.is_null() && !d.is_string())
            {
                return Some(format!(
                    "json: cannot unmarshal {} into Go struct field ToolProperty.tools.function.parameters.properties.description of type string",
                    kind(d)
                ));
            }
        }
    }
    match request.get("keep_alive") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(Value::String(text)) => {
            if let Err(message) = go_duration(text) {
                return Some(message);
            }
        }
        Some(Value::Bool(_)) => return Some("Unsupported type: 'bool'".to_owned()),
        Some(Value::Array(_)) => return Some("Unsupported type: '[]interface {}'".to_owned()),
        Some(Value::Object(_)) => {
            return Some("Unsupported type: 'map[string]interface {}'".to_owned());
        }
    }
    match request.get("think") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(Value::String(s)) if ["high", "medium", "low"].contains(&s.as_str()) => {}
        Some(Value::String(s)) => {
            return Some(format!(
                "invalid think value: {s:?} (must be \"high\", \"medium\", \"low\", true, or false)"
            ));
        }
        Some(_) => {
            return Some(
                "think must be a boolean or string (\"high\", \"medium\", \"low\", true, or false)"
                    .to_owned(),
            );
        }
    }
    if let Some(n) = request.pointer("/options/num_ctx")
        && !n.is_number()
        && !n.is_null()
    {
        return Some(format!(
            "option \"num_ctx\" must be of type integer, got {}",
            kind(n)
        ));
    }
    None
}

/// Whether Go's `time.ParseDuration` takes `text`, with Go's message when it does not.
fn go_duration(text: &str) -> Result<(), String> {
    let quoted = |s: &str| format!("{s:?}");
    let invalid = || format!("time: invalid duration {}", quoted(text));
    let mut s = text.strip_prefix(['-', '+']).unwrap_or(text);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    while !s.is_empty() {
        let number = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let digits = &s[..number];
        let dots = digits.matches('.').count();
        if digits.is_empty()
            || digits == "."
            || dots > 1
            || !s.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        {
            return Err(invalid());
        }
        s = &s[number..];
        let unit = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        if unit == 0 {
            return Err(format!("time: missing unit in duration {}", quoted(text)));
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&&s[..unit]) {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                quoted(&s[..unit]),
                quoted(text)
            ));
        }
        s = &s[unit..];
    }
    Ok(())
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
    let openai = uri.path().starts_with("/v1/");
    let input = match decode_chat(&request, openai) {
        Ok(input) => input,
        Err(message) => return bad_request(message),
    };
    let Some(spec) = state.model(&input.model) else {
        return error_response(
            404,
            json!({"error": format!("model '{}' not found", input.model)}),
        );
    };
    if !spec.has("completion") {
        return bad_request(format!("{:?} does not support chat", input.model));
    }
    let thinking_model = spec.has("thinking");
    let think = match &input.think {
        None if thinking_model => Some(true),
        None => None,
        Some(Value::Bool(on)) => Some(*on),
        Some(_) => Some(true),
    };
    if !thinking_model && think == Some(true) {
        return bad_request(format!("{:?} does not support thinking", input.model));
    }
    if !input.tools.is_empty() && !spec.has("tools") {
        return bad_request(format!(
            "registry.ollama.ai/library/{} does not support tools",
            spec.name
        ));
    }
    if input.think.as_ref().is_some_and(Value::is_string) {
        return bad_request(format!(
            "think value {:?} is not supported for this model",
            input
                .think
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or_default()
        ));
    }
    let responder = Arc::clone(&*state.responder.read());
    let reply = responder(&request);
    state.replies.fetch_add(1, Ordering::Relaxed);
    match &reply.kind {
        Kind::Status(code, body) => return error_response(*code, body.clone()),
        Kind::Embeddings(_) => {
            return error_response(
                500,
                json!({"error": "the fake was given embeddings for a chat"}),
            );
        }
        _ => {}
    }

    // Wait for a slot on the model's runner; nothing at all is sent meanwhile.
    let runner = state.runner(&spec.name);
    let must_wait = runner.slots.available_permits() == 0;
    if must_wait {
        let waiting = state.queued.fetch_add(1, Ordering::Relaxed) + 1;
        state.most_queued.fetch_max(waiting, Ordering::Relaxed);
    }
    let slot = tokio::select! {
        slot = Arc::clone(&runner.slots).acquire_owned() => match slot {
            Ok(slot) => slot,
            Err(_) => return error_response(500, json!({"error": "the runner is gone"})),
        },
        () = state.shutdown.cancelled() => {
            return error_response(503, json!({"error": "the fake Ollama is shutting down"}));
        }
    };
    if must_wait {
        state.queued.fetch_sub(1, Ordering::Relaxed);
    }
    let slot_at = Instant::now();
    let now_active = state.active.fetch_add(1, Ordering::Relaxed) + 1;
    state.most_active.fetch_max(now_active, Ordering::Relaxed);
    let num_ctx = input
        .num_ctx
        .unwrap_or_else(|| state.context_length.load(Ordering::Relaxed));
    let reload = {
        let mut loaded = runner.num_ctx.lock();
        let reload = *loaded != Some(num_ctx);
        *loaded = Some(num_ctx);
        reload
    };
    let timing = *state.timing.read();
    if input.messages.is_empty() {
        // Ollama loads the model and says so.
        if reload {
            state.loads.fetch_add(1, Ordering::Relaxed);
            wait(&state, timing.load).await;
        }
        state.active.fetch_sub(1, Ordering::Relaxed);
        drop(slot);
        return axum::Json(json!({
            "model": input.model, "created_at": created_at(),
            "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "load",
        }))
        .into_response();
    }
    let any_tool = state.any_tool.load(Ordering::Relaxed);
    let parser = (!input.tools.is_empty()).then(|| {
        if any_tool {
            return tools::Parser::any_tool(prompt::TOOL_TAG);
        }
        let names = input
            .tools
            .iter()
            .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        tools::Parser::new(prompt::TOOL_TAG, names)
    });
    let think_vars = Think {
        set: think.is_some(),
        on: think == Some(true),
    };
    let (kept, dropped) = prompt::truncate(
        spec.template(),
        &input.messages,
        &input.tools,
        think_vars,
        num_ctx,
    );
    let rendered = prompt::render(spec.template(), &kept, &input.tools, think_vars);
    let tokens = prompt::count_tokens(&rendered);
    if state.recording.load(Ordering::Relaxed) {
        state.seen.lock().push(Seen {
            model: spec.name.clone(),
            prompt: rendered,
            tokens,
            num_ctx,
            dropped,
            thought: think == Some(true),
            tools: input
                .tools
                .iter()
                .map(|t| decode::function(t, decode::Fields::V0_12))
                .collect(),
            slot_at,
        });
    }
    let split = reply.split;
    let generation = Generation {
        state: Arc::clone(&state),
        reply,
        thinking: think == Some(true),
        parser,
        prompt_tokens: u64::try_from(tokens).unwrap_or(u64::MAX),
        started,
        _slot: slot,
    };
    let (tx, mut rx) = mpsc::channel::<Event>(8);
    let load = if reload { timing.load } else { Duration::ZERO };
    if reload {
        state.loads.fetch_add(1, Ordering::Relaxed);
    }
    tokio::spawn({
        let state = Arc::clone(&state);
        async move {
            if wait(&state, load).await {
                generation.run(tx).await;
            }
        }
    });

    let model = input.model.clone();
    if !input.stream {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        return whole_reply(&events, &model, openai);
    }
    // Ollama sends its status and headers with the first output, not before.
    let Some(first) = rx.recv().await else {
        let content_type = if openai {
            "text/event-stream"
        } else {
            "application/x-ndjson"
        };
        return ([(header::CONTENT_TYPE, content_type)], Body::empty()).into_response();
    };
    if let Event::Error(message) = &first {
        return error_response(500, json!({"error": message}));
    }
    let usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let encoder = Encoder {
        model,
        openai,
        usage,
        id: format!("chatcmpl-{}", rand::rng().random_range(100..1000)),
    };
    let content_type = if openai {
        "text/event-stream"
    } else {
        "application/x-ndjson"
    };
    let stream = body_stream(first, rx, encoder, split, state.shutdown.clone());
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The response body: each event encoded as it comes, a line split into HTTP chunks
/// [`SPLIT_PAUSE`] apart when the reply asks for it. When the fake is dropped mid-reply the body
/// fails, so the connection is cut rather than ended cleanly.
fn body_stream(
    first: Event,
    rx: mpsc::Receiver<Event>,
    encoder: Encoder,
    split: Split,
    shutdown: CancellationToken,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Outgoing {
        next: Option<Event>,
        rx: mpsc::Receiver<Event>,
        encoder: Encoder,
        split: Split,
        /// Parts still to send, each marked when it continues a line (and so waits first).
        pending: VecDeque<(Bytes, bool)>,
        shutdown: CancellationToken,
        cut: bool,
    }
    let outgoing = Outgoing {
        next: Some(first),
        rx,
        encoder,
        split,
        pending: VecDeque::new(),
        shutdown,
        cut: false,
    };
    futures::stream::unfold(outgoing, |mut body| async move {
        if body.cut {
            return None;
        }
        loop {
            if let Some((part, continues)) = body.pending.pop_front() {
                if continues {
                    tokio::time::sleep(SPLIT_PAUSE).await;
                }
                return Some((Ok(part), body));
            }
            let event = match body.next.take() {
                Some(event) => event,
                None => {
                    let event = tokio::select! {
                        biased;
                        () = body.shutdown.cancelled() => None,
                        event = body.rx.recv() => event,
                    };
                    match event {
                        Some(event) => event,
                        None if body.shutdown.is_cancelled() => {
                            body.cut = true;
                            let cut = std::io::Error::new(
                                std::io::ErrorKind::ConnectionAborted,
                                "the fake Ollama was dropped",
                            );
                            return Some((Err(cut), body));
                        }
                        None => return None,
                    }
                }
            };
            for line in body.encoder.encode(&event) {
                for (i, part) in split_bytes(line, body.split).into_iter().enumerate() {
                    body.pending.push_back((part, i > 0));
                }
            }
        }
    })
}

/// Encodes events for one route: Ollama's NDJSON chunks, or the chat-completion chunks its
/// OpenAI-compatible layer makes of them.
struct Encoder {
    model: String,
    openai: bool,
    usage: bool,
    id: String,
}

impl Encoder {
    fn encode(&self, event: &Event) -> Vec<Bytes> {
        if self.openai {
            self.sse(event)
        } else {
            vec![self.ndjson(event)]
        }
    }

    fn ndjson(&self, event: &Event) -> Bytes {
        let message = |content: &str, thinking: &str, calls: &[tools::Call]| {
            let mut message = json!({"role": "assistant", "content": content});
            if !thinking.is_empty() {
                message["thinking"] = Value::from(thinking);
            }
            if !calls.is_empty() {
                message["tool_calls"] = Value::Array(calls.iter().map(ollama_call).collect());
            }
            message
        };
        let value = match event {
            Event::Raw(line) => return Bytes::from(format!("{line}\n")),
            Event::Error(text) => json!({"error": text}),
            Event::Thinking(text) => json!({
                "model": self.model, "created_at": created_at(),
                "message": message("", text, &[]), "done": false,
            }),
            Event::Content(text) => json!({
                "model": self.model, "created_at": created_at(),
                "message": message(text, "", &[]), "done": false,
            }),
            Event::Calls(calls) => json!({
                "model": self.model, "created_at": created_at(),
                "message": message("", "", calls), "done": false,
            }),
            Event::Done {
                reason,
                prompt,
                eval,
                total,
                ..
            } => {
                let total = u64::try_from(total.as_nanos()).unwrap_or(u64::MAX);
                json!({
                    "model": self.model, "created_at": created_at(),
                    "message": {"role": "assistant", "content": ""},
                    "done": true, "done_reason": reason, "total_duration": total,
                    "load_duration": 0, "prompt_eval_count": prompt, "prompt_eval_duration": 0,
                    "eval_count": eval, "eval_duration": total,
                })
            }
        };
        let mut line = serde_json::to_vec(&value).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    fn sse(&self, event: &Event) -> Vec<Bytes> {
        let event_of = |value: Value| Bytes::from(format!("data: {value}\n\n"));
        let chunk = |delta: Value, finish: Value| {
            json!({
                "id": self.id, "object": "chat.completion.chunk",
                "created": chrono::Utc::now().timestamp(), "model": self.model,
                "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            })
        };
        match event {
            Event::Raw(line) => vec![Bytes::from(format!("{line}\n"))],
            Event::Error(text) => vec![event_of(
                json!({"error": {"message": text, "type": "api_error", "param": null, "code": null}}),
            )],
            Event::Thinking(text) => vec![event_of(chunk(
                json!({"role": "assistant", "content": "", "reasoning": text}),
                Value::Null,
            ))],
            Event::Content(text) => vec![event_of(chunk(
                json!({"role": "assistant", "content": text}),
                Value::Null,
            ))],
            Event::Calls(calls) => {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|(name, arguments, index)| {
                        json!({"id": call_id(), "index": index, "type": "function",
                            "function": {"name": name, "arguments": prompt::go_json(&Value::Object(arguments.clone()))}})
                    })
                    .collect();
                vec![event_of(chunk(
                    json!({"role": "assistant", "content": "", "tool_calls": calls}),
                    Value::Null,
                ))]
            }
            Event::Done {
                reason,
                prompt,
                eval,
                calls_sent,
                ..
            } => {
                let finish = if *calls_sent { "tool_calls" } else { reason };
                let mut out = vec![event_of(chunk(
                    json!({"role": "assistant", "content": ""}),
                    Value::from(finish),
                ))];
                if self.usage {
                    out.push(event_of(json!({
                        "id": self.id, "object": "chat.completion.chunk",
                        "created": chrono::Utc::now().timestamp(), "model": self.model,
                        "system_fingerprint": "fp_ollama", "choices": [],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": eval,
                            "total_tokens": prompt + eval},
                    })));
                }
                out.push(Bytes::from_static(b"data: [DONE]\n\n"));
                out
            }
        }
    }
}

fn ollama_call((name, arguments, index): &tools::Call) -> Value {
    json!({"id": call_id(), "function": {"index": index, "name": name, "arguments": arguments}})
}

/// The reply as one JSON object, for requests with `"stream": false`.
fn whole_reply(events: &[Event], model: &str, openai: bool) -> Response {
    let mut content = String::new();
    let mut thinking = String::new();
    let mut calls: Vec<&tools::Call> = Vec::new();
    let mut done = None;
    for event in events {
        match event {
            Event::Content(text) => content.push_str(text),
            Event::Thinking(text) => thinking.push_str(text),
            Event::Calls(c) => calls.extend(c),
            Event::Error(message) => return error_response(500, json!({"error": message})),
            Event::Raw(_) => {}
            Event::Done {
                reason,
                prompt,
                eval,
                total,
                ..
            } => done = Some((reason.clone(), *prompt, *eval, *total)),
        }
    }
    let (reason, prompt, eval, total) =
        done.unwrap_or_else(|| (String::new(), 0, 0, Duration::ZERO));
    let total = u64::try_from(total.as_nanos()).unwrap_or(u64::MAX);
    let body = if openai {
        let mut message = json!({"role": "assistant", "content": content});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(
                calls
                    .iter()
                    .map(|(name, arguments, index)| {
                        json!({"id": call_id(), "index": index, "type": "function",
                            "function": {"name": name, "arguments": prompt::go_json(&Value::Object(arguments.clone()))}})
                    })
                    .collect(),
            );
        }
        let finish = if calls.is_empty() {
            reason.as_str()
        } else {
            "tool_calls"
        };
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": chrono::Utc::now().timestamp(),
            "model": model, "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": eval, "total_tokens": prompt + eval},
        })
    } else {
        let mut message = json!({"role": "assistant", "content": content});
        if !thinking.is_empty() {
            message["thinking"] = Value::from(thinking);
        }
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls.iter().map(|c| ollama_call(c)).collect());
        }
        json!({
            "model": model, "created_at": created_at(), "message": message, "done": true,
            "done_reason": reason, "total_duration": total, "load_duration": 0,
            "prompt_eval_count": prompt, "prompt_eval_duration": 0, "eval_count": eval,
            "eval_duration": total,
        })
    };
    axum::Json(body).into_response()
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
        None if state.model(&model).is_none() => Reply::model_not_found(&model),
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
            .map(|m| json!({"id": m.name, "object": "model", "created": 1_700_000_000, "owned_by": "library"}))
            .collect();
        return axum::Json(json!({"object": "list", "data": data})).into_response();
    }
    let entries: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({
                "name": m.name, "model": m.name, "modified_at": "2025-01-01T00:00:00Z", "size": 4_683_087_332_u64,
                "digest": hex::encode(Sha256::digest(m.name.as_bytes())),
                "details": details(&m.name),
            })
        })
        .collect();
    axum::Json(json!({"models": entries})).into_response()
}

fn details(model: &str) -> Value {
    let family = if model.starts_with("qwen3") {
        "qwen3"
    } else {
        "qwen2"
    };
    json!({"parent_model": "", "format": "gguf", "family": family, "families": [family],
        "parameter_size": "7.6B", "quantization_level": "Q4_K_M"})
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
    if model.is_empty() {
        return bad_request("model is required");
    }
    let Some(spec) = state.model(model) else {
        return error_response(404, json!({"error": format!("model '{model}' not found")}));
    };
    let family = if spec.name.starts_with("qwen3") {
        "qwen3"
    } else {
        "qwen2"
    };
    let mut info = Map::new();
    info.insert("general.architecture".into(), Value::from(family));
    info.insert(
        "general.parameter_count".into(),
        Value::from(7_615_616_512_u64),
    );
    info.insert(
        format!("{family}.context_length"),
        Value::from(spec.context_length),
    );
    info.insert(format!("{family}.embedding_length"), Value::from(3584));
    let template = if spec.has("tools") {
        "{{- if .Messages }}{{- if or .System .Tools }}<|im_start|>system ... {{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\", \"arguments\": {{ .Function.Arguments }}}{{ end }}"
    } else {
        "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
    };
    axum::Json(json!({
        "license": "", "modelfile": format!("FROM {}\n", spec.name), "parameters": "",
        "template": template,
        "details": details(&spec.name),
        "model_info": info,
        "capabilities": spec.capabilities,
        "modified_at": "2025-01-01T00:00:00Z",
    }))
    .into_response()
}

async fn ps(
    State(state): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let _ = receive(&state, method, &uri, headers, &[]);
    let runners: Vec<(String, Option<usize>)> = state
        .runners
        .lock()
        .iter()
        .map(|(name, runner)| (name.clone(), *runner.num_ctx.lock()))
        .collect();
    let models: Vec<Value> = runners
        .into_iter()
        .filter_map(|(name, ctx)| ctx.map(|ctx| (name, ctx)))
        .map(|(name, ctx)| {
            json!({
                "name": name, "model": name, "size": 6_654_289_920_u64,
                "digest": hex::encode(Sha256::digest(name.as_bytes())),
                "details": details(&name),
                "expires_at": "2099-01-01T00:00:00Z", "size_vram": 6_654_289_920_u64,
                "context_length": ctx,
            })
        })
        .collect();
    axum::Json(json!({"models": models})).into_response()
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
