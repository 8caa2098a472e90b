//! Connect links are shown only in the person's private chat with the bot: `/connect` in a group
//! sends the link privately and says so in the group, or, when the bot cannot write to the
//! person, says how to ask privately; the group never sees a link. The link shown is the page
//! that names the person.

use std::sync::Arc;

use mcp_gateway::channels::engine::ChannelOptions;
use mcp_gateway::config::Policy;
use serde_json::Value;

use crate::chat_fixtures::{Links, notion};
use crate::common::{Harness, WAIT, fast_stream};
use crate::fake_telegram::{BOT_USERNAME, Call};
use crate::scripted_agent::ScriptedModel;

const GROUP: i64 = -100_777;

async fn harness(links: Arc<Links>) -> Harness {
    Harness::start_with_servers(
        Policy::Open,
        ScriptedModel::new(vec![]),
        ChannelOptions {
            stream: fast_stream(),
            poll_timeout: std::time::Duration::from_secs(1),
            accounts: Some(links),
            ..ChannelOptions::default()
        },
        vec![notion()],
    )
    .await
}

/// Whether a call carries a link anywhere (in its text or its buttons).
fn carries_link(call: &Call) -> bool {
    let markup = call.body.get("reply_markup").map(Value::to_string);
    call.text().contains("https://") || markup.is_some_and(|m| m.contains("https://"))
}

#[tokio::test]
async fn connect_in_a_group_sends_the_link_privately() {
    let links = Arc::new(Links::default());
    let h = harness(Arc::clone(&links)).await;
    // Ann has a private chat with the bot (she wrote there before).
    h.fake.push_private(78, "hello");
    h.fake
        .wait_for("the private answer", WAIT, |calls| {
            calls.iter().any(|c| c.chat() == Some(78) && c.ok)
        })
        .await;
    h.fake.push_group(GROUP, 78, "/connect notion");
    let calls = h
        .fake
        .wait_for("the note in the group", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(GROUP) && c.ok && c.text().contains("private message"))
        })
        .await;
    let group: Vec<&Call> = calls.iter().filter(|c| c.chat() == Some(GROUP)).collect();
    assert!(
        group.iter().all(|c| !carries_link(c)),
        "no link in the group: {group:?}"
    );
    let private = calls
        .iter()
        .find(|c| c.chat() == Some(78) && c.ok && carries_link(c))
        .expect("the link in Ann's private chat");
    assert!(
        private.body["reply_markup"]
            .to_string()
            .contains("https://gw.example/connect/page1"),
        "{private:?}"
    );
    assert_eq!(
        links.pages.lock().clone(),
        vec![(
            "https://as.example/authorize?server=notion&for=telegram-78".to_owned(),
            "notion".to_owned(),
            "Telegram user @user78 (id 78)".to_owned()
        )],
        "the page names the person"
    );
    h.stop().await;
}

#[tokio::test]
async fn connect_in_a_group_without_a_private_chat_posts_no_link() {
    let links = Arc::new(Links::default());
    let h = harness(links).await;
    h.fake.push_group(GROUP, 77, "/connect notion");
    let calls = h
        .fake
        .wait_for("the refusal in the group", WAIT, |calls| {
            calls.iter().any(|c| c.chat() == Some(GROUP) && c.ok)
        })
        .await;
    let note = calls
        .iter()
        .find(|c| c.chat() == Some(GROUP) && c.ok)
        .expect("a note");
    assert!(
        note.text()
            .contains(&format!("Open a private chat with @{BOT_USERNAME}")),
        "{}",
        note.text()
    );
    assert!(
        calls.iter().filter(|c| c.ok).all(|c| !carries_link(c)),
        "no link was shown anywhere: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.chat() == Some(77) && !c.ok && c.method == "sendmessage"),
        "the bot tried the private chat first"
    );
    h.stop().await;
}

#[tokio::test]
async fn connect_in_a_private_chat_shows_the_page_there() {
    let links = Arc::new(Links::default());
    let h = harness(Arc::clone(&links)).await;
    h.fake.push_private(79, "/connect notion");
    let calls = h
        .fake
        .wait_for("the link", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(79) && c.ok && carries_link(c))
        })
        .await;
    let link = calls
        .iter()
        .find(|c| c.chat() == Some(79) && carries_link(c))
        .expect("the link");
    assert!(
        link.body["reply_markup"]
            .to_string()
            .contains("https://gw.example/connect/page1")
    );
    assert_eq!(links.pages.lock()[0].2, "Telegram user @user79 (id 79)");
    h.stop().await;
}

/// With the gateway on `localhost`, Telegram refuses a button to the page ("Wrong HTTP URL"):
/// `/connect` still gives the person the link, written out.
#[tokio::test]
async fn connect_with_a_localhost_gateway_gives_a_usable_link() {
    let links = Arc::new(Links {
        local: true,
        ..Links::default()
    });
    let h = harness(Arc::clone(&links)).await;
    h.fake.push_private(80, "/connect notion");
    let calls = h
        .fake
        .wait_for("the link", WAIT, |calls| {
            calls.iter().any(|c| c.chat() == Some(80) && c.ok)
        })
        .await;
    let sent = calls
        .iter()
        .find(|c| c.chat() == Some(80) && c.ok)
        .expect("a message");
    assert!(
        sent.text().contains("http://localhost:18789/connect/page1"),
        "the link is in the text: {}",
        sent.body
    );
    assert!(
        !sent.body["reply_markup"].to_string().contains("localhost"),
        "no button Telegram would refuse: {}",
        sent.body
    );
    let id = h.fake.messages_in(80)[0];
    assert!(
        h.fake
            .message_text(80, id)
            .is_some_and(|t| t.contains("http://localhost:18789/connect/page1"))
    );
    h.stop().await;
}
