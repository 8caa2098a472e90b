//! `mcp-gateway serve` with Telegram in front of a one-slot model server: three people writing
//! at once are all answered, and the two who wait are told their place in their chat while the
//! typing indicator goes on.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::fake_ollama::{FakeOllama, Reply};
use crate::fake_telegram::FakeTelegram;

const TOKEN: &str = "123456:QUEUE-test";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn three_telegram_users_at_once_are_told_their_place() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let ollama = FakeOllama::start(|request| {
        let asked = request["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        Reply::text(&format!("You said: {asked}"))
    })
    .await;
    ollama.set_request_time(Duration::from_millis(1500));
    let telegram = FakeTelegram::start(TOKEN).await;
    std::fs::write(dir.path().join("telegram-token"), format!("{TOKEN}\n")).expect("write");
    std::fs::write(dir.path().join("seal.key"), "cd".repeat(32)).expect("write");
    private(&dir.path().join("seal.key"));
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let config = format!(
        "[model]\nbase_url = \"{}\"\nqueue_notice_secs = 1\n[store]\npath = \"gateway.db\"\nseal_key_file = \"seal.key\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n[channels.telegram]\ntoken_file = \"telegram-token\"\napi_url = \"{}\"\npolicy = \"open\"\n",
        ollama.url(),
        telegram.url()
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, config).expect("write the config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["serve", "--config"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway serve");
    telegram
        .wait_for("the first getUpdates", WAIT, |calls| {
            calls.iter().any(|c| c.method == "getupdates")
        })
        .await;

    let users = [41_u64, 42, 43];
    for user in users {
        telegram.push_private(user, &format!("hello from {user}"));
    }
    let mut told = 0;
    for user in users {
        let chat = i64::try_from(user).expect("small id");
        let calls = telegram.wait_for_final(chat, 1, WAIT).await;
        let last = calls
            .iter()
            .rev()
            .find(|c| c.is_text() && c.ok && c.is_html() && c.chat() == Some(chat))
            .expect("a final reply");
        assert_eq!(last.text(), format!("You said: hello from {user}"));
        let notice = calls
            .iter()
            .position(|c| c.chat() == Some(chat) && c.text().contains("in line"));
        if let Some(notice) = notice {
            told += 1;
            // The notice clears the typing indicator in the person's app; it comes back while
            // the turn still waits.
            let answer = calls
                .iter()
                .position(|c| c.chat() == Some(chat) && c.text() == last.text())
                .expect("the answer");
            assert!(
                calls[notice..answer]
                    .iter()
                    .any(|c| c.method == "sendchataction" && c.chat() == Some(chat)),
                "typing again after the notice in chat {chat}"
            );
        }
    }
    assert_eq!(told, 2, "the two who waited were told their place");
    assert_eq!(ollama.most_at_once(), 1);
    assert_eq!(ollama.most_waiting(), 0);
    child.start_kill().expect("stop serve");
    let _ = child.wait().await;
}

/// When Telegram refuses the bot token, `serve` stops and exits non-zero, saying what to do.
#[tokio::test]
async fn a_refused_telegram_token_makes_serve_exit_non_zero() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let telegram = FakeTelegram::start(TOKEN).await;
    std::fs::write(dir.path().join("telegram-token"), "123456:WRONG\n").expect("write");
    std::fs::write(dir.path().join("seal.key"), "cd".repeat(32)).expect("write");
    private(&dir.path().join("seal.key"));
    let config = format!(
        "[model]\nbase_url = \"http://127.0.0.1:9\"\n[store]\npath = \"gateway.db\"\nseal_key_file = \"seal.key\"\n[http]\nlisten = \"127.0.0.1:0\"\n[channels.telegram]\ntoken_file = \"telegram-token\"\napi_url = \"{}\"\npolicy = \"open\"\n",
        telegram.url()
    );
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(&config_path, config).expect("write the config");
    let child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["serve", "--config"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway serve");
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("serve stops when its only channel cannot run")
        .expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve exited 0: {err}");
    assert!(err.contains("Telegram refused the bot token"), "{err}");
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
