//! Who may talk: pairing codes, approvals, the allowlist, and the rate limit.

use mcp_gateway::channels::pairing::Pairing;
use mcp_gateway::config::Policy;

use crate::chat_fixtures::code_in;
use crate::common::{Harness, WAIT};
use crate::scripted_agent::ScriptedModel;

/// An unknown sender under `pairing` gets a code and nothing else (no model call, no typing);
/// once the operator approves the code, the same sender is answered.
#[tokio::test]
async fn pairing_gives_a_code_only_until_approved() {
    let h = Harness::start(Policy::Pairing, vec![], ScriptedModel::new(vec![])).await;
    h.fake.push_private(501, "hello?");
    let calls = h
        .fake
        .wait_for("the pairing reply", WAIT, |c| {
            c.iter()
                .any(|c| c.method == "sendmessage" && c.chat() == Some(501))
        })
        .await;
    let replies: Vec<_> = calls.iter().filter(|c| c.chat() == Some(501)).collect();
    assert_eq!(
        replies.len(),
        1,
        "exactly one call to the unknown sender's chat: {replies:?}"
    );
    let code = code_in(replies[0].text());
    assert_eq!(h.model.calls(), 0, "no model call for an unknown sender");

    // Writing again repeats the same code, still without the model.
    h.fake.push_private(501, "please");
    let calls = h
        .fake
        .wait_for("the second pairing reply", WAIT, |c| {
            c.iter()
                .filter(|c| c.method == "sendmessage" && c.chat() == Some(501))
                .count()
                == 2
        })
        .await;
    let second = calls
        .iter()
        .filter(|c| c.chat() == Some(501))
        .nth(1)
        .expect("second reply");
    assert_eq!(code_in(second.text()), code);
    assert_eq!(h.model.calls(), 0);

    let pairing = Pairing::new(h.store.clone());
    let pending = pairing.pending().await.expect("pending list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].principal.as_str(), "telegram:501");
    assert!(
        pending[0].display.contains("@user501"),
        "{}",
        pending[0].display
    );
    pairing
        .approve(&code.to_lowercase())
        .await
        .expect("approve");

    h.fake.push_private(501, "now?");
    let finals = h.fake.wait_for_final(501, 1, WAIT).await;
    let last = finals
        .iter()
        .rev()
        .find(|c| c.is_html() && c.chat() == Some(501))
        .expect("final reply");
    assert_eq!(last.text(), "echo(1): now?");
    assert_eq!(h.model.calls(), 1);
    h.stop().await;
}

/// Under `allowlist` only listed ids are answered; others are told once, with their id, and the
/// model is never asked.
#[tokio::test]
async fn allowlist_answers_listed_senders_only() {
    let h = Harness::start(Policy::Allowlist, vec![7], ScriptedModel::new(vec![])).await;
    h.fake.push_private(8, "let me in");
    h.fake.push_private(8, "please");
    h.fake.push_private(7, "hi");
    h.fake.wait_for_final(7, 1, WAIT).await;
    let calls = h
        .fake
        .wait_for("the refusal", WAIT, |c| {
            c.iter().any(|c| c.chat() == Some(8))
        })
        .await;
    let refused: Vec<_> = calls.iter().filter(|c| c.chat() == Some(8)).collect();
    assert_eq!(refused.len(), 1, "told once: {refused:?}");
    assert!(
        refused[0].text().contains("user id 8"),
        "{}",
        refused[0].text()
    );
    assert_eq!(
        h.model.calls(),
        1,
        "only the listed sender reached the model"
    );
    h.stop().await;
}

/// A sender over the rate limit is told once and their messages never reach the model.
#[tokio::test]
async fn rate_limit_refuses_politely_once() {
    use mcp_gateway::channels::engine::ChannelOptions;
    use mcp_gateway::telemetry::metrics::ChannelLabels;

    let model = ScriptedModel::new(vec![]);
    let options = ChannelOptions {
        stream: crate::common::fast_stream(),
        poll_timeout: std::time::Duration::from_secs(1),
        ..ChannelOptions::default()
    };
    let h = Harness::start_limited(Policy::Open, 2, model, options).await;
    for i in 0..5 {
        h.fake.push_private(9, &format!("message {i}"));
    }
    h.fake.wait_for_final(9, 2, WAIT).await;
    let calls = h
        .fake
        .wait_for("the slow-down reply", WAIT, |c| {
            c.iter()
                .any(|c| c.text().contains("faster than I can answer"))
        })
        .await;
    let notices = calls
        .iter()
        .filter(|c| c.text().contains("faster than I can answer"))
        .count();
    assert_eq!(notices, 1);
    assert_eq!(h.model.calls(), 2);
    let refused = h
        .metrics
        .rate_limited
        .get_or_create(&ChannelLabels {
            channel: "telegram".into(),
        })
        .get();
    assert_eq!(refused, 3);
    h.stop().await;
}
