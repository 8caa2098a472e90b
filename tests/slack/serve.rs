//! `mcp-gateway serve` as a process, running Telegram and Slack at once against their fakes and a
//! fake Ollama: both channels answer, the HTTP surface reports ready, and SIGTERM drains and exits 0;
//! and `serve` in this process, stopped by a shutdown token of the test's own.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::process::Command;

use crate::fake_ollama::{FakeOllama, Reply};
use crate::fake_slack::FakeSlack;
use crate::fake_telegram::FakeTelegram;

const TOKEN: &str = "123456:SERVE-test";
const WAIT: Duration = Duration::from_secs(20);

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("address").port()
}

#[tokio::test]
async fn serve_runs_telegram_and_slack_at_once() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let ollama = FakeOllama::start(|request| {
        let asked = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        Reply::text(&format!("You said: {asked}"))
    })
    .await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let slack = FakeSlack::start().await;
    std::fs::write(dir.path().join("telegram-token"), format!("{TOKEN}\n")).expect("write");
    std::fs::write(dir.path().join("slack-app"), "xapp-1-serve\n").expect("write");
    std::fs::write(dir.path().join("slack-bot"), "xoxb-serve\n").expect("write");
    std::fs::write(dir.path().join("seal.key"), "ab".repeat(32)).expect("write");
    private(&dir.path().join("seal.key"));
    let port = free_port();
    let config = format!(
        r#"[model]
base_url = "{ollama}"
[store]
path = "gateway.db"
seal_key_file = "seal.key"
[http]
listen = "127.0.0.1:{port}"
[channels.telegram]
token_file = "telegram-token"
api_url = "{telegram}"
policy = "open"
[channels.slack]
app_token_file = "slack-app"
bot_token_file = "slack-bot"
api_url = "{slack}"
policy = "open"
"#,
        ollama = ollama.url(),
        telegram = telegram.url(),
        slack = slack.api_url(),
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, config).expect("write the config");

    let child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["serve", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway serve");

    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = http.get(&ready).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve never became ready on {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Envelopes pushed before the channel's socket is connected are lost, as with Slack.
    assert!(
        slack.wait_for(WAIT, |s| s.sockets() > 0).await,
        "the Slack channel never connected its socket"
    );
    telegram.push_private(42, "hello from telegram");
    slack.push_event(
        "T1",
        json!({"type": "message", "channel_type": "im", "user": "U7", "channel": "DU7", "text": "hello from slack", "ts": "100.0001"}),
    );

    let calls = telegram.wait_for_final(42, 1, WAIT).await;
    let last = calls
        .iter()
        .rev()
        .find(|c| c.is_text() && c.ok && c.chat() == Some(42))
        .expect("a Telegram reply");
    assert_eq!(last.text(), "You said: hello from telegram");

    let answered = slack
        .wait_for(WAIT, |s| {
            s.posted().iter().any(|(channel, ts, _)| {
                channel == "DU7"
                    && s.message_text(channel, ts).as_deref() == Some("You said: hello from slack")
            })
        })
        .await;
    assert!(answered, "a Slack reply: {:?}", slack.posted());

    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(metrics.contains("mcp_gateway_"), "{metrics}");

    let pid = child.id().expect("a running child");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("serve exits after SIGTERM")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        !stderr.contains(TOKEN)
            && !stderr.contains("xoxb-serve")
            && !stderr.contains("xapp-1-serve"),
        "a token reached the logs: {stderr}"
    );
}

/// `serve` in this process, on a shutdown token of the test's own: it answers on Telegram and
/// stops, having drained, as soon as the token is cancelled.
#[tokio::test]
async fn serve_stops_when_its_shutdown_is_cancelled() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let ollama = FakeOllama::start(|_| Reply::text("Here.")).await;
    let telegram = FakeTelegram::start(TOKEN).await;
    std::fs::write(dir.path().join("telegram-token"), format!("{TOKEN}\n")).expect("write");
    std::fs::write(dir.path().join("seal.key"), "cd".repeat(32)).expect("write");
    private(&dir.path().join("seal.key"));
    let port = free_port();
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(
        &config_path,
        format!(
            "[model]\nbase_url = \"{}\"\n[store]\npath = \"gateway.db\"\nseal_key_file = \"seal.key\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n\
             [channels.telegram]\ntoken_file = \"telegram-token\"\napi_url = \"{}\"\npolicy = \"open\"\n",
            ollama.url(),
            telegram.url()
        ),
    )
    .expect("write the config");
    let config = mcp_gateway::config::Config::load(&config_path).expect("the configuration");
    let shutdown = tokio_util::sync::CancellationToken::new();
    // The fake holds the message until the channel's first poll.
    telegram.push_private(42, "hello");
    let serve = tokio::spawn(mcp_gateway::app::serve(config, shutdown.clone()));
    let calls = telegram.wait_for_final(42, 1, WAIT).await;
    assert!(
        calls
            .iter()
            .any(|c| c.is_text() && c.ok && c.chat() == Some(42) && c.text() == "Here."),
        "{calls:?}"
    );

    shutdown.cancel();
    let code = tokio::time::timeout(WAIT, serve)
        .await
        .expect("serve stops once its token is cancelled")
        .expect("the serve task")
        .expect("serve ends without error");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let gone = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(gone.is_err(), "the HTTP surface is closed: {gone:?}");
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
