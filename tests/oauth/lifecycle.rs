//! A connection's life: refreshed ahead of expiry without the person noticing, one refresh for
//! concurrent calls, a revoked upstream grant turning into a reconnect link, and disconnecting on
//! both sides.

use std::time::Duration;

use mcp_gateway::Principal;
use mcp_gateway::mcp::ToolHost;
use mcp_gateway::mcp::oauth::ConnectionStatus;
use serde_json::{Map, json};

use crate::deployment::{Deployment, initialize};
use crate::fake_ollama::FakeOllama;
use crate::harness::{Gw, connect, model};

const QUESTION: &str = "Find my Roadmap page in Notion";

/// notion-mcp issuing access tokens that live `ttl` seconds.
async fn setup(ttl: Option<u64>) -> (Deployment, FakeOllama, Gw) {
    let settings = ttl.map_or_else(String::new, |t| format!("access_token_ttl_secs = {t}"));
    let deployment = Deployment::start_with(&settings).await;
    deployment.fake_notion.seed_page(None, "Roadmap 2027");
    let ollama = FakeOllama::start(model(
        "notion_search",
        "notion_connect",
        json!({"query": "Roadmap"}),
    ))
    .await;
    let gw = Gw::start(&ollama.url(), "notion", &deployment.notion.resource()).await;
    (deployment, ollama, gw)
}

fn search() -> Map<String, serde_json::Value> {
    let mut args = Map::new();
    args.insert("query".into(), json!("Roadmap"));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refreshed_once_for_concurrent_calls() {
    let (_deployment, _ollama, gw) = setup(Some(2)).await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, QUESTION).await;
    let first = gw
        .gateway
        .oauth
        .access_token(&ann, "notion")
        .await
        .expect("a token");

    // Past the token's lifetime the question is still answered: the token was refreshed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refreshes = gw.counter("mcp_gateway_oauth_refreshes_total");
    let turn = gw.ask(&ann, QUESTION).await;
    assert!(turn.links.is_empty());
    assert!(
        turn.outcome.reply.contains("Roadmap 2027"),
        "{}",
        turn.outcome.reply
    );
    assert_eq!(
        gw.counter("mcp_gateway_oauth_refreshes_total"),
        refreshes + 1
    );
    let second = gw
        .gateway
        .oauth
        .access_token(&ann, "notion")
        .await
        .expect("a token");
    assert_ne!(first, second, "a new access token");
    let (status, _) = initialize(&_deployment.notion.resource(), Some(&first)).await;
    assert_eq!(status, 401, "the old token has expired");

    // Two calls at once on an expired token: one refresh, both answered.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refreshes = gw.counter("mcp_gateway_oauth_refreshes_total");
    let pool = gw.gateway.pool.clone();
    let (a, b) = tokio::join!(
        pool.call(&ann, "notion", "search", search()),
        pool.call(&ann, "notion", "search", search()),
    );
    let (a, b) = (a.expect("first call"), b.expect("second call"));
    assert!(a.text.contains("Roadmap 2027") && b.text.contains("Roadmap 2027"));
    assert_eq!(
        gw.counter("mcp_gateway_oauth_refreshes_total"),
        refreshes + 1,
        "one refresh for both calls"
    );
    assert_eq!(gw.counter("mcp_gateway_oauth_refresh_failures_total"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_upstream_grant_leads_to_a_reconnect_link() {
    let (deployment, _ollama, gw) = setup(None).await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, QUESTION).await;
    assert!(
        gw.ask(&ann, QUESTION)
            .await
            .outcome
            .reply
            .contains("Roadmap 2027")
    );

    // The person removes the integration in Notion: every upstream token is dead.
    deployment.fake_notion.revoke_all();
    let mut link = None;
    for _ in 0..3 {
        let turn = gw.ask(&ann, QUESTION).await;
        if let Some((_, url)) = turn.links.first() {
            link = Some(url.clone());
            break;
        }
    }
    let link = link.expect("a reconnect link within three questions");
    assert!(link.starts_with(&format!("{}/authorize?", deployment.notion.base)));
    let connections = gw.gateway.oauth.connections(None).await.expect("list");
    assert_eq!(connections[0].status, ConnectionStatus::Broken);
    assert!(gw.counter("mcp_gateway_oauth_refresh_failures_total") >= 1);

    // Connecting again works and answers again.
    let visit = crate::harness::browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    gw.notice().await;
    let turn = gw.ask(&ann, QUESTION).await;
    assert!(
        turn.outcome.reply.contains("Roadmap 2027"),
        "{}",
        turn.outcome.reply
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_at_the_server_and_the_next_use_offers_a_link() {
    let (deployment, _ollama, gw) = setup(None).await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, QUESTION).await;
    let token = gw
        .gateway
        .oauth
        .access_token(&ann, "notion")
        .await
        .expect("a token");
    let (status, _) = initialize(&deployment.notion.resource(), Some(&token)).await;
    assert_eq!(status, 200);

    assert!(
        gw.gateway
            .oauth
            .disconnect(&ann, "notion")
            .await
            .expect("disconnect")
    );
    let (status, _) = initialize(&deployment.notion.resource(), Some(&token)).await;
    assert_eq!(status, 401, "the server revoked the token");
    assert!(
        gw.gateway
            .oauth
            .connections(None)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        !gw.gateway
            .oauth
            .disconnect(&ann, "notion")
            .await
            .expect("again")
    );

    let turn = gw.ask(&ann, QUESTION).await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
}
