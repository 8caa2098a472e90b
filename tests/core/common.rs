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
