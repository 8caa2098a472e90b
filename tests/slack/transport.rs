//! Socket Mode and Web API behaviour: acknowledgements, reconnection, rate limits.

use std::time::{Duration, Instant};

use mcp_gateway::channels::slack::api::{SlackApi, SlackError};
use mcp_gateway::channels::slack::events::Inbound;
use mcp_gateway::channels::slack::socket;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::fake_slack::FakeSlack;

fn api(fake: &FakeSlack) -> SlackApi {
    SlackApi::new(
        fake.api_url().parse().unwrap(),
        SecretString::from("xoxb-test-bot".to_owned()),
        SecretString::from("xapp-test-app".to_owned()),
    )
    .unwrap()
}

async fn next(rx: &mut mpsc::Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event within 5 s")
        .expect("channel open")
}

fn dm(text: &str, ts: &str) -> serde_json::Value {
    json!({"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": text, "ts": ts})
}

/// Every envelope is acknowledged within Slack's 3-second window, and what it carries arrives.
#[tokio::test]
async fn envelopes_are_acknowledged_in_time() {
    let fake = FakeSlack::start().await;
    let (tx, mut rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(socket::run(api(&fake), tx, |_| {}, shutdown.clone()));
    assert!(
        fake.wait_for(Duration::from_secs(5), |f| f.connections_opened() == 1)
            .await
    );
    // Give the socket a moment to subscribe after `hello`.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ids: Vec<String> = (0..5)
        .map(|i| fake.push_event("T1", dm(&format!("hi {i}"), &format!("1.{i}"))))
        .collect();
    for i in 0..5 {
        let Inbound::Message {
            text, user, team, ..
        } = next(&mut rx).await
        else {
            panic!("expected a message")
        };
        assert_eq!(
            (text, user.as_str(), team.as_str()),
            (Some(format!("hi {i}")), "U1", "T1")
        );
    }
    assert!(
        fake.wait_for(Duration::from_secs(3), |f| f.acks().len() == 5)
            .await
    );
    for (id, delay) in fake.acks() {
        assert!(ids.contains(&id));
        assert!(delay < Duration::from_secs(3), "ack of {id} took {delay:?}");
    }
    shutdown.cancel();
    task.await.unwrap();
}

/// After a `disconnect` frame the channel opens a new connection and keeps receiving; it reports
/// itself connected at each `hello` and not connected when a connection ends.
#[tokio::test]
async fn reconnects_after_disconnect() {
    let fake = FakeSlack::start().await;
    let (tx, mut rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let states = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = {
        let states = std::sync::Arc::clone(&states);
        move |up: bool| states.lock().unwrap().push(up)
    };
    let task = tokio::spawn(socket::run(api(&fake), tx, record, shutdown.clone()));
    assert!(
        fake.wait_for(Duration::from_secs(5), |f| f.connections_opened() == 1)
            .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.push_disconnect();
    assert!(
        fake.wait_for(Duration::from_secs(5), |f| f.connections_opened() == 2)
            .await,
        "no reconnection"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    fake.push_event("T1", dm("after reconnect", "2.0"));
    let Inbound::Message { text, .. } = next(&mut rx).await else {
        panic!("expected a message")
    };
    assert_eq!(text.as_deref(), Some("after reconnect"));
    assert_eq!(*states.lock().unwrap(), [true, false, true]);
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(*states.lock().unwrap(), [true, false, true, false]);
}

/// A 429 with Retry-After is waited out for posts; updates report it so the caller can coalesce.
#[tokio::test]
async fn rate_limits_are_honoured() {
    let fake = FakeSlack::start().await;
    let api = api(&fake);
    fake.rate_limit("chat.postMessage", 1, 1);
    let started = Instant::now();
    let posted = api.post_message("D1", None, "hello", None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(fake.calls_of("chat.postMessage").len(), 2);
    fake.rate_limit("chat.update", 1, 2);
    let err = api
        .update_message(&posted, "edited", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SlackError::RateLimited(d) if d == Duration::from_secs(2)),
        "{err}"
    );
    api.update_message(&posted, "edited", None).await.unwrap();
    assert_eq!(
        fake.message_text(&posted.channel, &posted.ts).as_deref(),
        Some("edited")
    );
}

/// Wrong tokens give Slack's own error codes.
#[tokio::test]
async fn invalid_tokens_are_reported() {
    let fake = FakeSlack::start().await;
    let api = SlackApi::new(
        fake.api_url().parse().unwrap(),
        SecretString::from("bad".to_owned()),
        SecretString::from("bad".to_owned()),
    )
    .unwrap();
    let err = api.auth_test().await.unwrap_err();
    assert!(
        matches!(err, SlackError::Api { ref error, .. } if error == "invalid_auth"),
        "{err}"
    );
    assert!(api.open_connection().await.is_err());
}
