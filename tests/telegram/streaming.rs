//! Streamed replies: throttled plain-text edits, a final HTML edit, long replies split into
//! continuation messages, and Telegram's 429 `retry_after` honoured.

use std::time::Duration;

use mcp_gateway::config::Policy;

use crate::common::{Harness, WAIT};
use crate::fake_telegram::{Call, MAX_TEXT};
use crate::scripted_agent::{Reply, ScriptedModel};

/// The calls that changed what `chat` shows and succeeded.
fn shown(calls: &[Call], chat: i64) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.is_text() && c.ok && c.chat() == Some(chat))
        .cloned()
        .collect()
}

/// A reply streams into one message through several plain edits, at most one a second (what
/// Telegram allows in a private chat), with the typing indicator on, and ends with one formatted
/// (HTML) edit.
#[tokio::test]
async fn reply_streams_into_one_message_then_formats() {
    let chunks = [
        "**Result**",
        ": the",
        " answer",
        " is",
        " forty",
        "-two",
        " & more",
        " <text>",
        " here",
        ".",
    ];
    let model = ScriptedModel::new(vec![Reply::streamed(&chunks, Duration::from_millis(350))]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.push_private(20, "question");
    let calls = h.fake.wait_for_final(20, 1, WAIT).await;
    let texts = shown(&calls, 20);
    let (last, streamed) = texts.split_last().expect("calls");
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.method == "sendmessage" && c.chat() == Some(20))
            .count(),
        1,
        "one message only"
    );
    assert!(
        streamed.len() >= 3,
        "several streamed updates: {streamed:?}"
    );
    assert!(
        streamed.iter().all(|c| !c.is_html()),
        "plain text while streaming"
    );
    for pair in streamed.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(990), "edits {gap:?} apart");
        assert!(
            pair[1].text().len() > pair[0].text().len(),
            "text only grows"
        );
    }
    assert!(last.is_html());
    assert_eq!(
        last.text(),
        "<b>Result</b>: the answer is forty-two &amp; more &lt;text&gt; here."
    );
    let id = h.fake.messages_in(20)[0];
    assert_eq!(
        h.fake.message_text(20, id).as_deref(),
        Some("Result: the answer is forty-two & more <text> here.")
    );
    assert!(
        calls
            .iter()
            .any(|c| c.method == "sendchataction" && c.chat() == Some(20)),
        "typing was shown"
    );
    h.stop().await;
}

/// With the production pacing, a reply that is complete within the settle time goes out as one
/// formatted message: no typing indicator, no plain-text message edited afterwards.
#[tokio::test]
async fn quick_reply_is_one_formatted_message() {
    let model = ScriptedModel::new(vec![Reply::streamed(
        &["**Done**", ": saved", " it."],
        Duration::from_millis(10),
    )]);
    let options = mcp_gateway::channels::engine::ChannelOptions {
        poll_timeout: Duration::from_secs(1),
        ..mcp_gateway::channels::engine::ChannelOptions::default()
    };
    let h = Harness::start_with(Policy::Open, vec![], model, options).await;
    h.fake.push_private(21, "save it");
    let calls = h.fake.wait_for_final(21, 1, WAIT).await;
    let mine: Vec<&Call> = calls.iter().filter(|c| c.chat() == Some(21)).collect();
    let methods: Vec<&str> = mine.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["sendmessage"], "one call: {methods:?}");
    assert!(mine[0].is_html());
    assert_eq!(mine[0].text(), "<b>Done</b>: saved it.");
    h.stop().await;
}

/// A 9,000-character reply becomes three messages, each within Telegram's limit, split at
/// paragraph breaks, sent once each, all formatted at the end.
#[tokio::test]
async fn long_reply_is_split_at_paragraphs() {
    let paragraphs: Vec<String> = (0..100)
        .map(|i| format!("Paragraph {i:02}: a < b & c, café 😀 {}", "x".repeat(58)))
        .collect();
    let full = paragraphs.join("\n\n");
    assert!(full.chars().count() > 9000, "{}", full.chars().count());
    // Streamed in pieces of 500 characters, so the text grows across the split points.
    let chars: Vec<char> = full.chars().collect();
    let owned: Vec<String> = chars.chunks(500).map(|c| c.iter().collect()).collect();
    let pieces: Vec<&str> = owned.iter().map(String::as_str).collect();
    let model = ScriptedModel::new(vec![Reply::streamed(&pieces, Duration::from_millis(30))]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.push_private(21, "long please");
    let calls = h
        .fake
        .wait_for("three formatted messages", WAIT, |c| {
            // Messages sent formatted, and messages edited into their formatted text.
            let html = c
                .iter()
                .filter(|c| c.is_html() && c.ok && c.chat() == Some(21));
            let edited: std::collections::HashSet<_> = html
                .clone()
                .filter_map(|c| c.body["message_id"].as_i64())
                .collect();
            let sent = html.filter(|c| c.method == "sendmessage").count();
            edited.len() + sent >= 3
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids = h.fake.messages_in(21);
    assert_eq!(ids.len(), 3, "three messages: {ids:?}");
    let sends = calls
        .iter()
        .filter(|c| c.method == "sendmessage" && c.chat() == Some(21))
        .count();
    assert_eq!(sends, 3, "no message sent twice");
    let texts: Vec<String> = ids
        .iter()
        .map(|id| h.fake.message_text(21, *id).expect("text"))
        .collect();
    for t in &texts {
        assert!(
            t.encode_utf16().count() <= MAX_TEXT,
            "{} units",
            t.encode_utf16().count()
        );
        assert!(
            t.starts_with("Paragraph "),
            "starts at a paragraph: {:?}",
            &t[..20]
        );
        assert!(t.ends_with(&"x".repeat(58)), "ends at a paragraph");
    }
    assert_eq!(texts.join("\n\n"), full);
    h.stop().await;
}

/// A 429 on an edit pauses the chat for `retry_after`; afterwards only the latest text is sent.
#[tokio::test]
async fn retry_after_on_edit_is_honoured_with_the_latest_text() {
    let chunks = ["First part.", " Second", " third", " fourth", " fifth."];
    let model = ScriptedModel::new(vec![Reply::streamed(&chunks, Duration::from_millis(150))]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.fail_next_with_retry_after("editMessageText", 1);
    h.fake.push_private(22, "go");
    let calls = h.fake.wait_for_final(22, 1, WAIT).await;
    let texts: Vec<&Call> = calls
        .iter()
        .filter(|c| c.is_text() && c.chat() == Some(22))
        .collect();
    let limited = texts.iter().position(|c| !c.ok).expect("the 429");
    let after = texts.get(limited + 1).expect("a call after the 429");
    let waited = after.at - texts[limited].at;
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert_eq!(
        after.text(),
        "First part. Second third fourth fifth.",
        "the latest text, not a stale one"
    );
    assert_eq!(
        texts.len(),
        limited + 2,
        "nothing after the final edit: {texts:?}"
    );
    assert_eq!(h.fake.messages_in(22).len(), 1);
    h.stop().await;
}

/// A 429 on the first send is waited out and the message is sent exactly once.
#[tokio::test]
async fn retry_after_on_send_sends_once() {
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("Hello there")]),
    )
    .await;
    h.fake.fail_next_with_retry_after("sendMessage", 1);
    h.fake.push_private(23, "hi");
    let calls = h.fake.wait_for_final(23, 1, WAIT).await;
    let sends: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "sendmessage" && c.chat() == Some(23))
        .collect();
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert!(!sends[0].ok && sends[1].ok);
    assert!(sends[1].at - sends[0].at >= Duration::from_secs(1));
    assert_eq!(sends[1].text(), "Hello there");
    assert_eq!(h.fake.messages_in(23).len(), 1);
    h.stop().await;
}

/// When Telegram rejects the formatted text, the reply stays as plain text.
#[tokio::test]
async fn rejected_formatting_falls_back_to_plain_text() {
    let model = ScriptedModel::new(vec![Reply::text("**bold** claim")]);
    let h = Harness::start(Policy::Open, vec![], model).await;
    h.fake.reject_next_html("sendMessage");
    h.fake.reject_next_html("editMessageText");
    h.fake.push_private(24, "hi");
    let calls = h
        .fake
        .wait_for("the rejected formatting", WAIT, |c| {
            c.iter()
                .any(|c| c.chat() == Some(24) && c.is_html() && !c.ok)
        })
        .await;
    let rejected = calls
        .iter()
        .position(|c| c.chat() == Some(24) && c.is_html() && !c.ok)
        .expect("rejected");
    let calls = h
        .fake
        .wait_for("the plain fallback", WAIT, |c| {
            c.iter()
                .skip(rejected + 1)
                .any(|c| c.chat() == Some(24) && c.is_text())
        })
        .await;
    let fallback = calls
        .iter()
        .skip(rejected + 1)
        .find(|c| c.chat() == Some(24) && c.is_text())
        .expect("fallback");
    assert!(!fallback.is_html(), "{fallback:?}");
    let ids = h.fake.messages_in(24);
    assert_eq!(ids.len(), 1);
    assert_eq!(
        h.fake.message_text(24, ids[0]).as_deref(),
        Some("**bold** claim")
    );
    h.stop().await;
}

/// Replies to many chats at once share a bounded number of connections to the Bot API: calls
/// beyond the bound wait their turn instead of each opening a connection.
#[tokio::test]
async fn a_burst_of_replies_uses_a_bounded_number_of_connections() {
    use mcp_gateway::channels::stream::{Body, ChatSurface};
    use mcp_gateway::channels::telegram::surface::{BotApi, TelegramSurface};
    use teloxide::Bot;
    use teloxide::types::ChatId;

    const CHATS: i64 = 40;
    async fn burst(bound: usize) -> usize {
        let fake = crate::fake_telegram::FakeTelegram::start(crate::common::TOKEN).await;
        let bot = Bot::new(crate::common::TOKEN).set_api_url(fake.url().parse().expect("url"));
        let api = BotApi::new(bot, bound);
        // Group chats: a bot may write to them without anyone writing first.
        let sends = (1..=CHATS).map(|chat| {
            let surface = TelegramSurface::new(api.clone(), ChatId(-chat), None, None);
            async move { surface.send(Body::Plain("hello")).await }
        });
        let sent = futures::future::join_all(sends).await;
        assert!(sent.iter().all(Result::is_ok), "{sent:?}");
        assert_eq!(
            fake.calls_to("sendMessage").len(),
            usize::try_from(CHATS).expect("count")
        );
        fake.connections()
    }
    let bounded = burst(4).await;
    assert!(
        bounded <= 4,
        "{bounded} connections with at most 4 calls in flight"
    );
    // Without the bound the same burst opens a connection per call in flight.
    let unbounded = burst(1000).await;
    assert!(unbounded > 4, "{unbounded} connections without a bound");
}
