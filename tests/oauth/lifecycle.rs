//! A connection's life: refreshed ahead of expiry without the person noticing, one refresh for
//! concurrent calls, a revoked upstream grant turning into a reconnect link, and disconnecting on
//! both sides.

use std::time::Duration;

use mcp_gateway::Principal;
use mcp_gateway::mcp::ToolHost;
use mcp_gateway::mcp::accounts::ConnectionEnded;
use mcp_gateway::mcp::oauth::ConnectionStatus;
use serde_json::{Map, json};

use crate::deployment::query_param;
use crate::deployment::{Deployment, initialize};
use crate::fake_ollama::FakeOllama;
use crate::harness::{Gw, ROADMAP, Turn, browse, connect, deployed, link_within_three_questions};

const QUESTION: &str = "Find my Roadmap page in Notion";

/// notion-mcp issuing access tokens that live `ttl` seconds.
async fn setup(ttl: Option<u64>) -> (Deployment, FakeOllama, Gw) {
    let settings = ttl.map_or_else(String::new, |t| format!("access_token_ttl_secs = {t}"));
    deployed("notion", &settings).await
}

/// Ann's current access token on notion.
async fn token(gw: &Gw, ann: &Principal) -> String {
    gw.gateway
        .oauth
        .access_token(ann, "notion")
        .await
        .expect("a token")
}

/// The turn answered the question with the page, without a link.
fn assert_answered(turn: &Turn) {
    assert!(turn.links.is_empty(), "no link: {}", turn.outcome.reply);
    assert!(
        turn.outcome.reply.contains(ROADMAP),
        "{}",
        turn.outcome.reply
    );
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
    let first = token(&gw, &ann).await;

    // Past the token's lifetime the question is still answered: the token was refreshed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refreshes = gw.counter("mcp_gateway_oauth_refreshes_total");
    let turn = gw.ask(&ann, QUESTION).await;
    assert_answered(&turn);
    assert_eq!(
        gw.counter("mcp_gateway_oauth_refreshes_total"),
        refreshes + 1
    );
    let second = token(&gw, &ann).await;
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
    assert!(a.text.contains(ROADMAP) && b.text.contains(ROADMAP));
    assert_eq!(
        gw.counter("mcp_gateway_oauth_refreshes_total"),
        refreshes + 1,
        "one refresh for both calls"
    );
    assert_eq!(gw.counter("mcp_gateway_oauth_refresh_failures_total"), 0);
}

/// An access token the server stops accepting before it expires (revoked there on its own):
/// the call's 401 leads to one refresh, and the call is answered with the new token, with no
/// link and nothing for the person to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_rejected_before_its_expiry_is_refreshed_and_the_call_answered() {
    let (deployment, _ollama, gw) = setup(None).await;
    let ann = Principal::telegram(1);
    let turn = gw.ask(&ann, QUESTION).await;
    let link = turn.links[0].1.clone();
    let client_id = query_param(&link, "client_id").expect("the gateway's client id");
    assert_eq!(browse(&link).await.status, 200);
    gw.notice().await;
    let turn = gw.ask(&ann, QUESTION).await;
    assert!(
        turn.outcome.reply.contains(ROADMAP),
        "{}",
        turn.outcome.reply
    );
    let first = token(&gw, &ann).await;

    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", deployment.notion.base))
        .form(&[
            ("token", first.as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    let (status, _) = initialize(&deployment.notion.resource(), Some(&first)).await;
    assert_eq!(status, 401, "the server no longer accepts the token");

    let refreshes = gw.counter("mcp_gateway_oauth_refreshes_total");
    let turn = gw.ask(&ann, QUESTION).await;
    assert_answered(&turn);
    assert_eq!(
        gw.counter("mcp_gateway_oauth_refreshes_total"),
        refreshes + 1
    );
    let second = token(&gw, &ann).await;
    assert_ne!(first, second, "a new access token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_upstream_grant_leads_to_a_reconnect_link() {
    let (deployment, _ollama, gw) = setup(None).await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, QUESTION).await;
    assert!(gw.ask(&ann, QUESTION).await.outcome.reply.contains(ROADMAP));

    // The person removes the integration in Notion: every upstream token is dead.
    deployment.fake_notion.revoke_all();
    let turn = link_within_three_questions(&gw, &ann, QUESTION).await;
    let link = turn.links[0].1.clone();
    assert!(link.starts_with(&format!("{}/authorize?", deployment.notion.base)));
    let [ConnectionEnded::Said(why)] = turn.ended.as_slice() else {
        panic!("the link says why: {:?}", turn.ended);
    };
    assert!(
        why.contains("the integration was removed from the workspace"),
        "{why}"
    );
    let connections = gw.gateway.oauth.connections(None).await.expect("list");
    assert_eq!(connections[0].status, ConnectionStatus::Broken);
    assert!(gw.counter("mcp_gateway_oauth_refresh_failures_total") >= 1);

    // Connecting again works and answers again.
    let visit = crate::harness::browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    gw.notice().await;
    let turn = gw.ask(&ann, QUESTION).await;
    assert!(
        turn.outcome.reply.contains(ROADMAP),
        "{}",
        turn.outcome.reply
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_at_the_server_and_the_next_use_offers_a_link() {
    let (deployment, _ollama, gw) = setup(None).await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, QUESTION).await;
    let token = token(&gw, &ann).await;
    let (status, _) = initialize(&deployment.notion.resource(), Some(&token)).await;
    assert_eq!(status, 200);

    let done = gw
        .gateway
        .oauth
        .disconnect(&ann, "notion")
        .await
        .expect("disconnect");
    assert!(done.was_connected);
    assert_eq!(done.unconfirmed, None, "both sides confirmed");
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
            .was_connected
    );

    let turn = gw.ask(&ann, QUESTION).await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
}
