//! `mcp-gateway up` as a process: the console chat, the gateway's callback and notion-mcp in one
//! process; the connect flow from the terminal; `connections list|revoke` beside it; and no token
//! in plaintext in the database file or the logs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mcp_gateway::store::seal::Sealer;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::deployment::{GOOGLE_CLIENT, NOTION_CLIENT, free_ports};
use crate::fake_google::FakeGoogle;
use crate::fake_notion::FakeNotion;
use crate::fake_ollama::FakeOllama;
use crate::harness::{browse, model};

const WAIT: Duration = Duration::from_secs(30);

/// Collects a child's output lines.
fn collect<R>(reader: R) -> Arc<Mutex<String>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut t = sink.lock();
            t.push_str(&line);
            t.push('\n');
        }
    });
    text
}

async fn wait_for(text: &Arc<Mutex<String>>, what: impl Fn(&str) -> bool, label: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !what(&text.lock()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {label} within {} s; output so far:\n{}",
            WAIT.as_secs(),
            text.lock()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_cli(config: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .await
        .expect("run the CLI");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file of the SQLite database at `path` (main file, WAL), concatenated.
fn database_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(PathBuf::from(p)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_runs_the_connect_flow_from_the_terminal_and_keeps_tokens_sealed() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let fake_notion = FakeNotion::start().await;
    fake_notion.add_client(NOTION_CLIENT.0, NOTION_CLIENT.1);
    fake_notion.seed_page(None, "Roadmap 2027");
    let fake_google = FakeGoogle::start().await;
    fake_google.add_client(GOOGLE_CLIENT.0, GOOGLE_CLIENT.1);
    let ollama = FakeOllama::start(model(
        "notion_search",
        "notion_connect",
        json!({"query": "Roadmap"}),
    ))
    .await;
    for (name, value) in [
        ("notion-id", NOTION_CLIENT.0),
        ("notion-secret", NOTION_CLIENT.1),
        ("google-id", GOOGLE_CLIENT.0),
        ("google-secret", GOOGLE_CLIENT.1),
    ] {
        std::fs::write(dir.path().join(name), value).expect("write a secret");
    }
    let [gp, np, cp] = free_ports();
    let config = format!(
        r#"[model]
base_url = "{ollama}"
name = "qwen2.5:7b"

[store]
path = "data/gateway.db"
seal_key_file = "secrets/seal.key"

[agent]
tool_selection = "all"

[[servers]]
name = "notion"
url = "http://127.0.0.1:{np}/mcp"
auth = "oauth"

[http]
listen = "127.0.0.1:{gp}"
public_url = "http://127.0.0.1:{gp}"

[notion_mcp]
listen = "127.0.0.1:{np}"
public_url = "http://127.0.0.1:{np}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"
api_url = "{notion_api}"
authorize_url = "{notion_authorize}"
token_url = "{notion_token}"

[gcal_mcp]
listen = "127.0.0.1:{cp}"
public_url = "http://127.0.0.1:{cp}"
client_id_file = "google-id"
client_secret_file = "google-secret"
api_url = "{google_api}"
authorize_url = "{google_authorize}"
token_url = "{google_token}"
"#,
        ollama = ollama.url(),
        notion_api = fake_notion.api_url(),
        notion_authorize = fake_notion.authorize_url(),
        notion_token = fake_notion.token_url(),
        google_api = fake_google.api_url(),
        google_authorize = fake_google.authorize_url(),
        google_token = fake_google.token_url(),
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, config).expect("write the config");

    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg("up")
        .arg("--config")
        .arg(&config_path)
        .env("USER", "ann")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway up");
    let stdout = collect(child.stdout.take().expect("stdout"));
    let logs = collect(child.stderr.take().expect("stderr"));
    let mut stdin = child.stdin.take().expect("stdin");

    for url in [
        format!("http://127.0.0.1:{gp}/healthz"),
        format!("http://127.0.0.1:{np}/readyz"),
        format!("http://127.0.0.1:{cp}/readyz"),
    ] {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = reqwest::get(&url).await
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("up exited with {status}: {}", logs.lock());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{url} never answered: {}",
                logs.lock()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    stdin
        .write_all(b"Find my Roadmap page in Notion\n")
        .await
        .expect("write a question");
    stdin.flush().await.expect("flush");
    wait_for(&stdout, |t| t.contains("/authorize?"), "connect link").await;
    let link = stdout
        .lock()
        .lines()
        .find(|l| l.starts_with("http") && l.contains("/authorize?"))
        .expect("the link on its own line")
        .to_owned();
    assert!(link.starts_with(&format!("http://127.0.0.1:{np}/authorize?")));
    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);

    // The console says so and answers the question that was waiting.
    wait_for(
        &stdout,
        |t| t.contains("Connected your notion account as Acme."),
        "notice",
    )
    .await;
    wait_for(&stdout, |t| t.contains("Roadmap 2027"), "answer").await;

    // The operator sees the connection from another process.
    let listed = run_cli(&config_path, &["connections", "list"]).await;
    assert!(
        listed.contains("console:ann\tnotion\tconnected\tAcme\t"),
        "the connection, and the workspace it is connected as: {listed}"
    );

    // The tokens as stored, opened with the key: none of them is in the file in plaintext.
    let database = dir.path().join("data/gateway.db");
    let sealer = Sealer::load(&dir.path().join("secrets/seal.key"), false).expect("the key");
    let sealed: Vec<u8> = rusqlite::Connection::open(&database)
        .expect("open the database")
        .query_row(
            "SELECT credentials FROM oauth_tokens WHERE principal = 'console:ann' AND server = 'notion'",
            [],
            |r| r.get(0),
        )
        .expect("the sealed tokens");
    let credentials: Value = serde_json::from_slice(
        &sealer
            .open("oauth_tokens|console:ann|notion|credentials", &sealed)
            .expect("the row opens with its identity"),
    )
    .expect("JSON");
    let access = credentials["token_response"]["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let refresh = credentials["token_response"]["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let mut secrets = vec![access.clone(), refresh.clone()];
    secrets.extend(
        fake_notion
            .authorizations()
            .iter()
            .filter_map(|h| h.strip_prefix("Bearer ").map(str::to_owned)),
    );
    assert!(secrets.len() >= 3);
    let bytes = database_bytes(&database);
    for secret in &secrets {
        assert!(!contains(&bytes, secret), "a token is stored in plaintext");
        assert!(
            !logs.lock().contains(secret.as_str()),
            "a token is in the logs"
        );
        assert!(
            !stdout.lock().contains(secret.as_str()),
            "a token was printed"
        );
    }

    // Revoking from the command line removes both sides.
    let revoked = run_cli(
        &config_path,
        &["connections", "revoke", "console:ann", "notion"],
    )
    .await;
    assert!(
        revoked.contains("Revoked console:ann's connection to notion"),
        "{revoked}"
    );
    let (status, _) =
        crate::deployment::initialize(&format!("http://127.0.0.1:{np}/mcp"), Some(&access)).await;
    assert_eq!(status, 401, "the server revoked the token");
    let listed = run_cli(&config_path, &["connections", "list"]).await;
    assert!(listed.contains("No connected accounts"), "{listed}");

    // The console's own /connect shows a new link.
    stdin
        .write_all(b"/connect notion\n")
        .await
        .expect("write a command");
    stdin.flush().await.expect("flush");
    wait_for(
        &stdout,
        |t| {
            t.lines()
                .filter(|l| l.starts_with("http") && l.contains("/authorize?"))
                .count()
                == 2
        },
        "a second link",
    )
    .await;

    drop(stdin);
    let _ = child.start_kill();
}
