//! Notion tools against the fake Notion made as strict as the real API: request size limits,
//! nesting, rate limits, the API version's parameters, and replacements that keep old content.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_gateway::servers::UpstreamLimits as Limits;
use mcp_gateway::servers::notion::{NOTION_VERSION, NotionApi};
use mcp_gateway::servers::tool_server::{ToolServer, ToolSet};
use serde_json::{Value, json};

use crate::common::{
    self, CLIENT_ID, CLIENT_SECRET, Flavor, TestServer, TestTokens, call, err_text, ok_json, text,
};
use crate::fake_notion::{FakeNotion, Fault, TokenState, VERSIONS};

struct Setup {
    fake: FakeNotion,
    server: TestServer,
}

/// The fake and our server; `budget` requests per second per account (0: none) and `deadline`
/// for each tool call.
async fn setup_with(budget: u32, deadline: Duration) -> Setup {
    let fake = FakeNotion::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    fake.set_token("tok-1", TokenState::Valid);
    let tokens: Arc<TestTokens> =
        TestTokens::new(Flavor::Notion, fake.token_url(), "tok-1", "rt-1");
    let limits = Limits {
        call_deadline: deadline,
        ..Limits::default()
    };
    let api =
        NotionApi::with_limits(fake.api_url(), reqwest::Client::new(), limits).with_budget(budget);
    let server = TestServer::start(
        ToolServer::new(ToolSet::Notion(api)),
        Some(common::grant(tokens)),
    )
    .await;
    Setup { fake, server }
}

async fn setup() -> Setup {
    setup_with(0, Duration::from_secs(50)).await
}

/// Creates a page from `markdown` through MCP and reads it back (as Markdown) through MCP.
async fn round_trip(s: &Setup, markdown: &str, max_depth: u32) -> (String, String) {
    let parent = s.fake.seed_page(None, "Home");
    let client = s.server.client().await;
    let created = ok_json(
        &call(
            &client,
            "create_page",
            json!({"parent": {"page_id": parent}, "title": "Notes", "markdown": markdown}),
        )
        .await,
    );
    let id = created["id"].as_str().expect("page id").to_owned();
    let read = call(
        &client,
        "get_page_content",
        json!({"page_id": id, "max_depth": max_depth}),
    )
    .await;
    assert_ne!(read.is_error, Some(true), "{}", text(&read));
    (id, text(&read))
}

#[tokio::test]
async fn a_long_paragraph_with_an_emoji_is_split_by_utf16_length() {
    let s = setup().await;
    let mut paragraph = "a".repeat(1999);
    paragraph.push('🙂');
    paragraph.push_str(&"b".repeat(100));
    assert_eq!(paragraph.chars().count(), 2100);
    let (id, read) = round_trip(&s, &paragraph, 1).await;
    assert_eq!(read, format!("{paragraph}\n"));
    // One paragraph, its text in items Notion accepts.
    let blocks = s.fake.children(&id);
    assert_eq!(blocks.len(), 1);
    let items = blocks[0]["paragraph"]["rich_text"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 2);
    for item in &items {
        let units = item["plain_text"]
            .as_str()
            .unwrap_or("")
            .encode_utf16()
            .count();
        assert!(units <= 2000, "{units}");
    }
}

#[tokio::test]
async fn sixty_lines_with_a_link_each_keep_every_line() {
    let s = setup().await;
    let lines: Vec<String> = (0..60)
        .map(|n| format!("See [doc {n}](https://example.com/doc/{n}) for part {n}"))
        .collect();
    let (id, read) = round_trip(&s, &lines.join("\n"), 1).await;
    let read_lines: Vec<&str> = read.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(read_lines, lines);
    // The lines continue in a second paragraph once the first holds 100 rich-text items.
    let blocks = s.fake.children(&id);
    assert_eq!(blocks.len(), 2);
    assert!(blocks.iter().all(|b| b["type"] == "paragraph"));
    for b in &blocks {
        assert!(b["paragraph"]["rich_text"].as_array().map_or(0, Vec::len) <= 100);
    }
}

#[tokio::test]
async fn a_list_item_with_150_sub_items_keeps_its_shape() {
    let s = setup().await;
    let mut markdown = String::from("- Packing list\n");
    for n in 0..150 {
        markdown.push_str(&format!("  - thing {n}\n"));
    }
    markdown.push_str("- After\n");
    let (id, read) = round_trip(&s, &markdown, 2).await;
    assert_eq!(read, markdown);
    let outline = s.fake.outline(&id);
    assert_eq!(outline.len(), 152);
    assert_eq!(
        outline[0],
        (0, "bulleted_list_item".into(), "Packing list".into())
    );
    assert!(outline[1..151].iter().all(|(depth, _, _)| *depth == 1));
    assert_eq!(
        outline[151],
        (0, "bulleted_list_item".into(), "After".into())
    );
}

#[tokio::test]
async fn an_outline_of_1100_blocks_arrives_whole_and_in_order() {
    let s = setup().await;
    let mut markdown = String::new();
    for i in 0..100 {
        markdown.push_str(&format!("- Topic {i}\n"));
        for j in 0..10 {
            markdown.push_str(&format!("  - point {i}.{j}\n"));
        }
    }
    let (id, read) = round_trip(&s, &markdown, 2).await;
    assert_eq!(read, markdown);
    let outline = s.fake.outline(&id);
    assert_eq!(outline.len(), 1100);
    assert_eq!(
        outline[1099],
        (1, "bulleted_list_item".into(), "point 99.9".into())
    );
    // No request carried more than 1,000 blocks (the fake refuses those), and it took more
    // than one.
    let writes = s
        .fake
        .bodies()
        .into_iter()
        .filter(|(p, _)| p == "/v1/pages" || p.ends_with("/children"))
        .count();
    assert!(writes >= 2, "{writes}");
}

#[tokio::test]
async fn a_five_level_list_keeps_every_level() {
    let s = setup().await;
    let markdown =
        "- level 1\n  - level 2\n    - level 3\n      - level 4\n        - level 5\n- back to 1\n";
    let (id, read) = round_trip(&s, markdown, 5).await;
    assert_eq!(read, markdown);
    let depths: Vec<usize> = s.fake.outline(&id).iter().map(|(d, _, _)| *d).collect();
    assert_eq!(depths, vec![0, 1, 2, 3, 4, 0]);
}

#[tokio::test]
async fn the_strict_fake_refuses_what_notion_refuses() {
    // The limits the writes above keep are real: the fake refuses requests over them.
    let s = setup().await;
    let page = s.fake.seed_page(None, "Home");
    let http = reqwest::Client::new();
    let send = |body: Value| {
        http.patch(format!("{}v1/blocks/{page}/children", s.fake.api_url()))
            .bearer_auth("tok-1")
            .header("Notion-Version", NOTION_VERSION)
            .json(&body)
            .send()
    };
    let long = json!({"type": "paragraph", "paragraph": {"rich_text": [
        {"type": "text", "text": {"content": format!("{}🙂", "a".repeat(1999))}}]}});
    let refused = send(json!({"children": [long]})).await.expect("send");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "validation_error");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("text.content.length should be ≤ `2000`, instead was `2001`"),
        "{body}"
    );
    let mut deep = json!({"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": []}});
    for _ in 0..3 {
        deep = json!({"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [], "children": [deep]}});
    }
    let refused = send(json!({"children": [deep]})).await.expect("send");
    assert_eq!(refused.status(), 400);
    let wide: Vec<Value> = (0..101)
        .map(|_| json!({"type": "paragraph", "paragraph": {"rich_text": []}}))
        .collect();
    assert_eq!(
        send(json!({"children": wide}))
            .await
            .expect("send")
            .status(),
        400
    );
    // Three paragraphs of 100 items of 2,000 characters each: every count fits, the 600 KB
    // body does not.
    let items: Vec<Value> = (0..100)
        .map(|_| json!({"type": "text", "text": {"content": "a".repeat(2000)}}))
        .collect();
    let heavy: Vec<Value> = (0..3)
        .map(|_| json!({"type": "paragraph", "paragraph": {"rich_text": items.clone()}}))
        .collect();
    let refused = send(json!({"children": heavy})).await.expect("send");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "validation_error");
}

#[tokio::test]
async fn the_notion_version_sent_has_every_parameter_used() {
    assert!(VERSIONS.contains(&NOTION_VERSION));
    let s = setup().await;
    let page = s.fake.seed_page(None, "Log");
    let ids = s.fake.seed_blocks(
        &page,
        vec![json!({"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "middle"}}]}})],
    );
    let client = s.server.client().await;
    ok_json(
        &call(
            &client,
            "append_block_children",
            json!({"block_id": page, "markdown": "first", "position": "start"}),
        )
        .await,
    );
    ok_json(
        &call(
            &client,
            "append_block_children",
            json!({"block_id": page, "markdown": "after middle", "position": "after_block",
                "after_block_id": ids[0]}),
        )
        .await,
    );
    ok_json(
        &call(
            &client,
            "append_block_children",
            json!({"block_id": page, "markdown": "last"}),
        )
        .await,
    );
    let texts: Vec<String> = s
        .fake
        .outline(&page)
        .into_iter()
        .map(|(_, _, t)| t)
        .collect();
    assert_eq!(texts, vec!["first", "middle", "after middle", "last"]);
    assert!(
        s.fake
            .versions()
            .iter()
            .all(|v| v.as_deref() == Some(NOTION_VERSION)),
        "{:?}",
        s.fake.versions()
    );
    // Under the previous version the same `position` is refused, so the header matters.
    let old = reqwest::Client::new()
        .patch(format!("{}v1/blocks/{page}/children", s.fake.api_url()))
        .bearer_auth("tok-1")
        .header("Notion-Version", "2025-09-03")
        .json(&json!({"children": [], "position": {"type": "start"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(old.status(), 400);
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": text}}]}})
}

#[tokio::test]
async fn a_replacement_writes_the_new_content_before_removing_the_old() {
    let s = setup().await;
    let page = s.fake.seed_page(None, "Plan");
    s.fake
        .seed_blocks(&page, vec![paragraph("old one"), paragraph("old two")]);
    let client = s.server.client().await;
    let done = ok_json(
        &call(
            &client,
            "replace_page_content",
            json!({"page_id": page, "markdown": "# New\n\nnew body"}),
        )
        .await,
    );
    assert_eq!(done["blocks_written"], 2);
    assert_eq!(done["blocks_removed"], 2);
    let texts: Vec<String> = s
        .fake
        .outline(&page)
        .into_iter()
        .map(|(_, _, t)| t)
        .collect();
    assert_eq!(texts, vec!["New", "new body"]);
    // The new content went in before anything was deleted, and nothing erased the page.
    let log = s.fake.call_log();
    let first_write = log
        .iter()
        .position(|(m, p)| m == "PATCH" && p.ends_with("/children"));
    let first_delete = log.iter().position(|(m, _)| m == "DELETE");
    assert!(first_write < first_delete, "{log:?}");
    assert!(
        s.fake
            .bodies()
            .iter()
            .all(|(_, b)| b.get("erase_content").is_none())
    );
}

#[tokio::test]
async fn a_refused_replacement_leaves_the_old_content() {
    let s = setup().await;
    let page = s.fake.seed_page(None, "Plan");
    s.fake
        .seed_blocks(&page, vec![paragraph("keep one"), paragraph("keep two")]);
    let client = s.server.client().await;
    // Refused at once.
    s.fake
        .fail_next("PATCH", "/children", Fault::Status(400, "validation_error"));
    let refused = err_text(
        &call(
            &client,
            "replace_page_content",
            json!({"page_id": page, "markdown": "# New\n\nnew body"}),
        )
        .await,
    );
    assert!(refused.contains("still has its old content"), "{refused}");
    let texts: Vec<String> = s
        .fake
        .outline(&page)
        .into_iter()
        .map(|(_, _, t)| t)
        .collect();
    assert_eq!(texts, vec!["keep one", "keep two"]);
    // Refused part-way: the part already written is removed again.
    let long: String = (0..150).map(|n| format!("new line {n}\n\n")).collect();
    s.fake.fail_after(
        "PATCH",
        "/children",
        1,
        Fault::Status(400, "validation_error"),
    );
    let refused = err_text(
        &call(
            &client,
            "replace_page_content",
            json!({"page_id": page, "markdown": long}),
        )
        .await,
    );
    assert!(refused.contains("still has its old content"), "{refused}");
    let texts: Vec<String> = s
        .fake
        .outline(&page)
        .into_iter()
        .map(|(_, _, t)| t)
        .collect();
    assert_eq!(texts, vec!["keep one", "keep two"]);
}

/// A page of `n` toggles, each with a paragraph inside.
fn toggles(fake: &FakeNotion, n: usize) -> String {
    let page = fake.seed_page(None, "Big");
    let blocks: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "toggle", "toggle": {"rich_text": [{"text": {"content": format!("Item {i}")}}],
                "children": [paragraph(&format!("inside {i}"))]}})
        })
        .collect();
    for chunk in blocks.chunks(100) {
        fake.seed_blocks(&page, chunk.to_vec());
    }
    page
}

#[tokio::test]
async fn a_200_toggle_page_under_3_requests_a_second_says_what_it_did_not_read() {
    // Notion's own limit, and our budget at the same rate; the call has 5 seconds.
    let s = setup_with(3, Duration::from_secs(5)).await;
    s.fake.set_rate_limit(3.0, 3.0);
    let page = toggles(&s.fake, 200);
    let client = s.server.client().await;
    let started = Instant::now();
    let result = call(&client, "get_page_content", json!({"page_id": page})).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let md = text(&result);
    // Every toggle is there; the content of those not read is named as missing.
    for i in 0..200 {
        assert!(
            md.contains(&format!("<summary>Item {i}</summary>")),
            "Item {i}"
        );
    }
    let structured = result.structured_content.clone().unwrap_or_default();
    let missing = structured["missing"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let read = (0..200)
        .filter(|i| md.contains(&format!("inside {i}\n")))
        .count();
    assert!(read >= 5, "{read} toggles read");
    assert_eq!(read + missing.len(), 200, "{md}");
    assert!(md.contains("Not everything was read"), "{md}");
    assert!(
        md.contains("toggle \"Item 199\"") || md.contains("more"),
        "{md}"
    );
    assert_eq!(structured["truncated"], true);
    // The budget kept the calls within the limit: Notion hardly had to refuse any.
    assert!(
        s.fake.rate_limited() <= 2,
        "{} calls refused",
        s.fake.rate_limited()
    );
}

#[tokio::test]
async fn a_200_toggle_page_reads_completely_when_the_rate_allows() {
    let s = setup_with(100, Duration::from_secs(30)).await;
    s.fake.set_rate_limit(100.0, 100.0);
    let page = toggles(&s.fake, 200);
    let client = s.server.client().await;
    let result = call(&client, "get_page_content", json!({"page_id": page})).await;
    let md = text(&result);
    for i in 0..200 {
        assert!(md.contains(&format!("inside {i}\n")), "inside {i}");
    }
    assert!(!md.contains("Not everything was read"), "{md}");
    assert_eq!(
        result.structured_content.unwrap_or_default()["truncated"],
        false
    );
}

#[tokio::test]
async fn a_rate_limit_without_our_budget_is_waited_out_within_the_deadline() {
    // No budget of ours: Notion's 429s and their Retry-After pace the read instead.
    let s = setup_with(0, Duration::from_secs(20)).await;
    s.fake.set_rate_limit(3.0, 3.0);
    let page = toggles(&s.fake, 8);
    let client = s.server.client().await;
    let result = call(&client, "get_page_content", json!({"page_id": page})).await;
    let md = text(&result);
    for i in 0..8 {
        assert!(md.contains(&format!("inside {i}\n")), "{md}");
    }
    assert!(s.fake.rate_limited() > 0);
}

#[tokio::test]
async fn content_over_500_kb_arrives_whole_in_requests_notion_accepts() {
    let s = setup().await;
    // One paragraph of 400 lines of 1,000 characters, half of them two bytes long: 400,000
    // characters and 600 KB, more than one request may carry.
    let lines: Vec<String> = (0..400)
        .map(|n| format!("{n:03} {}{}", "é".repeat(500), "x".repeat(496)))
        .collect();
    let markdown = lines.join("\n");
    assert!(markdown.len() > 600_000);
    let (id, read) = round_trip(&s, &markdown, 1).await;
    let read_lines: Vec<&str> = read.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(read_lines, lines);
    // The paragraph continues in further paragraphs, and they went in more than one request,
    // each within Notion's 500 KB (the fake refuses larger bodies).
    assert!(s.fake.children(&id).len() > 1);
    let writes: Vec<usize> = s
        .fake
        .bodies()
        .into_iter()
        .filter(|(p, _)| p == "/v1/pages" || p.ends_with("/children"))
        .map(|(_, b)| serde_json::to_vec(&b).map_or(usize::MAX, |v| v.len()))
        .collect();
    assert!(writes.len() >= 2, "{writes:?}");
    assert!(writes.iter().all(|bytes| *bytes <= 500_000), "{writes:?}");
}

#[tokio::test]
async fn a_retry_after_longer_than_ten_seconds_is_waited_out_within_the_deadline() {
    // Notion may ask for up to 60 s; what fits the call's deadline is waited out.
    let s = setup_with(0, Duration::from_secs(20)).await;
    let page = s.fake.seed_page(None, "Alpha");
    s.fake.push_fault(Fault::RateLimited(11));
    let client = s.server.client().await;
    let started = Instant::now();
    let out = ok_json(&call(&client, "get_page", json!({"page_id": page})).await);
    assert!(
        started.elapsed() >= Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out["id"], page);
    // One past the deadline is not waited for: the model is told when to try again.
    s.fake.push_fault(Fault::RateLimited(30));
    let started = Instant::now();
    let message = err_text(&call(&client, "get_page", json!({"page_id": page})).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(message.contains("wait 30 seconds"), "{message}");
}
