//! `/metrics` of every subcommand that serves HTTP (`serve`, `up`, `notion-mcp`, `gcal-mcp`),
//! scraped once before any other request: the process metrics, the build info and the labelled
//! series the dashboard and the alert rules read are there already.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A folder with a seal key and upstream client credentials, and a configuration naming them:
/// the gateway on `gateway`, one `notion` server (not running), the model server on a closed
/// port, and both MCP servers on their ports.
fn setup(gateway: u16, notion: u16, gcal: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, value: &str| {
        std::fs::write(dir.path().join(name), value).expect("write a file");
    };
    write("seal.key", &"5e".repeat(32));
    std::fs::set_permissions(
        dir.path().join("seal.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("make the seal key private");
    for name in ["notion-id", "notion-secret", "google-id", "google-secret"] {
        write(name, name);
    }
    let closed = free_port();
    write(
        "gateway.toml",
        &format!(
            r#"[model]
base_url = "http://127.0.0.1:{closed}"

[store]
path = "data/gateway.db"
seal_key_file = "seal.key"

[http]
listen = "127.0.0.1:{gateway}"

[[servers]]
name = "notion"
url = "http://127.0.0.1:{notion}/mcp"
auth = "oauth"

[notion_mcp]
listen = "127.0.0.1:{notion}"
public_url = "http://127.0.0.1:{notion}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"

[gcal_mcp]
listen = "127.0.0.1:{gcal}"
public_url = "http://127.0.0.1:{gcal}"
client_id_file = "google-id"
client_secret_file = "google-secret"
"#
        ),
    );
    dir
}

fn start(command: &str, dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg(command)
        .arg("--config")
        .arg(dir.join("gateway.toml"))
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway")
}

/// Waits until the port accepts connections (no HTTP request is made), then scrapes `/metrics`
/// once.
async fn first_scrape(child: &mut Child, port: u16) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited with {status} before listening on {port}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listened on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("scrape /metrics");
    assert_eq!(response.status(), 200);
    response.text().await.expect("the metrics text")
}

/// Asserts the process metrics and the build info, with plausible values.
fn assert_process_metrics(text: &str) {
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number in:\n{text}"))
    };
    assert!(value("process_resident_memory_bytes") > 1e6, "{text}");
    assert!(value("process_cpu_seconds_total") >= 0.0, "{text}");
    assert!(value("process_open_fds") >= 3.0, "{text}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs_f64();
    let start = value("process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 120.0,
        "{start} vs {now}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.contains(&format!(
            "mcp_gateway_build_info{{version=\"{version}\"}} 1"
        )),
        "{text}"
    );
}

/// Asserts the MCP server's labelled series read by the dashboard and the rules, at zero.
fn assert_server_series(text: &str, server: &str) {
    for series in [
        format!("mcp_gateway_oauth_refresh_failures_total{{server=\"{server}\"}} 0"),
        format!("mcp_gateway_oauth_upstream_connects_total{{server=\"{server}\"}} 0"),
        format!("mcp_gateway_oauth_upstream_refreshes_total{{server=\"{server}\"}} 0"),
        format!(
            "mcp_gateway_oauth_tokens_issued_total{{server=\"{server}\",grant_type=\"authorization_code\"}} 0"
        ),
    ] {
        assert!(text.contains(&series), "{series} missing from:\n{text}");
    }
}

/// Asserts the gateway's labelled series read by the dashboard and the rules, at zero.
fn assert_gateway_series(text: &str, channels: &[&str]) {
    let mut wanted = vec![
        "mcp_gateway_model_tokens_total{kind=\"prompt\"} 0".to_owned(),
        "mcp_gateway_model_tokens_total{kind=\"completion\"} 0".to_owned(),
        "mcp_gateway_oauth_connects_total{server=\"notion\"} 0".to_owned(),
        "mcp_gateway_oauth_refresh_failures_total{server=\"notion\"} 0".to_owned(),
        "mcp_gateway_tool_call_duration_seconds_count{server=\"notion\"} 0".to_owned(),
        "mcp_gateway_turn_duration_seconds_count 0".to_owned(),
    ];
    for channel in channels {
        wanted.push(format!(
            "mcp_gateway_messages_total{{channel=\"{channel}\",direction=\"in\"}} 0"
        ));
        wanted.push(format!(
            "mcp_gateway_rate_limited_total{{channel=\"{channel}\"}} 0"
        ));
    }
    for series in wanted {
        assert!(text.contains(&series), "{series} missing from:\n{text}");
    }
}

#[tokio::test]
async fn notion_mcp_and_gcal_mcp_show_their_metrics_on_the_first_scrape() {
    let [gateway, notion, gcal] = [free_port(), free_port(), free_port()];
    let dir = setup(gateway, notion, gcal);
    let mut n = start("notion-mcp", dir.path());
    let mut g = start("gcal-mcp", dir.path());
    let text = first_scrape(&mut n, notion).await;
    assert_process_metrics(&text);
    assert_server_series(&text, "notion");
    let text = first_scrape(&mut g, gcal).await;
    assert_process_metrics(&text);
    assert_server_series(&text, "gcal");
}

#[tokio::test]
async fn serve_shows_its_metrics_on_the_first_scrape() {
    let [gateway, notion, gcal] = [free_port(), free_port(), free_port()];
    let dir = setup(gateway, notion, gcal);
    let mut child = start("serve", dir.path());
    let text = first_scrape(&mut child, gateway).await;
    assert_process_metrics(&text);
    assert_gateway_series(&text, &[]);
    assert!(
        !text.contains("channel=\"console\""),
        "serve has no console: {text}"
    );
}

#[tokio::test]
async fn up_shows_metrics_on_each_of_its_ports_on_the_first_scrape() {
    let [gateway, notion, gcal] = [free_port(), free_port(), free_port()];
    let dir = setup(gateway, notion, gcal);
    let mut child = start("up", dir.path());
    let text = first_scrape(&mut child, gateway).await;
    assert_process_metrics(&text);
    assert_gateway_series(&text, &["console"]);
    let text = first_scrape(&mut child, notion).await;
    assert_process_metrics(&text);
    assert_server_series(&text, "notion");
    let text = first_scrape(&mut child, gcal).await;
    assert_process_metrics(&text);
    assert_server_series(&text, "gcal");
}
