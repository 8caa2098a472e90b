//! The `up` console takes part in the schedule: a reminder made at the terminal is printed
//! there when due with no input in between, and one that fell due while `up` was stopped is
//! printed once when it starts again.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::fake_ollama::FakeOllama;
use crate::gateway::{WAIT, cli, free_port};
use crate::serve::model;

/// `up` over a folder of its own, its output lines with the time each was read.
struct Up {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Up {
    /// Starts `up` as `console:ann` on `config` and waits until it answers `/healthz` on
    /// `port`.
    async fn start(config: &std::path::Path, port: u16) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .args(["up", "--config"])
            .arg(config)
            .env("USER", "ann")
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start mcp-gateway up");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&out);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().push((Instant::now(), line));
            }
        });
        let health = format!("http://127.0.0.1:{port}/healthz");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = reqwest::get(&health).await
                && r.status().is_success()
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "up never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, stdin, out }
    }

    async fn type_line(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to up's console");
    }

    /// The output lines containing `needle`, with when each was read.
    fn lines_with(&self, needle: &str) -> Vec<(Instant, String)> {
        self.out
            .lock()
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .cloned()
            .collect()
    }

    /// Waits until `n` output lines contain `needle`.
    async fn wait_for(&self, needle: &str, n: usize) -> Vec<(Instant, String)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.lines_with(needle);
            if found.len() >= n {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {needle:?} on up's console: {:?}",
                self.out.lock()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops `up` with SIGTERM and checks it exits 0.
    async fn stop(mut self) {
        let pid = self.child.id().expect("a running child");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("up exits after SIGTERM")
            .expect("wait");
        assert!(status.success(), "exit {status:?}");
    }
}

/// A folder with a configuration for `up` over the fake model; no MCP server credentials, so
/// `up` runs the gateway and its console only.
fn folder(ollama: &str) -> (tempfile::TempDir, std::path::PathBuf, u16) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let port = free_port();
    let config = format!(
        "[model]\nbase_url = \"{ollama}\"\n[store]\npath = \"gateway.db\"\nseal_key_file = \"seal.key\"\n\
         [agent]\ntime_zone = \"Europe/Berlin\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config).expect("write the config");
    (dir, path, port)
}

/// The model schedules a reminder a few seconds ahead from the `up` console and it is printed
/// there on time, with no input in between; one due while `up` was stopped is printed once
/// when it starts again.
#[tokio::test]
async fn the_up_console_receives_its_reminders() {
    let ollama = FakeOllama::start(model).await;
    let (_dir, config, port) = folder(&ollama.url());
    let mut up = Up::start(&config, port).await;

    let due = Instant::now() + Duration::from_secs(3);
    up.type_line("remind me in 3 seconds to stretch").await;
    up.wait_for("Done.", 1).await;
    let (_, out, _) = cli(&config, &["schedule", "list"]).await;
    assert!(out.contains("console:ann"), "{out}");
    let printed = up.wait_for("⏰ Reminder: stretch", 1).await;
    let at = printed[0].0;
    assert!(at + Duration::from_millis(1100) >= due, "too early");
    assert!(at <= due + Duration::from_secs(2), "more than 2 s late");
    let offered = ollama.chat_requests()[0]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        offered
            .iter()
            .any(|t| t["function"]["name"] == "assistant_schedule"),
        "the console offers the built-in tools: {offered:?}"
    );

    up.type_line("remind me in 2 seconds to drink water").await;
    up.wait_for("Done.", 2).await;
    up.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let up = Up::start(&config, port).await;
    up.wait_for("⏰ Reminder: drink water", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(up.lines_with("drink water").len(), 1, "printed once");
    let (ok, listed, err) = cli(&config, &["schedule", "list", "--json"]).await;
    assert!(ok, "{err}");
    assert!(listed.contains("\"entries\":[]"), "{listed}");
    up.stop().await;
}

/// `chat` keeps no schedule: its turns offer no built-in tools, and `/reminders` says where
/// reminders are kept.
#[tokio::test]
async fn chat_offers_no_schedule() {
    let ollama = FakeOllama::start(model).await;
    let (_dir, config, _) = folder(&ollama.url());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["chat", "--config"])
        .arg(&config)
        .env("USER", "ann")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start mcp-gateway chat");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"remind me in 3 seconds to stretch\n/reminders\n")
        .await
        .expect("write to chat");
    drop(stdin);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("chat ends at the end of its input")
        .expect("wait");
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("run `mcp-gateway up`"), "{printed}");
    let requests = ollama.chat_requests();
    assert!(!requests.is_empty());
    for request in requests {
        let tools = request["tools"].as_array().cloned().unwrap_or_default();
        assert!(
            tools.iter().all(|t| !t["function"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("assistant_"))),
            "chat offers no built-in tools: {tools:?}"
        );
    }
}
