//! `mcp-gateway status [--json]` through the binary: against the fake Ollama, our Notion MCP
//! server (reachable, asking for OAuth), server-everything (reachable, with its tools) and a
//! server on a closed port; without `serve` (its state unknown), with a model server that never
//! answers (bounded), and with `serve` running Telegram against the fake Bot API (uptime, the
//! channel polling with its last update, the last hour's turns and errors).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::fake_ollama::{FakeOllama, Reply};
use crate::fake_telegram::FakeTelegram;
use crate::mcp_peers::EverythingServer;

const TOKEN: &str = "123456:STATUS-test";
const WAIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn private(path: &Path) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("make the file private");
}

/// A folder with the secrets `serve` and `notion-mcp` read.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, value: &str| {
        std::fs::write(dir.path().join(name), value).expect("write a file");
    };
    write("seal.key", &"5e".repeat(32));
    private(&dir.path().join("seal.key"));
    write("telegram-token", &format!("{TOKEN}\n"));
    for name in ["notion-id", "notion-secret"] {
        write(name, name);
    }
    dir
}

/// The configuration: the model on `model`, the gateway on `gateway`, and three servers:
/// `notion` (ours, on `notion`), `everything` at `everything` and `gone` on a closed port;
/// Telegram at `telegram` when given.
fn config(
    dir: &Path,
    name: &str,
    model: &str,
    gateway: u16,
    notion: u16,
    everything: &str,
    telegram: Option<&str>,
) -> PathBuf {
    let closed = free_port();
    let telegram = telegram.map_or_else(String::new, |url| {
        format!(
            "[channels.telegram]\ntoken_file = \"telegram-token\"\napi_url = \"{url}\"\npolicy = \"open\"\n\n"
        )
    });
    let text = format!(
        r#"[model]
base_url = "{model}"

[store]
path = "data/gateway.db"
seal_key_file = "seal.key"

[http]
listen = "127.0.0.1:{gateway}"

{telegram}[[servers]]
name = "notion"
url = "http://127.0.0.1:{notion}/mcp"
auth = "oauth"

[[servers]]
name = "everything"
url = "{everything}"

[[servers]]
name = "gone"
url = "http://127.0.0.1:{closed}/mcp"

[notion_mcp]
listen = "127.0.0.1:{notion}"
public_url = "http://127.0.0.1:{notion}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

fn spawn(args: &[&str], config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway")
}

/// Waits until `url` answers 200.
async fn wait_ready(child: &mut Child, url: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited with {status} before {url} answered");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run(config: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("mcp-gateway finished within 60 s")
        .expect("run mcp-gateway")
}

async fn status_json(config: &Path) -> Value {
    let out = run(config, &["status", "--json"]).await;
    assert!(
        out.status.success(),
        "status --json: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json prints one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

async fn status_text(config: &Path) -> String {
    let out = run(config, &["status"]).await;
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The version `--version` prints: `mcp-gateway X` gives `X`.
async fn version(config: &Path) -> String {
    let out = run(config, &["--version"]).await;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .expect("a version")
        .to_owned()
}

fn server<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("server {name} in {status}"))
}

/// People and connections written as the gateway writes them: one sender approved, one
/// waiting, one expired code; a working and a broken Notion connection.
fn seed(database: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
        .cast_signed();
    let db = rusqlite::Connection::open(database).expect("open the database");
    db.execute_batch(&format!(
        "INSERT INTO channel_approved_senders VALUES ('telegram:1', 'Ann', {now});
         INSERT INTO channel_pairing_codes VALUES ('AAAA1111', 'telegram:2', 'Bob', {now}, {later});
         INSERT INTO channel_pairing_codes VALUES ('BBBB2222', 'telegram:3', 'Cy', {old}, {old});
         INSERT INTO oauth_tokens (principal, server, client_id, credentials, status, connected_at, updated_at)
           VALUES ('telegram:1', 'notion', 'c', x'00', 'ok', {now}, {now}),
                  ('telegram:2', 'notion', 'c', x'00', 'broken', {now}, {now});",
        later = now + 600,
        old = now - 7200,
    ))
    .expect("seed the database");
}

#[tokio::test]
async fn status_without_serve_probes_everything_within_bounds_and_counts_the_store() {
    let ollama = FakeOllama::start(|_| Reply::text("hi")).await;
    let everything = EverythingServer::start().await;
    let dir = folder();
    let [gateway, notion] = [free_port(), free_port()];
    let cfg = config(
        dir.path(),
        "gateway.toml",
        &ollama.url(),
        gateway,
        notion,
        &everything.url(),
        None,
    );

    // No database yet: nothing to report, and nothing is created.
    let out = run(&cfg, &["status"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("data/gateway.db").exists());

    let mut notion_mcp = spawn(&["notion-mcp"], &cfg);
    wait_ready(
        &mut notion_mcp,
        &format!("http://127.0.0.1:{notion}/readyz"),
    )
    .await;
    seed(&dir.path().join("data/gateway.db"));

    let status = status_json(&cfg).await;
    assert_eq!(status["version"], version(&cfg).await.as_str());
    assert_eq!(status["serve"]["running"], false, "{status}");
    assert!(
        status["serve"]["metrics_url"]
            .as_str()
            .is_some_and(|u| u == format!("http://127.0.0.1:{gateway}/metrics")),
        "{status}"
    );
    assert!(status["last_hour"].is_null(), "{status}");
    let model = &status["model"];
    assert_eq!(model["reachable"], true, "{status}");
    assert_eq!(model["present"], true, "{status}");
    assert_eq!(model["name"], "qwen2.5:7b");
    let notion_status = server(&status, "notion");
    assert_eq!(notion_status["reachable"], true, "{status}");
    assert_eq!(notion_status["auth"], "oauth");
    assert!(notion_status["tools"].is_null(), "{status}");
    let everything_status = server(&status, "everything");
    assert_eq!(everything_status["reachable"], true, "{status}");
    assert!(
        everything_status["tools"].as_u64().is_some_and(|n| n >= 5),
        "{status}"
    );
    let gone = server(&status, "gone");
    assert_eq!(gone["reachable"], false, "{status}");
    assert!(gone["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        status["people"],
        serde_json::json!({"paired": 1, "pending": 1})
    );
    assert_eq!(
        status["connections"],
        serde_json::json!([{"server": "notion", "connected": 1, "broken": 1}])
    );
    assert_eq!(status["schedule"]["entries"], 0, "{status}");

    let text = status_text(&cfg).await;
    assert!(text.starts_with("mcp-gateway "), "{text}");
    assert!(text.contains("serve: not running"), "{text}");
    assert!(text.contains("model: qwen2.5:7b on"), "{text}");
    assert!(text.contains("model present"), "{text}");
    assert!(text.contains("  notion (http://127.0.0.1:"), "{text}");
    assert!(
        text.contains("  gone (") && text.contains("NOT reachable"),
        "{text}"
    );
    assert!(text.contains("people: 1 paired, 1 waiting"), "{text}");
    assert!(
        text.contains("connections: notion 1 connected, 1 broken"),
        "{text}"
    );
    assert!(
        text.contains("last hour: unknown (serve is not running)"),
        "{text}"
    );

    // A model server that accepts connections and never answers costs the probe's bound.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    let hung = config(
        dir.path(),
        "hung.toml",
        &silent_url,
        gateway,
        notion,
        &everything.url(),
        None,
    );
    let started = Instant::now();
    let status = status_json(&hung).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "status took {:?}",
        started.elapsed()
    );
    assert_eq!(status["model"]["reachable"], false, "{status}");
    assert!(
        status["model"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no answer within")),
        "{status}"
    );
    drop(silent);
    let _ = notion_mcp.kill().await;
}

#[tokio::test]
async fn status_with_serve_shows_its_uptime_channel_and_last_hour() {
    let ollama = FakeOllama::scripted(vec![
        Reply::text("Hello there."),
        Reply::status(
            500,
            serde_json::json!({"error": "the model runner crashed"}),
        ),
    ])
    .await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let dir = folder();
    let [gateway, notion] = [free_port(), free_port()];
    // The everything server is not started here: it is reported unreachable.
    let cfg = config(
        dir.path(),
        "gateway.toml",
        &ollama.url(),
        gateway,
        notion,
        &format!("http://127.0.0.1:{}/mcp", free_port()),
        Some(&telegram.url()),
    );
    let mut serve = spawn(&["serve"], &cfg);
    telegram
        .wait_for("the first getUpdates", WAIT, |calls| {
            calls.iter().any(|c| c.method == "getupdates")
        })
        .await;
    wait_ready(&mut serve, &format!("http://127.0.0.1:{gateway}/metrics")).await;

    let status = status_json(&cfg).await;
    assert_eq!(status["serve"]["running"], true, "{status}");
    assert_eq!(status["serve"]["version"], status["version"], "{status}");
    assert!(
        status["serve"]["uptime_seconds"]
            .as_i64()
            .is_some_and(|s| (0..120).contains(&s)),
        "{status}"
    );
    let channels = status["serve"]["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 1, "{status}");
    assert_eq!(channels[0]["name"], "telegram");
    assert_eq!(channels[0]["connected"], true, "{status}");
    assert!(channels[0]["last_update"].is_null(), "{status}");
    assert_eq!(
        status["last_hour"],
        serde_json::json!({"turns": 0, "errors": 0, "tool_errors": 0})
    );

    // One turn answered, one that fails at the model.
    telegram.push_private(41, "hello");
    telegram.wait_for_final(41, 1, WAIT).await;
    telegram.push_private(41, "and again");
    telegram
        .wait_for("the error reply", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(41) && c.text().contains("Sorry"))
        })
        .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let deadline = tokio::time::Instant::now() + WAIT;
    let status = loop {
        let status = status_json(&cfg).await;
        if status["last_hour"]["turns"] == 2 {
            break status;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        status["last_hour"],
        serde_json::json!({"turns": 2, "errors": 1, "tool_errors": 0})
    );
    let last_update = status["serve"]["channels"][0]["last_update"]
        .as_u64()
        .expect("a last update");
    assert!(
        last_update + 60 >= before && last_update <= before + 1,
        "{status}"
    );
    assert_eq!(server(&status, "everything")["reachable"], false);

    let text = status_text(&cfg).await;
    assert!(text.contains("serve: running for "), "{text}");
    assert!(text.contains("  telegram: polling, last update "), "{text}");
    assert!(text.contains(" ago"), "{text}");
    assert!(
        text.contains("last hour: 2 turns, 1 ended in an error, 0 failed tool calls"),
        "{text}"
    );

    serve.kill().await.expect("stop serve");
    let status = status_json(&cfg).await;
    assert_eq!(status["serve"]["running"], false, "{status}");
}
