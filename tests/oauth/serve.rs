//! `mcp-gateway serve` as a process with Telegram (against its fake): a person asks, gets a
//! connect button, connects in a headless browser, and the bot says so and answers the message
//! that needed the connection, without the person writing again.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::deployment::{Deployment, free_port};
use crate::fake_ollama::FakeOllama;
use crate::fake_telegram::FakeTelegram;
use crate::harness::{browse, model};

const TOKEN: &str = "123456:OAUTH-test";
const WAIT: Duration = Duration::from_secs(30);
const ANN: u64 = 4242;

/// The URL of the first inline button in a call's `reply_markup`, if any.
fn button_url(body: &Value) -> Option<String> {
    body["reply_markup"]["inline_keyboard"]
        .as_array()?
        .iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find_map(|b| b["url"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_waiting_telegram_message_after_the_callback() {
    let deployment = Deployment::start().await;
    deployment.fake_notion.seed_page(None, "Roadmap 2027");
    let ollama = FakeOllama::start(model(
        "notion_search",
        "notion_connect",
        json!({"query": "Roadmap"}),
    ))
    .await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("bot-token"), TOKEN).expect("token file");
    std::fs::write(dir.path().join("seal.key"), "7a".repeat(32)).expect("key file");
    let port = free_port();
    let config = format!(
        r#"[model]
base_url = "{ollama}"
name = "qwen2.5:7b"

[store]
path = "gateway.db"
seal_key_file = "seal.key"

[agent]
tool_selection = "all"

[[servers]]
name = "notion"
url = "{notion}"
auth = "oauth"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"

[channels.telegram]
token_file = "bot-token"
api_url = "{telegram}"
policy = "open"
"#,
        ollama = ollama.url(),
        notion = deployment.notion.resource(),
        telegram = telegram.url(),
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, config).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start serve");
    let ready = format!("http://127.0.0.1:{port}/healthz");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !reqwest::get(&ready)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    telegram.push_private(ANN, "Find my Roadmap page in Notion");
    let chat = i64::try_from(ANN).expect("chat id");
    let calls = telegram
        .wait_for("a connect button", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(chat) && button_url(&c.body).is_some())
        })
        .await;
    let link = calls
        .iter()
        .find_map(|c| button_url(&c.body))
        .expect("a button URL");
    assert!(link.starts_with(&format!("{}/authorize?", deployment.notion.base)));
    assert_eq!(deployment.fake_notion.calls(), 0);

    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);

    telegram
        .wait_for("the notice and the answer", WAIT, |calls| {
            let texts: Vec<&str> = calls
                .iter()
                .filter(|c| c.is_text() && c.ok && c.chat() == Some(chat))
                .map(|c| c.text())
                .collect();
            texts
                .iter()
                .any(|t| t.contains("Connected your notion account"))
                && texts.iter().any(|t| t.contains("Roadmap 2027"))
        })
        .await;
    assert!(deployment.fake_notion.calls() > 0, "Notion was called");
    let _ = child.start_kill();
}
