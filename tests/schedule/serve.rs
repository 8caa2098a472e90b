//! The schedule through `serve`: the scripted model's tool calls, the chat commands and buttons,
//! the operator's CLI, a crash and a downtime.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::fake_ollama::{FakeOllama, Reply};
use crate::fake_slack::FakeSlack;
use crate::fake_telegram::{Call, FakeTelegram};
use crate::gateway::{Gateway, TOKEN, WAIT};

/// `at` for "in `secs` seconds", as the model would write it.
fn in_secs(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn last_message(request: &Value) -> (String, String) {
    let last = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    (
        last["role"].as_str().unwrap_or_default().to_owned(),
        last["content"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The scripted model: schedules what it is asked to, lists and cancels by name, and answers a
/// task's message.
pub fn model(request: &Value) -> Reply {
    let (role, content) = last_message(request);
    if role == "tool" {
        // After listing, cancel the entry the person named.
        if let Ok(listed) = serde_json::from_str::<Value>(&content)
            && let Some(entries) = listed["entries"].as_array()
        {
            let wanted = request["messages"]
                .as_array()
                .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
                .and_then(|m| m["content"].as_str())
                .unwrap_or_default()
                .to_owned();
            if let Some(entry) = entries
                .iter()
                .find(|e| e["text"].as_str().is_some_and(|t| wanted.contains(t)))
            {
                return Reply::tool_call("assistant_cancel_scheduled", json!({"id": entry["id"]}));
            }
        }
        return Reply::text("Done.");
    }
    if let Some(rest) = content.strip_prefix("remind me in ") {
        let (secs, what) = rest
            .split_once(" seconds to ")
            .expect("remind me in N seconds to X");
        return Reply::tool_call(
            "assistant_schedule",
            json!({"kind": "reminder", "text": what, "at": in_secs(secs.parse().unwrap())}),
        );
    }
    if let Some(rest) = content.strip_prefix("task in ") {
        let (secs, what) = rest.split_once(" seconds: ").expect("task in N seconds: X");
        return Reply::tool_call(
            "assistant_schedule",
            json!({"kind": "task", "text": what, "at": in_secs(secs.parse().unwrap())}),
        );
    }
    if content == "set three" {
        return Reply::tool_calls(
            [("gym", 3600), ("dentist", 7200), ("plumber", 10_800)]
                .into_iter()
                .map(|(what, secs)| {
                    (
                        "assistant_schedule",
                        json!({"kind": "reminder", "text": what, "at": in_secs(secs)}),
                    )
                })
                .collect(),
        );
    }
    if content.starts_with("cancel the ") {
        return Reply::tool_call("assistant_list_scheduled", json!({}));
    }
    if content == "what is on today" {
        return Reply::text("Today: nothing planned.");
    }
    Reply::text("ok")
}

/// Sends `text` from user 42 and waits for the bot's formatted answers to number `finals`.
async fn say(telegram: &FakeTelegram, text: &str, finals: usize) -> Vec<Call> {
    let update = telegram.push_private(42, text);
    let calls = telegram.wait_for_final(42, finals, WAIT).await;
    // The update is confirmed by the next poll, so a restart does not read it again.
    telegram
        .wait_for("the update to be confirmed", WAIT, |calls| {
            calls.iter().any(|c| {
                c.method == "getupdates" && c.body["offset"].as_i64().is_some_and(|o| o > update)
            })
        })
        .await;
    calls
}

/// Messages sent to chat 42 whose text contains `needle`.
fn sent_with(telegram: &FakeTelegram, needle: &str) -> Vec<Call> {
    telegram
        .calls()
        .into_iter()
        .filter(|c| {
            c.method == "sendmessage" && c.ok && c.chat() == Some(42) && c.text().contains(needle)
        })
        .collect()
}

async fn entries(gateway: &Gateway) -> Vec<Value> {
    let (ok, out, err) = gateway.cli(&["schedule", "list", "--json"]).await;
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    listed["entries"].as_array().cloned().unwrap_or_default()
}

/// The model schedules a reminder a few seconds ahead and it arrives on time with no message in
/// between; a task runs a turn as the person, with their tools, and its answer is delivered.
#[tokio::test]
async fn a_reminder_and_a_task_arrive_without_a_message() {
    let ollama = FakeOllama::start(model).await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let mut gateway = Gateway::new(&ollama.url(), Some(&telegram.url()), None, "");
    gateway.start().await;

    let asked = std::time::Instant::now();
    let due = asked + Duration::from_secs(3);
    say(&telegram, "remind me in 3 seconds to stretch", 1).await;
    let arrived = telegram
        .wait_for("the reminder", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.method == "sendmessage" && c.text() == "⏰ Reminder: stretch")
        })
        .await;
    let reminder = arrived
        .iter()
        .find(|c| c.text() == "⏰ Reminder: stretch")
        .expect("the reminder");
    assert_eq!(reminder.chat(), Some(42));
    // `at` is written to the second, so it may be up to a second before `due`.
    assert!(
        reminder.at + Duration::from_millis(1100) >= due,
        "too early"
    );
    assert!(
        reminder.at <= due + Duration::from_secs(2),
        "more than 2 s late"
    );
    let scheduled: Vec<Value> = ollama.chat_requests();
    assert!(
        scheduled
            .iter()
            .any(|r| r["tools"].as_array().is_some_and(|t| t
                .iter()
                .any(|t| t["function"]["name"] == "assistant_schedule"))),
        "the built-in tools are offered"
    );

    say(&telegram, "task in 2 seconds: what is on today", 2).await;
    telegram.wait_for_final(42, 3, WAIT).await;
    let answers = sent_with(&telegram, "Today: nothing planned.").len()
        + telegram
            .calls()
            .iter()
            .filter(|c| {
                c.method == "editmessagetext" && c.text().contains("Today: nothing planned.")
            })
            .count();
    assert!(answers >= 1, "the task's answer is delivered");
    let task_request = ollama
        .chat_requests()
        .into_iter()
        .find(|r| last_message(r) == ("user".into(), "what is on today".into()))
        .expect("the task's turn asked the model");
    let tools: Vec<&str> = task_request["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"assistant_list_scheduled"),
        "the person's tools: {tools:?}"
    );
    assert!(
        entries(&gateway).await.is_empty(),
        "both fired and are done"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "mcp_gateway_schedule_fired_total{kind=\"reminder\",outcome=\"delivered\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("mcp_gateway_schedule_lateness_seconds_count 2"),
        "{metrics}"
    );
    gateway.stop().await;
}

/// Entries are listed and cancelled by tool, by `/reminders` and its buttons, and by the
/// operator's CLI while `serve` runs (a cancel from the CLI takes effect before the entry's time).
#[tokio::test]
async fn list_and_cancel_by_tool_command_button_and_cli() {
    let ollama = FakeOllama::start(model).await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let mut gateway = Gateway::new(&ollama.url(), Some(&telegram.url()), None, "");
    gateway.start().await;

    say(&telegram, "set three", 1).await;
    assert_eq!(entries(&gateway).await.len(), 3);

    telegram.push_private(42, "/reminders");
    let calls = telegram
        .wait_for("the list", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.method == "sendmessage" && c.text().contains("Your reminders"))
        })
        .await;
    let list = calls
        .iter()
        .find(|c| c.method == "sendmessage" && c.text().contains("Your reminders"))
        .expect("the list");
    for what in ["gym", "dentist", "plumber"] {
        assert!(list.text().contains(what), "{}", list.text());
    }
    assert!(list.text().contains("Europe/Berlin"), "{}", list.text());
    let buttons: Vec<Value> = list.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .expect("buttons")
        .iter()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(buttons.len(), 3, "{buttons:?}");
    let dentist = buttons
        .iter()
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains("dentist")))
        .expect("a cancel button for the dentist");
    let message_id = telegram
        .messages_in(42)
        .last()
        .copied()
        .expect("the list's id");
    telegram.push_callback(
        42,
        42,
        message_id,
        dentist["callback_data"].as_str().unwrap(),
    );
    telegram
        .wait_for("the press answered", WAIT, |calls| {
            calls.iter().any(|c| {
                c.method == "answercallbackquery"
                    && c.body["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("Cancelled: dentist"))
            })
        })
        .await;

    say(&telegram, "cancel the gym one", 2).await;
    let left: Vec<String> = entries(&gateway)
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(left, vec!["plumber".to_owned()]);

    let plumber = entries(&gateway).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = gateway.cli(&["schedule", "cancel", &plumber]).await;
    assert!(ok, "{err}");
    assert!(out.contains("plumber"), "{out}");
    let (ok, _, err) = gateway.cli(&["schedule", "cancel", &plumber]).await;
    assert!(!ok && err.contains("no active scheduled entry"), "{err}");

    // A cancel from the CLI a moment before the time: nothing arrives.
    say(&telegram, "remind me in 3 seconds to never", 3).await;
    let id = entries(&gateway).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, _, err) = gateway.cli(&["schedule", "cancel", &id]).await;
    assert!(ok, "{err}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        sent_with(&telegram, "never")
            .iter()
            .all(|c| !c.text().contains("Reminder"))
    );

    // Time zones: a bad name is explained; a good one is taken.
    telegram.push_private(42, "/timezone Moon/Base");
    telegram
        .wait_for("the zone refused", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.text().contains("not a time zone I know"))
        })
        .await;
    telegram.push_private(42, "/timezone Asia/Tokyo");
    telegram
        .wait_for("the zone set", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.text().contains("Your time zone is now Asia/Tokyo"))
        })
        .await;
    gateway.stop().await;
}

/// kill -9 after scheduling and a restart before the time: delivered exactly once. An entry due
/// while the gateway was down fires once at start; a task past its grace period is reported
/// missed, not run.
#[tokio::test]
async fn a_crash_and_a_downtime_lose_nothing_and_repeat_nothing() {
    let ollama = FakeOllama::start(model).await;
    let telegram = FakeTelegram::start(TOKEN).await;
    let mut gateway = Gateway::new(
        &ollama.url(),
        Some(&telegram.url()),
        None,
        "task_grace_secs = 2",
    );
    gateway.start().await;
    say(&telegram, "remind me in 5 seconds to once", 1).await;
    gateway.kill_9().await;
    gateway.start().await;
    telegram
        .wait_for("the reminder after the restart", WAIT, |calls| {
            calls.iter().any(|c| c.text() == "⏰ Reminder: once")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent_with(&telegram, "Reminder: once").len(), 1);

    say(&telegram, "remind me in 2 seconds to while down", 2).await;
    say(&telegram, "task in 2 seconds: what is on today", 3).await;
    gateway.stop().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let before = ollama.chat_requests().len();
    gateway.start().await;
    telegram
        .wait_for("the missed ones at start", WAIT, |calls| {
            calls.iter().any(|c| c.text().contains("while down"))
                && calls
                    .iter()
                    .any(|c| c.text().contains("I missed a scheduled task"))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = sent_with(&telegram, "while down");
    assert_eq!(late.len(), 1, "fired once");
    // Seconds late, not minutes: it says no more than an on-time one.
    assert_eq!(late[0].text(), "⏰ Reminder: while down");
    assert_eq!(sent_with(&telegram, "I missed a scheduled task").len(), 1);
    assert_eq!(
        ollama.chat_requests().len(),
        before,
        "the missed task did not run"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("mcp_gateway_schedule_fired_total{kind=\"task\",outcome=\"missed\"} 1"),
        "{metrics}"
    );
    gateway.stop().await;
}

/// On Slack, a reminder is posted in the direct message it was made in, and `!reminders`
/// lists entries with a cancel button whose press cancels.
#[tokio::test]
async fn slack_delivers_and_cancels_by_button() {
    let ollama = FakeOllama::start(model).await;
    let slack = FakeSlack::start().await;
    let mut gateway = Gateway::new(&ollama.url(), None, Some(&slack.api_url()), "");
    gateway.start().await;
    assert!(
        slack.wait_for(WAIT, |s| s.sockets() > 0).await,
        "the socket"
    );
    let event = |text: &str, ts: &str| json!({"type": "message", "channel_type": "im", "user": "U7", "channel": "DU7", "text": text, "ts": ts});
    slack.push_event(
        "T1",
        event("remind me in 2 seconds to slack ping", "100.0001"),
    );
    let arrived = slack
        .wait_for(WAIT, |s| {
            s.posted().iter().any(|(channel, ts, _)| {
                channel == "DU7"
                    && s.message_text(channel, ts).as_deref() == Some("⏰ Reminder: slack ping")
            })
        })
        .await;
    assert!(arrived, "{:?}", slack.posted());

    slack.push_event(
        "T1",
        event("remind me in 600 seconds to slack later", "100.0002"),
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while entries(&gateway).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the entry was never made"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    slack.push_event("T1", event("!reminders", "100.0003"));
    let mut listed = None;
    let deadline = tokio::time::Instant::now() + WAIT;
    while listed.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no list: {:?}",
            slack.posted()
        );
        listed = slack.posted().into_iter().find(|(channel, ts, _)| {
            channel == "DU7"
                && slack
                    .message_text(channel, ts)
                    .is_some_and(|t| t.contains("Your reminders"))
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (channel, ts, _) = listed.expect("the list");
    let blocks = slack.message_blocks(&channel, &ts).expect("blocks");
    let button = blocks
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| {
            e["value"]
                .as_str()
                .is_some_and(|v| v.starts_with("sched:cancel:"))
        })
        .expect("a cancel button");
    slack.push_action(
        "T1",
        "U7",
        &channel,
        &ts,
        button["action_id"].as_str().unwrap(),
        button["value"].as_str().unwrap(),
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while !entries(&gateway).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the press did not cancel"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gateway.stop().await;
}
