//! The connect flow against our notion-mcp: a person asks, gets a link, consents in a headless
//! browser, the gateway's callback stores the tokens, and the same question is answered with the
//! person's own token; another person gets their own link and never reaches Notion.

use mcp_gateway::Principal;
use mcp_gateway::mcp::oauth::ConnectionStatus;
use serde_json::json;

use crate::deployment::{Deployment, query_param};
use crate::fake_ollama::FakeOllama;
use crate::harness::{Gw, browse, model, offered};

const QUESTION: &str = "Find my Roadmap page in Notion";

async fn setup() -> (Deployment, FakeOllama, Gw) {
    let deployment = Deployment::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_connects_from_the_chat_and_the_waiting_question_is_answered() {
    let (deployment, ollama, gw) = setup().await;
    let ann = Principal::telegram(1);
    let bob = Principal::telegram(2);

    // Not connected: only the stand-in tool is offered, and calling it shows a link.
    let turn = gw.ask(&ann, QUESTION).await;
    let first = ollama
        .chat_requests()
        .first()
        .cloned()
        .expect("a model request");
    assert_eq!(offered(&first), ["notion_connect"]);
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
    let (server, link) = turn.links[0].clone();
    assert_eq!(server, "notion");
    assert!(
        link.starts_with(&format!("{}/authorize?", deployment.notion.base)),
        "{link}"
    );
    assert_eq!(
        query_param(&link, "resource").as_deref(),
        Some(deployment.notion.resource().as_str())
    );
    assert_eq!(
        query_param(&link, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&link, "redirect_uri"),
        Some(format!("{}/oauth/callback", gw.base))
    );
    assert!(!link.contains("code_verifier"));
    assert_eq!(
        deployment.fake_notion.calls(),
        0,
        "no Notion call before connecting"
    );

    // The browser: our consent page, the fake Notion, our callback, the gateway's callback.
    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert!(
        visit
            .url
            .starts_with(&format!("{}/oauth/callback?", gw.base))
    );
    assert!(
        visit.body.contains("Your notion account is connected"),
        "{}",
        visit.body
    );
    let notice = gw.notice().await;
    assert_eq!(notice.principal, ann);
    assert_eq!(notice.server, "notion");
    let pending = notice.pending.expect("the waiting message");
    assert_eq!(pending.text, QUESTION);
    assert_eq!(pending.chat, "chat-1");

    // The waiting question, answered with Ann's connection.
    let turn = gw.ask(&ann, &pending.text).await;
    assert!(turn.links.is_empty());
    assert!(
        turn.outcome.reply.contains("Roadmap 2027"),
        "{}",
        turn.outcome.reply
    );
    let ann_headers = deployment.fake_notion.authorizations();
    assert!(!ann_headers.is_empty(), "Notion was called");
    assert!(
        ann_headers
            .iter()
            .all(|h| h.starts_with("Bearer secret_access_")),
        "{ann_headers:?}"
    );
    assert_eq!(gw.counter("mcp_gateway_oauth_connects_total"), 1);

    // Bob has no connection: his own link, and no call reaches Notion.
    let calls = deployment.fake_notion.calls();
    let turn = gw.ask(&bob, QUESTION).await;
    assert_eq!(turn.links.len(), 1);
    let bob_link = &turn.links[0].1;
    assert_ne!(query_param(bob_link, "state"), query_param(&link, "state"));
    let last = ollama.chat_requests().last().cloned().expect("a request");
    assert!(!offered(&last).iter().any(|t| t == "notion_search"));
    assert_eq!(
        deployment.fake_notion.calls(),
        calls,
        "Bob never reaches Notion"
    );
    let tool_error = gw.gateway.pool.clone();
    let denied = mcp_gateway::mcp::ToolHost::call(
        &tool_error,
        &bob,
        "notion",
        "search",
        serde_json::Map::new(),
    )
    .await;
    assert!(
        matches!(denied, Err(mcp_gateway::mcp::ToolError::NotConnected(_))),
        "{denied:?}"
    );
    assert_eq!(
        deployment.fake_notion.calls(),
        calls,
        "Bob never reaches Notion"
    );

    let connections = gw.gateway.oauth.connections(None).await.expect("list");
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].principal, "telegram:1");
    assert_eq!(connections[0].status, ConnectionStatus::Ok);
}

/// With one `[[servers]]` entry and the default per-turn tool selection (its 30 tools are more
/// than `max_offered_tools`): a person connects, and their next message, which asks the server
/// for a name no catalog knows, is offered the server's search tool and answered with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_connecting_one_server_the_next_message_is_offered_the_tools_it_needs() {
    const ASK: &str = "search notion for Bars Probe";
    let deployment = Deployment::start().await;
    deployment.fake_notion.seed_page(None, "Bars Probe");
    let ollama = FakeOllama::start(model(
        "notion_search",
        "notion_connect",
        json!({"query": "Bars Probe"}),
    ))
    .await;
    let gw = Gw::start_with(&ollama.url(), "notion", &deployment.notion.resource(), "").await;
    let ann = Principal::telegram(1);

    crate::harness::connect(&gw, &ann, ASK).await;
    let before = ollama.chat_requests().len();
    assert_eq!(offered(&ollama.chat_requests()[0]), ["notion_connect"]);

    for (i, message) in [ASK, "look up Bars Probe in notion"]
        .into_iter()
        .enumerate()
    {
        let turn = gw.ask(&ann, message).await;
        let request = ollama
            .chat_requests()
            .into_iter()
            .skip(before)
            .filter(|r| {
                r["messages"]
                    .as_array()
                    .is_some_and(|m| m.last().is_some_and(|m| m["role"] == "user"))
            })
            .nth(i)
            .expect("the message's first request");
        let tools = offered(&request);
        assert_eq!(
            tools.first().map(String::as_str),
            Some("find_tools"),
            "{tools:?}"
        );
        assert!(
            tools.contains(&"notion_search".to_owned()),
            "{message:?}: {tools:?}"
        );
        assert!(tools.len() <= 13, "{message:?}: {} tools", tools.len());
        assert!(turn.links.is_empty());
        assert!(
            turn.outcome.reply.contains("Bars Probe"),
            "{message:?}: {}",
            turn.outcome.reply
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_unknown_states_are_refused_with_a_page_and_store_nothing() {
    let (_deployment, _ollama, gw) = setup().await;
    let ann = Principal::telegram(1);
    let visit = crate::harness::connect(&gw, &ann, QUESTION).await;
    let before = gw.gateway.oauth.connections(None).await.expect("list");

    // The same callback again: the state was used.
    let replay = reqwest::get(&visit.url).await.expect("replay");
    assert_eq!(replay.status(), 400);
    let page = replay.text().await.unwrap_or_default();
    assert!(page.contains("already used"), "{page}");

    // A state the gateway never issued, and one without parameters.
    let unknown = reqwest::get(format!(
        "{}/oauth/callback?code=abc&state=never-issued",
        gw.base
    ))
    .await
    .expect("unknown state");
    assert_eq!(unknown.status(), 400);
    assert!(
        unknown
            .text()
            .await
            .unwrap_or_default()
            .contains("Nothing was connected")
    );
    let bare = reqwest::get(format!("{}/oauth/callback", gw.base))
        .await
        .expect("bare");
    assert_eq!(bare.status(), 400);

    // Bob's link, refused by the authorization server: nothing stored, and the state is spent.
    let bob = Principal::telegram(2);
    let turn = gw.ask(&bob, QUESTION).await;
    let state = query_param(&turn.links[0].1, "state").expect("state");
    let denied = reqwest::get(format!(
        "{}/oauth/callback?error=access_denied&state={state}",
        gw.base
    ))
    .await
    .expect("denied");
    assert_eq!(denied.status(), 400);
    let late = reqwest::get(format!("{}/oauth/callback?code=abc&state={state}", gw.base))
        .await
        .expect("late");
    assert_eq!(late.status(), 400);

    let after = gw.gateway.oauth.connections(None).await.expect("list");
    assert_eq!(before, after, "nothing was stored");
    assert_eq!(gw.counter("mcp_gateway_oauth_connects_total"), 1);
}
