//! The README's first command on a fresh machine: the binary in an empty folder with no
//! configuration file anywhere, an empty `HOME` and the model server named by `$OLLAMA_HOST`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::common::{stderr, stdout};
use crate::fake_ollama::{FakeOllama, Reply};

/// Runs `mcp-gateway <args>` in `dir` with no `--config`, no `$MCP_GATEWAY_CONFIG` and `HOME` set
/// to `dir`, the model server at `ollama_host`, feeding `stdin`.
async fn run_bare(dir: &Path, ollama_host: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .current_dir(dir)
        .env_remove("MCP_GATEWAY_CONFIG")
        .env("HOME", dir)
        .env("USER", "newcomer")
        .env("OLLAMA_HOST", ollama_host)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mcp-gateway");
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

/// The user messages of a chat request, in order.
fn user_texts(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}

/// `chat` answers from the model on the embedded defaults, creates the database and a private seal
/// key in the current folder, and a second run sends the first turn back as history; `doctor`
/// passes and names the model.
#[tokio::test]
async fn chat_and_doctor_run_in_an_empty_folder() {
    let ollama = FakeOllama::start(|request: &Value| {
        Reply::text(&format!(
            "Hello! I have seen {} of your messages.",
            user_texts(request).len()
        ))
    })
    .await;
    let host = ollama.addr().to_string();
    let dir = tempfile::tempdir().unwrap();

    let out = run_bare(dir.path(), &host, &["chat"], "hi there\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("I have seen 1 of your messages"),
        "{}",
        stdout(&out)
    );
    assert!(dir.path().join("data/mcp-gateway.db").is_file());
    let key = dir.path().join("secrets/seal.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the seal key is private");
    assert!(
        !dir.path().join("mcp-gateway.toml").exists(),
        "no file is written for the defaults"
    );

    let out = run_bare(dir.path(), &host, &["chat"], "and again\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("I have seen 2 of your messages"),
        "{}",
        stdout(&out)
    );
    let last = ollama.chat_requests().pop().unwrap();
    assert_eq!(user_texts(&last), ["hi there", "and again"]);
    assert!(
        last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "assistant"
                && m["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("seen 1 of")),
        "the first answer is history: {last}"
    );

    let out = run_bare(dir.path(), &host, &["doctor"], "").await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("qwen2.5:7b"), "{}", stdout(&out));
}

/// With no model server, the console's answer is one line naming the address and how to start it.
#[tokio::test]
async fn without_a_model_server_the_console_says_how_to_start_one() {
    let dead = FakeOllama::unreachable_url();
    let host = dead.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let out = run_bare(dir.path(), &host, &["chat"], "hello?\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains(&dead), "{text}");
    assert!(lines[0].contains("ollama serve"), "{text}");
    assert!(!lines[0].contains("try again in a minute"), "{text}");
}

/// A configuration file named explicitly must exist; the operating system's reason is said once.
#[tokio::test]
async fn a_named_configuration_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"));
    let out = cmd
        .arg("doctor")
        .current_dir(dir.path())
        .env("MCP_GATEWAY_CONFIG", "gateway.toml")
        .env("HOME", dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("gateway.toml: cannot read the configuration file"),
        "{err}"
    );
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    let out = run_bare(dir.path(), "127.0.0.1:9", &["check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("embedded defaults: ok"),
        "{}",
        stdout(&out)
    );
}
