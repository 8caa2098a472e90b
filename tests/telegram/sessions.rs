//! Sessions: senders never share history, `/stop` cancels at once, and a long generation does
//! not hold up anyone else.

use std::time::{Duration, Instant};

use mcp_gateway::config::Policy;

use crate::common::{Harness, WAIT};
use crate::fake_telegram::BOT_USERNAME;
use crate::scripted_agent::{Reply, ScriptedModel};

/// Two people in one group each have their own conversation with the assistant.
#[tokio::test]
async fn two_senders_in_a_group_are_isolated() {
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(vec![])).await;
    let group = -100_200;
    h.fake
        .push_group(group, 1, &format!("@{BOT_USERNAME} I am Ann"));
    h.fake.wait_for_final(group, 1, WAIT).await;
    h.fake
        .push_group(group, 2, &format!("@{BOT_USERNAME} who am I"));
    h.fake.wait_for_final(group, 2, WAIT).await;
    // Not addressed to the bot: ignored.
    h.fake.push_group(group, 1, "just chatting with people");
    h.fake
        .push_group(group, 1, &format!("and again @{BOT_USERNAME}"));
    let calls = h.fake.wait_for_final(group, 3, WAIT).await;
    let finals: Vec<&str> = calls
        .iter()
        .filter(|c| c.is_html() && c.ok && c.chat() == Some(group))
        .map(|c| c.text())
        .collect();
    assert_eq!(
        finals,
        vec![
            "echo(1): I am Ann",
            "echo(1): who am I",
            "echo(2): and again"
        ]
    );
    let requests = h.model.requests();
    let bob = requests
        .iter()
        .find(|r| r.iter().any(|m| m.content == "who am I"))
        .expect("Bob's request");
    assert!(
        bob.iter().all(|m| !m.content.contains("Ann")),
        "Bob's conversation holds Ann's message: {bob:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.iter().all(|m| !m.content.contains("just chatting")))
    );
    // Replies in a group quote the message they answer.
    let first_send = calls
        .iter()
        .find(|c| c.method == "sendmessage" && c.chat() == Some(group))
        .expect("a send");
    assert!(
        first_send.body.get("reply_parameters").is_some(),
        "{}",
        first_send.body
    );
    h.stop().await;
}

/// `/stop` cancels a slow reply at once, and another sender is answered meanwhile.
#[tokio::test]
async fn stop_cancels_a_slow_reply_at_once() {
    let chunks: Vec<String> = std::iter::once("Let me think.".to_owned())
        .chain((0..60).map(|i| format!(" step{i}")))
        .collect();
    let chunk_refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let model = ScriptedModel::new(vec![Reply::streamed(
        &chunk_refs,
        Duration::from_millis(500),
    )]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    let started = Instant::now();
    h.fake.push_private(30, "think hard");
    h.fake
        .wait_for("the first streamed text", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(30) && c.text().starts_with("Let me think."))
        })
        .await;

    // Someone else is not held up by the slow reply.
    h.fake.push_private(31, "quick one");
    h.fake.wait_for_final(31, 1, WAIT).await;

    let stop_at = Instant::now();
    h.fake.push_private(30, "/stop");
    let calls = h
        .fake
        .wait_for("the stopped reply", WAIT, |c| {
            let stopped = c
                .iter()
                .any(|c| c.chat() == Some(30) && c.text() == "Stopped.");
            let finished = c
                .iter()
                .any(|c| c.chat() == Some(30) && c.is_html() && c.text().ends_with("(stopped)"));
            stopped && finished
        })
        .await;
    assert!(
        stop_at.elapsed() < Duration::from_secs(3),
        "stopping took {:?}",
        stop_at.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the slow reply ran to its end"
    );
    let last = calls
        .iter()
        .rfind(|c| c.chat() == Some(30) && c.is_text())
        .expect("texts");
    assert!(last.text().starts_with("Let me think."), "{}", last.text());
    // Nothing more is streamed after the stop.
    let count = h.fake.text_calls(30).len();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(h.fake.text_calls(30).len(), count);

    // `/stop` with nothing running says so.
    h.fake.push_private(30, "/stop");
    h.fake
        .wait_for("the nothing-to-stop reply", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(30) && c.text() == "Nothing is running right now.")
        })
        .await;
    h.stop().await;
}
