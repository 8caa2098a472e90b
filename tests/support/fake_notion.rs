//! A wire-faithful fake of the Notion REST API (the subset the Notion tools use, under
//! `Notion-Version` 2025-09-03 and 2026-03-11) and of Notion's OAuth endpoints, on 127.0.0.1:0,
//! stopped when dropped.
//!
//! API: `Notion-Version` is required (400 `missing_version`) and must be a version the fake knows
//! (400 `validation_error`); the bearer must be a token marked valid (401 `unauthorized`
//! otherwise); lists paginate with opaque cursors; search matches titles case-insensitively and
//! skips trashed objects; unknown ids answer 404 `object_not_found`.
//!
//! Strict like Notion, by default: the documented request limits answer 400 `validation_error`
//! with Notion's message shape (`body failed validation: body.children[0]...`): a rich-text item's
//! `text.content` over 2,000 UTF-16 units, a link over 2,000 characters, a rich-text array over
//! 100 items, a `children` array over 100 blocks, children on a block nested more than two levels
//! below the request's top-level blocks, more than 1,000 blocks in one request, a body over 500 KB.
//! What a version does not know is refused too: the `position` object of Append block children
//! exists only from 2026-03-11 and its `after` string only before; `archived` is refused in
//! 2026-03-11 requests (answers carry only `in_trash`, which every version has). A rate limit
//! per token (a bucket of `burst` requests refilled at `per_second`) is off unless
//! [`FakeNotion::set_rate_limit`] turns it on; over it, calls get 429 `rate_limited` with an
//! integer `Retry-After`.
//!
//! Faults on demand: a 429 with `Retry-After`, any status, or a malformed JSON body for the next
//! API calls (or the next call to a given path), and a fixed latency added to every API call (for
//! benchmarks), with each call's service time recorded. OAuth: `GET /v1/oauth/authorize` redirects
//! straight back to `redirect_uri` with `code` and `state`; `POST /v1/oauth/token` takes HTTP Basic
//! client credentials and a JSON body (`authorization_code` / `refresh_token`), rotates refresh
//! tokens and answers like Notion (`bot_id`, `workspace_name`, `owner`); `POST /v1/oauth/revoke`
//! takes HTTP Basic client credentials and `{"token"}`, and ends that access token and the refresh
//! token issued with it. The token and revocation endpoints are strict like the API: they
//! require `Notion-Version` (400 `missing_version`), and every error they answer is in Notion's
//! own shape (`{"object": "error", "status", "code", "message"}`), not RFC 6749's.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

/// What the fake does with a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// Accepted.
    Valid,
    /// Answered with 401 (as an expired token).
    Expired,
    /// Answered with 401 (as a revoked token).
    Revoked,
}

/// A canned answer for the next API call.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 `rate_limited` with this `Retry-After` (seconds).
    RateLimited(u64),
    /// This status with a Notion error body of this code.
    Status(u16, &'static str),
    /// 200 with a body that is not JSON.
    Malformed,
}

/// One API call as the fake served it.
#[derive(Clone, Debug)]
pub struct Served {
    /// The request path.
    pub path: String,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// From the handler's start to the response being ready, the added latency included.
    pub service: Duration,
}

/// The API versions the fake answers.
pub const VERSIONS: [&str; 2] = ["2025-09-03", "2026-03-11"];

/// Notion's request limits.
const MAX_TEXT_UNITS: usize = 2000;
const MAX_URL_CHARS: usize = 2000;
const MAX_ARRAY: usize = 100;
const MAX_NESTING: usize = 2;
const MAX_BLOCKS: usize = 1000;
const MAX_BODY_BYTES: usize = 500_000;

/// A token bucket per bearer token.
#[derive(Clone, Copy, Debug)]
struct RateLimit {
    per_second: f64,
    burst: f64,
}

#[derive(Default)]
struct Store {
    tokens: HashMap<String, TokenState>,
    pages: HashMap<String, Value>,
    databases: HashMap<String, Value>,
    data_sources: HashMap<String, Value>,
    blocks: HashMap<String, Value>,
    children: HashMap<String, Vec<String>>,
    comments: Vec<Value>,
    users: Vec<Value>,
    bot: Value,
    templates: HashMap<String, Vec<Value>>,
    next_id: u64,
    faults: VecDeque<Fault>,
    path_faults: Vec<(String, String, usize, Fault)>,
    rate_limit: Option<RateLimit>,
    buckets: HashMap<String, (f64, Instant)>,
    rate_limited: usize,
    calls: Vec<(String, String)>,
    authorizations: Vec<String>,
    versions: Vec<Option<String>>,
    bodies: Vec<(String, Value)>,
    clients: HashMap<String, String>,
    /// The `bot_id` the next code exchanges answer with: one per installation of the
    /// integration (a person's workspace); `u-bot` unless set.
    install: Option<String>,
    codes: HashMap<String, String>,
    /// Live refresh tokens, each with the access token issued with it.
    refresh_tokens: HashMap<String, String>,
    token_calls: usize,
    /// The `Notion-Version` header of every OAuth request, as (path, header).
    oauth_versions: Vec<(String, Option<String>)>,
    /// The tokens revoked at `/v1/oauth/revoke`.
    revoked: Vec<String>,
    /// When set, `/v1/oauth/revoke` answers this status (Notion's error shape) and revokes nothing.
    revoke_fault: Option<u16>,
    latency: Duration,
    served: Vec<Served>,
}

impl Store {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{:08x}-1111-4222-8333-{:012x}", 0x5eed_u32, self.next_id)
    }
}

/// The running fake.
pub struct FakeNotion {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeNotion {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> String {
    "2026-11-24T10:00:00.000Z".to_owned()
}

/// Rich text items as Notion answers them (with `plain_text`, `annotations`, `href`).
pub fn normalize_rich_text(items: &Value) -> Value {
    let Some(items) = items.as_array() else {
        return json!([]);
    };
    Value::Array(
        items
            .iter()
            .map(|i| {
                let content = i.pointer("/text/content").and_then(Value::as_str).unwrap_or("");
                let link = i.pointer("/text/link/url").cloned().unwrap_or(Value::Null);
                let mut ann = json!({"bold": false, "italic": false, "strikethrough": false,
                    "underline": false, "code": false, "color": "default"});
                if let (Some(given), Some(a)) = (i.get("annotations").and_then(Value::as_object), ann.as_object_mut()) {
                    for (k, v) in given {
                        a.insert(k.clone(), v.clone());
                    }
                }
                json!({"type": "text", "text": {"content": content, "link": if link.is_null() { Value::Null } else { json!({"url": link}) }},
                       "annotations": ann, "plain_text": content, "href": link})
            })
            .collect(),
    )
}

fn rt(text: &str) -> Value {
    normalize_rich_text(&json!([{"text": {"content": text}}]))
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(
            json!({"object": "error", "status": status.as_u16(), "code": code,
        "message": message, "request_id": "req-fake"}),
        ),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn title_text(v: &Value) -> String {
    if let Some(t) = v.get("title").and_then(Value::as_array) {
        return t
            .iter()
            .filter_map(|i| i.get("plain_text").and_then(Value::as_str))
            .collect();
    }
    v.get("properties")
        .and_then(Value::as_object)
        .and_then(|p| {
            p.values()
                .find(|x| x.get("type").and_then(Value::as_str) == Some("title"))
        })
        .and_then(|p| p.get("title").and_then(Value::as_array))
        .map(|t| {
            t.iter()
                .filter_map(|i| i.get("plain_text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn paginate(items: Vec<Value>, cursor: Option<&str>, size: Option<u64>, kind: &str) -> Value {
    let start: usize = cursor
        .and_then(|c| c.strip_prefix("cur-"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let size = size.unwrap_or(100).clamp(1, 100) as usize;
    let end = (start + size).min(items.len());
    let has_more = end < items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    json!({"object": "list", "results": page, "has_more": has_more,
           "next_cursor": if has_more { Value::from(format!("cur-{end}")) } else { Value::Null },
           "type": kind, kind: {}})
}

/// Page properties as the API answers them: each value gets `id` and `type`.
fn normalize_properties(props: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (name, value) in props {
        let kind = value
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "id" && *k != "type").cloned())
            .unwrap_or_else(|| "rich_text".into());
        let mut inner = value.get(&kind).cloned().unwrap_or(Value::Null);
        if kind == "title" || kind == "rich_text" {
            inner = normalize_rich_text(&inner);
        }
        let id = if kind == "title" {
            "title".to_owned()
        } else {
            format!("p-{}", name.to_lowercase())
        };
        out.insert(
            name.clone(),
            json!({"id": id, "type": kind, kind.clone(): inner}),
        );
    }
    Value::Object(out)
}

impl FakeNotion {
    /// Starts the fake with a bot user and one person.
    pub async fn start() -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        {
            let mut s = store.lock();
            s.users.push(
                json!({"object": "user", "id": "u-ada", "type": "person", "name": "Ada",
                "avatar_url": null, "person": {"email": "ada@example.com"}}),
            );
            s.bot = json!({"object": "user", "id": "u-bot", "type": "bot", "name": "MCP",
                "bot": {"owner": {"type": "user", "user": s.users[0].clone()}, "workspace_name": "Acme"}});
        }
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&store));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Notion");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, store, task }
    }

    /// The API base URL (`http://127.0.0.1:PORT`), as `[notion_mcp].api_url`.
    pub fn api_url(&self) -> url::Url {
        format!("http://{}", self.addr).parse().expect("url")
    }

    /// The OAuth authorize URL.
    pub fn authorize_url(&self) -> String {
        format!("http://{}/v1/oauth/authorize", self.addr)
    }

    /// The OAuth token URL.
    pub fn token_url(&self) -> String {
        format!("http://{}/v1/oauth/token", self.addr)
    }

    /// Marks `token` as valid, expired or revoked.
    pub fn set_token(&self, token: &str, state: TokenState) {
        self.store.lock().tokens.insert(token.to_owned(), state);
    }

    /// Revokes every access and refresh token issued so far, as when the person removes the
    /// integration from their workspace.
    pub fn revoke_all(&self) {
        let mut s = self.store.lock();
        for state in s.tokens.values_mut() {
            *state = TokenState::Revoked;
        }
        s.refresh_tokens.clear();
    }

    /// Makes the following code exchanges answer as another installation (`bot_id`), as when
    /// another person connects their own workspace.
    pub fn set_installation(&self, bot_id: &str) {
        self.store.lock().install = Some(bot_id.to_owned());
    }

    /// Registers an OAuth client.
    pub fn add_client(&self, client_id: &str, client_secret: &str) {
        self.store
            .lock()
            .clients
            .insert(client_id.to_owned(), client_secret.to_owned());
    }

    /// Adds a refresh token that the token endpoint accepts once (rotation).
    pub fn add_refresh_token(&self, refresh_token: &str) {
        self.store
            .lock()
            .refresh_tokens
            .insert(refresh_token.to_owned(), "ws-1".to_owned());
    }

    /// The OAuth URL that revokes a token.
    pub fn revoke_url(&self) -> String {
        format!("http://{}/v1/oauth/revoke", self.addr)
    }

    /// The `Notion-Version` header of every OAuth request received, as (path, header).
    pub fn oauth_versions(&self) -> Vec<(String, Option<String>)> {
        self.store.lock().oauth_versions.clone()
    }

    /// The tokens revoked at `/v1/oauth/revoke`, in order.
    pub fn revoked(&self) -> Vec<String> {
        self.store.lock().revoked.clone()
    }

    /// Makes `/v1/oauth/revoke` answer `status` (in Notion's error shape) without revoking, or
    /// work again (`None`).
    pub fn fail_revocations(&self, status: Option<u16>) {
        self.store.lock().revoke_fault = status;
    }

    /// Forgets every refresh token, as when the person removes the integration.
    pub fn revoke_refresh_tokens(&self) {
        self.store.lock().refresh_tokens.clear();
    }

    /// Queues `fault` for the next API call.
    pub fn push_fault(&self, fault: Fault) {
        self.store.lock().faults.push_back(fault);
    }

    /// Answers the next `method` call whose path ends with `path_end` with `fault`.
    pub fn fail_next(&self, method: &str, path_end: &str, fault: Fault) {
        self.fail_after(method, path_end, 0, fault);
    }

    /// Lets `skip` calls of `method` whose path ends with `path_end` through, then answers the
    /// next one with `fault`.
    pub fn fail_after(&self, method: &str, path_end: &str, skip: usize, fault: Fault) {
        self.store
            .lock()
            .path_faults
            .push((method.to_owned(), path_end.to_owned(), skip, fault));
    }

    /// Limits every token to `per_second` API calls on average, in bursts of up to `burst`;
    /// calls over it get 429 `rate_limited` with `Retry-After`.
    pub fn set_rate_limit(&self, per_second: f64, burst: f64) {
        let mut s = self.store.lock();
        s.rate_limit = Some(RateLimit { per_second, burst });
        s.buckets.clear();
    }

    /// The calls answered 429 by the rate limit so far.
    pub fn rate_limited(&self) -> usize {
        self.store.lock().rate_limited
    }

    /// The number of API calls received (OAuth calls not included).
    pub fn calls(&self) -> usize {
        self.store.lock().calls.len()
    }

    /// The API calls received, as (method, path).
    pub fn call_log(&self) -> Vec<(String, String)> {
        self.store.lock().calls.clone()
    }

    /// The JSON bodies received, as (path, body).
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.store.lock().bodies.clone()
    }

    /// The `Authorization` headers received on API calls, in order.
    pub fn authorizations(&self) -> Vec<String> {
        self.store.lock().authorizations.clone()
    }

    /// The `Notion-Version` headers received on API calls, in order.
    pub fn versions(&self) -> Vec<Option<String>> {
        self.store.lock().versions.clone()
    }

    /// Delays every later API call (OAuth calls not included) by `latency` before it is
    /// answered; zero (the default) answers at once.
    pub fn set_latency(&self, latency: Duration) {
        self.store.lock().latency = latency;
    }

    /// Every API call served so far, with its service time, in the order they completed.
    pub fn served(&self) -> Vec<Served> {
        self.store.lock().served.clone()
    }

    /// Calls to the token endpoint.
    pub fn token_calls(&self) -> usize {
        self.store.lock().token_calls
    }

    /// Adds a page under `parent` (a page id, or the workspace when `None`) titled `title`.
    pub fn seed_page(&self, parent: Option<&str>, title: &str) -> String {
        let mut s = self.store.lock();
        let id = s.id();
        let parent = match parent {
            Some(p) => json!({"type": "page_id", "page_id": p}),
            None => json!({"type": "workspace", "workspace": true}),
        };
        let page = json!({"object": "page", "id": id, "created_time": now(), "last_edited_time": now(),
            "parent": parent, "in_trash": false, "icon": null, "cover": null,
            "url": format!("https://www.notion.so/{}", id.replace('-', "")),
            "properties": {"title": {"id": "title", "type": "title", "title": rt(title)}}});
        s.pages.insert(id.clone(), page);
        id
    }

    /// Adds blocks (request-shaped, nested `children` allowed) under `parent`; returns their ids.
    pub fn seed_blocks(&self, parent: &str, blocks: Vec<Value>) -> Vec<String> {
        let mut s = self.store.lock();
        append_blocks(&mut s, parent, &blocks, None)
    }

    /// Adds a database with one data source under `parent_page`; returns (database, data source).
    pub fn seed_database(&self, parent_page: &str, title: &str) -> (String, String) {
        let mut s = self.store.lock();
        let db = s.id();
        let ds = s.id();
        s.data_sources.insert(ds.clone(), json!({"object": "data_source", "id": ds, "title": rt(title),
            "parent": {"type": "database_id", "database_id": db}, "in_trash": false,
            "properties": {"Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
                "Status": {"id": "p-status", "name": "Status", "type": "select",
                    "select": {"options": [{"name": "Todo", "color": "red"}, {"name": "Done", "color": "green"}]}}}}));
        s.databases.insert(db.clone(), json!({"object": "database", "id": db, "title": rt(title),
            "parent": {"type": "page_id", "page_id": parent_page}, "is_inline": false, "in_trash": false,
            "data_sources": [{"id": ds, "name": title}]}));
        (db, ds)
    }

    /// Adds a row to a data source with a title and a status.
    pub fn seed_row(&self, data_source: &str, title: &str, status: &str) -> String {
        let mut s = self.store.lock();
        let id = s.id();
        let page = json!({"object": "page", "id": id, "created_time": now(), "last_edited_time": now(),
            "parent": {"type": "data_source_id", "data_source_id": data_source}, "in_trash": false,
            "url": format!("https://www.notion.so/{}", id.replace('-', "")), "icon": null, "cover": null,
            "properties": {"Name": {"id": "title", "type": "title", "title": rt(title)},
                "Status": {"id": "p-status", "type": "select", "select": {"name": status}}}});
        s.pages.insert(id.clone(), page);
        id
    }

    /// A stored page (as the API would answer), if any.
    pub fn page(&self, id: &str) -> Option<Value> {
        self.store.lock().pages.get(id).cloned()
    }

    /// The child block objects of `parent` that are not in the trash, in order (what the API
    /// lists).
    pub fn children(&self, parent: &str) -> Vec<Value> {
        let s = self.store.lock();
        s.children
            .get(parent)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| s.blocks.get(i).cloned())
                    .filter(|b| b["in_trash"] != true)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The blocks under `parent` that are not in the trash, as `(depth, type, plain text)` in
    /// reading order, every level (what reading the page back finds).
    pub fn outline(&self, parent: &str) -> Vec<(usize, String, String)> {
        fn walk(
            fake: &FakeNotion,
            parent: &str,
            depth: usize,
            out: &mut Vec<(usize, String, String)>,
        ) {
            for b in fake.children(parent) {
                let kind = b["type"].as_str().unwrap_or("").to_owned();
                let text: String = b[&kind]["rich_text"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["plain_text"].as_str())
                    .collect();
                out.push((depth, kind, text));
                if let Some(id) = b["id"].as_str() {
                    walk(fake, id, depth + 1, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, parent, 0, &mut out);
        out
    }

    /// The comments stored.
    pub fn comments(&self) -> Vec<Value> {
        self.store.lock().comments.clone()
    }
}

/// Stores request-shaped `blocks` under `parent` (after `after` when given); returns the new
/// top-level ids.
fn append_blocks(
    s: &mut Store,
    parent: &str,
    blocks: &[Value],
    after: Option<Option<String>>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for b in blocks {
        let kind = b
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                b.as_object()
                    .and_then(|o| o.keys().find(|k| *k != "object").cloned())
                    .unwrap_or_else(|| "paragraph".into())
            });
        let id = s.id();
        let mut body = b.get(&kind).cloned().unwrap_or(json!({}));
        let nested = body.as_object_mut().and_then(|o| o.remove("children"));
        if let Some(items) = body.get("rich_text").cloned() {
            body["rich_text"] = normalize_rich_text(&items);
        }
        let nested: Vec<Value> = nested
            .and_then(|n| n.as_array().cloned())
            .unwrap_or_default();
        let block = json!({"object": "block", "id": id, "parent": {"type": "block_id", "block_id": parent},
            "created_time": now(), "last_edited_time": now(), "has_children": !nested.is_empty(),
            "in_trash": false, "type": kind, kind.clone(): body});
        s.blocks.insert(id.clone(), block);
        if !nested.is_empty() {
            append_blocks(s, &id, &nested, None);
        }
        ids.push(id);
    }
    let list = s.children.entry(parent.to_owned()).or_default();
    let at = match after {
        Some(None) => 0,
        Some(Some(a)) => list
            .iter()
            .position(|x| *x == a)
            .map(|i| i + 1)
            .unwrap_or(list.len()),
        None => list.len(),
    };
    for (offset, id) in ids.iter().enumerate() {
        list.insert(at + offset, id.clone());
    }
    if let Some(parent_block) = s.blocks.get_mut(parent) {
        parent_block["has_children"] = Value::Bool(true);
    }
    ids
}

async fn handle(
    State(store): State<Arc<Mutex<Store>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    if uri.path().starts_with("/v1/oauth/") {
        return respond(&store, &method, &uri, &headers, &body);
    }
    let latency = store.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = respond(&store, &method, &uri, &headers, &body);
    let service = started.elapsed();
    let served = Served {
        path: uri.path().to_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        service,
    };
    store.lock().served.push(served);
    response
}

fn respond(
    store: &Arc<Mutex<Store>>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if path.starts_with("/v1/oauth/") {
        return oauth(store, method, &path, &query, headers, body);
    }
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return error(400, "invalid_json", "Error parsing JSON body."),
        }
    };
    let mut s = store.lock();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    s.calls.push((method.to_string(), path.clone()));
    s.authorizations.push(auth.clone());
    let version = headers
        .get("notion-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.versions.push(version.clone());
    if !json_body.is_null() {
        s.bodies.push((path.clone(), json_body.clone()));
    }
    let token = auth.strip_prefix("Bearer ").unwrap_or("");
    if s.tokens.get(token) != Some(&TokenState::Valid) {
        return error(401, "unauthorized", "API token is invalid.");
    }
    let Some(version) = version else {
        return error(
            400,
            "missing_version",
            "Notion-Version header failed validation.",
        );
    };
    if !VERSIONS.contains(&version.as_str()) {
        return error(
            400,
            "validation_error",
            &format!(
                "Notion-Version header failed validation: `{version}` is not one of {}.",
                VERSIONS.join(", ")
            ),
        );
    }
    if let Some(limit) = s.rate_limit {
        let now = Instant::now();
        let (tokens, at) = s.buckets.get(token).copied().unwrap_or((limit.burst, now));
        let tokens =
            (tokens + now.duration_since(at).as_secs_f64() * limit.per_second).min(limit.burst);
        if tokens < 1.0 {
            s.buckets.insert(token.to_owned(), (tokens, now));
            s.rate_limited += 1;
            let wait = ((1.0 - tokens) / limit.per_second).ceil().max(1.0) as u64;
            return rate_limited(wait);
        }
        s.buckets.insert(token.to_owned(), (tokens - 1.0, now));
    }
    let m = method.as_str();
    if let Some(at) = s
        .path_faults
        .iter()
        .position(|(fm, end, _, _)| fm == m && path.ends_with(end.as_str()))
    {
        if s.path_faults[at].2 == 0 {
            let (_, _, _, fault) = s.path_faults.remove(at);
            return fault_response(fault);
        }
        s.path_faults[at].2 -= 1;
    }
    if let Some(fault) = s.faults.pop_front() {
        return fault_response(fault);
    }
    if body.len() > MAX_BODY_BYTES {
        return error(
            400,
            "validation_error",
            &format!(
                "Request body too large: {} bytes, more than the {MAX_BODY_BYTES} bytes allowed.",
                body.len()
            ),
        );
    }
    if let Err(message) = check_version_fields(&json_body, &version) {
        return error(400, "validation_error", &message);
    }
    if let Err(message) = check_rich_text(&json_body, "body") {
        return error(
            400,
            "validation_error",
            &format!("body failed validation: {message}"),
        );
    }
    route(&mut s, m, &path, &query, &json_body)
}

/// A 429 as Notion sends it.
fn rate_limited(wait: u64) -> Response {
    let mut r = error(
        429,
        "rate_limited",
        "You have been rate limited. Please try again in a few minutes.",
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        wait.to_string().parse().expect("header"),
    );
    r
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited(secs) => rate_limited(secs),
        Fault::Status(status, code) => error(status, code, "injected failure"),
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"object\": \"page\", \"id\": ",
        )
            .into_response(),
    }
}

/// Refuses what `version` does not know: `position` before 2026-03-11, `after` and `archived`
/// from it on.
fn check_version_fields(body: &Value, version: &str) -> Result<(), String> {
    let Some(obj) = body.as_object() else {
        return Ok(());
    };
    let gone: &[&str] = if version == "2026-03-11" {
        &["after", "archived"]
    } else {
        &["position"]
    };
    match gone.iter().find(|k| obj.contains_key(**k)) {
        Some(key) => Err(format!(
            "body failed validation: body.{key} should be not present, instead was `{}`.",
            obj[*key]
        )),
        None => Ok(()),
    }
}

/// The UTF-16 length Notion counts.
fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Checks every rich-text array in `value` (under `rich_text`, `title`, `caption`,
/// `description`, and table `cells`): at most 100 items, each `text.content` at most 2,000 UTF-16
/// units and its link at most 2,000 characters.
fn check_rich_text(value: &Value, path: &str) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if matches!(
                    key.as_str(),
                    "rich_text" | "title" | "caption" | "description"
                ) && let Some(items) = v.as_array()
                {
                    check_items(items, &here)?;
                } else if key == "cells"
                    && let Some(cells) = v.as_array()
                {
                    for (i, cell) in cells.iter().enumerate() {
                        if let Some(items) = cell.as_array() {
                            check_items(items, &format!("{here}[{i}]"))?;
                        }
                    }
                } else {
                    check_rich_text(v, &here)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_rich_text(v, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_items(items: &[Value], path: &str) -> Result<(), String> {
    if items.len() > MAX_ARRAY {
        return Err(format!(
            "{path}.length should be ≤ `{MAX_ARRAY}`, instead was `{}`.",
            items.len()
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if let Some(text) = item.pointer("/text/content").and_then(Value::as_str)
            && units(text) > MAX_TEXT_UNITS
        {
            return Err(format!(
                "{path}[{i}].text.content.length should be ≤ `{MAX_TEXT_UNITS}`, instead was `{}`.",
                units(text)
            ));
        }
        if let Some(url) = item.pointer("/text/link/url").and_then(Value::as_str)
            && url.chars().count() > MAX_URL_CHARS
        {
            return Err(format!(
                "{path}[{i}].text.link.url.length should be ≤ `{MAX_URL_CHARS}`, instead was `{}`.",
                url.chars().count()
            ));
        }
    }
    Ok(())
}

/// Checks a request's `children`: at most 100 per array, children only down to two levels below
/// the top-level blocks, at most 1,000 blocks in all.
fn check_children(children: &[Value]) -> Result<(), String> {
    fn walk(blocks: &[Value], path: &str, level: usize, total: &mut usize) -> Result<(), String> {
        if blocks.len() > MAX_ARRAY {
            return Err(format!(
                "{path}.length should be ≤ `{MAX_ARRAY}`, instead was `{}`.",
                blocks.len()
            ));
        }
        for (i, b) in blocks.iter().enumerate() {
            *total += 1;
            let kind = b["type"].as_str().unwrap_or("");
            if let Some(nested) = b.get(kind).and_then(|x| x.get("children")) {
                let here = format!("{path}[{i}].{kind}.children");
                if level >= MAX_NESTING {
                    return Err(format!(
                        "{here} should be not present, instead was `{nested}`."
                    ));
                }
                walk(
                    nested.as_array().map_or(&[][..], Vec::as_slice),
                    &here,
                    level + 1,
                    total,
                )?;
            }
        }
        Ok(())
    }
    let mut total = 0;
    walk(children, "body.children", 0, &mut total)?;
    if total > MAX_BLOCKS {
        return Err(format!(
            "body.children holds {total} blocks in all; a request may hold at most {MAX_BLOCKS}."
        ));
    }
    Ok(())
}

/// The API's answer to one call that passed the checks.
fn route(
    s: &mut Store,
    m: &str,
    path: &str,
    query: &HashMap<String, String>,
    json_body: &Value,
) -> Response {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let size = json_body
        .get("page_size")
        .and_then(Value::as_u64)
        .or_else(|| query.get("page_size").and_then(|p| p.parse().ok()));
    let cursor = json_body
        .get("start_cursor")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| query.get("start_cursor").cloned());
    match (m, segments.as_slice()) {
        ("POST", ["v1", "search"]) => {
            let q = json_body
                .get("query")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            let only = json_body.pointer("/filter/value").and_then(Value::as_str);
            let mut items: Vec<Value> = Vec::new();
            if only != Some("data_source") {
                items.extend(s.pages.values().filter(|p| p["in_trash"] != true).cloned());
            }
            if only != Some("page") {
                items.extend(
                    s.data_sources
                        .values()
                        .filter(|p| p["in_trash"] != true)
                        .cloned(),
                );
            }
            items.retain(|i| title_text(i).to_lowercase().contains(&q));
            items.sort_by_key(|i| i["id"].as_str().unwrap_or("").to_owned());
            ok(paginate(
                items,
                cursor.as_deref(),
                size,
                "page_or_data_source",
            ))
        }
        ("POST", ["v1", "pages"]) => {
            let parent = json_body.get("parent").cloned().unwrap_or(Value::Null);
            let parent = if let Some(p) = parent.get("page_id").and_then(Value::as_str) {
                if !s.pages.contains_key(p) {
                    return error(
                        404,
                        "object_not_found",
                        &format!("Could not find page with ID: {p}."),
                    );
                }
                json!({"type": "page_id", "page_id": p})
            } else if let Some(ds) = parent.get("data_source_id").and_then(Value::as_str) {
                if !s.data_sources.contains_key(ds) {
                    return error(
                        404,
                        "object_not_found",
                        &format!("Could not find data source with ID: {ds}."),
                    );
                }
                json!({"type": "data_source_id", "data_source_id": ds})
            } else {
                return error(400, "validation_error", "body.parent should be defined.");
            };
            let id = s.id();
            let props = json_body
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut page = json!({"object": "page", "id": id, "created_time": now(), "last_edited_time": now(),
                "parent": parent, "in_trash": false,
                "icon": json_body.get("icon").cloned().unwrap_or(Value::Null),
                "cover": json_body.get("cover").cloned().unwrap_or(Value::Null),
                "url": format!("https://www.notion.so/{}", id.replace('-', "")),
                "properties": normalize_properties(&props)});
            if title_text(&page).is_empty() && page["properties"].get("title").is_none() {
                page["properties"]["title"] = json!({"id": "title", "type": "title", "title": []});
            }
            if let Some(children) = json_body.get("children").and_then(Value::as_array) {
                if let Err(message) = check_children(children) {
                    return error(
                        400,
                        "validation_error",
                        &format!("body failed validation: {message}"),
                    );
                }
                let children = children.clone();
                append_blocks(s, &id, &children, None);
            }
            s.pages.insert(id, page.clone());
            ok(page)
        }
        ("GET", ["v1", "pages", id]) => match s.pages.get(*id) {
            Some(p) => ok(p.clone()),
            None => error(
                404,
                "object_not_found",
                &format!("Could not find page with ID: {id}."),
            ),
        },
        ("GET", ["v1", "pages", id, "properties", pid]) => {
            let Some(p) = s.pages.get(*id) else {
                return error(404, "object_not_found", "Could not find page.");
            };
            match p["properties"]
                .as_object()
                .and_then(|props| props.values().find(|v| v["id"] == *pid))
            {
                Some(prop) => {
                    let kind = prop["type"].as_str().unwrap_or("");
                    if kind == "title" || kind == "rich_text" {
                        let items: Vec<Value> = prop[kind]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| json!({"object": "property_item", "type": kind, kind: t}))
                            .collect();
                        ok(paginate(items, cursor.as_deref(), size, "property_item"))
                    } else {
                        ok(
                            json!({"object": "property_item", "id": pid, "type": kind, kind: prop[kind].clone()}),
                        )
                    }
                }
                None => error(404, "object_not_found", "Could not find property."),
            }
        }
        ("PATCH", ["v1", "pages", id]) => {
            let id = (*id).to_owned();
            if !s.pages.contains_key(&id) {
                return error(
                    404,
                    "object_not_found",
                    &format!("Could not find page with ID: {id}."),
                );
            }
            if json_body.get("erase_content") == Some(&Value::Bool(true)) {
                s.children.remove(&id);
            }
            let page = s.pages.get_mut(&id).expect("checked");
            if let Some(t) = json_body.get("in_trash").and_then(Value::as_bool) {
                page["in_trash"] = Value::Bool(t);
            }
            for key in ["icon", "cover"] {
                if let Some(v) = json_body.get(key) {
                    page[key] = v.clone();
                }
            }
            if let Some(props) = json_body.get("properties").and_then(Value::as_object) {
                let normalized = normalize_properties(props);
                for (k, v) in normalized.as_object().into_iter().flatten() {
                    page["properties"][k] = v.clone();
                }
            }
            ok(page.clone())
        }
        ("POST", ["v1", "pages", id, "move"]) => {
            let id = (*id).to_owned();
            let parent = json_body.get("parent").cloned().unwrap_or(Value::Null);
            let target_ok = parent
                .get("page_id")
                .and_then(Value::as_str)
                .is_some_and(|p| s.pages.contains_key(p))
                || parent
                    .get("data_source_id")
                    .and_then(Value::as_str)
                    .is_some_and(|d| s.data_sources.contains_key(d));
            if !target_ok {
                return error(404, "object_not_found", "Could not find the new parent.");
            }
            match s.pages.get_mut(&id) {
                Some(page) => {
                    page["parent"] = parent;
                    ok(page.clone())
                }
                None => error(404, "object_not_found", "Could not find page."),
            }
        }
        ("POST", ["v1", "databases"]) => {
            let Some(parent) = json_body
                .pointer("/parent/page_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                return error(
                    400,
                    "validation_error",
                    "body.parent.page_id should be defined.",
                );
            };
            if !s.pages.contains_key(&parent) {
                return error(404, "object_not_found", "Could not find the parent page.");
            }
            let db = s.id();
            let ds = s.id();
            let title = normalize_rich_text(json_body.get("title").unwrap_or(&Value::Null));
            let props = json_body
                .pointer("/initial_data_source/properties")
                .cloned()
                .unwrap_or(json!({}));
            let mut schema = Map::new();
            for (name, p) in props.as_object().into_iter().flatten() {
                let kind = p
                    .as_object()
                    .and_then(|o| o.keys().next().cloned())
                    .unwrap_or_default();
                schema.insert(name.clone(), json!({"id": format!("p-{}", name.to_lowercase()), "name": name, "type": kind, kind.clone(): p[&kind]}));
            }
            s.data_sources.insert(ds.clone(), json!({"object": "data_source", "id": ds, "title": title,
                "parent": {"type": "database_id", "database_id": db}, "in_trash": false, "properties": schema}));
            let database = json!({"object": "database", "id": db, "title": title,
                "description": normalize_rich_text(json_body.get("description").unwrap_or(&Value::Null)),
                "parent": {"type": "page_id", "page_id": parent}, "in_trash": false,
                "is_inline": json_body.get("is_inline").cloned().unwrap_or(Value::Bool(false)),
                "data_sources": [{"id": ds, "name": title_text(&json!({"title": title}))}]});
            s.databases.insert(db, database.clone());
            ok(database)
        }
        ("GET", ["v1", "databases", id]) => match s.databases.get(*id) {
            Some(d) => ok(d.clone()),
            None => error(
                404,
                "object_not_found",
                &format!("Could not find database with ID: {id}."),
            ),
        },
        ("PATCH", ["v1", "databases", id]) => match s.databases.get_mut(*id) {
            Some(d) => {
                for (k, v) in json_body.as_object().into_iter().flatten() {
                    d[k] = if k == "title" || k == "description" {
                        normalize_rich_text(v)
                    } else {
                        v.clone()
                    };
                }
                ok(d.clone())
            }
            None => error(404, "object_not_found", "Could not find database."),
        },
        ("POST", ["v1", "data_sources"]) => {
            let Some(db) = json_body
                .pointer("/parent/database_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                return error(
                    400,
                    "validation_error",
                    "body.parent.database_id should be defined.",
                );
            };
            if !s.databases.contains_key(&db) {
                return error(404, "object_not_found", "Could not find database.");
            }
            let ds = s.id();
            let title = normalize_rich_text(json_body.get("title").unwrap_or(&Value::Null));
            let source = json!({"object": "data_source", "id": ds, "title": title,
                "parent": {"type": "database_id", "database_id": db}, "in_trash": false,
                "properties": json_body.get("properties").cloned().unwrap_or(json!({}))});
            s.data_sources.insert(ds.clone(), source.clone());
            if let Some(list) = s
                .databases
                .get_mut(&db)
                .and_then(|d| d["data_sources"].as_array_mut())
            {
                list.push(json!({"id": ds, "name": title_text(&source)}));
            }
            ok(source)
        }
        ("GET", ["v1", "data_sources", id]) => match s.data_sources.get(*id) {
            Some(d) => ok(d.clone()),
            None => error(
                404,
                "object_not_found",
                &format!("Could not find data source with ID: {id}."),
            ),
        },
        ("PATCH", ["v1", "data_sources", id]) => match s.data_sources.get_mut(*id) {
            Some(d) => {
                if let Some(t) = json_body.get("title") {
                    d["title"] = normalize_rich_text(t);
                }
                for (k, v) in json_body
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if v.is_null() {
                        if let Some(p) = d["properties"].as_object_mut() {
                            p.remove(k);
                        }
                    } else {
                        d["properties"][k] = v.clone();
                    }
                }
                ok(d.clone())
            }
            None => error(404, "object_not_found", "Could not find data source."),
        },
        ("POST", ["v1", "data_sources", id, "query"]) => {
            if !s.data_sources.contains_key(*id) {
                return error(
                    404,
                    "object_not_found",
                    &format!("Could not find data source with ID: {id}."),
                );
            }
            let trash = json_body
                .get("in_trash")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut rows: Vec<Value> = s
                .pages
                .values()
                .filter(|p| {
                    p.pointer("/parent/data_source_id").and_then(Value::as_str) == Some(*id)
                })
                .filter(|p| p["in_trash"].as_bool().unwrap_or(false) == trash)
                .cloned()
                .collect();
            if let Some(equals) = json_body
                .pointer("/filter/select/equals")
                .and_then(Value::as_str)
            {
                let prop = json_body
                    .pointer("/filter/property")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                rows.retain(|r| r["properties"][prop]["select"]["name"] == equals);
            }
            rows.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_owned());
            ok(paginate(rows, cursor.as_deref(), size, "page"))
        }
        ("GET", ["v1", "data_sources", id, "templates"]) => {
            if !s.data_sources.contains_key(*id) {
                return error(404, "object_not_found", "Could not find data source.");
            }
            let list = s.templates.get(*id).cloned().unwrap_or_default();
            ok(json!({"templates": list, "has_more": false, "next_cursor": null}))
        }
        ("GET", ["v1", "blocks", id]) => match s.blocks.get(*id) {
            Some(b) => ok(b.clone()),
            None => error(
                404,
                "object_not_found",
                &format!("Could not find block with ID: {id}."),
            ),
        },
        ("GET", ["v1", "blocks", id, "children"]) => {
            if !s.blocks.contains_key(*id) && !s.pages.contains_key(*id) {
                return error(
                    404,
                    "object_not_found",
                    &format!("Could not find block with ID: {id}."),
                );
            }
            let items: Vec<Value> = s
                .children
                .get(*id)
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|c| s.blocks.get(c).cloned())
                .filter(|b| b["in_trash"] != true)
                .collect();
            ok(paginate(items, cursor.as_deref(), size, "block"))
        }
        ("PATCH", ["v1", "blocks", id, "children"]) => {
            let id = (*id).to_owned();
            if !s.blocks.contains_key(&id) && !s.pages.contains_key(&id) {
                return error(
                    404,
                    "object_not_found",
                    &format!("Could not find block with ID: {id}."),
                );
            }
            let Some(children) = json_body.get("children").and_then(Value::as_array).cloned()
            else {
                return error(400, "validation_error", "body.children should be defined.");
            };
            if let Err(message) = check_children(&children) {
                return error(
                    400,
                    "validation_error",
                    &format!("body failed validation: {message}"),
                );
            }
            // `position` (2026-03-11) or `after` (2025-09-03; the version check refused the
            // other one already).
            let after = match (
                json_body.pointer("/position/type").and_then(Value::as_str),
                json_body.get("after").and_then(Value::as_str),
            ) {
                (Some("start"), _) => Some(None),
                (Some("after_block"), _) => {
                    match json_body
                        .pointer("/position/after_block/id")
                        .and_then(Value::as_str)
                    {
                        Some(a) => Some(Some(a.to_owned())),
                        None => {
                            return error(
                                400,
                                "validation_error",
                                "body failed validation: body.position.after_block.id should be defined, instead was `undefined`.",
                            );
                        }
                    }
                }
                (Some("end") | None, None) => None,
                (None, Some(a)) => Some(Some(a.to_owned())),
                (Some(other), _) => {
                    return error(
                        400,
                        "validation_error",
                        &format!(
                            "body failed validation: body.position.type should be one of \"after_block\", \"start\", \"end\", instead was `{other}`."
                        ),
                    );
                }
            };
            if let Some(Some(anchor)) = &after
                && !s.children.get(&id).is_some_and(|c| c.contains(anchor))
            {
                return error(
                    400,
                    "validation_error",
                    &format!("Block {anchor} is not a child of {id}."),
                );
            }
            let ids = append_blocks(s, &id, &children, after);
            let results: Vec<Value> = ids
                .iter()
                .filter_map(|i| s.blocks.get(i).cloned())
                .collect();
            ok(
                json!({"object": "list", "results": results, "has_more": false, "next_cursor": null, "type": "block", "block": {}}),
            )
        }
        ("PATCH", ["v1", "blocks", id]) => match s.blocks.get_mut(*id) {
            Some(b) => {
                for (k, v) in json_body.as_object().into_iter().flatten() {
                    if k == "in_trash" {
                        b["in_trash"] = v.clone();
                    } else {
                        let mut v = v.clone();
                        if let Some(items) = v.get("rich_text").cloned() {
                            v["rich_text"] = normalize_rich_text(&items);
                        }
                        for (field, value) in v.as_object().into_iter().flatten() {
                            b[k][field] = value.clone();
                        }
                    }
                }
                ok(b.clone())
            }
            None => error(404, "object_not_found", "Could not find block."),
        },
        ("DELETE", ["v1", "blocks", id]) => match s.blocks.get_mut(*id) {
            Some(b) => {
                b["in_trash"] = Value::Bool(true);
                ok(b.clone())
            }
            None => error(404, "object_not_found", "Could not find block."),
        },
        ("GET", ["v1", "comments"]) => {
            let Some(block) = query.get("block_id") else {
                return error(400, "validation_error", "block_id should be defined.");
            };
            if !s.blocks.contains_key(block) && !s.pages.contains_key(block) {
                return error(404, "object_not_found", "Could not find block.");
            }
            let items: Vec<Value> = s
                .comments
                .iter()
                .filter(|c| {
                    c.pointer("/parent/page_id").and_then(Value::as_str) == Some(block.as_str())
                })
                .cloned()
                .collect();
            ok(paginate(items, cursor.as_deref(), size, "comment"))
        }
        ("POST", ["v1", "comments"]) => {
            let (parent, discussion) = if let Some(page) =
                json_body.pointer("/parent/page_id").and_then(Value::as_str)
            {
                if !s.pages.contains_key(page) {
                    return error(404, "object_not_found", "Could not find page.");
                }
                (page.to_owned(), format!("disc-{page}"))
            } else if let Some(d) = json_body.get("discussion_id").and_then(Value::as_str) {
                match s.comments.iter().find(|c| c["discussion_id"] == d) {
                    Some(c) => (
                        c.pointer("/parent/page_id")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        d.to_owned(),
                    ),
                    None => return error(404, "object_not_found", "Could not find discussion."),
                }
            } else {
                return error(
                    400,
                    "validation_error",
                    "body.parent or body.discussion_id should be defined.",
                );
            };
            let id = s.id();
            let comment = json!({"object": "comment", "id": id, "parent": {"type": "page_id", "page_id": parent},
                "discussion_id": discussion, "created_time": now(), "created_by": {"object": "user", "id": "u-bot"},
                "rich_text": normalize_rich_text(json_body.get("rich_text").unwrap_or(&Value::Null))});
            s.comments.push(comment.clone());
            ok(comment)
        }
        ("GET", ["v1", "users"]) => ok(paginate(s.users.clone(), cursor.as_deref(), size, "user")),
        ("GET", ["v1", "users", "me"]) => ok(s.bot.clone()),
        ("GET", ["v1", "users", id]) => match s.users.iter().find(|u| u["id"] == *id) {
            Some(u) => ok(u.clone()),
            None => error(404, "object_not_found", "Could not find user."),
        },
        _ => error(400, "invalid_request_url", "Invalid request URL."),
    }
}

/// An OAuth error as Notion answers it: in its API error shape.
fn oauth_error(status: StatusCode, code: &str) -> Response {
    let message = match code {
        "invalid_grant" => "Invalid code: this code has been revoked.",
        "unauthorized" => "API token is invalid.",
        "missing_version" => {
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
        }
        "invalid_request" => "Unsupported request.",
        "unsupported_grant_type" => "Unsupported grant type.",
        _ => "Request failed.",
    };
    error(status.as_u16(), code, message)
}

/// Whether the request carries HTTP Basic credentials of a registered client.
fn basic_client(s: &Store, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .is_some_and(|(id, secret)| s.clients.get(id).is_some_and(|x| x == secret))
}

fn oauth(
    store: &Arc<Mutex<Store>>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut s = store.lock();
    if method == Method::POST {
        let version = headers
            .get("notion-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        s.oauth_versions.push((path.to_owned(), version.clone()));
        if path == "/v1/oauth/token" {
            s.token_calls += 1;
        }
        if !basic_client(&s, headers) {
            return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
        match version {
            None => return oauth_error(StatusCode::BAD_REQUEST, "missing_version"),
            Some(v) if !VERSIONS.contains(&v.as_str()) => {
                return error(
                    400,
                    "validation_error",
                    &format!(
                        "Notion-Version header failed validation: `{v}` is not one of {}.",
                        VERSIONS.join(", ")
                    ),
                );
            }
            Some(_) => {}
        }
    }
    match (method.as_str(), path) {
        ("GET", "/v1/oauth/authorize") => {
            let (Some(redirect), Some(client)) =
                (query.get("redirect_uri"), query.get("client_id"))
            else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            if !s.clients.contains_key(client)
                || query.get("response_type").map(String::as_str) != Some("code")
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            }
            let code = format!("code-{}", s.id());
            s.codes.insert(code.clone(), redirect.clone());
            let mut location = url::Url::parse(redirect).expect("redirect_uri is a URL");
            location.query_pairs_mut().append_pair("code", &code);
            if let Some(state) = query.get("state") {
                location.query_pairs_mut().append_pair("state", state);
            }
            (
                StatusCode::FOUND,
                [(header::LOCATION, location.to_string())],
            )
                .into_response()
        }
        ("POST", "/v1/oauth/token") => {
            let Ok(body) = serde_json::from_slice::<Value>(body) else {
                return error(400, "invalid_json", "Error parsing JSON body.");
            };
            match body.get("grant_type").and_then(Value::as_str) {
                Some("authorization_code") => {
                    let code = body.get("code").and_then(Value::as_str).unwrap_or("");
                    let Some(redirect) = s.codes.remove(code) else {
                        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                    };
                    if body.get("redirect_uri").and_then(Value::as_str) != Some(redirect.as_str()) {
                        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                    }
                }
                Some("refresh_token") => {
                    let rt = body
                        .get("refresh_token")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if s.refresh_tokens.remove(rt).is_none() {
                        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                    }
                }
                _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            }
            let n = s.id();
            let access = format!("secret_access_{n}");
            let refresh = format!("nrt_refresh_{n}");
            s.tokens.insert(access.clone(), TokenState::Valid);
            s.refresh_tokens.insert(refresh.clone(), access.clone());
            let owner = s.users.first().cloned().unwrap_or(Value::Null);
            let bot_id = s.install.clone().unwrap_or_else(|| "u-bot".to_owned());
            axum::Json(json!({"access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "bot_id": bot_id, "workspace_id": "ws-1", "workspace_name": "Acme", "workspace_icon": null,
                "owner": {"type": "user", "user": owner}, "duplicated_template_id": null, "request_id": "req-fake"}))
                .into_response()
        }
        ("POST", "/v1/oauth/revoke") => {
            if let Some(status) = s.revoke_fault {
                let code = if status >= 500 {
                    "internal_server_error"
                } else {
                    "invalid_request"
                };
                return error(status, code, "Revocation failed.");
            }
            let Ok(body) = serde_json::from_slice::<Value>(body) else {
                return error(400, "invalid_json", "Error parsing JSON body.");
            };
            let Some(token) = body.get("token").and_then(Value::as_str).map(str::to_owned) else {
                return error(
                    400,
                    "validation_error",
                    "body failed validation: body.token should be defined, instead was `undefined`.",
                );
            };
            if s.tokens.get(&token) != Some(&TokenState::Valid) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            s.tokens.insert(token.clone(), TokenState::Revoked);
            s.refresh_tokens.retain(|_, access| *access != token);
            s.revoked.push(token);
            axum::Json(json!({"request_id": "req-fake"})).into_response()
        }
        _ => error(400, "invalid_request_url", "Invalid request URL."),
    }
}
