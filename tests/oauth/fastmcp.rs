//! The same connect flow against an OAuth-protected MCP server we did not write: FastMCP with its
//! in-memory OAuth authorization server (`tests/peers/fastmcp_oauth_server.py`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mcp_gateway::Principal;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::deployment::{free_port, query_param};
use crate::fake_ollama::FakeOllama;
use crate::harness::{Gw, browse, model};

/// The FastMCP server process; killed when dropped.
struct FastMcp {
    child: Child,
    base: String,
}

impl FastMcp {
    async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Stops the process and waits until it is gone; its in-memory registrations and tokens
    /// go with it.
    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    async fn start_on(port: u16) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
        let python = dir.join(".venv/bin/python");
        assert!(
            python.exists(),
            "missing {}: create the venv with `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt` in tests/peers",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(dir.join("fastmcp_oauth_server.py"))
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the FastMCP server");
        let base = format!("http://127.0.0.1:{port}");
        let metadata = format!("{base}/.well-known/oauth-authorization-server");
        // Importing FastMCP takes seconds on an idle machine and much longer on a loaded one.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = reqwest::get(&metadata).await
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the FastMCP server exited before it answered: {status}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the FastMCP server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, base }
    }
}

/// A gateway with `server` as its OAuth server `notes`, and a model that searches the notes;
/// also the server's MCP URL.
async fn gateway_for(server: &FastMcp) -> (FakeOllama, Gw, String) {
    let ollama = FakeOllama::start(model(
        "notes_search_notes",
        "notes_connect",
        json!({"query": "plan"}),
    ))
    .await;
    let resource = format!("{}/mcp", server.base);
    let gw = Gw::start(&ollama.url(), "notes", &resource).await;
    (ollama, gw, resource)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_connect_their_own_accounts_on_a_fastmcp_server() {
    let server = FastMcp::start().await;
    let (_ollama, gw, resource) = gateway_for(&server).await;
    let ann = Principal::telegram(1);
    let bob = Principal::telegram(2);

    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
    let link = turn.links[0].1.clone();
    assert!(
        link.starts_with(&format!("{}/authorize?", server.base)),
        "{link}"
    );
    assert_eq!(
        query_param(&link, "resource").as_deref(),
        Some(resource.as_str())
    );
    assert_eq!(
        query_param(&link, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert!(
        visit.body.contains("Your notes account is connected"),
        "{}",
        visit.body
    );
    let notice = gw.notice().await;
    let question = notice.pending.expect("the waiting message").text;

    let turn = gw.ask(&ann, &question).await;
    assert!(turn.links.is_empty());
    assert!(
        turn.outcome.reply.contains("Quarterly plan"),
        "{}",
        turn.outcome.reply
    );

    // Bob gets his own link; his call never reaches the server with Ann's token.
    let turn = gw.ask(&bob, "Find my plan in my notes").await;
    assert_eq!(turn.links.len(), 1);
    assert_ne!(
        query_param(&turn.links[0].1, "state"),
        query_param(&link, "state")
    );
    assert_eq!(
        query_param(&turn.links[0].1, "client_id"),
        query_param(&link, "client_id"),
        "a registration the server knows is kept"
    );
    let denied = mcp_gateway::mcp::ToolHost::call(
        &gw.gateway.pool,
        &bob,
        "notes",
        "search_notes",
        serde_json::Map::new(),
    )
    .await;
    assert!(
        matches!(denied, Err(mcp_gateway::mcp::ToolError::NotConnected(_))),
        "{denied:?}"
    );

    // Disconnecting revokes at FastMCP too: the old token no longer works.
    let token = gw
        .gateway
        .oauth
        .access_token(&ann, "notes")
        .await
        .expect("a token");
    let done = gw
        .gateway
        .oauth
        .disconnect(&ann, "notes")
        .await
        .expect("disconnect");
    assert!(done.was_connected);
    assert_eq!(done.unconfirmed, None, "FastMCP confirmed the revocation");
    let (status, _) = crate::deployment::initialize(&resource, Some(&token)).await;
    assert_eq!(status, 401, "FastMCP revoked the token");
}

/// FastMCP keeps its registrations in memory: after a restart it answers the gateway's refresh
/// with `invalid_client`. The person gets a new link (not an error), the gateway registers
/// again, and connecting works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgot_the_gateway_gets_a_new_registration() {
    let port = free_port();
    let server = FastMcp::start_on(port).await;
    let (_ollama, gw, _) = gateway_for(&server).await;
    let ann = Principal::telegram(1);

    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    let first_link = turn.links[0].1.clone();
    assert_eq!(browse(&first_link).await.status, 200);
    gw.notice().await;
    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    assert!(
        turn.outcome.reply.contains("Quarterly plan"),
        "{}",
        turn.outcome.reply
    );

    server.stop().await;
    let server = FastMcp::start_on(port).await;

    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    assert_eq!(turn.links.len(), 1, "a new link: {}", turn.outcome.reply);
    let second_link = turn.links[0].1.clone();
    let old_client = query_param(&first_link, "client_id");
    let new_client = query_param(&second_link, "client_id");
    assert!(new_client.is_some());
    assert_ne!(new_client, old_client, "registered again");
    let visit = browse(&second_link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    gw.notice().await;
    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    assert!(turn.links.is_empty());
    assert!(
        turn.outcome.reply.contains("Quarterly plan"),
        "{}",
        turn.outcome.reply
    );

    // Forgotten again; this time someone who never connected asks first: the link is checked
    // before it is handed out and carries a fresh registration.
    server.stop().await;
    let server = FastMcp::start_on(port).await;
    let bob = Principal::telegram(2);
    let turn = gw.ask(&bob, "Find my plan in my notes").await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
    let bobs_link = turn.links[0].1.clone();
    let third_client = query_param(&bobs_link, "client_id");
    assert_ne!(third_client, new_client, "registered again");
    assert_eq!(browse(&bobs_link).await.status, 200);
    gw.notice().await;
    let turn = gw.ask(&bob, "Find my plan in my notes").await;
    assert!(
        turn.outcome.reply.contains("Quarterly plan"),
        "{}",
        turn.outcome.reply
    );
    // Ann's tokens belong to the forgotten registration: she is asked to connect again.
    let turn = gw.ask(&ann, "Find my plan in my notes").await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
    assert_eq!(query_param(&turn.links[0].1, "client_id"), third_client);
    drop(server);
}
