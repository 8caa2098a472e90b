//! The Notion MCP server's authorization server and listener under the floods and slow clients
//! a black-box probe used against them: what each costs in database bytes and memory, and how
//! `/healthz` answers meanwhile.
//!
//! The server is the real `mcp-gateway notion-mcp` binary with its default limits, started under
//! `prlimit --nofile=1024:1024` (when `prlimit` is installed) so that it has the open-file limit
//! of a small box. Each flood comes from one source address, a loopback address of its own
//! (127.0.0.11, .12, ...), so every run starts with a fresh per-address budget, as a new caller
//! would; none of them needs the upstream, whose URLs point at a closed port.
//!
//! Runs, each of [`ATTEMPTS`] requests, [`FLOOD_CONCURRENCY`] at a time:
//! - `/register` with 14 KB of metadata (over the 8 KiB a client may store);
//! - `/register` with 1 KB of metadata (a size the server accepts);
//! - `/authorize` with a 4 KB `state` and `scope` for one registered client;
//! - `/authorize` with a 512-byte `state` (a size the server accepts);
//!
//! then [`SLOW_CLIENTS`] connections that send a partial request head and then one more header
//! byte every [`DRIP_EVERY`] for [`SLOW_RUN`].
//!
//! During each run a prober opens a new connection for `GET /healthz` every [`PROBE_EVERY`] (as a
//! health check does) and records how long the answer took; a probe that takes longer than
//! [`PROBE_TIMEOUT`] counts as failed. For each run the bench prints the answers' status codes,
//! the rows stored, the growth of the database file and its write-ahead log, the server's RSS
//! (`VmRSS` from `/proc/<pid>/status`) before and after, and `/healthz` latency (nearest-rank
//! p50, p99, max) with the failed probes. The slow-client run also says how many of the slow
//! connections the server closed and how long after they opened.
//!
//! Targets: database growth of at most 10 MB for the 4,000 attempts of a run; `/healthz` p99 of
//! at most 50 ms during the slow clients.
//!
//! Run: `cargo bench --bench abuse`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Requests in each flood.
const ATTEMPTS: usize = 4000;
/// Flood requests in flight at once.
const FLOOD_CONCURRENCY: usize = 32;
/// Slow connections opened in the slow-client run.
const SLOW_CLIENTS: usize = 2000;
/// How long the slow-client run lasts.
const SLOW_RUN: Duration = Duration::from_secs(20);
/// How often a slow client sends one more byte of its request head.
const DRIP_EVERY: Duration = Duration::from_secs(2);
/// How often `/healthz` is probed.
const PROBE_EVERY: Duration = Duration::from_millis(20);
/// How long a probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench());
}

/// The running server; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    database: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let write = |name: &str, value: &str| {
            std::fs::write(dir.path().join(name), value).expect("write a file");
        };
        write("seal.key", &"5e".repeat(32));
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("seal.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("a private seal key");
        }
        write("notion-id", "bench-notion-client");
        write("notion-secret", "bench-notion-secret");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        write(
            "notion.toml",
            &format!(
                "[store]\npath = \"notion.db\"\nseal_key_file = \"seal.key\"\n\n[notion_mcp]\n\
                 listen = \"{addr}\"\npublic_url = \"http://{addr}\"\n\
                 client_id_file = \"notion-id\"\nclient_secret_file = \"notion-secret\"\n\
                 api_url = \"http://127.0.0.1:9/v1\"\nauthorize_url = \"http://127.0.0.1:9/authorize\"\n\
                 token_url = \"http://127.0.0.1:9/token\"\n"
            ),
        );
        let binary = env!("CARGO_BIN_EXE_mcp-gateway");
        let limited = std::process::Command::new("prlimit")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let mut command = if limited {
            let mut c = Command::new("prlimit");
            c.args(["--nofile=1024:1024", "--", binary]);
            c
        } else {
            println!(
                "note: prlimit is not installed; the server keeps this shell's open-file limit"
            );
            Command::new(binary)
        };
        let log = std::fs::File::create(dir.path().join("server.log")).expect("a log file");
        let child = command
            .args(["notion-mcp", "--config"])
            .arg(dir.path().join("notion.toml"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start mcp-gateway notion-mcp");
        let server = Self {
            child,
            addr,
            database: dir.path().join("notion.db"),
            _dir: dir,
        };
        let deadline = Instant::now() + READY_WITHIN;
        while probe(&server.addr, "/readyz").await.is_none() {
            assert!(
                Instant::now() < deadline,
                "the server never became ready: {}",
                std::fs::read_to_string(server._dir.path().join("server.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn rss_mib(&self) -> f64 {
        let pid = self.child.id().expect("the server runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    /// Bytes of the database file and its write-ahead log.
    fn database_bytes(&self) -> u64 {
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", self.database.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        size("") + size("-wal")
    }

    fn rows(&self, table: &str) -> i64 {
        rusqlite::Connection::open(&self.database)
            .and_then(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)))
            .unwrap_or(-1)
    }
}

/// One `GET path` on a new connection; the time it took, or `None` if it failed or was late.
async fn probe(addr: &str, path: &str) -> Option<Duration> {
    let started = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        out.starts_with(b"HTTP/1.1 200").then_some(())
    })
    .await;
    matches!(answer, Ok(Some(()))).then(|| started.elapsed())
}

/// Probes `/healthz` until `stop` is set; returns the latencies in milliseconds, sorted, and the
/// number of failed probes.
fn start_prober(addr: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(Vec<f64>, usize)> {
    tokio::spawn(async move {
        let mut times = Vec::new();
        let mut failed = 0;
        let mut tick = tokio::time::interval(PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::Acquire) {
            tick.tick().await;
            match probe(&addr, "/healthz").await {
                Some(took) => times.push(took.as_secs_f64() * 1000.0),
                None => failed += 1,
            }
        }
        times.sort_by(f64::total_cmp);
        (times, failed)
    })
}

/// The nearest-rank percentile `p` of sorted `values`.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What one run measured.
struct Measured {
    label: &'static str,
    statuses: String,
    rows: String,
    db_growth_mib: f64,
    rss_before: f64,
    rss_after: f64,
    healthz: (Vec<f64>, usize),
    extra: String,
}

fn print(m: &Measured) {
    let (h, failed) = &m.healthz;
    println!("{}", m.label);
    println!("  answers:          {}", m.statuses);
    println!("  stored:           {}", m.rows);
    println!(
        "  database growth:  {:.2} MiB (database + write-ahead log)",
        m.db_growth_mib
    );
    println!(
        "  server RSS:       {:.1} MiB before, {:.1} MiB after",
        m.rss_before, m.rss_after
    );
    println!(
        "  /healthz:         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} probes, {} failed",
        pct(h, 50.0),
        pct(h, 99.0),
        h.last().copied().unwrap_or(f64::NAN),
        h.len(),
        failed
    );
    if !m.extra.is_empty() {
        println!("  {}", m.extra);
    }
}

/// Sends [`ATTEMPTS`] requests made by `request` from the loopback address `127.0.0.<source>`
/// while probing `/healthz`.
async fn flood<F>(
    server: &Server,
    label: &'static str,
    source: u8,
    table: &str,
    request: F,
) -> Measured
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder,
{
    use futures::StreamExt;
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, source]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let (bytes_before, rows_before, rss_before) = (
        server.database_bytes(),
        server.rows(table),
        server.rss_mib(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let prober = start_prober(server.addr.clone(), Arc::clone(&stop));
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(0..ATTEMPTS)
        .map(|i| {
            let sent = request(&http, i).send();
            async move { sent.await.map_or(0, |r| r.status().as_u16()) }
        })
        .buffer_unordered(FLOOD_CONCURRENCY)
        .collect()
        .await;
    let took = started.elapsed();
    stop.store(true, Ordering::Release);
    let healthz = prober.await.expect("the prober");
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_insert(0usize) += 1;
    }
    Measured {
        label,
        statuses: format!(
            "{} in {:.1} s",
            counts
                .iter()
                .map(|(s, n)| format!("{n} × {s}"))
                .collect::<Vec<_>>()
                .join(", "),
            took.as_secs_f64()
        ),
        rows: format!("{} more rows in {table}", server.rows(table) - rows_before),
        db_growth_mib: (server.database_bytes().saturating_sub(bytes_before)) as f64
            / (1024.0 * 1024.0),
        rss_before,
        rss_after: server.rss_mib(),
        healthz,
        extra: String::new(),
    }
}

/// Registration metadata of about `bytes` bytes.
fn registration(bytes: usize) -> Value {
    let pad = "a".repeat(bytes / 2);
    json!({
        "client_name": "Flood",
        "redirect_uris": [format!("https://flood.example/{pad}"), format!("https://flood.example/b{pad}")],
        "token_endpoint_auth_method": "none",
    })
}

/// Registers one client from another source address, so the flood's address keeps its budget.
async fn registered_client(server: &Server) -> String {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client");
    let answer: Value = http
        .post(format!("{}/register", server.base()))
        .json(&json!({
            "client_name": "Bench",
            "redirect_uris": ["http://127.0.0.1:7777/callback"],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("a registration");
    answer["client_id"]
        .as_str()
        .expect("a client id")
        .to_owned()
}

fn authorize_url(base: &str, client_id: &str, state: &str, scope: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/authorize")).expect("a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", "http://127.0.0.1:7777/callback")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", &format!("{base}/mcp"))
        .append_pair("state", state);
    if !scope.is_empty() {
        url.query_pairs_mut().append_pair("scope", scope);
    }
    url.into()
}

/// [`SLOW_CLIENTS`] connections dripping a request head while `/healthz` is probed.
async fn slow_clients(server: &Server) -> Measured {
    let rss_before = server.rss_mib();
    let bytes_before = server.database_bytes();
    let stop = Arc::new(AtomicBool::new(false));
    let prober = start_prober(server.addr.clone(), Arc::clone(&stop));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    let mut refused = 0;
    for _ in 0..SLOW_CLIENTS {
        let Ok(mut s) = TcpStream::connect(&server.addr).await else {
            refused += 1;
            continue;
        };
        clients.spawn(async move {
            let opened = Instant::now();
            if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .is_err()
            {
                return Some(opened.elapsed());
            }
            let mut buf = [0u8; 512];
            loop {
                match tokio::time::timeout(DRIP_EVERY, s.read(&mut buf)).await {
                    // The server closed the connection (or answered and then closed it).
                    Ok(Ok(0) | Err(_)) => return Some(opened.elapsed()),
                    Ok(Ok(_)) => {}
                    Err(_) => {
                        if opened.elapsed() >= SLOW_RUN || s.write_all(b"a").await.is_err() {
                            return (opened.elapsed() < SLOW_RUN).then(|| opened.elapsed());
                        }
                    }
                }
            }
        });
    }
    let opening = started.elapsed();
    let mut peak_rss = server.rss_mib();
    let mut closed = Vec::new();
    let mut open_at_end = 0;
    loop {
        tokio::select! {
            joined = clients.join_next() => match joined {
                Some(Ok(Some(after))) => closed.push(after.as_secs_f64()),
                Some(_) => open_at_end += 1,
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                peak_rss = peak_rss.max(server.rss_mib());
            }
        }
    }
    stop.store(true, Ordering::Release);
    let healthz = prober.await.expect("the prober");
    closed.sort_by(f64::total_cmp);
    Measured {
        label: "slow clients",
        statuses: format!(
            "{SLOW_CLIENTS} connections opened in {:.1} s ({refused} refused at connect)",
            opening.as_secs_f64()
        ),
        rows: "nothing".to_owned(),
        db_growth_mib: (server.database_bytes().saturating_sub(bytes_before)) as f64
            / (1024.0 * 1024.0),
        rss_before,
        rss_after: peak_rss,
        healthz,
        extra: format!(
            "closed by the server: {} (median {:.1} s, max {:.1} s after opening); still open after {} s: {open_at_end}; RSS after is the peak during the run",
            closed.len(),
            pct(&closed, 50.0),
            closed.last().copied().unwrap_or(f64::NAN),
            SLOW_RUN.as_secs()
        ),
    }
}

async fn bench() {
    let server = Server::start().await;
    let base = server.base();
    println!(
        "mcp-gateway notion-mcp at {base}, default limits; {ATTEMPTS} requests per flood from one address, {FLOOD_CONCURRENCY} at a time"
    );
    let big = registration(14 * 1024).to_string();
    let register = format!("{base}/register");
    let m = flood(
        &server,
        "/register, 14 KB of metadata",
        11,
        "as_clients",
        |http, _| {
            http.post(&register)
                .header("content-type", "application/json")
                .body(big.clone())
        },
    )
    .await;
    print(&m);
    let small = registration(1024).to_string();
    let m = flood(
        &server,
        "/register, 1 KB of metadata",
        12,
        "as_clients",
        |http, _| {
            http.post(&register)
                .header("content-type", "application/json")
                .body(small.clone())
        },
    )
    .await;
    print(&m);

    let client_id = registered_client(&server).await;
    let big_state = "s".repeat(4096);
    let big_scope = "x".repeat(4096);
    let m = flood(
        &server,
        "/authorize, 4 KB state and scope",
        13,
        "as_pending",
        |http, _| http.get(authorize_url(&base, &client_id, &big_state, &big_scope)),
    )
    .await;
    print(&m);
    let state = "s".repeat(512);
    let m = flood(
        &server,
        "/authorize, 512-byte state",
        14,
        "as_pending",
        |http, _| http.get(authorize_url(&base, &client_id, &state, "")),
    )
    .await;
    print(&m);

    let m = slow_clients(&server).await;
    print(&m);
}
