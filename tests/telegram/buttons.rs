//! Inline buttons: confirming destructive tools, expired buttons, and the command menu.

use serde_json::{Value, json};

use mcp_gateway::config::Policy;

use crate::common::{Harness, WAIT};
use crate::scripted_agent::{Reply, ScriptedModel};

/// The confirmation message in `chat`: (message id, Allow data, Deny data).
async fn confirmation(h: &Harness, chat: i64) -> (i64, String, String) {
    h.fake
        .wait_for("a confirmation with buttons", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(chat) && c.body.get("reply_markup").is_some())
        })
        .await;
    h.fake
        .button_pair(chat, "Allow", "Deny")
        .unwrap_or_else(|| panic!("no Allow/Deny buttons in chat {chat}"))
}

fn answered(h: &Harness, query: &str) -> Option<Value> {
    h.fake
        .calls_to("answerCallbackQuery")
        .into_iter()
        .find(|c| c.body["callback_query_id"] == query)
        .map(|c| c.body)
}

/// A destructive tool runs only after its person presses Allow; someone else's press is refused;
/// every press is answered; the question shows the decision afterwards.
#[tokio::test]
async fn destructive_tool_runs_after_allow() {
    let model = ScriptedModel::new(vec![
        Reply::call("files_delete", json!({ "path": "/tmp/a" })),
        Reply::text("Deleted /tmp/a."),
    ]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.push_private(40, "delete /tmp/a");
    let (message, allow, _) = confirmation(&h, 40).await;
    assert!(
        h.fake
            .message_text(40, message)
            .unwrap_or_default()
            .contains("files_delete")
    );

    let stranger = h.fake.push_callback(41, 40, message, &allow);
    h.fake
        .wait_for("the stranger's answer", WAIT, |c| {
            c.iter().any(|c| {
                c.method == "answercallbackquery"
                    && c.body["callback_query_id"] == stranger.as_str()
            })
        })
        .await;
    assert!(
        answered(&h, &stranger).unwrap()["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Only the person")
    );
    assert!(h.tools.calls().is_empty());

    let press = h.fake.push_callback(40, 40, message, &allow);
    h.fake.wait_for_final(40, 1, WAIT).await;
    assert_eq!(answered(&h, &press).expect("answered")["text"], "Allowed");
    let calls = h.tools.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, "delete");
    assert_eq!(calls[0].2["path"], "/tmp/a");
    let question = h.fake.message_text(40, message).unwrap_or_default();
    assert!(question.ends_with("Allowed."), "{question}");
    assert!(
        h.fake.message_markup(40, message).is_none(),
        "buttons removed"
    );
    let finals: Vec<String> = h
        .fake
        .calls()
        .iter()
        .filter(|c| c.is_html() && c.chat() == Some(40))
        .map(|c| c.text().to_owned())
        .collect();
    assert_eq!(finals.last().map(String::as_str), Some("Deleted /tmp/a."));
    h.stop().await;
}

/// Deny keeps the tool from running and tells the model so.
#[tokio::test]
async fn destructive_tool_is_skipped_after_deny() {
    let model = ScriptedModel::new(vec![
        Reply::call("files_delete", json!({ "path": "/tmp/b" })),
        Reply::text("Okay, I left it alone."),
    ]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.push_private(42, "delete /tmp/b");
    let (message, _, deny) = confirmation(&h, 42).await;
    let press = h.fake.push_callback(42, 42, message, &deny);
    h.fake.wait_for_final(42, 1, WAIT).await;
    assert_eq!(answered(&h, &press).expect("answered")["text"], "Declined");
    assert!(h.tools.calls().is_empty(), "the tool did not run");
    assert!(
        h.fake
            .message_text(42, message)
            .unwrap_or_default()
            .ends_with("Declined; not done.")
    );
    let second = h
        .model
        .requests()
        .get(1)
        .cloned()
        .expect("the model was asked again");
    assert!(
        second.iter().any(|m| m.content.contains("declined")),
        "the model learns it was declined"
    );
    h.stop().await;
}

/// A press on a button nobody waits for any more is answered as expired and its buttons go.
#[tokio::test]
async fn stale_button_is_answered_and_removed() {
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(vec![])).await;
    h.fake.push_private(43, "hello");
    h.fake.wait_for_final(43, 1, WAIT).await;
    let message = h.fake.messages_in(43)[0];
    let press = h.fake.push_callback(43, 43, message, "cf:abcdefghij:y");
    h.fake
        .wait_for("the expired answer", WAIT, |c| {
            c.iter().any(|c| c.method == "editmessagereplymarkup")
        })
        .await;
    assert!(
        answered(&h, &press).expect("answered")["text"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
    let junk = h.fake.push_callback(43, 43, message, "garbage");
    h.fake
        .wait_for("the junk answer", WAIT, |c| {
            c.iter().any(|c| {
                c.method == "answercallbackquery" && c.body["callback_query_id"] == junk.as_str()
            })
        })
        .await;
    h.stop().await;
}

/// The command menu is registered, and `/connect` explains that no OAuth client is configured.
#[tokio::test]
async fn commands_are_registered_and_answered() {
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(vec![])).await;
    let set = h.fake.calls_to("setMyCommands");
    assert_eq!(set.len(), 1);
    let names: Vec<&str> = set[0].body["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .filter_map(|c| c["command"].as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "start",
            "help",
            "connect",
            "disconnect",
            "connections",
            "reminders",
            "timezone",
            "reset",
            "stop"
        ]
    );
    h.fake.push_private(44, "/connect");
    let calls = h
        .fake
        .wait_for("the connect reply", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(44) && c.method == "sendmessage")
        })
        .await;
    let reply = calls.iter().find(|c| c.chat() == Some(44)).expect("reply");
    assert!(
        reply
            .text()
            .contains("No configured server has an OAuth connection"),
        "{}",
        reply.text()
    );
    h.fake.push_private(44, "/reset");
    h.fake
        .wait_for("the reset reply", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(44) && c.text().contains("forgotten"))
        })
        .await;
    assert_eq!(h.model.calls(), 0);
    h.stop().await;
}
