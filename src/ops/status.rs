//! `status [--json]` and the chat's `/status` for admins: one screen saying how the appliance is
//! doing — the version; whether `serve` runs, for how long, and each chat channel's connection
//! and last update; the model server and the model; each MCP server and its tools; people paired
//! and waiting; connected accounts per server with the broken ones; scheduled entries; turns and
//! errors of the last hour.
//!
//! [`collect`] gathers it, given what is known of the running gateway: a process reports its own
//! [`Live`] state ([`ServeStatus::from_live`]), the command line reads that of `serve` from its
//! `/metrics` on `[http].listen` ([`ServeStatus::scrape`]). Every network probe is bounded by
//! [`PROBE_TIMEOUT`], so a dead model server or MCP server costs seconds, not a hang.
//! [`render`] writes the text screen; [`Status`] serializes to the `--json` object.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use crate::channels::pairing::{AccessError, Pairing};
use crate::config::{Config, Provider, ServerAuth, ServerConfig};
use crate::llm;
use crate::mcp::pool::McpPool;
use crate::store::{Store, StoreError, now_unix};
use crate::telemetry::live::{LastHour, Live};

/// The longest any one probe (model server, MCP server, `serve`'s metrics) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of `serve`'s `/metrics` that is read.
const MAX_METRICS_BYTES: usize = 1 << 20;

/// The whole screen; its JSON form is what `status --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// This binary's version, as `--version` prints it.
    pub version: String,
    /// The running gateway, as far as it is known.
    pub serve: ServeStatus,
    /// The model server and the model.
    pub model: ModelStatus,
    /// Each configured MCP server, in configuration order.
    pub servers: Vec<ServerStatus>,
    /// People paired and waiting.
    pub people: People,
    /// Connected accounts per server with `auth = "oauth"`, in configuration order.
    pub connections: Vec<Connections>,
    /// Scheduled entries.
    pub schedule: ScheduleStatus,
    /// Turns and errors of the last hour, when a running gateway reported them.
    pub last_hour: Option<LastHour>,
}

/// The running gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeStatus {
    /// Whether a gateway answered.
    pub running: bool,
    /// Where it was asked (`http://…/metrics`), when it was asked over HTTP.
    pub metrics_url: Option<String>,
    /// Why it is not known to run, when it is not.
    pub note: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// When it started, in seconds since the Unix epoch.
    pub started: Option<i64>,
    /// How long it has run, in seconds.
    pub uptime_seconds: Option<i64>,
    /// Its chat channels, by name.
    pub channels: Vec<ChannelStatus>,
    /// Its counts of the last hour (copied to [`Status::last_hour`]).
    #[serde(skip)]
    pub last_hour: Option<LastHour>,
}

/// One chat channel of the running gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStatus {
    /// `telegram` or `slack` (or `console`).
    pub name: String,
    /// Whether its long poll or socket works.
    pub connected: bool,
    /// When its last update arrived, in seconds since the Unix epoch.
    pub last_update: Option<i64>,
}

/// The model server and the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelStatus {
    /// `ollama` or `openai`.
    pub provider: String,
    /// The server's base URL.
    pub base_url: String,
    /// The model's name.
    pub name: String,
    /// Whether the server answered its model list.
    pub reachable: bool,
    /// Whether the model is among the server's models (unknown when unreachable).
    pub present: Option<bool>,
    /// Whether Ollama has the model in memory now (unknown for other servers).
    pub loaded: Option<bool>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// One configured MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    /// Its configured name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// `none`, `bearer` or `oauth`.
    pub auth: String,
    /// Whether it answered.
    pub reachable: bool,
    /// How many tools it lists; unknown for `oauth` servers, which list them to each person.
    pub tools: Option<usize>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// People paired and waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct People {
    /// Senders approved.
    pub paired: u64,
    /// Senders with a pairing code that has not expired.
    pub pending: u64,
}

/// Connected accounts of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connections {
    /// The configured server.
    pub server: String,
    /// Connections that work.
    pub connected: u64,
    /// Connections whose refresh was refused: the person must connect again.
    pub broken: u64,
}

/// Scheduled entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    /// Whether this version keeps a schedule at all.
    pub available: bool,
    /// Entries waiting to fire.
    pub entries: u64,
    /// When the next one is due, in seconds since the Unix epoch.
    pub next_due: Option<i64>,
}

impl ServeStatus {
    /// A gateway not known to run, for `reason`.
    #[must_use]
    pub fn absent(metrics_url: Option<String>, reason: String) -> Self {
        Self {
            running: false,
            metrics_url,
            note: Some(reason),
            version: None,
            started: None,
            uptime_seconds: None,
            channels: Vec::new(),
            last_hour: None,
        }
    }

    /// The state of this very process, for its own `/status`.
    #[must_use]
    pub fn from_live(live: &Live) -> Self {
        let snapshot = live.snapshot();
        Self {
            running: true,
            metrics_url: None,
            note: None,
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            started: Some(snapshot.started),
            uptime_seconds: Some((now_unix() - snapshot.started).max(0)),
            channels: snapshot
                .channels
                .into_iter()
                .map(|(name, c)| ChannelStatus {
                    name,
                    connected: c.connected,
                    last_update: c.last_update,
                })
                .collect(),
            last_hour: Some(snapshot.last_hour),
        }
    }

    /// Reads the running gateway's state from its `/metrics` on `listen` (an unspecified
    /// address is asked on loopback), within [`PROBE_TIMEOUT`].
    pub async fn scrape(listen: SocketAddr) -> Self {
        let url = metrics_url(listen);
        let text = match fetch_metrics(&url).await {
            Ok(text) => text,
            Err(reason) => return Self::absent(Some(url), reason),
        };
        match parse_metrics(&text) {
            Some(found) => Self {
                running: true,
                metrics_url: Some(url),
                note: None,
                uptime_seconds: found.started.map(|s| (now_unix() - s).max(0)),
                version: Some(found.version),
                started: found.started,
                channels: found.channels,
                last_hour: found.last_hour,
            },
            None => Self::absent(
                Some(url),
                "what answers there is not an mcp-gateway serve (no mcp_gateway_build_info)"
                    .to_owned(),
            ),
        }
    }
}

/// The error and its causes, without the URL (the screen names it already).
fn reqwest_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// `http://<listen>/metrics`, with an unspecified address replaced by loopback.
fn metrics_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/metrics", SocketAddr::new(ip, listen.port()))
}

async fn fetch_metrics(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client.get(url).send().await.map_err(|e| {
        if e.is_connect() {
            "nothing answers there; it is not running on this [http].listen".to_owned()
        } else if e.is_timeout() {
            format!("no answer within {} s", PROBE_TIMEOUT.as_secs())
        } else {
            reqwest_error(e)
        }
    })?;
    if !response.status().is_success() {
        return Err(format!("it answered HTTP {}", response.status().as_u16()));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_METRICS_BYTES {
                    return Err(format!(
                        "its /metrics is larger than {MAX_METRICS_BYTES} bytes"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(reqwest_error(e)),
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// What `status` reads from a gateway's metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scraped {
    version: String,
    started: Option<i64>,
    channels: Vec<ChannelStatus>,
    last_hour: Option<LastHour>,
}

/// One sample line: the name, its labels and its value; `None` for comments and lines that are
/// not samples.
fn sample(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => {
            let rest = rest.strip_suffix('}')?;
            let mut labels = BTreeMap::new();
            // The gateway's own label values hold no commas or quotes.
            for pair in rest.split(',').filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=')?;
                labels.insert(key, value.strip_prefix('"')?.strip_suffix('"')?);
            }
            (name, labels)
        }
    };
    Some((name, labels, value))
}

#[allow(clippy::cast_possible_truncation)] // timestamps and counts, whole and in range
fn whole(value: f64) -> i64 {
    if value.is_finite() {
        value.round() as i64
    } else {
        0
    }
}

fn parse_metrics(text: &str) -> Option<Scraped> {
    let mut version = None;
    let mut started = None;
    let mut channels: BTreeMap<String, ChannelStatus> = BTreeMap::new();
    let mut hour: [Option<u64>; 3] = [None; 3];
    for line in text.lines() {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        let channel = |channels: &mut BTreeMap<String, ChannelStatus>| {
            labels.get("channel").map(|c| {
                channels
                    .entry((*c).to_owned())
                    .or_insert_with(|| ChannelStatus {
                        name: (*c).to_owned(),
                        connected: false,
                        last_update: None,
                    })
                    .clone()
            })
        };
        let count = u64::try_from(whole(value)).unwrap_or(0);
        match name {
            "mcp_gateway_build_info" => version = labels.get("version").map(|v| (*v).to_owned()),
            "process_start_time_seconds" => started = Some(whole(value)),
            "mcp_gateway_channel_connected" => {
                if let Some(mut c) = channel(&mut channels) {
                    c.connected = value >= 1.0;
                    channels.insert(c.name.clone(), c);
                }
            }
            "mcp_gateway_channel_last_update_timestamp_seconds" => {
                if let Some(mut c) = channel(&mut channels) {
                    c.last_update = Some(whole(value));
                    channels.insert(c.name.clone(), c);
                }
            }
            "mcp_gateway_turns_last_hour" => hour[0] = Some(count),
            "mcp_gateway_turn_errors_last_hour" => hour[1] = Some(count),
            "mcp_gateway_tool_errors_last_hour" => hour[2] = Some(count),
            _ => {}
        }
    }
    let last_hour = match hour {
        [Some(turns), Some(errors), Some(tool_errors)] => Some(LastHour {
            turns,
            errors,
            tool_errors,
        }),
        _ => None,
    };
    Some(Scraped {
        version: version?,
        started,
        channels: channels.into_values().collect(),
        last_hour,
    })
}

/// Gathers the screen: `serve` as the caller knows it, the model server and every MCP server
/// probed at once (each within [`PROBE_TIMEOUT`]), and the counts read from `store`.
///
/// # Errors
/// Fails only when the database cannot be read.
pub async fn collect(
    config: &Config,
    store: &Store,
    serve: ServeStatus,
) -> Result<Status, StoreError> {
    let people = people(store);
    let connections = crate::mcp::oauth::store::count_connections(store);
    let schedule = schedule(store);
    let (model, servers, people, connections, schedule) = tokio::join!(
        probe_model(config),
        probe_servers(config),
        people,
        connections,
        schedule
    );
    let (people, counts, schedule) = (people?, connections?, schedule?);
    let connections = config
        .servers
        .iter()
        .filter(|s| s.auth == ServerAuth::OAuth)
        .map(|s| {
            let (connected, broken) = counts.get(&s.name).copied().unwrap_or((0, 0));
            Connections {
                server: s.name.clone(),
                connected,
                broken,
            }
        })
        .collect();
    Ok(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        last_hour: serve.last_hour,
        serve,
        model,
        servers,
        people,
        connections,
        schedule,
    })
}

async fn people(store: &Store) -> Result<People, StoreError> {
    let pairing = Pairing::new(store.clone());
    let to_store = |e: AccessError| match e {
        AccessError::Store(e) => e,
        other => StoreError::Corrupt(other.to_string()),
    };
    let pending = pairing.pending().await.map_err(to_store)?.len();
    let paired = pairing.approved().await.map_err(to_store)?.len();
    Ok(People {
        paired: paired as u64,
        pending: pending as u64,
    })
}

/// Scheduled entries: how many wait to fire, and when the soonest is due.
async fn schedule(store: &Store) -> Result<ScheduleStatus, StoreError> {
    let entries = store.schedule_count_active().await?;
    let next_due = store.schedule_next_due().await?;
    Ok(ScheduleStatus {
        available: true,
        entries: u64::try_from(entries).unwrap_or(0),
        next_due,
    })
}

async fn probe_model(config: &Config) -> ModelStatus {
    let m = &config.model;
    let mut status = ModelStatus {
        provider: match m.provider {
            Provider::Ollama => "ollama",
            Provider::OpenAi => "openai",
        }
        .to_owned(),
        base_url: m.base_url.as_str().trim_end_matches('/').to_owned(),
        name: m.name.clone(),
        reachable: false,
        present: None,
        loaded: None,
        error: None,
    };
    let client = match llm::from_config(m) {
        Ok(client) => client,
        Err(e) => {
            status.error = Some(e.to_string());
            return status;
        }
    };
    let models = match tokio::time::timeout(PROBE_TIMEOUT, client.list_models()).await {
        Err(_) => {
            status.error = Some(format!(
                "no answer within {} s; is the model server running?",
                PROBE_TIMEOUT.as_secs()
            ));
            return status;
        }
        Ok(Err(e)) => {
            status.error = Some(e.to_string());
            return status;
        }
        Ok(Ok(models)) => models,
    };
    status.reachable = true;
    let present = crate::ops::doctor::model_present(&models, &m.name);
    status.present = Some(present);
    if !present {
        status.error = Some(format!("not pulled: run `ollama pull {}`", m.name));
    }
    if present
        && m.provider == Provider::Ollama
        && let Ok(ollama) = llm::ollama::OllamaClient::new(m)
        && let Ok(Ok(loaded)) =
            tokio::time::timeout(PROBE_TIMEOUT, ollama.loaded_context(&m.name)).await
    {
        status.loaded = Some(loaded.is_some());
    }
    status
}

async fn probe_servers(config: &Config) -> Vec<ServerStatus> {
    let pool = McpPool::from_config(config);
    let probes = config.servers.iter().map(|server| {
        let pool = pool.as_ref().ok();
        async move {
            let mut status = ServerStatus {
                name: server.name.clone(),
                url: server.url.to_string(),
                auth: match server.auth {
                    ServerAuth::None => "none",
                    ServerAuth::Bearer { .. } => "bearer",
                    ServerAuth::OAuth => "oauth",
                }
                .to_owned(),
                reachable: false,
                tools: None,
                error: None,
            };
            let result = match (server.auth == ServerAuth::OAuth, pool) {
                (true, _) => probe_oauth(server).await.map(|()| None),
                (false, Some(pool)) => {
                    match tokio::time::timeout(PROBE_TIMEOUT, pool.probe(&server.name)).await {
                        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
                        Ok(Err(e)) => Err(e.to_string()),
                        Ok(Ok(n)) => Ok(Some(n)),
                    }
                }
                (false, None) => Err("the MCP client cannot be created".to_owned()),
            };
            match result {
                Ok(tools) => {
                    status.reachable = true;
                    status.tools = tools;
                }
                Err(e) => status.error = Some(e),
            }
            status
        }
    });
    futures::future::join_all(probes).await
}

/// An `auth = "oauth"` server answers an unauthenticated request with 401 and a
/// `WWW-Authenticate` challenge, as the MCP authorization spec says.
async fn probe_oauth(server: &ServerConfig) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(server.url.as_str())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", PROBE_TIMEOUT.as_secs())
            } else {
                format!("not reachable: {}", reqwest_error(e))
            }
        })?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED
        && answer.headers().contains_key("www-authenticate")
    {
        Ok(())
    } else {
        Err(format!(
            "answered HTTP {} instead of asking for OAuth; check [[servers]].auth",
            answer.status().as_u16()
        ))
    }
}

/// `3d 4h`, `2h 13m`, `5m 2s`, `40s`.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

fn ago(at: i64, now: i64) -> String {
    format!("{} ago", duration(now - at))
}

fn when(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// The screen of this very process as text, for the chat `/status`: what `mcp-gateway status`
/// prints, with the process's own uptime and channels from `live`.
pub async fn screen(config: &Config, store: &Store, live: &Live) -> String {
    match collect(config, store, ServeStatus::from_live(live)).await {
        Ok(status) => render(&status, now_unix()),
        Err(e) => format!("I could not read the database for the status: {e}"),
    }
}

/// The screen as text, one fact a line, with times relative to `now` (Unix seconds).
#[must_use]
pub fn render(status: &Status, now: i64) -> String {
    let mut out = Vec::new();
    out.push(format!("mcp-gateway {}", status.version));
    let serve = &status.serve;
    if serve.running {
        let mut line = "serve: running".to_owned();
        if let Some(up) = serve.uptime_seconds {
            line.push_str(&format!(" for {}", duration(up)));
        }
        if let Some(started) = serve.started {
            line.push_str(&format!(" (since {})", when(started)));
        }
        if let Some(v) = serve.version.as_deref().filter(|v| *v != status.version) {
            line.push_str(&format!(", version {v}"));
        }
        out.push(line);
        if serve.channels.is_empty() {
            out.push("  no chat channel configured".to_owned());
        }
        for c in &serve.channels {
            let link = match (c.name.as_str(), c.connected) {
                ("telegram", true) => "polling",
                ("telegram", false) => "NOT polling (Telegram unreachable or the token refused)",
                ("slack", true) => "socket connected",
                ("slack", false) => "socket NOT connected",
                (_, true) => "connected",
                (_, false) => "NOT connected",
            };
            let last = c
                .last_update
                .map_or_else(|| "none yet".to_owned(), |at| ago(at, now));
            out.push(format!("  {}: {link}, last update {last}", c.name));
        }
    } else {
        let at = serve
            .metrics_url
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        out.push(format!(
            "serve: not running{at}: {}",
            serve.note.as_deref().unwrap_or("unknown")
        ));
    }
    let m = &status.model;
    let model_state = if m.reachable {
        let mut parts = vec!["reachable".to_owned()];
        match m.present {
            Some(true) => parts.push("model present".to_owned()),
            Some(false) => parts.push(format!("model NOT present (run `ollama pull {}`)", m.name)),
            None => {}
        }
        match m.loaded {
            Some(true) => parts.push("loaded".to_owned()),
            Some(false) => parts.push("not loaded yet".to_owned()),
            None => {}
        }
        parts.join(", ")
    } else {
        format!(
            "NOT reachable: {}",
            m.error.as_deref().unwrap_or("no answer")
        )
    };
    out.push(format!(
        "model: {} on {} ({}): {model_state}",
        m.name, m.base_url, m.provider
    ));
    if status.servers.is_empty() {
        out.push("MCP servers: none configured".to_owned());
    } else {
        out.push("MCP servers:".to_owned());
        for s in &status.servers {
            let state = match (s.reachable, s.tools) {
                (true, Some(n)) => format!("reachable, {n} tools"),
                (true, None) => {
                    "reachable, asks each person to connect (tools listed per person)".to_owned()
                }
                (false, _) => format!(
                    "NOT reachable: {}",
                    s.error.as_deref().unwrap_or("no answer")
                ),
            };
            out.push(format!("  {} ({}): {state}", s.name, s.url));
        }
    }
    out.push(format!(
        "people: {} paired, {} waiting for approval",
        status.people.paired, status.people.pending
    ));
    if !status.connections.is_empty() {
        let per_server: Vec<String> = status
            .connections
            .iter()
            .map(|c| {
                format!(
                    "{} {} connected, {} broken",
                    c.server, c.connected, c.broken
                )
            })
            .collect();
        out.push(format!("connections: {}", per_server.join("; ")));
    }
    let schedule = &status.schedule;
    out.push(if !schedule.available {
        "scheduled entries: none (this version keeps no schedule)".to_owned()
    } else {
        match schedule.next_due {
            Some(next) => format!(
                "scheduled entries: {}, next due {}",
                schedule.entries,
                when(next)
            ),
            None => format!("scheduled entries: {}", schedule.entries),
        }
    });
    out.push(match &status.last_hour {
        Some(h) => format!(
            "last hour: {} turns, {} ended in an error, {} failed tool calls",
            h.turns, h.errors, h.tool_errors
        ),
        None => "last hour: unknown (serve is not running)".to_owned(),
    });
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// `mcp-gateway status [--json]`: prints the screen, or its JSON object; exits 0 when the
/// database could be read, whatever the probes found.
///
/// # Errors
/// Fails when the database does not exist or cannot be read.
pub async fn run(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    if !config.store.path.exists() {
        anyhow::bail!(
            "the database {} does not exist; nothing has run with this configuration yet ([store].path)",
            config.store.path.display()
        );
    }
    let store = Store::open(&config.store.path).context("[store].path")?;
    let serve = ServeStatus::scrape(config.http.listen).await;
    let status = collect(config, &store, serve)
        .await
        .context("[store].path")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status, now_unix()));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_schedule_counts_active_entries_and_the_soonest_due() {
        use crate::store::schedule::{EntryKind, NewEntry};
        let store = Store::open_in_memory().unwrap();
        assert_eq!(
            schedule(&store).await.unwrap(),
            ScheduleStatus {
                available: true,
                entries: 0,
                next_due: None
            }
        );
        for due in [2_000_000_000, 1_900_000_000] {
            let entry = NewEntry {
                principal: crate::Principal::telegram(1),
                chat: "1".into(),
                kind: EntryKind::Reminder,
                text: "call the plumber".into(),
                zone: "Europe/Berlin".into(),
                first: chrono::NaiveDate::from_ymd_opt(2030, 3, 30)
                    .unwrap()
                    .and_hms_opt(8, 0, 0)
                    .unwrap(),
                rule: None,
                next_due: due,
            };
            store.schedule_add(entry, 50).await.unwrap().unwrap();
        }
        let status = schedule(&store).await.unwrap();
        assert_eq!((status.entries, status.next_due), (2, Some(1_900_000_000)));
    }

    #[test]
    fn metrics_give_the_version_uptime_channels_and_hourly_counts() {
        let text = "# HELP x\n\
            process_start_time_seconds 1800000000\n\
            mcp_gateway_build_info{version=\"1.2.3\"} 1\n\
            mcp_gateway_channel_connected{channel=\"slack\"} 0\n\
            mcp_gateway_channel_connected{channel=\"telegram\"} 1\n\
            mcp_gateway_channel_last_update_timestamp_seconds{channel=\"telegram\"} 1800000100\n\
            mcp_gateway_turns_last_hour 4\n\
            mcp_gateway_turn_errors_last_hour 1\n\
            mcp_gateway_tool_errors_last_hour 2\n\
            # EOF\n";
        let s = parse_metrics(text).expect("a gateway");
        assert_eq!(s.version, "1.2.3");
        assert_eq!(s.started, Some(1_800_000_000));
        assert_eq!(
            s.channels,
            vec![
                ChannelStatus {
                    name: "slack".into(),
                    connected: false,
                    last_update: None
                },
                ChannelStatus {
                    name: "telegram".into(),
                    connected: true,
                    last_update: Some(1_800_000_100)
                },
            ]
        );
        assert_eq!(
            s.last_hour,
            Some(LastHour {
                turns: 4,
                errors: 1,
                tool_errors: 2
            })
        );
        assert!(parse_metrics("process_start_time_seconds 1\n").is_none());
        assert!(parse_metrics("garbage {{{ \"\n\u{0}").is_none());
    }

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        assert_eq!(
            metrics_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/metrics"
        );
        assert_eq!(
            metrics_url("[::]:9".parse().unwrap()),
            "http://[::1]:9/metrics"
        );
        assert_eq!(
            metrics_url("10.0.0.2:80".parse().unwrap()),
            "http://10.0.0.2:80/metrics"
        );
    }

    #[test]
    fn durations_read_in_their_largest_units() {
        assert_eq!(duration(40), "40s");
        assert_eq!(duration(302), "5m 2s");
        assert_eq!(duration(7980), "2h 13m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
    }
}
