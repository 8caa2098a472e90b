//! Connecting real accounts as Google and Notion behave, against fakes as strict as they are: an
//! unticked Calendar box, the account shown once connected, disconnecting on both sides (the
//! upstream's revocation endpoint included, and its failure reported), `Notion-Version` on every
//! Notion request, and a Google app in Testing whose refresh tokens die after 7 days.

use std::path::Path;

use mcp_gateway::Principal;
use mcp_gateway::mcp::accounts::ConnectionEnded;
use mcp_gateway::mcp::oauth::ConnectionStatus;
use serde_json::json;

use crate::deployment::Deployment;
use crate::fake_notion::VERSIONS;
use crate::fake_ollama::FakeOllama;
use crate::harness::{
    Gw, ROADMAP, browse, connect, deployed, link_within_three_questions, pass_a_week,
};

const CALENDAR_QUESTION: &str = "What is on my calendar?";
const NOTION_QUESTION: &str = "Find my Roadmap page in Notion";

/// Both servers, and a gateway with one of them (`gcal` or `notion`).
async fn setup(server: &str) -> (Deployment, FakeOllama, Gw) {
    deployed(server, "").await
}

/// The upstream account rows of `server` as (sealed access token present, sealed refresh token
/// present, revoked).
fn upstream_rows(database: &Path, server: &str) -> Vec<(bool, bool, bool)> {
    let conn = rusqlite::Connection::open(database).expect("open the servers' database");
    let mut statement = conn
        .prepare(
            "SELECT access_token IS NOT NULL, refresh_token IS NOT NULL, revoked_at IS NOT NULL
             FROM as_upstream_accounts WHERE server = ?1",
        )
        .expect("a query");
    statement
        .query_map([server], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// A metric's value in a server's `/metrics`.
async fn server_metric(base: &str, line_start: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| l.starts_with(line_start))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unticked_calendar_box_tells_the_person_to_leave_it_ticked() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    // On Google's granular consent screen, Ann unticks Calendar.
    deployment
        .fake_google
        .grant_only("openid https://www.googleapis.com/auth/userinfo.email");
    let turn = gw.ask(&ann, CALENDAR_QUESTION).await;
    assert_eq!(turn.links.len(), 1, "{}", turn.outcome.reply);
    let visit = browse(&turn.links[0].1).await;
    assert_eq!(visit.status, 400, "{}", visit.body);
    assert!(
        visit
            .url
            .starts_with(&format!("{}/oauth/callback?", gw.base)),
        "the person lands on the gateway's page: {}",
        visit.url
    );
    assert!(
        visit.body.contains("leave Calendar access ticked"),
        "the sentence the person can act on: {}",
        visit.body
    );
    assert!(
        !visit.body.contains("(access_denied)"),
        "not the bare error code: {}",
        visit.body
    );
    assert!(
        gw.gateway
            .oauth
            .connections(None)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(upstream_rows(&deployment.database, "gcal").is_empty());

    // Ticked the next time, it connects.
    deployment.fake_google.grant_all();
    connect(&gw, &ann, CALENDAR_QUESTION).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_page_says_what_to_keep_ticked_and_what_a_blocked_app_means() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let turn = gw.ask(&Principal::telegram(1), CALENDAR_QUESTION).await;
    let link = &turn.links[0].1;
    assert!(link.starts_with(&deployment.gcal.base), "{link}");
    let consent = reqwest::get(link).await.expect("the consent page");
    let body = consent.text().await.expect("text");
    assert!(
        body.contains("leave the box for Calendar access ticked"),
        "{body}"
    );
    assert!(body.contains("test user"), "{body}");
    assert!(body.contains("(openid, email)"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connected_account_is_named_on_the_page_in_the_notice_and_in_listings() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    deployment
        .fake_google
        .set_account("2000002", "ann@example.org");
    let visit = connect(&gw, &ann, CALENDAR_QUESTION).await;
    assert!(
        visit
            .body
            .contains("Your gcal account is connected as ann@example.org."),
        "{}",
        visit.body
    );
    let listed = gw.gateway.oauth.connections(None).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].account.as_deref(), Some("ann@example.org"));
    let accounts = mcp_gateway::mcp::accounts::AccountLinks::accounts(&gw.gateway.oauth, &ann)
        .await
        .expect("accounts");
    assert_eq!(accounts[0].account.as_deref(), Some("ann@example.org"));

    // Notion names the workspace.
    let (_deployment, _ollama, gw) = setup("notion").await;
    let bob = Principal::telegram(2);
    let turn = gw.ask(&bob, NOTION_QUESTION).await;
    let visit = browse(&turn.links[0].1).await;
    assert!(
        visit
            .body
            .contains("Your notion account is connected as Acme."),
        "{}",
        visit.body
    );
    let notice = gw.notice().await;
    assert_eq!(notice.account.as_deref(), Some("Acme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_at_google_and_leaves_no_sealed_upstream_token() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, CALENDAR_QUESTION).await;
    let google_refresh = deployment.fake_google.live_refresh_tokens();
    assert_eq!(google_refresh.len(), 1, "Google issued one refresh token");
    assert_eq!(
        upstream_rows(&deployment.database, "gcal"),
        [(true, true, false)],
        "sealed upstream tokens while connected"
    );

    let done = gw
        .gateway
        .oauth
        .disconnect(&ann, "gcal")
        .await
        .expect("disconnect");
    assert!(done.was_connected);
    assert_eq!(done.unconfirmed, None);
    assert_eq!(
        deployment.fake_google.revoked(),
        google_refresh,
        "the refresh token was revoked at Google"
    );
    assert!(deployment.fake_google.live_refresh_tokens().is_empty());
    assert_eq!(
        upstream_rows(&deployment.database, "gcal"),
        [(false, false, true)],
        "no sealed upstream token is left"
    );
    assert_eq!(
        server_metric(
            &deployment.gcal.base,
            "mcp_gateway_oauth_upstream_revocations_total{server=\"gcal\",outcome=\"revoked\"}"
        )
        .await,
        1
    );
    assert!(
        gw.gateway
            .oauth
            .connections(None)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_google_does_not_confirm_is_reported_and_the_tokens_still_go() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, CALENDAR_QUESTION).await;
    deployment.fake_google.fail_revocations(Some(503));
    let done = gw
        .gateway
        .oauth
        .disconnect(&ann, "gcal")
        .await
        .expect("disconnect");
    assert!(done.was_connected);
    let said = done.unconfirmed.expect("the failure is reported");
    assert!(said.contains("did not confirm"), "{said}");
    assert!(
        said.contains("https://myaccount.google.com/permissions"),
        "{said}"
    );
    assert_eq!(
        upstream_rows(&deployment.database, "gcal"),
        [(false, false, true)],
        "the sealed tokens are deleted all the same"
    );
    assert!(
        gw.gateway
            .oauth
            .connections(None)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(gw.counter("mcp_gateway_oauth_disconnects_total"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_at_notion_and_every_notion_request_carries_its_version() {
    let (deployment, _ollama, gw) = setup("notion").await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, NOTION_QUESTION).await;
    let turn = gw.ask(&ann, NOTION_QUESTION).await;
    assert!(
        turn.outcome.reply.contains(ROADMAP),
        "{}",
        turn.outcome.reply
    );
    let done = gw
        .gateway
        .oauth
        .disconnect(&ann, "notion")
        .await
        .expect("disconnect");
    assert_eq!(done.unconfirmed, None);
    let revoked = deployment.fake_notion.revoked();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(revoked[0].starts_with("secret_access_"), "{revoked:?}");
    assert_eq!(
        upstream_rows(&deployment.database, "notion"),
        [(false, false, true)]
    );

    // Every request to Notion carried a version it knows: the API calls, the code exchange and
    // the revocation.
    let oauth = deployment.fake_notion.oauth_versions();
    let paths: Vec<&str> = oauth.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"/v1/oauth/token"), "{paths:?}");
    assert!(paths.contains(&"/v1/oauth/revoke"), "{paths:?}");
    for (path, version) in &oauth {
        assert!(
            version.as_deref().is_some_and(|v| VERSIONS.contains(&v)),
            "{path} without a known Notion-Version: {version:?}"
        );
    }
    let api = deployment.fake_notion.versions();
    assert!(!api.is_empty());
    assert!(
        api.iter()
            .all(|v| v.as_deref().is_some_and(|v| VERSIONS.contains(&v))),
        "{api:?}"
    );

    // The fake is as strict as Notion: a token request without the header is refused, in
    // Notion's own error shape.
    let refused = reqwest::Client::new()
        .post(deployment.fake_notion.token_url())
        .basic_auth(
            crate::deployment::NOTION_CLIENT.0,
            Some(crate::deployment::NOTION_CLIENT.1),
        )
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .expect("a request");
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.expect("JSON");
    assert_eq!(body["object"], "error");
    assert_eq!(body["code"], "missing_version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_google_ends_at_seven_days_give_a_link_that_says_why_and_then_an_operator_notice()
 {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    deployment.fake_google.set_testing(true);
    let testing = "mcp_gateway_oauth_testing_expiries_total{server=\"gcal\"}";

    for round in 1..=2_u64 {
        if round == 1 {
            connect(&gw, &ann, CALENDAR_QUESTION).await;
        }
        let turn = gw.ask(&ann, CALENDAR_QUESTION).await;
        assert!(turn.links.is_empty(), "connected: {}", turn.outcome.reply);
        assert!(
            !turn.outcome.reply.contains("no longer authorized"),
            "the calendar answered: {}",
            turn.outcome.reply
        );

        // A week passes: Google ends the refresh token, as it does for an app in Testing.
        pass_a_week(&deployment);
        let turn = link_within_three_questions(&gw, &ann, CALENDAR_QUESTION).await;
        let link = turn.links[0].1.clone();
        assert!(
            link.starts_with(&format!("{}/authorize?", deployment.gcal.base)),
            "{link}"
        );
        assert_eq!(
            turn.ended,
            [ConnectionEnded::GoogleTesting],
            "the link says why the connection ended"
        );
        let listed = gw
            .gateway
            .oauth
            .connections(Some(&ann))
            .await
            .expect("list");
        assert_eq!(listed[0].status, ConnectionStatus::Broken);
        assert_eq!(
            listed[0].ended.as_deref(),
            Some(mcp_gateway::mcp::accounts::GOOGLE_TESTING_ENDED),
            "the Calendar server's reason is kept with the connection"
        );
        assert_eq!(server_metric(&deployment.gcal.base, testing).await, round);
        let notified = deployment
            .gcal
            .logs
            .lock()
            .contains("most likely in Testing");
        assert_eq!(
            notified,
            round >= 2,
            "the operator hears of it at the second one, not the first"
        );

        // Ann connects again from the link.
        let visit = browse(&link).await;
        assert_eq!(visit.status, 200, "{}", visit.body);
        gw.notice().await;
    }
    let logs = deployment.gcal.logs.lock().clone();
    assert!(logs.contains("Publish the app"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_removed_at_google_gives_a_link_that_says_so() {
    let (deployment, _ollama, gw) = setup("gcal").await;
    let ann = Principal::telegram(1);
    connect(&gw, &ann, CALENDAR_QUESTION).await;
    // Ann removes the assistant's access in her Google account, on day 2 (not Testing's 7).
    for token in deployment.fake_google.live_refresh_tokens() {
        deployment.fake_google.revoke_refresh_token(&token);
    }
    crate::harness::age_upstream_tokens(&deployment.database, 2 * 86_400);
    let turn = link_within_three_questions(&gw, &ann, CALENDAR_QUESTION).await;
    let [ConnectionEnded::Said(why)] = turn.ended.as_slice() else {
        panic!("the link says why: {:?}", turn.ended);
    };
    assert!(
        why.starts_with(
            "Google no longer accepts this connection: its access was removed in the Google account"
        ),
        "{why}"
    );
}
