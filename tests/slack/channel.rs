//! The channel's behaviour: pairing, threads, streaming, confirmations, rate limits, acks.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway::channels::engine::{ChannelOptions, Shared};
use mcp_gateway::channels::pairing::Pairing;
use mcp_gateway::channels::slack::{SlackChannelError, run};
use mcp_gateway::channels::stream::StreamConfig;
use mcp_gateway::config::{Policy, ServerConfig, SlackConfig};
use mcp_gateway::mcp::accounts::AccountLinks;
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::chat_fixtures::{Links, code_in, notion};
use crate::fake_slack::{FakeSlack, slack_text};
use crate::scripted_agent::{FakeTools, Reply, ScriptedModel, agent};

pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The Slack channel running against the fake, with its parts reachable.
pub(crate) struct Harness {
    pub(crate) fake: FakeSlack,
    pub(crate) store: Store,
    pub(crate) model: Arc<ScriptedModel>,
    pub(crate) tools: Arc<FakeTools>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), SlackChannelError>>>,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Harness {
    pub(crate) async fn start(
        policy: Policy,
        allow_from: Vec<&str>,
        model: Arc<ScriptedModel>,
    ) -> Self {
        Self::build(policy, allow_from, model, Vec::new(), None).await
    }

    pub(crate) async fn build(
        policy: Policy,
        allow_from: Vec<&str>,
        model: Arc<ScriptedModel>,
        servers: Vec<ServerConfig>,
        accounts: Option<Arc<dyn AccountLinks>>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app"), "xapp-1-test\n").unwrap();
        std::fs::write(dir.path().join("bot"), "xoxb-test\n").unwrap();
        let fake = FakeSlack::start().await;
        let config = SlackConfig {
            app_token_file: dir.path().join("app"),
            bot_token_file: dir.path().join("bot"),
            api_url: fake.api_url().parse().unwrap(),
            policy,
            allow_from: allow_from.into_iter().map(str::to_owned).collect(),
            admins: Vec::new(),
            rate_limit_per_minute: 1000,
        };
        let store = Store::open(&dir.path().join("gateway.db")).unwrap();
        let tools = FakeTools::new();
        let metrics = Metrics::unregistered();
        let agent = agent(model.clone(), tools.clone(), store.clone(), metrics.clone());
        let options = ChannelOptions {
            stream: StreamConfig {
                settle: Duration::ZERO,
                edit_interval: Duration::from_millis(150),
                backoff: Duration::from_millis(50),
                ..StreamConfig::default()
            },
            confirm_ttl: Duration::from_secs(5),
            accounts,
            ..ChannelOptions::default()
        };
        let shutdown = CancellationToken::new();
        let shared = Shared::new(agent, store.clone(), metrics, &servers);
        let task = tokio::spawn(run(config, shared, options, shutdown.clone()));
        assert!(
            fake.wait_for(WAIT, |f| f.connections_opened() >= 1).await,
            "the socket never opened"
        );
        // Let the socket subscribe after `hello` before events are pushed.
        tokio::time::sleep(Duration::from_millis(150)).await;
        Self {
            fake,
            store,
            model,
            tools,
            shutdown,
            task: Some(task),
            _dir: dir,
        }
    }

    /// `user` types `text` in their direct message with the bot.
    pub(crate) fn dm(&self, user: &str, text: &str, ts: &str) {
        self.fake.push_event("T1", json!({"type": "message", "channel_type": "im", "user": user, "channel": format!("D{user}"), "text": slack_text(text), "ts": ts}));
    }

    /// `user` mentions the bot in `channel`, typing `text` after the mention.
    pub(crate) fn mention(&self, user: &str, channel: &str, text: &str, ts: &str) {
        self.fake.push_event("T1", json!({"type": "app_mention", "user": user, "channel": channel, "text": format!("<@UBOT> {}", slack_text(text)), "ts": ts}));
    }

    pub(crate) fn posts_to(&self, channel: &str) -> Vec<Value> {
        self.fake
            .calls_of("chat.postMessage")
            .into_iter()
            .map(|c| c.body)
            .filter(|b| b["channel"] == channel)
            .collect()
    }

    pub(crate) async fn wait_posts(&self, channel: &str, n: usize) -> Vec<Value> {
        let ok = self
            .fake
            .wait_for(WAIT, |f| {
                f.calls_of("chat.postMessage")
                    .iter()
                    .filter(|c| c.body["channel"] == channel)
                    .count()
                    >= n
            })
            .await;
        assert!(
            ok,
            "expected {n} posts to {channel}; calls: {:?}",
            self.fake.calls()
        );
        self.posts_to(channel)
    }
}

/// An unknown sender gets a pairing code and no model call; after approval they are answered.
#[tokio::test]
async fn pairing_then_answers() {
    let h = Harness::start(
        Policy::Pairing,
        vec![],
        ScriptedModel::new(vec![Reply::text("Welcome in.")]),
    )
    .await;
    h.dm("U7", "hello", "1.1");
    let posts = h.wait_posts("DU7", 1).await;
    let code = code_in(posts[0]["text"].as_str().unwrap());
    assert_eq!(h.model.calls(), 0, "no model call for an unknown sender");
    Pairing::new(h.store.clone())
        .approve(&code)
        .await
        .expect("approve");
    h.dm("U7", "hello again", "1.2");
    assert!(
        h.fake
            .wait_for(WAIT, |f| f
                .calls()
                .iter()
                .any(|c| c.body.to_string().contains("Welcome in.")))
            .await,
        "the approved sender was not answered: {:?}",
        h.fake.calls()
    );
    assert_eq!(h.model.calls(), 1);
}

/// A mention in a channel is answered in a thread under the mention, without the mention text.
#[tokio::test]
async fn mention_is_answered_in_its_thread() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("Here you go.")]),
    )
    .await;
    h.mention("U1", "C9", "what's up?", "77.0001");
    let posts = h.wait_posts("C9", 1).await;
    assert_eq!(posts[0]["thread_ts"], "77.0001");
    let asked = h.model.requests()[0].last().unwrap().content.clone();
    assert_eq!(asked, "what's up?");
}

/// A slow reply is streamed: one message, updated several times (streamed updates at least
/// 1.5 s apart, within Slack's limit on `chat.update`), ending with the whole text.
#[tokio::test]
async fn replies_stream_with_updates() {
    let chunks = ["One ", "two ", "three ", "four ", "five."];
    let model = ScriptedModel::new(vec![Reply::streamed(&chunks, Duration::from_millis(600))]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.dm("U1", "count", "5.0");
    h.wait_posts("DU1", 1).await;
    let ts = h.fake.posted()[0].1.clone();
    assert!(
        h.fake
            .wait_for(WAIT, |f| f
                .message_text("DU1", &ts)
                .is_some_and(|t| t.contains("five.")))
            .await,
        "{:?}",
        h.fake.calls()
    );
    assert_eq!(h.posts_to("DU1").len(), 1, "one message, not one per chunk");
    let updates = h.fake.calls_of("chat.update");
    assert!(
        updates.len() >= 2,
        "expected several updates: {:?}",
        h.fake.calls()
    );
}

/// A destructive tool waits for the Allow button; Deny leaves it undone.
#[tokio::test]
async fn destructive_tool_confirmed_and_declined_by_button() {
    for allow in [true, false] {
        let model = ScriptedModel::new(vec![
            Reply::call("files_delete", json!({"path": "/tmp/x"})),
            Reply::text("Finished."),
        ]);
        let h = Harness::start(Policy::Open, vec![], model).await;
        h.dm("U1", "delete /tmp/x", "9.0");
        let ok = h
            .fake
            .wait_for(WAIT, |f| {
                f.calls_of("chat.postMessage")
                    .iter()
                    .any(|c| c.body.get("blocks").is_some())
            })
            .await;
        assert!(ok, "no confirmation with buttons: {:?}", h.fake.calls());
        let (_, ts, question) = h
            .fake
            .posted()
            .into_iter()
            .find(|(_, _, body)| body.get("blocks").is_some())
            .unwrap();
        let elements = question["blocks"][1]["elements"]
            .as_array()
            .unwrap()
            .clone();
        let value = elements[usize::from(!allow)]["value"]
            .as_str()
            .unwrap()
            .to_owned();
        h.fake.push_action(
            "T1",
            "U1",
            "DU1",
            &ts,
            if allow {
                "confirm_allow"
            } else {
                "confirm_deny"
            },
            &value,
        );
        // The question is updated with the decision.
        let decided = if allow {
            "Allowed."
        } else {
            "Declined; not done."
        };
        assert!(
            h.fake
                .wait_for(WAIT, |f| f
                    .message_text("DU1", &ts)
                    .is_some_and(|t| t.contains(decided)))
                .await
        );
        assert!(
            h.fake
                .wait_for(WAIT, |f| f
                    .calls()
                    .iter()
                    .any(|c| c.body.to_string().contains("Finished.")))
                .await,
            "{:?}",
            h.fake.calls()
        );
        assert_eq!(h.tools.calls().len(), usize::from(allow));
    }
}

/// A 429 on posting is waited out and the reply arrives once.
#[tokio::test]
async fn rate_limited_post_is_delivered_once() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("Patience pays.")]),
    )
    .await;
    h.fake.rate_limit("chat.postMessage", 1, 1);
    h.dm("U1", "hi", "3.0");
    let started = std::time::Instant::now();
    // Wait for the post that Slack accepted (the first one was refused with 429).
    assert!(
        h.fake
            .wait_for(WAIT, |f| f.calls_of("chat.postMessage").len() >= 2)
            .await,
        "{:?}",
        h.fake.calls()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = h.fake.calls_of("chat.postMessage").len();
    assert_eq!(
        delivered,
        2,
        "one refused with 429, one delivered: {:?}",
        h.fake.calls()
    );
}

/// Every envelope of a busy exchange is acknowledged within three seconds.
#[tokio::test]
async fn every_envelope_is_acknowledged_in_time() {
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(vec![])).await;
    for i in 0..10 {
        h.dm(&format!("U{i}"), "hello", &format!("{i}.0"));
    }
    assert!(
        h.fake.wait_for(WAIT, |f| f.acks().len() == 10).await,
        "acks: {:?}",
        h.fake.acks()
    );
    assert!(
        h.fake
            .acks()
            .iter()
            .all(|(_, d)| *d < Duration::from_secs(3))
    );
    // Each sender got their own answer (the scripted model echoes).
    assert!(
        h.fake
            .wait_for(WAIT, |f| (0..10).all(|i| f
                .calls()
                .iter()
                .any(|c| c.body["channel"] == format!("DU{i}"))))
            .await
    );
}

/// `!connect` in a channel sends the link to the person's direct message and says so in the
/// thread; the channel never sees a link. The link is the page naming the person.
#[tokio::test]
async fn connect_in_a_channel_sends_the_link_directly() {
    let links = Arc::new(Links::default());
    let h = Harness::build(
        Policy::Open,
        Vec::new(),
        ScriptedModel::new(vec![]),
        vec![notion()],
        Some(links.clone()),
    )
    .await;
    h.mention("U5", "C9", "!connect notion", "90.0001");
    let direct = h.wait_posts("U5", 1).await;
    assert!(
        direct[0]
            .to_string()
            .contains("https://gw.example/connect/page1"),
        "{direct:?}"
    );
    assert_eq!(
        links.pages.lock()[0].2,
        "Slack user U5 (workspace T1)",
        "the page names the person"
    );
    let thread = h.wait_posts("C9", 1).await;
    assert!(
        thread[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("direct message"),
        "{thread:?}"
    );
    for post in h.posts_to("C9") {
        assert!(!post.to_string().contains("https://"), "{post}");
    }
}
