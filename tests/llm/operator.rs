//! What the operator's commands say about the model server: `doctor` reads the model's
//! capabilities, `check-config` reads `keep_alive` the way Ollama does.

use std::process::Output;

use crate::fake_ollama::{FakeOllama, ModelSpec, Reply};

/// Runs the release binary's `args` with `config` as its configuration file.
async fn run(config: &str, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, config).expect("write the configuration");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .await
        .expect("run mcp-gateway");
    (output, dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `doctor` fails on a model without the tools capability, naming the model and the fix, and
/// passes a model that has it.
#[tokio::test]
async fn doctor_names_a_model_without_tools() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    fake.add_model(ModelSpec::without_tools("gemma2:2b"));
    let config = |name: &str| {
        format!(
            "[model]\nbase_url = \"{}\"\nname = \"{name}\"\n[store]\npath = \"gateway.db\"\n",
            fake.url()
        )
    };
    let (output, _dir) = run(&config("gemma2:2b"), &["doctor"]).await;
    let stdout = text(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL") && l.contains("gemma2:2b"))
        .unwrap_or_else(|| panic!("no line about the model: {stdout}"));
    assert!(line.contains("cannot use tools"), "{line}");
    assert!(line.contains("[model].name"), "{line}");

    let (output, _dir) = run(&config("qwen2.5:7b"), &["doctor"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("qwen2.5:7b can use tools")),
        "{stdout}"
    );
}

/// `doctor` fails when another client loaded the model with another context (Ollama's default),
/// naming `OLLAMA_CONTEXT_LENGTH`, and passes when the gateway's own context is loaded.
#[tokio::test]
async fn doctor_names_a_runner_loaded_with_another_context() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let other_client = serde_json::json!({"model": "qwen2.5:7b",
        "messages": [{"role": "user", "content": "hi"}]});
    let _ = reqwest::Client::new()
        .post(format!("{}/api/chat", fake.url()))
        .json(&other_client)
        .send()
        .await
        .expect("another client's request");
    let config = format!(
        "[model]\nbase_url = \"{}\"\nnum_ctx = 16384\n[store]\npath = \"gateway.db\"\n",
        fake.url()
    );
    let (output, _dir) = run(&config, &["doctor"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL")
            && l.contains("4096-token context")
            && l.contains("OLLAMA_CONTEXT_LENGTH=16384")),
        "{stdout}"
    );
    let ours = serde_json::json!({"model": "qwen2.5:7b", "options": {"num_ctx": 16384},
        "messages": [{"role": "user", "content": "hi"}]});
    let _ = reqwest::Client::new()
        .post(format!("{}/api/chat", fake.url()))
        .json(&ours)
        .send()
        .await
        .expect("the gateway's request");
    let (output, _dir) = run(&config, &["doctor"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok")
                && l.contains("loaded with the context the gateway asks for")),
        "{stdout}"
    );
}

/// `doctor` fails when `think = true` asks a model that cannot think.
#[tokio::test]
async fn doctor_names_thinking_a_model_cannot_do() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let config = format!(
        "[model]\nbase_url = \"{}\"\nthink = true\n[store]\npath = \"gateway.db\"\n",
        fake.url()
    );
    let (output, _dir) = run(&config, &["doctor"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("[model].think")),
        "{stdout}"
    );
}

/// `check-config` rejects a `keep_alive` Ollama would refuse, with Go's reason and the fix, and
/// accepts the forms Ollama takes.
#[tokio::test]
async fn check_config_rejects_one_day() {
    let (output, dir) = run("[model]\nkeep_alive = \"1d\"\n", &["check-config"]).await;
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("gateway.toml"), "{stderr}");
    assert!(stderr.contains("[model].keep_alive"), "{stderr}");
    assert!(
        stderr.contains(r#"time: unknown unit "d" in duration "1d""#),
        "{stderr}"
    );
    assert!(stderr.contains("\"24h\""), "{stderr}");
    drop(dir);
    for fine in ["\"24h\"", "-1", "\"30m\"", "86400"] {
        let (output, _dir) = run(
            &format!("[model]\nkeep_alive = {fine}\n"),
            &["check-config"],
        )
        .await;
        assert!(output.status.success(), "{fine}: {}", text(&output.stderr));
    }
}
