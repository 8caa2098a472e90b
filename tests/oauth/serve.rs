//! `mcp-gateway serve` as a process with Telegram or Slack (against their fakes): a person asks,
//! gets a connect button, connects in a headless browser, and the bot says so and answers the
//! message that needed the connection, without the person writing again. And a Google app in
//! Testing: connections Google ends after 7 days get a reconnect button that says why, and the
//! admins one notice.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::deployment::{Deployment, free_port};
use crate::fake_ollama::FakeOllama;
use crate::fake_slack::FakeSlack;
use crate::fake_telegram::FakeTelegram;
use crate::harness::{ROADMAP, browse, model, pass_a_week, tools_of};

const TOKEN: &str = "123456:OAUTH-test";
const WAIT: Duration = Duration::from_secs(30);
const ANN: u64 = 4242;

/// The URL of the first inline button in a call's `reply_markup`, if any.
fn button_url(body: &Value) -> Option<String> {
    body["reply_markup"]["inline_keyboard"]
        .as_array()?
        .iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find_map(|b| b["url"].as_str().map(str::to_owned))
}

/// The URL somewhere in `value` that starts with `prefix`.
fn find_url(value: &Value, prefix: &str) -> Option<String> {
    match value {
        Value::String(s) if s.starts_with(prefix) => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(|v| find_url(v, prefix)),
        Value::Object(fields) => fields.values().find_map(|v| find_url(v, prefix)),
        _ => None,
    }
}

/// Both MCP servers with a Notion page, a model that uses one server's tool, and
/// `mcp-gateway serve` with that server as an OAuth server and the channel in `channel` (TOML;
/// secret files are written from `files`), answering on its HTTP port.
struct Served {
    deployment: Deployment,
    /// The gateway's public URL.
    base: String,
    _ollama: FakeOllama,
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl Served {
    /// With notion.
    async fn start(channel: &str, files: &[(&str, &str)]) -> Self {
        Self::start_with("notion", channel, files).await
    }

    /// With `server` (`notion` or `gcal`).
    async fn start_with(server: &str, channel: &str, files: &[(&str, &str)]) -> Self {
        let deployment = Deployment::start().await;
        deployment.fake_notion.seed_page(None, ROADMAP);
        let (tool, connect, args) = tools_of(server);
        let ollama = FakeOllama::start(model(tool, connect, args)).await;
        let url = match server {
            "gcal" => deployment.gcal.resource(),
            _ => deployment.notion.resource(),
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("secret file");
        }
        std::fs::write(dir.path().join("seal.key"), "7a".repeat(32)).expect("key file");
        private(&dir.path().join("seal.key"));
        let port = free_port();
        let config = format!(
            r#"[model]
base_url = "{ollama}"
name = "qwen2.5:7b"

[store]
path = "gateway.db"
seal_key_file = "seal.key"

[agent]
tool_selection = "all"

[[servers]]
name = "{server}"
url = "{url}"
auth = "oauth"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"

{channel}
"#,
            ollama = ollama.url(),
        );
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, config).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start serve");
        let ready = format!("http://127.0.0.1:{port}/healthz");
        let deadline = tokio::time::Instant::now() + WAIT;
        while !reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            deployment,
            base: format!("http://127.0.0.1:{port}"),
            _ollama: ollama,
            _dir: dir,
            child,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_waiting_telegram_message_after_the_callback() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let channel = format!(
        "[channels.telegram]\ntoken_file = \"bot-token\"\napi_url = \"{}\"\npolicy = \"open\"\n",
        telegram.url()
    );
    let mut served = Served::start(&channel, &[("bot-token", TOKEN)]).await;
    let deployment = &served.deployment;

    telegram.push_private(ANN, "Find my Roadmap page in Notion");
    let chat = i64::try_from(ANN).expect("chat id");
    let calls = telegram
        .wait_for("a connect button", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(chat) && button_url(&c.body).is_some())
        })
        .await;
    let link = calls
        .iter()
        .find_map(|c| button_url(&c.body))
        .expect("a button URL");
    assert!(
        link.starts_with(&format!("{}/connect/", served.base)),
        "the link is the gateway's page: {link}"
    );
    assert_eq!(deployment.fake_notion.calls(), 0);
    let page = reqwest::get(&link)
        .await
        .expect("the link's page")
        .text()
        .await
        .expect("page");
    assert!(
        page.contains(&format!("Telegram user @user{ANN} (id {ANN})")),
        "the page names the person: {page}"
    );
    assert!(page.contains("If someone else sent you this link, do not continue"));
    assert!(page.contains(&format!("{}/authorize?", deployment.notion.base)));

    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);

    telegram
        .wait_for("the notice and the answer", WAIT, |calls| {
            let texts: Vec<&str> = calls
                .iter()
                .filter(|c| c.is_text() && c.ok && c.chat() == Some(chat))
                .map(|c| c.text())
                .collect();
            texts
                .iter()
                .any(|t| t.contains("Connected your notion account"))
                && texts.iter().any(|t| t.contains("Roadmap 2027"))
        })
        .await;
    assert!(deployment.fake_notion.calls() > 0, "Notion was called");
    let _ = served.child.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_waiting_slack_message_after_the_callback() {
    let slack = FakeSlack::start().await;
    let channel = format!(
        "[channels.slack]\napp_token_file = \"slack-app\"\nbot_token_file = \"slack-bot\"\napi_url = \"{}\"\npolicy = \"open\"\n",
        slack.api_url()
    );
    let mut served = Served::start(
        &channel,
        &[("slack-app", "xapp-1-oauth"), ("slack-bot", "xoxb-oauth")],
    )
    .await;
    let deployment = &served.deployment;
    assert!(
        slack.wait_for(WAIT, |s| s.sockets() > 0).await,
        "the Slack channel never connected its socket"
    );

    slack.push_event(
        "T1",
        json!({"type": "message", "channel_type": "im", "user": "U7", "channel": "DU7",
            "text": "Find my Roadmap page in Notion", "ts": "100.0001"}),
    );
    let authorize = format!("{}/connect/", served.base);
    assert!(
        slack
            .wait_for(WAIT, |s| s
                .posted()
                .iter()
                .any(|(_, _, body)| find_url(body, &authorize).is_some()))
            .await,
        "a connect button: {:?}",
        slack.posted()
    );
    let posted = slack.posted();
    let (channel, _, body) = posted
        .iter()
        .find(|(_, _, body)| find_url(body, &authorize).is_some())
        .expect("the connect message");
    assert_eq!(channel, "DU7", "the link goes to the person's own DM");
    let link = find_url(body, &authorize).expect("the link");
    assert_eq!(deployment.fake_notion.calls(), 0);

    let visit = browse(&link).await;
    assert_eq!(visit.status, 200, "{}", visit.body);

    let texts = |s: &FakeSlack| -> Vec<String> {
        s.posted()
            .iter()
            .filter(|(channel, _, _)| channel == "DU7")
            .filter_map(|(channel, ts, _)| s.message_text(channel, ts))
            .collect()
    };
    let answered = slack
        .wait_for(WAIT, |s| {
            let texts = texts(s);
            texts
                .iter()
                .any(|t| t.contains("Connected your notion account"))
                && texts.iter().any(|t| t.contains("Roadmap 2027"))
        })
        .await;
    assert!(answered, "the notice and the answer: {:?}", texts(&slack));
    assert!(deployment.fake_notion.calls() > 0, "Notion was called");
    let _ = served.child.start_kill();
}

/// In a Telegram group, a connect link the model asks for goes to the person's private chat and
/// the group is told so; a person the bot cannot write to privately is told how to ask from a
/// private chat. No link is ever posted in the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_posts_a_connect_link_in_a_telegram_group() {
    const GROUP: i64 = -100_4242;
    const BOB: u64 = 4343;
    let telegram = FakeTelegram::start(TOKEN).await;
    let channel = format!(
        "[channels.telegram]\ntoken_file = \"bot-token\"\napi_url = \"{}\"\npolicy = \"open\"\n",
        telegram.url()
    );
    let mut served = Served::start(&channel, &[("bot-token", TOKEN)]).await;
    let mention = format!(
        "@{} Find my Roadmap page in Notion",
        crate::fake_telegram::BOT_USERNAME
    );
    let in_group = |calls: &[crate::fake_telegram::Call]| -> Vec<String> {
        calls
            .iter()
            .filter(|c| c.ok && c.chat() == Some(GROUP))
            .map(|c| c.text().to_owned())
            .collect()
    };

    // Bob has no private chat with the bot.
    telegram.push_group(GROUP, BOB, &mention);
    let calls = telegram
        .wait_for("Bob's refusal", WAIT, |calls| {
            in_group(calls)
                .iter()
                .any(|t| t.contains("can't send you a private message"))
        })
        .await;
    assert!(
        calls.iter().all(|c| !c.ok || button_url(&c.body).is_none()),
        "no link anywhere for Bob"
    );

    // Ann has one: her link goes there.
    let ann = i64::try_from(ANN).expect("chat id");
    telegram.push_private(ANN, "hello");
    telegram
        .wait_for("Ann's private link", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.ok && c.chat() == Some(ann) && button_url(&c.body).is_some())
        })
        .await;
    telegram.push_group(GROUP, ANN, &mention);
    let calls = telegram
        .wait_for("the note in the group", WAIT, |calls| {
            in_group(calls)
                .iter()
                .any(|t| t.contains("in a private message"))
        })
        .await;
    let private_links = calls
        .iter()
        .filter(|c| c.ok && c.chat() == Some(ann) && button_url(&c.body).is_some())
        .count();
    assert_eq!(
        private_links, 2,
        "the second link went to Ann's private chat"
    );
    for call in calls.iter().filter(|c| c.chat() == Some(GROUP)) {
        assert!(button_url(&call.body).is_none(), "{call:?}");
        assert!(!call.text().contains("http"), "{call:?}");
    }
    let _ = served.child.start_kill();
}

/// Ann, Bob and Carol connect their calendars on Telegram; a week later Google, as it does for
/// an app in Testing, refuses every refresh token. Each gets a reconnect button whose message
/// says why, and the admin gets one notice, after the second, saying to publish the app; not a
/// second one after the third.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_why_google_ended_connections_and_tells_the_admin_once() {
    const ADMIN: u64 = 9000;
    const PEOPLE: [u64; 3] = [4242, 4343, 4444];
    const QUESTION: &str = "What is on my calendar?";
    let telegram = FakeTelegram::start(TOKEN).await;
    let channel = format!(
        "[channels.telegram]\ntoken_file = \"bot-token\"\napi_url = \"{}\"\npolicy = \"open\"\nadmins = [{ADMIN}]\n",
        telegram.url()
    );
    let mut served = Served::start_with("gcal", &channel, &[("bot-token", TOKEN)]).await;
    let deployment = &served.deployment;
    deployment.fake_google.set_testing(true);
    let chat = |user: u64| i64::try_from(user).expect("chat id");
    let admin_notices = |calls: &[crate::fake_telegram::Call]| {
        calls
            .iter()
            .filter(|c| c.ok && c.chat() == Some(chat(ADMIN)))
            .filter(|c| c.text().contains("Publish the app"))
            .count()
    };
    // The admin has a private chat with the bot (Telegram lets a bot write only to people who
    // wrote to it first).
    telegram.push_private(ADMIN, "/help");
    telegram
        .wait_for("the help", WAIT, |calls| {
            calls.iter().any(|c| c.ok && c.chat() == Some(chat(ADMIN)))
        })
        .await;
    // Each button in `user`'s chat, with the text of its message.
    let buttons = |calls: &[crate::fake_telegram::Call], user: u64| -> Vec<(String, String)> {
        calls
            .iter()
            .filter(|c| c.ok && c.chat() == Some(chat(user)))
            .filter_map(|c| Some((c.text().to_owned(), button_url(&c.body)?)))
            .collect()
    };

    for user in PEOPLE {
        telegram.push_private(user, QUESTION);
        let calls = telegram
            .wait_for("a connect button", WAIT, |calls| {
                !buttons(calls, user).is_empty()
            })
            .await;
        let (_, link) = buttons(&calls, user).remove(0);
        let visit = browse(&link).await;
        assert_eq!(visit.status, 200, "{}", visit.body);
        telegram
            .wait_for("the notice and the answer", WAIT, |calls| {
                let said = |what: &str| {
                    calls.iter().any(|c| {
                        c.ok && c.is_html()
                            && c.chat() == Some(chat(user))
                            && c.text().contains(what)
                    })
                };
                calls.iter().any(|c| {
                    c.ok && c.chat() == Some(chat(user))
                        && c.text().contains("Connected your gcal account")
                }) && said("\"events\"")
            })
            .await;
    }

    // A week passes.
    pass_a_week(deployment);
    for (n, user) in PEOPLE.into_iter().enumerate() {
        let before = buttons(&telegram.calls(), user).len();
        let mut said = None;
        for _ in 0..3 {
            let finals = telegram
                .text_calls(chat(user))
                .iter()
                .filter(|c| c.ok && c.is_html())
                .count();
            telegram.push_private(user, QUESTION);
            let calls = telegram.wait_for_final(chat(user), finals + 1, WAIT).await;
            if let Some(button) = buttons(&calls, user).get(before) {
                said = Some(button.clone());
                break;
            }
        }
        let (text, link) = said.expect("a reconnect button within three questions");
        assert!(
            text.contains("Google ended your gcal connection 7 days after it was made, as it does for apps still in testing"),
            "the person hears why: {text}"
        );
        assert!(text.contains("publishing the app"), "{text}");
        assert!(
            link.starts_with(&format!("{}/connect/", served.base)),
            "{link}"
        );
        if n == 1 {
            telegram
                .wait_for("the admin's notice", WAIT, |calls| admin_notices(calls) > 0)
                .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            admin_notices(&telegram.calls()),
            usize::from(n >= 1),
            "one notice, from the second ending on"
        );
    }
    let notice = telegram
        .text_calls(chat(ADMIN))
        .into_iter()
        .find(|c| c.text().contains("Publish the app"))
        .expect("the notice");
    assert!(
        notice.text().contains("most likely still in Testing"),
        "{}",
        notice.text()
    );
    for user in PEOPLE {
        assert!(
            telegram
                .text_calls(chat(ADMIN))
                .iter()
                .all(|c| !c.text().contains(&user.to_string())),
            "the notice names no one"
        );
    }
    let _ = served.child.start_kill();
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
