//! `mcp-gateway serve` as a process over a folder of its own, against the fakes; and the
//! operator's `schedule` commands on the same database.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The bot token the fake Bot API accepts.
pub const TOKEN: &str = "123456:SCHEDULE-test";
/// A generous wait for things that take milliseconds.
pub const WAIT: Duration = Duration::from_secs(20);

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("address").port()
}

/// The gateway's folder and configuration; `serve` is started and stopped over it.
pub struct Gateway {
    /// Kept for as long as the gateway runs in it.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Gateway {
    /// A folder whose configuration points at the fakes; `telegram` and `slack` are their API
    /// URLs when the channel is wanted; `extra_agent` goes into `[agent]`.
    pub fn new(
        ollama: &str,
        telegram: Option<&str>,
        slack: Option<&str>,
        extra_agent: &str,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).expect("write");
        };
        write("seal.key", &"ab".repeat(32));
        private(&dir.path().join("seal.key"));
        let port = free_port();
        let mut config = format!(
            "[model]\nbase_url = \"{ollama}\"\n[store]\npath = \"gateway.db\"\nseal_key_file = \"seal.key\"\n\
             [agent]\ntime_zone = \"Europe/Berlin\"\n{extra_agent}\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
        );
        if let Some(url) = telegram {
            write("telegram-token", &format!("{TOKEN}\n"));
            config.push_str(&format!(
                "[channels.telegram]\ntoken_file = \"telegram-token\"\napi_url = \"{url}\"\npolicy = \"open\"\n"
            ));
        }
        if let Some(url) = slack {
            write("slack-app", "xapp-1-schedule\n");
            write("slack-bot", "xoxb-schedule\n");
            config.push_str(&format!(
                "[channels.slack]\napp_token_file = \"slack-app\"\nbot_token_file = \"slack-bot\"\napi_url = \"{url}\"\npolicy = \"open\"\n"
            ));
        }
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).expect("write the config");
        Self {
            _dir: dir,
            config: path,
            port,
            child: None,
        }
    }

    /// Starts `serve` and waits until it is ready.
    pub async fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start mcp-gateway serve");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let ready = format!("http://127.0.0.1:{}/readyz", self.port);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = http.get(&ready).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve never became ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills `serve` with SIGKILL, as a crash would.
    pub async fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("kill -9");
            let _ = child.wait().await;
        }
    }

    /// Stops `serve` with SIGTERM and checks it exits 0.
    pub async fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            let pid = child.id().expect("a running child");
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .expect("kill");
            assert!(sent.success());
            let out = tokio::time::timeout(WAIT, child.wait_with_output())
                .await
                .expect("serve exits after SIGTERM")
                .expect("wait");
            assert!(out.status.success(), "exit {:?}", out.status);
        }
    }

    /// `/metrics` of the running `serve`.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// Runs `mcp-gateway ARGS --config <config>`: (exit success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        cli(&self.config, args).await
    }
}

/// Runs `mcp-gateway ARGS --config CONFIG`.
pub async fn cli(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .await
        .expect("run mcp-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
