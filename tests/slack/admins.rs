//! Admins in the chat, through `serve` running Telegram and Slack at once against their fakes:
//! a new pairing request reaches each admin with Approve and Deny buttons, an admin's tap
//! answers it as `mcp-gateway pairing approve` would (or declines it), the requester is told,
//! the buttons give way to the outcome, and a late tap or a stranger's tap changes nothing.
//! Alertmanager's webhook, with `[alerting]`: its documented payload (version 4) reaches every
//! admin as one message; a missing or wrong bearer, a malformed or oversized body send nothing.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use mcp_gateway::Principal;
use mcp_gateway::channels::pairing::Pairing;
use mcp_gateway::store::Store;

use crate::fake_ollama::{FakeOllama, Reply};
use crate::fake_slack::FakeSlack;
use crate::fake_telegram::FakeTelegram;

const TOKEN: &str = "123456:ADMINS-test";
const WAIT: Duration = Duration::from_secs(20);
/// The Telegram admin's user id.
const TG_ADMIN: u64 = 42;
/// The Slack admin's user id.
const SLACK_ADMIN: &str = "UADMIN1";
/// The bearer token Alertmanager sends, with `[alerting]`.
const ALERT_TOKEN: &str = "am-0123456789abcdef";

/// `serve` in this process with both channels under `pairing`, one admin each, and `extra`
/// appended to its configuration.
pub struct Gateway {
    pub telegram: FakeTelegram,
    pub slack: FakeSlack,
    pub port: u16,
    pub dir: tempfile::TempDir,
    shutdown: CancellationToken,
    serve: Option<JoinHandle<anyhow::Result<std::process::ExitCode>>>,
    _ollama: FakeOllama,
}

impl Gateway {
    pub async fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let ollama = FakeOllama::start(|_| Reply::text("Here.")).await;
        let telegram = FakeTelegram::start(TOKEN).await;
        let slack = FakeSlack::start().await;
        std::fs::write(dir.path().join("telegram-token"), format!("{TOKEN}\n")).expect("write");
        std::fs::write(dir.path().join("slack-app"), "xapp-1-admins\n").expect("write");
        std::fs::write(dir.path().join("slack-bot"), "xoxb-admins\n").expect("write");
        std::fs::write(dir.path().join("seal.key"), "ef".repeat(32)).expect("write");
        std::fs::write(
            dir.path().join("alertmanager-token"),
            format!("{ALERT_TOKEN}\n"),
        )
        .expect("write");
        private(&dir.path().join("seal.key"));
        let port = free_port();
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(
            &config_path,
            format!(
                r#"[model]
base_url = "{ollama}"
[store]
path = "gateway.db"
seal_key_file = "seal.key"
[http]
listen = "127.0.0.1:{port}"
[channels.telegram]
token_file = "telegram-token"
api_url = "{telegram}"
admins = [{TG_ADMIN}]
[channels.slack]
app_token_file = "slack-app"
bot_token_file = "slack-bot"
api_url = "{slack}"
admins = ["{SLACK_ADMIN}"]
{extra}
"#,
                ollama = ollama.url(),
                telegram = telegram.url(),
                slack = slack.api_url(),
            ),
        )
        .expect("write the config");
        let config = mcp_gateway::config::Config::load(&config_path).expect("the configuration");
        let shutdown = CancellationToken::new();
        let serve = tokio::spawn(mcp_gateway::app::serve(config, shutdown.clone()));
        assert!(
            slack.wait_for(WAIT, |s| s.sockets() > 0).await,
            "the Slack channel never connected its socket"
        );
        let ready = format!("http://127.0.0.1:{port}/readyz");
        let deadline = tokio::time::Instant::now() + WAIT;
        while !reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(tokio::time::Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            telegram,
            slack,
            port,
            dir,
            shutdown,
            serve: Some(serve),
            _ollama: ollama,
        }
    }

    /// The pairing book of the gateway's database.
    pub fn pairing(&self) -> Pairing {
        Pairing::new(Store::open(&self.dir.path().join("gateway.db")).expect("open the store"))
    }

    /// The Telegram admin writes to the bot first (Telegram lets a bot write to a person only
    /// after they did) and is answered: admins always talk.
    pub async fn telegram_admin_says_hello(&self) {
        self.telegram.push_private(TG_ADMIN, "hello");
        let calls = self.telegram.wait_for_final(42, 1, WAIT).await;
        assert!(
            calls
                .iter()
                .any(|c| c.ok && c.chat() == Some(42) && c.text() == "Here."),
            "{calls:?}"
        );
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(serve) = self.serve.take() {
            let code = tokio::time::timeout(WAIT, serve)
                .await
                .expect("serve stops")
                .expect("the serve task")
                .expect("serve ends without error");
            assert_eq!(code, std::process::ExitCode::SUCCESS);
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("address").port()
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// The pairing question in the Telegram chat `chat`: (message id, Approve data, Deny data).
async fn telegram_question(gw: &Gateway, chat: i64) -> (i64, String, String) {
    gw.telegram
        .wait_for("a pairing request with buttons", WAIT, |c| {
            c.iter()
                .any(|c| c.ok && c.chat() == Some(chat) && c.body.get("reply_markup").is_some())
        })
        .await;
    gw.telegram
        .button_pair(chat, "Approve", "Deny")
        .unwrap_or_else(|| panic!("no Approve/Deny buttons in chat {chat}"))
}

/// The text of the last message the bot sent to Telegram chat `chat`.
fn last_telegram_text(gw: &Gateway, chat: i64) -> String {
    gw.telegram
        .messages_in(chat)
        .last()
        .and_then(|id| gw.telegram.message_text(chat, *id))
        .unwrap_or_default()
}

/// The pairing question posted to Slack `channel`: (ts, Approve value, Deny value).
async fn slack_question(gw: &Gateway, channel: &str) -> (String, String, String) {
    let found = gw
        .slack
        .wait_for(WAIT, |s| {
            s.posted()
                .iter()
                .any(|(c, _, body)| c == channel && body.get("blocks").is_some())
        })
        .await;
    assert!(found, "no question in {channel}: {:?}", gw.slack.posted());
    let (_, ts, body) = gw
        .slack
        .posted()
        .into_iter()
        .find(|(c, _, body)| c == channel && body.get("blocks").is_some())
        .expect("the question");
    let elements = body["blocks"][1]["elements"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let value = |label: &str| {
        elements
            .iter()
            .find(|e| e["text"]["text"] == label)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
            .expect("a button")
    };
    (ts, value("Approve"), value("Deny"))
}

/// Whether Slack `channel` shows a message containing `text`.
fn slack_shows(slack: &FakeSlack, channel: &str, text: &str) -> bool {
    slack.posted().iter().any(|(c, ts, _)| {
        c == channel
            && slack
                .message_text(c, ts)
                .is_some_and(|shown| shown.contains(text))
    })
}

#[tokio::test]
async fn a_pairing_request_reaches_the_admins_and_their_tap_answers_it() {
    let gw = Gateway::start("").await;
    gw.telegram_admin_says_hello().await;

    // Without [alerting] there is no webhook.
    let webhook = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/alertmanager", gw.port))
        .bearer_auth(ALERT_TOKEN)
        .body("{}")
        .send()
        .await
        .expect("a response");
    assert_eq!(webhook.status(), 404);

    // Telegram: a stranger asks, the admin approves with a tap.
    gw.telegram.push_private(7, "hello");
    let (message, approve, deny) = telegram_question(&gw, 42).await;
    let asked = gw.telegram.message_text(42, message).unwrap_or_default();
    assert!(
        asked.contains("New pairing request on Telegram") && asked.contains("(id 7)"),
        "{asked}"
    );
    let pending = gw.pairing().pending().await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert!(asked.contains(&pending[0].code), "{asked}");

    // The stranger's own tap on the admin's data does nothing.
    let forged = gw.telegram.push_callback(7, 7, message, &approve);
    gw.telegram
        .wait_for("the stranger's tap answered", WAIT, |c| {
            c.iter().any(|c| {
                c.method == "answercallbackquery" && c.body["callback_query_id"] == forged.as_str()
            })
        })
        .await;
    assert!(
        !gw.pairing()
            .is_approved(&Principal::telegram(7))
            .await
            .unwrap()
    );

    gw.telegram.push_callback(TG_ADMIN, 42, message, &approve);
    gw.telegram
        .wait_for("the requester told", WAIT, |_| {
            last_telegram_text(&gw, 7).contains("An admin approved your request")
        })
        .await;
    assert!(
        gw.pairing()
            .is_approved(&Principal::telegram(7))
            .await
            .unwrap()
    );
    gw.telegram
        .wait_for("the buttons replaced by the outcome", WAIT, |_| {
            gw.telegram.message_markup(42, message).is_none()
                && gw
                    .telegram
                    .message_text(42, message)
                    .is_some_and(|t| t.ends_with("Approved by Telegram user id 42."))
        })
        .await;

    // A replayed tap is harmless: the approval stands and the tap is told it is stale.
    let replay = gw.telegram.push_callback(TG_ADMIN, 42, message, &deny);
    let calls = gw
        .telegram
        .wait_for("the replay answered", WAIT, |c| {
            c.iter().any(|c| {
                c.method == "answercallbackquery" && c.body["callback_query_id"] == replay.as_str()
            })
        })
        .await;
    let note = calls
        .iter()
        .find(|c| c.body["callback_query_id"] == replay.as_str())
        .map(|c| c.body["text"].clone())
        .unwrap_or(Value::Null);
    assert!(
        note.as_str()
            .is_some_and(|n| n.contains("already answered")),
        "{note}"
    );
    assert!(
        gw.pairing()
            .is_approved(&Principal::telegram(7))
            .await
            .unwrap()
    );
    gw.telegram.push_private(7, "now may I?");
    gw.telegram
        .wait_for("the approved person answered", WAIT, |_| {
            last_telegram_text(&gw, 7) == "Here."
        })
        .await;

    // Slack: a stranger asks, a non-admin's tap does nothing, the admin declines.
    gw.slack.push_event(
        "T1",
        json!({"type": "message", "channel_type": "im", "user": "U7", "channel": "DU7", "text": "hello", "ts": "100.0001"}),
    );
    let (ts, _approve, deny) = slack_question(&gw, SLACK_ADMIN).await;
    assert!(
        gw.slack
            .message_text(SLACK_ADMIN, &ts)
            .is_some_and(|t| t.contains("New pairing request on Slack")),
    );
    gw.slack
        .push_action("T1", "U7", SLACK_ADMIN, &ts, "choice_1", &deny);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let slack_pending = gw.pairing().pending().await.expect("pending");
    assert_eq!(slack_pending.len(), 1, "a stranger's tap declined nothing");

    gw.slack
        .push_action("T1", SLACK_ADMIN, SLACK_ADMIN, &ts, "choice_1", &deny);
    assert!(
        gw.slack
            .wait_for(WAIT, |s| slack_shows(
                s,
                "DU7",
                "An admin declined your request"
            ))
            .await,
        "{:?}",
        gw.slack.posted()
    );
    assert!(
        gw.slack
            .wait_for(WAIT, |s| s
                .message_text(SLACK_ADMIN, &ts)
                .is_some_and(|t| t.contains("Declined by Slack user UADMIN1"))
                && s.message_blocks(SLACK_ADMIN, &ts).is_none())
            .await,
        "{:?}",
        gw.slack.message_text(SLACK_ADMIN, &ts)
    );
    assert!(gw.pairing().pending().await.expect("pending").is_empty());
    assert!(
        !gw.pairing()
            .is_approved(&Principal::slack("T1", "U7"))
            .await
            .unwrap()
    );

    // The admin talks to the assistant without being approved.
    gw.slack.push_event(
        "T1",
        json!({"type": "message", "channel_type": "im", "user": SLACK_ADMIN, "channel": "DADMIN", "text": "hi", "ts": "101.0001"}),
    );
    assert!(
        gw.slack
            .wait_for(WAIT, |s| slack_shows(s, "DADMIN", "Here."))
            .await
    );
    gw.stop().await;
}

/// An Alertmanager webhook payload (version 4) as its documentation shows it.
fn alertmanager_payload(status: &str, alerts: &[(&str, &str, &str)]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(state, name, summary)| {
            json!({
                "status": state,
                "labels": {"alertname": name, "namespace": "mcp-gateway", "severity": "critical"},
                "annotations": {"summary": summary, "description": "See the runbook."},
                "startsAt": "2026-12-03T10:00:00.000Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=up",
                "fingerprint": "5f0b4bd2d8a2c6e1"
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": "{}/{}:{alertname=\"GatewayDown\", namespace=\"mcp-gateway\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "mcp-gateway",
        "groupLabels": {"alertname": "GatewayDown", "namespace": "mcp-gateway"},
        "commonLabels": {"namespace": "mcp-gateway"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": alerts
    })
}

#[tokio::test]
async fn an_alertmanager_payload_reaches_every_admin_and_a_wrong_bearer_nothing() {
    let gw = Gateway::start("[alerting]\nwebhook_token_file = \"alertmanager-token\"").await;
    gw.telegram_admin_says_hello().await;
    let url = format!("http://127.0.0.1:{}/alertmanager", gw.port);
    let http = reqwest::Client::new();
    let firing = alertmanager_payload(
        "firing",
        &[
            (
                "firing",
                "GatewayDown",
                "The gateway has not answered for 5 minutes.",
            ),
            ("firing", "OllamaDown", "The model server is unreachable."),
        ],
    );
    let before_tg = gw.telegram.messages_in(42).len();
    let before_slack = gw.slack.posted().len();

    let none = http
        .post(&url)
        .json(&firing)
        .send()
        .await
        .expect("a response");
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    let wrong = http
        .post(&url)
        .bearer_auth("am-0123456789abcdeX")
        .json(&firing)
        .send()
        .await
        .expect("a response");
    assert_eq!(wrong.status(), 401);
    let malformed = http
        .post(&url)
        .bearer_auth(ALERT_TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"version":"4","status":"firing","alerts":"#)
        .send()
        .await
        .expect("a response");
    assert_eq!(malformed.status(), 400);
    let huge = http
        .post(&url)
        .bearer_auth(ALERT_TOKEN)
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .expect("a response");
    assert_eq!(huge.status(), 413);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.telegram.messages_in(42).len(), before_tg, "nothing sent");
    assert_eq!(gw.slack.posted().len(), before_slack, "nothing sent");

    let sent = http
        .post(&url)
        .bearer_auth(ALERT_TOKEN)
        .json(&firing)
        .send()
        .await
        .expect("a response");
    assert_eq!(sent.status(), 200, "{:?}", sent.text().await);
    let expected = "FIRING: 2 alerts\n- FIRING GatewayDown: The gateway has not answered for 5 minutes.\n- FIRING OllamaDown: The model server is unreachable.";
    gw.telegram
        .wait_for("the alert in the admin's chat", WAIT, |_| {
            last_telegram_text(&gw, 42) == expected
        })
        .await;
    assert_eq!(
        gw.telegram.messages_in(42).len(),
        before_tg + 1,
        "one message"
    );
    assert!(
        gw.slack
            .wait_for(WAIT, |s| slack_shows(s, SLACK_ADMIN, "FIRING: 2 alerts"))
            .await
    );
    let slack_alert = gw
        .slack
        .posted()
        .into_iter()
        .filter(|(c, _, _)| c == SLACK_ADMIN)
        .count();
    assert_eq!(slack_alert, 1, "one message per payload");

    let resolved = alertmanager_payload(
        "resolved",
        &[(
            "resolved",
            "GatewayDown",
            "The gateway has not answered for 5 minutes.",
        )],
    );
    let sent = http
        .post(&url)
        .bearer_auth(ALERT_TOKEN)
        .json(&resolved)
        .send()
        .await
        .expect("a response");
    assert_eq!(sent.status(), 200);
    gw.telegram
        .wait_for("the resolution in the admin's chat", WAIT, |_| {
            last_telegram_text(&gw, 42).starts_with("RESOLVED: 1 alert\n- RESOLVED GatewayDown")
        })
        .await;
    // Nobody but the admins heard of it.
    assert!(
        !gw.slack.posted().iter().any(|(c, _, body)| c != SLACK_ADMIN
            && body["text"].as_str().is_some_and(|t| t.contains("FIRING")))
    );
    gw.stop().await;
}
