//! Slack's own rules, as the fake keeps them: what people type arrives escaped, a link button's
//! click still sends an interaction payload, a shared file carries its comment in a message with
//! a subtype, and an event whose acknowledgement was lost comes again.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway::config::Policy;
use serde_json::json;

use super::channel::{Harness, WAIT};
use crate::chat_fixtures::{Links, notion};
use crate::fake_slack::slack_text;
use crate::scripted_agent::{Reply, ScriptedModel};

/// The model receives what the person typed, not Slack's escapes and link brackets.
#[tokio::test]
async fn the_model_receives_what_the_person_typed() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("Yes.")]),
    )
    .await;
    let typed = "is 3 < 5 & 7 > 2? fetch https://example.com/?a=1&b=2";
    assert_eq!(
        slack_text(typed),
        "is 3 &lt; 5 &amp; 7 &gt; 2? fetch <https://example.com/?a=1&amp;b=2>",
        "the fake sends what Slack sends"
    );
    h.dm("U1", typed, "1.1");
    h.wait_posts("DU1", 1).await;
    let asked = h.model.requests()[0]
        .last()
        .expect("a message")
        .content
        .clone();
    assert_eq!(asked, typed);
    assert!(asked.contains("3 < 5 & 7 > 2"));
    assert!(asked.contains("https://example.com/?a=1&b=2"));
}

/// Clicking a Connect link opens the browser; Slack still sends an interaction payload, which
/// is acknowledged and changes nothing in the chat.
#[tokio::test]
async fn clicking_a_connect_link_leaves_the_message_as_it_was() {
    let h = Harness::build(
        Policy::Open,
        Vec::new(),
        ScriptedModel::new(vec![]),
        vec![notion()],
        Some(Arc::new(Links::default())),
    )
    .await;
    h.dm("U5", "!connect notion", "2.1");
    let posts = h.wait_posts("DU5", 1).await;
    let url = posts[0]["blocks"][1]["elements"][0]["url"]
        .as_str()
        .expect("a link button")
        .to_owned();
    let (_, ts, _) = h.fake.posted()[0].clone();
    let text = h.fake.message_text("DU5", &ts);
    let blocks = h.fake.message_blocks("DU5", &ts);
    let press = h
        .fake
        .push_link_press("T1", "U5", "DU5", &ts, "link_0", &url);
    assert!(
        h.fake
            .wait_for(WAIT, |f| f.acks().iter().any(|(id, _)| *id == press))
            .await,
        "the press was acknowledged"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        h.fake.calls_of("chat.update").is_empty(),
        "{:?}",
        h.fake.calls_of("chat.update")
    );
    assert_eq!(h.fake.message_text("DU5", &ts), text);
    assert_eq!(h.fake.message_blocks("DU5", &ts), blocks);
    assert_eq!(h.posts_to("DU5").len(), 1, "nothing else was said");
}

/// A file shared with a comment is a message with the subtype `file_share`; the comment is
/// answered.
#[tokio::test]
async fn a_file_shared_with_a_comment_is_answered() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("It is a report.")]),
    )
    .await;
    h.fake.push_event(
        "T1",
        json!({"type": "message", "subtype": "file_share", "channel_type": "im", "user": "U2",
            "channel": "DU2", "text": slack_text("what is in this file?"), "ts": "3.1",
            "files": [{"id": "F1", "name": "report.pdf", "mimetype": "application/pdf"}]}),
    );
    h.wait_posts("DU2", 1).await;
    assert!(
        h.fake
            .wait_for(WAIT, |f| f
                .posted()
                .iter()
                .any(
                    |(_, ts, _)| f.message_text("DU2", ts).as_deref() == Some("It is a report.")
                ))
            .await,
        "{:?}",
        h.fake.calls()
    );
    let asked = h.model.requests()[0]
        .last()
        .expect("a message")
        .content
        .clone();
    assert_eq!(asked, "what is in this file?");
}

/// A file shared without a comment in a direct message is met with what the assistant can
/// read; edits and joins are not messages at all.
#[tokio::test]
async fn a_file_without_a_comment_gets_a_word_and_edits_get_none() {
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(vec![])).await;
    h.fake.push_event(
        "T1",
        json!({"type": "message", "subtype": "message_changed", "channel_type": "im",
            "channel": "DU3", "ts": "4.0", "message": {"user": "U3", "text": "edited"}}),
    );
    h.fake.push_event(
        "T1",
        json!({"type": "message", "subtype": "file_share", "channel_type": "im", "user": "U3",
            "channel": "DU3", "text": "", "ts": "4.1", "files": [{"id": "F2"}]}),
    );
    let posts = h.wait_posts("DU3", 1).await;
    assert!(
        posts[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("only read text"),
        "{posts:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.posts_to("DU3").len(), 1);
    assert_eq!(h.model.calls(), 0);
}

/// When the acknowledgement of an event is lost, Slack delivers it again (`retry_attempt` 1,
/// the same event id); the person is answered once.
#[tokio::test]
async fn a_redelivered_event_is_answered_once() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("Once.")]),
    )
    .await;
    h.fake.lose_next_ack();
    h.dm("U4", "hello", "5.1");
    assert!(
        h.fake
            .wait_for(WAIT, |f| f
                .acks()
                .iter()
                .any(|(id, _)| id.ends_with("-retry")))
            .await,
        "the event came again and was acknowledged: {:?}",
        h.fake.acks()
    );
    h.wait_posts("DU4", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.model.calls(), 1, "one turn");
    assert_eq!(h.posts_to("DU4").len(), 1, "one answer");
}

/// A 3,700-character code answer full of `<`, `>` and `&` grows past Slack's 4,000 characters
/// once escaped; it arrives in messages Slack neither splits nor refuses, each a closed code
/// block, and reads back as written.
#[tokio::test]
async fn a_long_code_answer_arrives_complete_and_literal() {
    let lines: Vec<String> = (0..128)
        .map(|i| format!("if a<b && c>d: x_{i:03} = a*b*c"))
        .collect();
    let code = lines.join("\n");
    assert!(code.len() >= 3_700, "{}", code.len());
    let answer = format!("Here:\n```python\n{code}\n```\nDone.");
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text(&answer)]),
    )
    .await;
    h.dm("U6", "the code please", "6.1");
    let shown = || -> Vec<String> {
        h.fake
            .posted()
            .iter()
            .filter(|(channel, _, _)| channel == "DU6")
            .filter_map(|(_, ts, _)| h.fake.message_text("DU6", ts))
            .collect()
    };
    assert!(
        h.fake
            .wait_for(WAIT, |_| shown()
                .last()
                .is_some_and(|t| t.ends_with("Done.")))
            .await,
        "{:?}",
        h.fake.calls()
    );
    let texts = shown();
    assert!(texts.len() >= 2, "{texts:#?}");
    assert_eq!(h.fake.split_posts(), 0, "Slack never had to split a post");
    let refused: Vec<_> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| {
            c.method == "chat.update"
                && c.body["text"]
                    .as_str()
                    .is_some_and(|t| t.chars().count() > 4_000)
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    for text in &texts {
        assert!(text.chars().count() <= 4_000);
        assert_eq!(text.matches("```").count() % 2, 0, "a closed block: {text}");
    }
    let read_back = texts
        .join("\n")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    for line in &lines {
        assert!(read_back.contains(line.as_str()), "{line} as written");
    }
}
