//! A wire-faithful fake of the Google Calendar v3 API subset used by the Calendar tools, and of
//! Google's OAuth endpoints, on 127.0.0.1:0, stopped when dropped.
//!
//! API (under `/calendar/v3`): the `primary` alias, a time-window filter (overlap of [start,end)
//! with [timeMin,timeMax)), `q` substring search, `singleEvents=true` expansion of
//! `RRULE:FREQ=DAILY|WEEKLY;COUNT=n` (instance ids `<id>_<yyyymmddThhmmssZ>`; repeated on the wall
//! clock of the event's `timeZone`, so daylight-saving changes keep the hour), `orderBy=startTime`
//! without `singleEvents` → 400, deleted events → 410, quickAdd (the text becomes an all-day event
//! on 2026-11-25 titled with it), freeBusy, colors; Google's error envelope.
//!
//! Strict like Google, by default: a repeating event whose timed start or end has no `timeZone`
//! is refused (400 "Missing time zone definition for start time.") on insert, update and patch;
//! more than 5 override reminders, or reminder minutes outside 0..=40320, are refused (the events
//! reference's limits; Google's exact wording for these is not documented, so the fake answers
//! with its generic 400 `invalid` envelope quoting the reference); `calendars.clear` clears only
//! the primary calendar (the reference: "Clears a primary calendar"); a free/busy window that is
//! empty (400 `timeRangeEmpty`) or longer than 90 days (400 `timeRangeTooLong`) is refused.
//! Faults on demand include Google's usage-limit errors (403 `rateLimitExceeded`,
//! `userRateLimitExceeded`, `dailyLimitExceeded`, `quotaExceeded` in the `usageLimits` domain).
//!
//! OAuth: `GET /o/oauth2/v2/auth` redirects straight back with `code`, `state` and `scope`;
//! `POST /token` (form body) handles `authorization_code` (PKCE S256 checked when a challenge was
//! sent) and `refresh_token`; a `refresh_token` is returned on the account's first grant to a
//! client and whenever `prompt=consent` was asked; `id_token` is an UNSIGNED JWT (`alg: none`)
//! carrying `sub`, and `email` only when the `email` scope was granted. `POST /revoke` (form
//! `token`) ends a refresh token with every access token of its grant, or one access token; an
//! unknown token is 400 `invalid_token`.
//!
//! Strict like Google, the person's choices and the app's status count: on the granular consent
//! screen the person may untick Calendar ([`FakeGoogle::grant_only`]), and the token response's
//! `scope` then lacks it; an app in Testing ([`FakeGoogle::set_testing`]) issues refresh tokens
//! that Google refuses 7 days after they were issued (`invalid_grant`, "Token has been expired or
//! revoked."), measured on the fake's clock ([`FakeGoogle::advance`]).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration as ChronoDuration, FixedOffset};
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::Digest;

pub use crate::fake_notion::TokenState;

/// The primary calendar's id.
pub const PRIMARY: &str = "me@example.com";

/// A canned answer for the next API call.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 with this `Retry-After` (seconds).
    RateLimited(u64),
    /// This status with Google's `usageLimits` error of this reason (`rateLimitExceeded`,
    /// `userRateLimitExceeded`, `dailyLimitExceeded`, `quotaExceeded`) and its real message.
    UsageLimit(u16, &'static str),
    /// This status with a Google error body of this reason.
    Status(u16, &'static str),
    /// 200 with a body that is not JSON.
    Malformed,
}

#[derive(Default)]
struct Store {
    tokens: HashMap<String, TokenState>,
    calendars: Vec<Value>,
    events: HashMap<String, Vec<Value>>,
    next_id: u64,
    faults: VecDeque<Fault>,
    calls: Vec<(String, String)>,
    authorizations: Vec<String>,
    bodies: Vec<(String, Value)>,
    clients: HashMap<String, String>,
    codes: HashMap<String, Code>,
    /// Live refresh tokens: when each was issued (fake clock, Unix seconds) and its account.
    refresh_tokens: HashMap<String, (i64, String)>,
    /// Access tokens and the refresh token of their grant, when they have one.
    access_grants: HashMap<String, Option<String>>,
    /// (client, account) pairs that granted access before.
    granted: HashSet<(String, String)>,
    /// When set, the person grants only these scopes (unticking the rest on Google's page).
    granted_scope: Option<String>,
    /// The account (`sub`, `email`) that signs in on the consent screen.
    account: Option<(String, String)>,
    /// Whether the app is in Testing (refresh tokens die after 7 days).
    testing: bool,
    /// How far the fake's clock is ahead of the real one, in seconds.
    clock_offset: i64,
    /// The tokens revoked at `/revoke`, in order.
    revoked: Vec<String>,
    /// When set, `/revoke` answers this status without revoking.
    revoke_fault: Option<u16>,
}

/// An authorization code waiting for its exchange.
struct Code {
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    consent: bool,
    sub: String,
    email: String,
}

/// The full name Google gives the `email` scope in its answers.
const USERINFO_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";

/// How long Google lets a refresh token of an app in Testing live.
pub const TESTING_REFRESH_LIFETIME_SECS: i64 = 7 * 86_400;

impl Store {
    fn now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        real + self.clock_offset
    }
}

/// The running fake.
pub struct FakeGoogle {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGoogle {
    /// From now on the person grants only `scope` on the consent screen, whatever was asked.
    pub fn grant_only(&self, scope: &str) {
        self.store.lock().granted_scope = Some(scope.to_owned());
    }

    /// From now on the person grants every scope asked for.
    pub fn grant_all(&self) {
        self.store.lock().granted_scope = None;
    }

    /// From now on the account `sub` with `email` signs in on the consent screen.
    pub fn set_account(&self, sub: &str, email: &str) {
        self.store.lock().account = Some((sub.to_owned(), email.to_owned()));
    }

    /// Puts the app in Testing (`true`: refresh tokens die 7 days after they were issued) or
    /// publishes it.
    pub fn set_testing(&self, testing: bool) {
        self.store.lock().testing = testing;
    }

    /// Moves the fake's clock `secs` seconds ahead.
    pub fn advance(&self, secs: i64) {
        self.store.lock().clock_offset += secs;
    }

    /// The OAuth revocation URL.
    pub fn revoke_url(&self) -> String {
        format!("http://{}/revoke", self.addr)
    }

    /// The tokens revoked at `/revoke`, in order.
    pub fn revoked(&self) -> Vec<String> {
        self.store.lock().revoked.clone()
    }

    /// Makes `/revoke` answer `status` without revoking, or work again (`None`).
    pub fn fail_revocations(&self, status: Option<u16>) {
        self.store.lock().revoke_fault = status;
    }

    /// The refresh tokens Google would still accept.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let s = self.store.lock();
        let now = s.now();
        let testing = s.testing;
        s.refresh_tokens
            .iter()
            .filter(|(_, (issued, _))| !testing || now - issued < TESTING_REFRESH_LIFETIME_SECS)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: u16, reason: &str, message: &str) -> Response {
    error_in("global", status, reason, message)
}

/// Google's error envelope with the error's domain.
fn error_in(domain: &str, status: u16, reason: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(json!({"error": {"code": status, "message": message,
        "errors": [{"domain": domain, "reason": reason, "message": message}]}})),
    )
        .into_response()
}

/// The message Google sends with a usage-limit reason.
fn usage_message(reason: &str) -> &'static str {
    match reason {
        "rateLimitExceeded" => "Rate Limit Exceeded",
        "userRateLimitExceeded" => "User Rate Limit Exceeded",
        "dailyLimitExceeded" => "Daily Limit Exceeded",
        "quotaExceeded" => "Calendar usage limits exceeded.",
        _ => "Usage limit exceeded",
    }
}

/// The longest free/busy window the fake answers.
const MAX_FREE_BUSY_DAYS: i64 = 90;

/// What Google refuses in an event it is to store: a repeating event without a time zone on a
/// timed start or end, more than 5 override reminders, reminder minutes outside 0..=40320.
fn check_event(e: &Value) -> Option<Response> {
    let repeats = e["recurrence"].as_array().is_some_and(|r| !r.is_empty());
    if repeats {
        for key in ["start", "end"] {
            let t = &e[key];
            let zoned = t["timeZone"].as_str().is_some_and(|z| !z.is_empty());
            if t.get("dateTime").is_some() && !zoned {
                return Some(error(
                    400,
                    "badRequest",
                    &format!("Missing time zone definition for {key} time."),
                ));
            }
        }
    }
    if let Some(overrides) = e.pointer("/reminders/overrides").and_then(Value::as_array) {
        if overrides.len() > 5 {
            return Some(error(
                400,
                "invalid",
                "The maximum number of override reminders is 5.",
            ));
        }
        if overrides.iter().any(|r| {
            r["minutes"]
                .as_i64()
                .is_none_or(|m| !(0..=40_320).contains(&m))
        }) {
            return Some(error(
                400,
                "invalid",
                "Reminder minutes must be between 0 and 40320 (4 weeks in minutes).",
            ));
        }
    }
    None
}

fn parse_time(v: &Value) -> Option<DateTime<FixedOffset>> {
    if let Some(t) = v.get("dateTime").and_then(Value::as_str) {
        // A local time is read in its `timeZone`, as Google does.
        return DateTime::parse_from_rfc3339(t).ok().or_else(|| {
            let tz: chrono_tz::Tz = v.get("timeZone")?.as_str()?.parse().ok()?;
            let local = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok()?;
            let at = chrono::TimeZone::from_local_datetime(&tz, &local).earliest()?;
            Some(at.fixed_offset())
        });
    }
    let d = v.get("date").and_then(Value::as_str)?;
    DateTime::parse_from_rfc3339(&format!("{d}T00:00:00Z")).ok()
}

/// Occurrences of a simple daily/weekly RRULE with COUNT.
fn expand(e: &Value) -> Vec<Value> {
    let rule = e["recurrence"].as_array().and_then(|r| {
        r.iter()
            .filter_map(Value::as_str)
            .find(|r| r.starts_with("RRULE:"))
    });
    let Some(rule) = rule else {
        return vec![e.clone()];
    };
    let parts: HashMap<&str, &str> = rule
        .trim_start_matches("RRULE:")
        .split(';')
        .filter_map(|p| p.split_once('='))
        .collect();
    let step = match parts.get("FREQ") {
        Some(&"DAILY") => ChronoDuration::days(1),
        Some(&"WEEKLY") => ChronoDuration::weeks(1),
        _ => return vec![e.clone()],
    };
    let count: i32 = parts.get("COUNT").and_then(|c| c.parse().ok()).unwrap_or(1);
    let (Some(start), Some(end)) = (parse_time(&e["start"]), parse_time(&e["end"])) else {
        return vec![e.clone()];
    };
    let zone: Option<chrono_tz::Tz> = e["start"]["timeZone"].as_str().and_then(|z| z.parse().ok());
    // The n-th occurrence: on the wall clock of the event's zone when it has one.
    let nth = |base: DateTime<FixedOffset>, i: i32| match zone {
        Some(tz) => {
            let local = base.with_timezone(&tz).naive_local() + step * i;
            chrono::TimeZone::from_local_datetime(&tz, &local)
                .earliest()
                .map_or(base + step * i, |t| t.fixed_offset())
        }
        None => base + step * i,
    };
    (0..count)
        .map(|i| {
            let s = nth(start, i);
            let en = nth(end, i);
            let mut inst = e.clone();
            let stamp = s.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ");
            inst["id"] = Value::from(format!("{}_{stamp}", e["id"].as_str().unwrap_or("")));
            inst["recurringEventId"] = e["id"].clone();
            inst["originalStartTime"] = json!({"dateTime": s.to_rfc3339()});
            inst["start"] = json!({"dateTime": s.to_rfc3339()});
            inst["end"] = json!({"dateTime": en.to_rfc3339()});
            if let Some(tz) = zone {
                inst["start"]["timeZone"] = Value::from(tz.name());
                inst["end"]["timeZone"] = Value::from(tz.name());
            }
            if let Some(o) = inst.as_object_mut() {
                o.remove("recurrence");
            }
            inst
        })
        .collect()
}

impl FakeGoogle {
    /// Starts the fake with the primary calendar and one secondary calendar `work@example.com`.
    pub async fn start() -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        {
            let mut s = store.lock();
            s.calendars.push(json!({"kind": "calendar#calendarListEntry", "id": PRIMARY, "summary": PRIMARY,
                "timeZone": "Europe/Berlin", "primary": true, "accessRole": "owner", "backgroundColor": "#9fe1e7", "etag": "\"1\""}));
            s.calendars.push(json!({"kind": "calendar#calendarListEntry", "id": "work@example.com", "summary": "Work",
                "timeZone": "Europe/Berlin", "accessRole": "owner", "etag": "\"2\""}));
        }
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&store));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Google");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, store, task }
    }

    /// The Calendar API base URL, as `[gcal_mcp].api_url`.
    pub fn api_url(&self) -> url::Url {
        format!("http://{}/calendar/v3", self.addr)
            .parse()
            .expect("url")
    }

    /// The OAuth authorize URL.
    pub fn authorize_url(&self) -> String {
        format!("http://{}/o/oauth2/v2/auth", self.addr)
    }

    /// The OAuth token URL.
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Marks `token` as valid, expired or revoked.
    pub fn set_token(&self, token: &str, state: TokenState) {
        self.store.lock().tokens.insert(token.to_owned(), state);
    }

    /// Registers an OAuth client.
    pub fn add_client(&self, id: &str, secret: &str) {
        self.store
            .lock()
            .clients
            .insert(id.to_owned(), secret.to_owned());
    }

    /// Adds a refresh token the token endpoint accepts (not rotated, like Google).
    pub fn add_refresh_token(&self, token: &str) {
        let mut s = self.store.lock();
        let now = s.now();
        s.refresh_tokens
            .insert(token.to_owned(), (now, "1000001".to_owned()));
    }

    /// Revokes a refresh token (the next refresh answers `invalid_grant`).
    pub fn revoke_refresh_token(&self, token: &str) {
        self.store.lock().refresh_tokens.remove(token);
    }

    /// Queues `fault` for the next API call.
    pub fn push_fault(&self, fault: Fault) {
        self.store.lock().faults.push_back(fault);
    }

    /// The number of API calls received.
    pub fn calls(&self) -> usize {
        self.store.lock().calls.len()
    }

    /// The API calls received, as (method, path with query).
    pub fn call_log(&self) -> Vec<(String, String)> {
        self.store.lock().calls.clone()
    }

    /// The `Authorization` headers received on API calls.
    pub fn authorizations(&self) -> Vec<String> {
        self.store.lock().authorizations.clone()
    }

    /// The JSON bodies received, as (path, body).
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.store.lock().bodies.clone()
    }

    /// Adds an event (Calendar resource fields) to `calendar`; returns its id.
    pub fn seed_event(&self, calendar: &str, mut event: Value) -> String {
        let mut s = self.store.lock();
        s.next_id += 1;
        let id = event["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("ev{:04}", s.next_id));
        event["id"] = Value::from(id.clone());
        event["kind"] = Value::from("calendar#event");
        event["etag"] = Value::from("\"3\"");
        event["iCalUID"] = Value::from(format!("{id}@google.com"));
        if event.get("status").is_none() {
            event["status"] = Value::from("confirmed");
        }
        event["organizer"] = json!({"email": PRIMARY, "self": true});
        s.events.entry(calendar.to_owned()).or_default().push(event);
        id
    }

    /// A stored event, by calendar and id.
    pub fn event(&self, calendar: &str, id: &str) -> Option<Value> {
        self.store
            .lock()
            .events
            .get(calendar)
            .and_then(|l| l.iter().find(|e| e["id"] == id).cloned())
    }

    /// The ids of the stored calendars.
    pub fn calendar_ids(&self) -> Vec<String> {
        self.store
            .lock()
            .calendars
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn handle(
    State(store): State<Arc<Mutex<Store>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if path == "/o/oauth2/v2/auth" || path == "/token" || path == "/revoke" {
        return oauth(&store, &path, &query, &headers, &body);
    }
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(400, "parseError", "Parse Error"),
        }
    };
    let mut s = store.lock();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    s.calls.push((method.to_string(), uri.to_string()));
    s.authorizations.push(auth.clone());
    if !json_body.is_null() {
        s.bodies.push((path.clone(), json_body.clone()));
    }
    if s.tokens.get(auth.strip_prefix("Bearer ").unwrap_or("")) != Some(&TokenState::Valid) {
        return error(401, "authError", "Invalid Credentials");
    }
    if let Some(fault) = s.faults.pop_front() {
        return match fault {
            Fault::UsageLimit(status, reason) => {
                error_in("usageLimits", status, reason, usage_message(reason))
            }
            Fault::RateLimited(secs) => {
                let mut r = error_in(
                    "usageLimits",
                    429,
                    "rateLimitExceeded",
                    "Rate Limit Exceeded",
                );
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header"),
                );
                r
            }
            Fault::Status(status, reason) => error(status, reason, "injected failure"),
            Fault::Malformed => (StatusCode::OK, "{\"kind\": ").into_response(),
        };
    }
    let Some(rest) = path.strip_prefix("/calendar/v3/") else {
        return error(404, "notFound", "Not Found");
    };
    // Path segments arrive percent-encoded; decode each.
    let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let cal_id = |raw: &str| {
        if raw == "primary" {
            PRIMARY.to_owned()
        } else {
            raw.to_owned()
        }
    };
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["users", "me", "calendarList"]) => {
            let items: Vec<Value> = s.calendars.clone();
            axum::Json(json!({"kind": "calendar#calendarList", "items": items})).into_response()
        }
        ("GET", ["users", "me", "calendarList", id]) => {
            let id = cal_id(id);
            match s.calendars.iter().find(|c| c["id"] == id.as_str()) {
                Some(c) => axum::Json(c.clone()).into_response(),
                None => error(404, "notFound", "Not Found"),
            }
        }
        ("GET", ["users", "me", "settings", "timezone"]) => {
            axum::Json(json!({"kind": "calendar#setting", "id": "timezone", "value": "Europe/Berlin"})).into_response()
        }
        ("GET", ["colors"]) => axum::Json(json!({"kind": "calendar#colors",
            "calendar": {"1": {"background": "#ac725e", "foreground": "#1d1d1d"}},
            "event": {"1": {"background": "#a4bdfc", "foreground": "#1d1d1d"}, "11": {"background": "#dc2127", "foreground": "#1d1d1d"}}})).into_response(),
        ("POST", ["calendars"]) => {
            let Some(summary) = json_body["summary"].as_str() else {
                return error(400, "required", "Missing title.");
            };
            s.next_id += 1;
            let id = format!("cal{}@group.calendar.google.com", s.next_id);
            let tz = json_body["timeZone"].as_str().unwrap_or("UTC");
            s.calendars.push(json!({"kind": "calendar#calendarListEntry", "id": id, "summary": summary, "timeZone": tz, "accessRole": "owner"}));
            axum::Json(json!({"kind": "calendar#calendar", "id": id, "summary": summary, "timeZone": tz})).into_response()
        }
        ("DELETE", ["calendars", id]) => {
            let id = cal_id(id);
            if id == PRIMARY {
                return error(400, "cannotDeletePrimaryCalendar", "Cannot delete primary calendar.");
            }
            let before = s.calendars.len();
            s.calendars.retain(|c| c["id"] != id.as_str());
            if s.calendars.len() == before {
                return error(404, "notFound", "Not Found");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["calendars", id, "clear"]) => {
            let id = cal_id(id);
            if id != PRIMARY {
                return error(400, "invalid", "Only a primary calendar can be cleared.");
            }
            s.events.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["calendars", id, "events"]) => {
            let id = cal_id(id);
            if !s.calendars.iter().any(|c| c["id"] == id.as_str()) {
                return error(404, "notFound", "Not Found");
            }
            let single = query.get("singleEvents").map(String::as_str) == Some("true");
            if query.get("orderBy").map(String::as_str) == Some("startTime") && !single {
                return error(400, "badRequest", "The requested ordering is not available for the particular query.");
            }
            let show_deleted = query.get("showDeleted").map(String::as_str) == Some("true");
            let min = query.get("timeMin").and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let max = query.get("timeMax").and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            if (query.contains_key("timeMin") && min.is_none()) || (query.contains_key("timeMax") && max.is_none()) {
                return error(400, "badRequest", "Bad Request");
            }
            let q = query.get("q").map(|q| q.to_lowercase());
            let mut items: Vec<Value> = s.events.get(&id).cloned().unwrap_or_default().into_iter()
                .filter(|e| show_deleted || e["status"] != "cancelled")
                .flat_map(|e| if single { expand(&e) } else { vec![e] })
                .filter(|e| {
                    let (Some(st), Some(en)) = (parse_time(&e["start"]), parse_time(&e["end"])) else { return true };
                    min.is_none_or(|m| en > m) && max.is_none_or(|m| st < m)
                })
                .filter(|e| q.as_ref().is_none_or(|q| {
                    let mut hay = format!("{} {} {}", e["summary"].as_str().unwrap_or(""), e["description"].as_str().unwrap_or(""), e["location"].as_str().unwrap_or(""));
                    for a in e["attendees"].as_array().into_iter().flatten() {
                        hay.push(' ');
                        hay.push_str(a["email"].as_str().unwrap_or(""));
                    }
                    hay.to_lowercase().contains(q.as_str())
                }))
                .collect();
            if query.get("orderBy").map(String::as_str) == Some("startTime") {
                items.sort_by_key(|e| parse_time(&e["start"]));
            }
            let max_results: usize = query.get("maxResults").and_then(|m| m.parse().ok()).unwrap_or(250);
            let start: usize = query.get("pageToken").and_then(|p| p.parse().ok()).unwrap_or(0);
            let total = items.len();
            let page: Vec<Value> = items.into_iter().skip(start).take(max_results).collect();
            let mut out = json!({"kind": "calendar#events", "summary": id, "timeZone": "Europe/Berlin", "items": page});
            if start + max_results < total {
                out["nextPageToken"] = Value::from((start + max_results).to_string());
            }
            axum::Json(out).into_response()
        }
        ("POST", ["calendars", id, "events", "quickAdd"]) => {
            let id = cal_id(id);
            let Some(text) = query.get("text").cloned() else {
                return error(400, "required", "Required parameter: text");
            };
            drop(s);
            let fake = FakeRef(store.clone());
            let event_id = fake.insert(&id, json!({"summary": text, "start": {"date": "2026-11-25"}, "end": {"date": "2026-11-26"}}));
            let s = store.lock();
            axum::Json(s.events[&id].iter().find(|e| e["id"] == event_id.as_str()).cloned().unwrap_or_default()).into_response()
        }
        ("POST", ["calendars", id, "events"]) => {
            let id = cal_id(id);
            if !s.calendars.iter().any(|c| c["id"] == id.as_str()) {
                return error(404, "notFound", "Not Found");
            }
            if parse_time(&json_body["start"]).is_none() || parse_time(&json_body["end"]).is_none() {
                return error(400, "required", "Missing start or end time.");
            }
            if let Some(refused) = check_event(&json_body) {
                return refused;
            }
            drop(s);
            let event_id = FakeRef(store.clone()).insert(&id, json_body.clone());
            let mut s = store.lock();
            let with_meet = query.get("conferenceDataVersion").map(String::as_str) == Some("1") && json_body.get("conferenceData").is_some();
            let e = s.events.get_mut(&id).and_then(|l| l.iter_mut().find(|e| e["id"] == event_id.as_str())).expect("inserted");
            if with_meet {
                e["hangoutLink"] = Value::from("https://meet.google.com/abc-defg-hij");
            }
            axum::Json(e.clone()).into_response()
        }
        ("GET", ["calendars", id, "events", ev, "instances"]) => {
            let id = cal_id(id);
            let min = query.get("timeMin").and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let max = query.get("timeMax").and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            match s.events.get(&id).and_then(|l| l.iter().find(|e| e["id"] == *ev)) {
                Some(e) => {
                    let items: Vec<Value> = expand(e)
                        .into_iter()
                        .filter(|i| {
                            let (Some(st), Some(en)) = (parse_time(&i["start"]), parse_time(&i["end"])) else { return true };
                            min.is_none_or(|m| en > m) && max.is_none_or(|m| st < m)
                        })
                        .collect();
                    axum::Json(json!({"kind": "calendar#events", "items": items})).into_response()
                }
                None => error(404, "notFound", "Not Found"),
            }
        }
        ("POST", ["calendars", id, "events", ev, "move"]) => {
            let id = cal_id(id);
            let Some(dest) = query.get("destination").map(|d| cal_id(d)) else {
                return error(400, "required", "Required parameter: destination");
            };
            if !s.calendars.iter().any(|c| c["id"] == dest.as_str()) {
                return error(404, "notFound", "Not Found");
            }
            let Some(pos) = s.events.get(&id).and_then(|l| l.iter().position(|e| e["id"] == *ev)) else {
                return error(404, "notFound", "Not Found");
            };
            let e = s.events.get_mut(&id).expect("present").remove(pos);
            s.events.entry(dest).or_default().push(e.clone());
            axum::Json(e).into_response()
        }
        (m, ["calendars", id, "events", ev]) => {
            let id = cal_id(id);
            let Some(e) = s.events.get_mut(&id).and_then(|l| l.iter_mut().find(|e| e["id"] == *ev)) else {
                return error(404, "notFound", "Not Found");
            };
            if e["status"] == "cancelled" {
                return error(410, "deleted", "Resource has been deleted");
            }
            match m {
                "GET" => axum::Json(e.clone()).into_response(),
                "PATCH" => {
                    let mut patched = e.clone();
                    for (k, v) in json_body.as_object().into_iter().flatten() {
                        patched[k] = v.clone();
                    }
                    if let Some(refused) = check_event(&patched) {
                        return refused;
                    }
                    *e = patched;
                    e["updated"] = Value::from("2026-11-24T10:00:01.000Z");
                    axum::Json(e.clone()).into_response()
                }
                "PUT" => {
                    if let Some(refused) = check_event(&json_body) {
                        return refused;
                    }
                    let keep = e["id"].clone();
                    *e = json_body.clone();
                    e["id"] = keep;
                    e["status"] = Value::from("confirmed");
                    axum::Json(e.clone()).into_response()
                }
                "DELETE" => {
                    e["status"] = Value::from("cancelled");
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => error(405, "methodNotAllowed", "Method Not Allowed"),
            }
        }
        ("POST", ["freeBusy"]) => {
            let min = json_body["timeMin"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let max = json_body["timeMax"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let (Some(min), Some(max)) = (min, max) else {
                return error(400, "badRequest", "Bad Request");
            };
            if max <= min {
                return error_in("calendar", 400, "timeRangeEmpty", "The specified time range is empty.");
            }
            if max - min > ChronoDuration::days(MAX_FREE_BUSY_DAYS) {
                return error_in("calendar", 400, "timeRangeTooLong", "The requested time range is too long.");
            }
            let mut calendars = serde_json::Map::new();
            for item in json_body["items"].as_array().into_iter().flatten() {
                let raw = item["id"].as_str().unwrap_or("");
                let id = cal_id(raw);
                if !s.calendars.iter().any(|c| c["id"] == id.as_str()) {
                    calendars.insert(raw.to_owned(), json!({"busy": [], "errors": [{"domain": "global", "reason": "notFound"}]}));
                    continue;
                }
                let mut busy: Vec<(DateTime<FixedOffset>, DateTime<FixedOffset>)> = s.events.get(&id).cloned().unwrap_or_default().iter()
                    .filter(|e| e["status"] != "cancelled" && e["transparency"] != "transparent")
                    .flat_map(expand)
                    .filter_map(|e| Some((parse_time(&e["start"])?, parse_time(&e["end"])?)))
                    .filter(|(st, en)| *en > min && *st < max)
                    .collect();
                busy.sort();
                let busy: Vec<Value> = busy.iter().map(|(a, b)| json!({"start": a.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "end": b.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})).collect();
                calendars.insert(raw.to_owned(), json!({"busy": busy}));
            }
            axum::Json(json!({"kind": "calendar#freeBusy", "timeMin": json_body["timeMin"], "timeMax": json_body["timeMax"], "calendars": calendars})).into_response()
        }
        _ => error(404, "notFound", "Not Found"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct FakeRef(Arc<Mutex<Store>>);

impl FakeRef {
    fn insert(&self, calendar: &str, mut event: Value) -> String {
        let mut s = self.0.lock();
        s.next_id += 1;
        let id = format!("ev{:04}", s.next_id);
        event["id"] = Value::from(id.clone());
        event["kind"] = Value::from("calendar#event");
        event["etag"] = Value::from("\"3\"");
        event["status"] = Value::from("confirmed");
        event["htmlLink"] = Value::from(format!("https://www.google.com/calendar/event?eid={id}"));
        event["created"] = Value::from("2026-11-24T10:00:00.000Z");
        event["updated"] = Value::from("2026-11-24T10:00:00.000Z");
        event["organizer"] = json!({"email": PRIMARY, "self": true});
        event["creator"] = json!({"email": PRIMARY, "self": true});
        event["reminders"] = event
            .get("reminders")
            .cloned()
            .unwrap_or(json!({"useDefault": true}));
        s.events.entry(calendar.to_owned()).or_default().push(event);
        id
    }
}

fn oauth_error(code: &str) -> Response {
    oauth_error_said(code, code)
}

/// An OAuth error as Google's token endpoint answers it.
fn oauth_error_said(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn oauth(
    store: &Arc<Mutex<Store>>,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut s = store.lock();
    if path == "/o/oauth2/v2/auth" {
        let (Some(redirect), Some(client)) = (query.get("redirect_uri"), query.get("client_id"))
        else {
            return oauth_error("invalid_request");
        };
        if !s.clients.contains_key(client) {
            return oauth_error("invalid_client");
        }
        s.next_id += 1;
        let code = format!("4/code-{}", s.next_id);
        let asked = query.get("scope").cloned().unwrap_or_default();
        // Google answers `email` under its full name. On the granular consent screen the
        // person may untick scopes ([`FakeGoogle::grant_only`] says which are left).
        let scope = match &s.granted_scope {
            Some(granted) => granted.clone(),
            None => asked
                .split(' ')
                .map(|g| if g == "email" { USERINFO_EMAIL } else { g })
                .collect::<Vec<_>>()
                .join(" "),
        };
        let (sub, email) = s
            .account
            .clone()
            .unwrap_or_else(|| ("1000001".to_owned(), PRIMARY.to_owned()));
        s.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect.clone(),
                challenge: query.get("code_challenge").cloned(),
                scope: scope.clone(),
                consent: query
                    .get("prompt")
                    .is_some_and(|p| p.split(' ').any(|p| p == "consent")),
                sub,
                email,
            },
        );
        let mut location = url::Url::parse(redirect).expect("redirect_uri is a URL");
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("scope", &scope);
        if let Some(state) = query.get("state") {
            location.query_pairs_mut().append_pair("state", state);
        }
        return (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response();
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if path == "/revoke" {
        if let Some(status) = s.revoke_fault {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (code, axum::Json(json!({"error": "backend_error"}))).into_response();
        }
        let token = form.get("token").cloned().unwrap_or_default();
        if s.refresh_tokens.remove(&token).is_some() {
            let ended: Vec<String> = s
                .access_grants
                .iter()
                .filter(|(_, r)| r.as_deref() == Some(token.as_str()))
                .map(|(a, _)| a.clone())
                .collect();
            for access in ended {
                s.tokens.insert(access, TokenState::Revoked);
            }
        } else if s.tokens.get(&token) == Some(&TokenState::Valid) {
            s.tokens.insert(token.clone(), TokenState::Revoked);
        } else {
            return oauth_error_said("invalid_token", "Token expired or revoked");
        }
        s.revoked.push(token);
        return StatusCode::OK.into_response();
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|b| b.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (client, secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    if s.clients.get(&client) != Some(&secret) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "Unauthorized"})),
        )
            .into_response();
    }
    s.next_id += 1;
    let n = s.next_id;
    let access = format!("ya29.access-{n}");
    let now = s.now();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code").and_then(|c| s.codes.remove(c)) else {
                return oauth_error_said("invalid_grant", "Malformed auth code.");
            };
            if form.get("redirect_uri") != Some(&code.redirect_uri) {
                return oauth_error_said("redirect_uri_mismatch", "Bad Request");
            }
            if let Some(challenge) = &code.challenge {
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return oauth_error_said("invalid_grant", "Invalid code verifier.");
                }
            }
            s.tokens.insert(access.clone(), TokenState::Valid);
            let mut claims = json!({"iss": "https://accounts.google.com", "aud": client, "sub": code.sub,
                "iat": 1_790_000_000, "exp": 1_790_003_600});
            if code
                .scope
                .split(' ')
                .any(|g| g == "email" || g == USERINFO_EMAIL)
            {
                claims["email"] = Value::from(code.email.clone());
                claims["email_verified"] = Value::from(true);
            }
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let id_token = format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims)
            );
            let mut out = json!({"access_token": access, "expires_in": 3599, "scope": code.scope, "token_type": "Bearer", "id_token": id_token});
            let first = s.granted.insert((client, code.sub.clone()));
            let mut refresh = None;
            if first || code.consent {
                let token = format!("1//refresh-{n}");
                s.refresh_tokens
                    .insert(token.clone(), (now, code.sub.clone()));
                out["refresh_token"] = Value::from(token.clone());
                refresh = Some(token);
            }
            s.access_grants.insert(access, refresh);
            axum::Json(out).into_response()
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            let alive = s.refresh_tokens.get(&presented).is_some_and(|(issued, _)| {
                !s.testing || now - issued < TESTING_REFRESH_LIFETIME_SECS
            });
            if !alive {
                return oauth_error_said("invalid_grant", "Token has been expired or revoked.");
            }
            s.tokens.insert(access.clone(), TokenState::Valid);
            s.access_grants.insert(access.clone(), Some(presented));
            axum::Json(
                json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                "scope": format!("openid {USERINFO_EMAIL} https://www.googleapis.com/auth/calendar")}),
            )
            .into_response()
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}
