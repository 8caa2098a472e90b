//! Running the built binary with a temporary configuration.

use std::path::{Path, PathBuf};
use std::process::Output;

use tokio::io::AsyncWriteExt;

/// A temporary folder holding a configuration file (and its data and secrets).
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Setup {
    /// Writes `toml` as `mcp-gateway.toml` in a fresh folder.
    pub fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("mcp-gateway.toml");
        std::fs::write(&config, toml).expect("write config");
        Self { dir, config }
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `mcp-gateway <args> --config <file>` with `stdin` piped in.
    pub async fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with_config(&self.config, args, stdin).await
    }
}

/// Runs the binary with `--config config`, feeding `stdin`, with a deadline.
pub async fn run_with_config(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env("USER", "tester")
        .env_remove("MCP_GATEWAY_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn mcp-gateway");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("mcp-gateway finished within 60 s")
        .expect("wait")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `mcp-gateway chat` fed line by line, its stdout read as it comes.
pub struct Interactive {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    pub seen: String,
}

impl Interactive {
    /// Starts `mcp-gateway chat --config config`.
    pub fn chat(config: &Path) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .arg("chat")
            .arg("--config")
            .arg(config)
            .env("USER", "tester")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mcp-gateway chat");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
            seen: String::new(),
        }
    }

    /// Sends one line.
    pub async fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
        self.stdin.flush().await.expect("flush");
    }

    /// Reads stdout until it contains `needle` (counting from everything seen so far).
    pub async fn expect(&mut self, needle: &str) {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            let n = tokio::time::timeout_at(deadline, self.stdout.read(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!("`{needle}` did not appear; stdout so far: {}", self.seen)
                })
                .expect("read");
            assert!(
                n > 0,
                "stdout closed before `{needle}` appeared: {}",
                self.seen
            );
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    /// Closes stdin and waits for a clean exit.
    pub async fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin);
        tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("exit within 30 s")
            .expect("wait")
    }
}
