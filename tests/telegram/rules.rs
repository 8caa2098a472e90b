//! Telegram's own rules, as the fake keeps them: a group takes about 20 messages and edits a
//! minute, a message shows at most 4,096 characters, an empty text is refused, links to hosts
//! without a dot are dropped from the text, and the links of one message may hold only so much.

use std::time::{Duration, Instant};

use mcp_gateway::config::Policy;

use crate::common::{Harness, WAIT};
use crate::fake_telegram::{BOT_USERNAME, Call, GROUP_LIMIT, MAX_TEXT};
use crate::scripted_agent::{Reply, ScriptedModel};

/// The visible texts of the bot's messages in `chat`, in order.
fn shown(h: &Harness, chat: i64) -> Vec<String> {
    h.fake
        .messages_in(chat)
        .into_iter()
        .filter_map(|id| h.fake.message_text(chat, id))
        .collect()
}

/// Earlier replies used most of a group's 20 changes a minute; a long answer streamed after
/// them still arrives complete within 15 s of the model finishing, and Telegram never has to
/// answer 429 (whose `retry_after` in a group is 30 s or more).
#[tokio::test]
async fn a_long_answer_in_a_busy_group_arrives_within_15_s() {
    const GROUP: i64 = -100_555;
    let words: Vec<String> = (0..480).map(|i| format!("word{i:03}")).collect();
    let answer = words.join(" ");
    assert!(answer.len() > 2_879 && answer.len() < MAX_TEXT);
    let chunks: Vec<String> = words
        .chunks(16)
        .enumerate()
        .map(|(i, w)| {
            let piece = w.join(" ");
            if i == 0 { piece } else { format!(" {piece}") }
        })
        .collect();
    let chunk_refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let pause = Duration::from_millis(250);
    let streaming = pause * u32::try_from(chunks.len()).expect("few chunks");
    let mut script: Vec<Reply> = (0..6)
        .map(|i| Reply::text(&format!("Short {i}.")))
        .collect();
    script.push(Reply::streamed(&chunk_refs, pause));
    let h = Harness::start(Policy::Open, vec![], ScriptedModel::new(script)).await;
    for user in 0..6 {
        h.fake
            .push_group(GROUP, 100 + user, &format!("@{BOT_USERNAME} hello"));
        h.fake
            .wait_for_final(GROUP, usize::try_from(user + 1).expect("few"), WAIT)
            .await;
    }
    let used = h.fake.text_calls(GROUP).len();
    assert!((6..GROUP_LIMIT).contains(&used), "{used} changes so far");
    let asked = Instant::now();
    h.fake
        .push_group(GROUP, 200, &format!("@{BOT_USERNAME} tell me everything"));
    // The model cannot be done before it streamed every chunk.
    let deadline = Duration::from_secs(15) + streaming;
    let complete = |_: &[Call]| shown(&h, GROUP).contains(&answer);
    h.fake
        .wait_for("the whole answer", deadline + WAIT, complete)
        .await;
    let took = asked.elapsed();
    assert!(
        took <= deadline,
        "complete {took:?} after it was asked, {:?} after the model finished at the earliest",
        took.saturating_sub(streaming)
    );
    let refused: Vec<Call> = h
        .fake
        .text_calls(GROUP)
        .into_iter()
        .filter(|c| !c.ok)
        .collect();
    assert!(refused.is_empty(), "Telegram had to refuse: {refused:?}");
    h.stop().await;
}

/// A code block longer than one message arrives in several, each a well-formed block: the code
/// is literal (`__init__` and `a*b*c` stay as written) and the text after it is not code.
#[tokio::test]
async fn a_code_block_longer_than_a_message_arrives_complete_and_literal() {
    const CHAT: i64 = 40;
    let lines: Vec<String> = (0..185)
        .map(|i| format!("x_{i:03} = a*b*c  # __init__ {i}"))
        .collect();
    let code = lines.join("\n");
    assert!(code.len() > 5_100, "{}", code.len());
    let answer = format!("Here it is:\n```python\n{code}\n```\nThat is all.");
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text(&answer)]),
    )
    .await;
    h.fake.push_private(CHAT as u64, "the code please");
    h.fake
        .wait_for("the whole answer", WAIT, |_| {
            shown(&h, CHAT)
                .last()
                .is_some_and(|t| t.ends_with("That is all."))
        })
        .await;
    let texts = shown(&h, CHAT);
    assert!(texts.len() >= 2, "{texts:#?}");
    assert!(texts.iter().all(|t| t.encode_utf16().count() <= MAX_TEXT));
    let joined = texts.join("\n");
    for line in &lines {
        assert!(joined.contains(line.as_str()), "{line} is shown as written");
    }
    // Every message is formatted, with the code in a block of its own language.
    let finals: Vec<Call> = h
        .fake
        .text_calls(CHAT)
        .into_iter()
        .filter(|c| c.ok && c.is_html())
        .collect();
    assert!(finals.len() >= texts.len(), "{finals:#?}");
    for call in finals.iter().filter(|c| c.text().contains("x_")) {
        assert!(
            call.text()
                .contains("<pre><code class=\"language-python\">"),
            "{}",
            call.text()
        );
    }
    let last = finals.last().expect("a formatted message").text();
    assert!(last.ends_with("</pre>\nThat is all."), "{last}");
    h.stop().await;
}

/// An answer that is only an empty code block formats to nothing Telegram shows ("message text
/// is empty"); the person still gets a message.
#[tokio::test]
async fn an_empty_fence_answer_gives_the_person_a_message() {
    const CHAT: i64 = 41;
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text("```\n```")]),
    )
    .await;
    h.fake.push_private(CHAT as u64, "say nothing");
    h.fake
        .wait_for("a message", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(CHAT) && c.ok && c.is_text())
        })
        .await;
    let texts = shown(&h, CHAT);
    assert!(texts.iter().any(|t| !t.trim().is_empty()), "{texts:?}");
    let refused = h
        .fake
        .text_calls(CHAT)
        .into_iter()
        .filter(|c| !c.ok)
        .count();
    assert!(refused <= 1, "refused {refused} times");
    h.stop().await;
}

/// Telegram refuses a message whose links hold too much (`ENTITIES_TOO_LONG`, about 9,500
/// characters of addresses). An answer is cut so that each message also fits as plain text,
/// addresses included, so a link-heavy answer arrives complete with every link.
#[tokio::test]
async fn a_link_heavy_answer_arrives_with_every_link() {
    const CHAT: i64 = 42;
    let answer: Vec<String> = (0..60)
        .map(|i| format!("[doc {i}](https://docs.example/{i}/{})", "p".repeat(180)))
        .collect();
    let answer = answer.join(" ");
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text(&answer)]),
    )
    .await;
    h.fake.push_private(CHAT as u64, "links please");
    h.fake
        .wait_for("the answer", WAIT, |_| {
            shown(&h, CHAT).iter().any(|t| t.contains("doc 59"))
        })
        .await;
    let refused: Vec<Call> = h
        .fake
        .text_calls(CHAT)
        .into_iter()
        .filter(|c| !c.ok)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let links: Vec<(String, String)> = h
        .fake
        .messages_in(CHAT)
        .into_iter()
        .flat_map(|id| h.fake.message_links(CHAT, id))
        .collect();
    assert_eq!(links.len(), 60, "{links:?}");
    assert_eq!(
        links[59],
        (
            "doc 59".to_owned(),
            format!("https://docs.example/59/{}", "p".repeat(180))
        )
    );
    h.stop().await;
}

/// Telegram drops a text link to a host without a dot, showing only its label; the answer
/// writes such an address out, and keeps links Telegram takes as links.
#[tokio::test]
async fn a_localhost_link_in_an_answer_shows_its_url() {
    const CHAT: i64 = 43;
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text(
            "See [Grafana](http://localhost:3000) and [the docs](https://grafana.example/docs).",
        )]),
    )
    .await;
    h.fake
        .push_private(CHAT as u64, "where are the dashboards?");
    h.fake.wait_for_final(CHAT, 1, WAIT).await;
    let id = h.fake.messages_in(CHAT)[0];
    let text = h.fake.message_text(CHAT, id).expect("the answer");
    assert!(text.contains("http://localhost:3000"), "{text}");
    assert_eq!(
        h.fake.message_links(CHAT, id),
        vec![(
            "the docs".to_owned(),
            "https://grafana.example/docs".to_owned()
        )]
    );
    h.stop().await;
}

/// When Telegram asks to wait a long time before the next edit, the final text does not wait:
/// it goes out as a new message at once.
#[tokio::test]
async fn the_final_text_does_not_wait_out_a_long_retry_after() {
    const CHAT: i64 = 44;
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::streamed(
            &["First part.", " Second part."],
            Duration::from_millis(1_500),
        )]),
    )
    .await;
    h.fake.push_private(CHAT as u64, "go");
    h.fake
        .wait_for("the first part", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(CHAT) && c.ok && c.text() == "First part.")
        })
        .await;
    h.fake.fail_next_with_retry_after("editMessageText", 120);
    let limited = Instant::now();
    h.fake
        .wait_for("the whole answer", WAIT, |_| {
            shown(&h, CHAT)
                .iter()
                .any(|t| t == "First part. Second part.")
        })
        .await;
    assert!(
        limited.elapsed() < Duration::from_secs(10),
        "took {:?}",
        limited.elapsed()
    );
    assert!(
        h.fake
            .text_calls(CHAT)
            .iter()
            .any(|c| !c.ok && c.method == "editmessagetext"),
        "the edit was limited"
    );
    assert_eq!(h.fake.messages_in(CHAT).len(), 2, "a new message");
    h.stop().await;
}

/// Telegram refuses formatted messages for more than bad markup (here `ENTITIES_TOO_LONG`); any
/// refusal of the formatted message is answered by sending the same text plain, and the
/// person gets the answer.
#[tokio::test]
async fn any_refusal_of_a_formatted_message_falls_back_to_plain_text() {
    const CHAT: i64 = 45;
    let h = Harness::start(
        Policy::Open,
        vec![],
        ScriptedModel::new(vec![Reply::text(
            "**Bold** and [a link](https://x.example/a).",
        )]),
    )
    .await;
    h.fake
        .fail_next("sendMessage", 400, "Bad Request: ENTITIES_TOO_LONG");
    h.fake.push_private(CHAT as u64, "hi");
    h.fake
        .wait_for("the plain answer", WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(CHAT) && c.ok && c.is_text())
        })
        .await;
    let calls = h.fake.text_calls(CHAT);
    assert!(!calls[0].ok && calls[0].is_html(), "{calls:?}");
    let sent = calls.iter().find(|c| c.ok).expect("a message");
    assert!(!sent.is_html(), "{sent:?}");
    assert_eq!(sent.text(), "**Bold** and [a link](https://x.example/a).");
    assert_eq!(h.fake.messages_in(CHAT).len(), 1);
    h.stop().await;
}
