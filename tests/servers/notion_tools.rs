//! Notion tools against the fake Notion API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_gateway::servers::notion::{NOTION_VERSION, NotionApi};
use mcp_gateway::servers::tool_server::{ToolServer, ToolSet};
use serde_json::{Value, json};

use crate::common::{
    self, CLIENT_ID, CLIENT_SECRET, Flavor, TestServer, TestTokens, call, err_text, ok_json, text,
};
use crate::fake_notion::{FakeNotion, Fault, TokenState};

struct Setup {
    fake: FakeNotion,
    tokens: Arc<TestTokens>,
    server: TestServer,
}

async fn setup() -> Setup {
    let fake = FakeNotion::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    fake.set_token("tok-1", TokenState::Valid);
    fake.add_refresh_token("rt-1");
    let tokens = TestTokens::new(Flavor::Notion, fake.token_url(), "tok-1", "rt-1");
    let tools = ToolServer::new(ToolSet::Notion(NotionApi::new(
        fake.api_url(),
        reqwest::Client::new(),
    )));
    let server = TestServer::start(tools, Some(common::grant(tokens.clone()))).await;
    Setup {
        fake,
        tokens,
        server,
    }
}

#[tokio::test]
async fn search_finds_pages_by_title_and_paginates() {
    let s = setup().await;
    for i in 0..3 {
        s.fake.seed_page(None, &format!("Meeting notes {i}"));
    }
    s.fake.seed_page(None, "Groceries");
    let client = s.server.client().await;
    let first = ok_json(
        &call(
            &client,
            "search",
            json!({"query": "meeting", "page_size": 2}),
        )
        .await,
    );
    assert_eq!(first["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["has_more"], true);
    assert!(
        first["results"][0]["title"]
            .as_str()
            .unwrap_or("")
            .starts_with("Meeting notes")
    );
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let second = ok_json(
        &call(
            &client,
            "search",
            json!({"query": "MEETING", "start_cursor": cursor}),
        )
        .await,
    );
    assert_eq!(second["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["has_more"], false);
    // Every call carried the bearer and the Notion version.
    assert!(s.fake.authorizations().iter().all(|a| a == "Bearer tok-1"));
    assert!(
        s.fake
            .versions()
            .iter()
            .all(|v| v.as_deref() == Some(NOTION_VERSION))
    );
}

#[tokio::test]
async fn get_page_content_renders_markdown_with_nested_blocks() {
    let s = setup().await;
    let page = s.fake.seed_page(None, "Plan");
    s.fake.seed_blocks(&page, vec![
        json!({"type": "heading_2", "heading_2": {"rich_text": [{"text": {"content": "Goals"}}]}}),
        json!({"type": "paragraph", "paragraph": {"rich_text": [
            {"text": {"content": "Ship "}},
            {"text": {"content": "fast", "link": {"url": "https://ex.com"}}, "annotations": {"bold": true}}]}}),
        json!({"type": "to_do", "to_do": {"rich_text": [{"text": {"content": "write tests"}}], "checked": true}}),
        json!({"type": "to_do", "to_do": {"rich_text": [{"text": {"content": "release"}}], "checked": false}}),
        json!({"type": "toggle", "toggle": {"rich_text": [{"text": {"content": "Details"}}], "children": [
            {"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [{"text": {"content": "deep"}}], "children": [
                {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "too deep"}}]}}]}}]}}),
        json!({"type": "code", "code": {"rich_text": [{"text": {"content": "cargo test"}}], "language": "bash"}}),
    ]);
    let client = s.server.client().await;
    let result = call(
        &client,
        "get_page_content",
        json!({"page_id": page.replace('-', ""), "max_depth": 2}),
    )
    .await;
    let md = text(&result);
    let expected = "## Goals\n\nShip [**fast**](https://ex.com)\n\n- [x] write tests\n- [ ] release\n\n<details>\n\
<summary>Details</summary>\n\n- deep\n</details>\n\n```bash\ncargo test\n```\n";
    assert_eq!(md, expected);
    assert_eq!(
        result
            .structured_content
            .as_ref()
            .map(|v| v["markdown"].clone()),
        Some(Value::from(expected))
    );
    let deeper = text(
        &call(
            &client,
            "get_page_content",
            json!({"page_id": page, "max_depth": 3}),
        )
        .await,
    );
    assert!(deeper.contains("  too deep"), "{deeper}");
}

#[tokio::test]
async fn create_page_from_markdown_chunks_beyond_100_blocks() {
    let s = setup().await;
    let parent = s.fake.seed_page(None, "Home");
    let client = s.server.client().await;
    let mut markdown = String::from("# Title\n\nIntro with **bold** and `code`.\n\n");
    for i in 0..150 {
        markdown.push_str(&format!("- item {i}\n"));
    }
    let out = ok_json(
        &call(
            &client,
            "create_page",
            json!({
        "parent": {"page_id": parent}, "title": "Big page", "markdown": markdown, "icon": "📝"}),
        )
        .await,
    );
    assert_eq!(out["title"], "Big page");
    assert_eq!(out["blocks_added"], 152);
    let id = out["id"].as_str().expect("id");
    let children = s.fake.children(id);
    assert_eq!(children.len(), 152);
    assert_eq!(children[0]["type"], "heading_1");
    assert_eq!(
        children[1]["paragraph"]["rich_text"][1]["annotations"]["bold"],
        true
    );
    assert_eq!(
        children[151]["bulleted_list_item"]["rich_text"][0]["plain_text"],
        "item 149"
    );
    // One POST /v1/pages with 100 children, then one append with the rest.
    let posts: Vec<_> = s
        .fake
        .bodies()
        .into_iter()
        .filter(|(p, _)| p == "/v1/pages" || p.ends_with("/children"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].1["children"].as_array().map(Vec::len), Some(100));
    assert_eq!(posts[1].1["children"].as_array().map(Vec::len), Some(52));
    assert_eq!(s.fake.page(id).expect("page")["icon"]["emoji"], "📝");
}

#[tokio::test]
async fn append_keeps_order_across_chunks_after_a_block() {
    let s = setup().await;
    let page = s.fake.seed_page(None, "Log");
    let ids = s.fake.seed_blocks(&page, vec![
        json!({"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "first"}}]}}),
        json!({"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "last"}}]}}),
    ]);
    let client = s.server.client().await;
    let markdown: String = (0..230).map(|i| format!("line {i}\n\n")).collect();
    let out = ok_json(&call(&client, "append_block_children", json!({
        "block_id": page, "markdown": markdown, "position": "after_block", "after_block_id": ids[0]})).await);
    assert_eq!(out["blocks_added"], 230);
    assert_eq!(out["requests"], 3);
    let texts: Vec<String> = s
        .fake
        .children(&page)
        .iter()
        .map(|b| {
            b["paragraph"]["rich_text"][0]["plain_text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(texts.len(), 232);
    assert_eq!(texts[0], "first");
    assert_eq!(texts[1], "line 0");
    assert_eq!(texts[230], "line 229");
    assert_eq!(texts[231], "last");
    let missing = err_text(
        &call(
            &client,
            "append_block_children",
            json!({"block_id": page, "position": "after_block", "markdown": "x"}),
        )
        .await,
    );
    assert!(missing.contains("after_block_id"), "{missing}");
}

#[tokio::test]
async fn update_archive_restore_and_move_pages() {
    let s = setup().await;
    let home = s.fake.seed_page(None, "Home");
    let other = s.fake.seed_page(None, "Other");
    let (_db, ds) = s.fake.seed_database(&home, "Tasks");
    let row = s.fake.seed_row(&ds, "Buy milk", "Todo");
    let client = s.server.client().await;

    let updated = ok_json(
        &call(
            &client,
            "update_page",
            json!({"page_id": row, "title": "Buy oat milk",
        "properties": {"Status": {"select": {"name": "Done"}}}}),
        )
        .await,
    );
    assert_eq!(updated["title"], "Buy oat milk");
    assert_eq!(updated["properties"]["Status"]["value"], "Done");
    let done = ok_json(
        &call(
            &client,
            "query_database",
            json!({"database_id": _db,
        "filter": {"property": "Status", "select": {"equals": "Done"}}}),
        )
        .await,
    );
    assert_eq!(done["results"].as_array().map(Vec::len), Some(1));

    let archived = ok_json(&call(&client, "archive_page", json!({"page_id": other})).await);
    assert_eq!(archived["in_trash"], true);
    let found = ok_json(&call(&client, "search", json!({"query": "Other"})).await);
    assert_eq!(found["results"].as_array().map(Vec::len), Some(0));
    let restored = ok_json(&call(&client, "restore_page", json!({"page_id": other})).await);
    assert_eq!(restored["in_trash"], false);
    let trash_bodies: Vec<Value> = s
        .fake
        .bodies()
        .into_iter()
        .filter(|(p, _)| p.ends_with(&other))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        trash_bodies,
        vec![json!({"in_trash": true}), json!({"in_trash": false})]
    );

    let moved = ok_json(
        &call(
            &client,
            "move_page",
            json!({"page_id": other, "new_parent": {"page_id": home}}),
        )
        .await,
    );
    assert_eq!(moved["parent"]["page_id"], home.as_str());
    let created_row = ok_json(
        &call(
            &client,
            "create_page",
            json!({"parent": {"database_id": _db}, "title": "Row via db"}),
        )
        .await,
    );
    assert_eq!(created_row["parent"]["data_source_id"], ds.as_str());
    assert_eq!(created_row["properties"]["Name"]["value"], "Row via db");
}

#[tokio::test]
async fn blocks_databases_comments_and_users() {
    let s = setup().await;
    let page = s.fake.seed_page(None, "Doc");
    let ids = s.fake.seed_blocks(&page, vec![json!({"type": "to_do", "to_do": {"rich_text": [{"text": {"content": "check"}}], "checked": false}})]);
    let client = s.server.client().await;

    let children = ok_json(&call(&client, "get_block_children", json!({"block_id": page})).await);
    assert_eq!(children["results"][0]["text"], "check");
    let block = ok_json(
        &call(
            &client,
            "update_block",
            json!({"block_id": ids[0], "content": {"to_do": {"checked": true}}}),
        )
        .await,
    );
    assert_eq!(block["checked"], true);
    let got = ok_json(&call(&client, "get_block", json!({"block_id": ids[0]})).await);
    assert_eq!(got["checked"], true);
    let deleted = ok_json(&call(&client, "delete_block", json!({"block_id": ids[0]})).await);
    assert_eq!(deleted["in_trash"], true);

    let db = ok_json(
        &call(
            &client,
            "create_database",
            json!({"parent_page_id": page, "title": "Reading",
        "properties": {"Author": {"rich_text": {}}}}),
        )
        .await,
    );
    let db_id = db["id"].as_str().expect("db id").to_owned();
    let ds_id = db["data_sources"][0]["id"]
        .as_str()
        .expect("ds id")
        .to_owned();
    let schema = ok_json(&call(&client, "get_data_source", json!({"data_source_id": ds_id})).await);
    assert!(
        schema["properties"]["Name"].is_object(),
        "a title property was added: {schema:?}"
    );
    let via_ds = ok_json(&call(&client, "get_database", json!({"database_id": ds_id})).await);
    assert_eq!(via_ds["object"], "data_source");
    ok_json(
        &call(
            &client,
            "update_database",
            json!({"database_id": db_id, "title": "Books"}),
        )
        .await,
    );
    let updated = ok_json(
        &call(
            &client,
            "update_data_source",
            json!({"data_source_id": ds_id, "properties": {"Author": null}}),
        )
        .await,
    );
    assert!(updated["properties"].get("Author").is_none());
    let second = ok_json(
        &call(
            &client,
            "create_data_source",
            json!({"database_id": db_id, "title": "Films", "properties": {"Title": {"title": {}}}}),
        )
        .await,
    );
    assert_eq!(second["title"], "Films");
    ok_json(
        &call(
            &client,
            "list_data_source_templates",
            json!({"data_source_id": ds_id}),
        )
        .await,
    );
    ok_json(
        &call(
            &client,
            "query_data_source",
            json!({"data_source_id": ds_id, "in_trash": true}),
        )
        .await,
    );
    let trashed = ok_json(&call(&client, "archive_database", json!({"database_id": db_id})).await);
    assert_eq!(trashed["in_trash"], true);

    let comment = ok_json(
        &call(
            &client,
            "create_comment",
            json!({"page_id": page, "text": "Looks **good**"}),
        )
        .await,
    );
    let discussion = comment["discussion_id"]
        .as_str()
        .expect("discussion")
        .to_owned();
    ok_json(
        &call(
            &client,
            "create_comment",
            json!({"discussion_id": discussion, "text": "thanks"}),
        )
        .await,
    );
    let comments = ok_json(&call(&client, "list_comments", json!({"block_id": page})).await);
    assert_eq!(comments["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(comments["results"][0]["text"], "Looks **good**");
    assert_eq!(
        s.fake.comments()[0]["rich_text"][1]["annotations"]["bold"],
        true
    );

    let users = ok_json(&call(&client, "list_users", json!({})).await);
    assert_eq!(users["results"][0]["email"], "ada@example.com");
    let me = ok_json(&call(&client, "get_self", json!({})).await);
    assert_eq!(me["workspace_name"], "Acme");
    let ada = ok_json(&call(&client, "get_user", json!({"user_id": "u-ada"})).await);
    assert_eq!(ada["name"], "Ada");
    let page_json = ok_json(&call(&client, "get_page", json!({"page_id": page})).await);
    assert_eq!(page_json["title"], "Doc");
    let prop = ok_json(
        &call(
            &client,
            "get_page_property",
            json!({"page_id": page, "property_id": "title"}),
        )
        .await,
    );
    assert_eq!(prop["results"][0]["title"]["plain_text"], "Doc");
    let replaced = ok_json(
        &call(
            &client,
            "replace_page_content",
            json!({"page_id": page, "markdown": "# New\n\nbody"}),
        )
        .await,
    );
    assert_eq!(replaced["blocks_written"], 2);
    assert_eq!(s.fake.children(&page).len(), 2);
}

#[tokio::test]
async fn expired_token_is_refreshed_and_the_call_retried_once() {
    let s = setup().await;
    s.fake.seed_page(None, "Alpha");
    s.fake.set_token("tok-1", TokenState::Expired);
    let client = s.server.client().await;
    let out = ok_json(&call(&client, "search", json!({"query": "alpha"})).await);
    assert_eq!(out["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.tokens.refreshes(), 1);
    assert_eq!(s.fake.token_calls(), 1);
    let auths = s.fake.authorizations();
    assert_eq!(auths.len(), 2);
    assert_eq!(auths[0], "Bearer tok-1");
    assert_eq!(auths[1], format!("Bearer {}", s.tokens.current()));
    assert_ne!(auths[0], auths[1]);

    // A new token that is rejected too is not retried forever.
    let current = s.tokens.current();
    s.fake.set_token(&current, TokenState::Expired);
    let before = s.fake.calls();
    let refreshed_again = call(&client, "search", json!({"query": "alpha"})).await;
    // The refresh mints a valid token, so the retry succeeds; exactly two API calls were made.
    ok_json(&refreshed_again);
    assert_eq!(s.fake.calls() - before, 2);
}

#[tokio::test]
async fn revoked_refresh_token_asks_the_person_to_reconnect() {
    let fake = FakeNotion::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    fake.set_token("tok-1", TokenState::Revoked);
    let tokens = TestTokens::new(Flavor::Notion, fake.token_url(), "tok-1", "rt-unknown");
    let tools = ToolServer::new(ToolSet::Notion(NotionApi::new(
        fake.api_url(),
        reqwest::Client::new(),
    )));
    let server = TestServer::start(tools, Some(common::grant(tokens))).await;
    let client = server.client().await;
    let message = err_text(&call(&client, "get_self", json!({})).await);
    assert!(message.contains("reconnect"), "{message}");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_retries() {
    let s = setup().await;
    s.fake.seed_page(None, "Alpha");
    s.fake.push_fault(Fault::RateLimited(1));
    let client = s.server.client().await;
    let started = Instant::now();
    let out = ok_json(&call(&client, "search", json!({"query": "alpha"})).await);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(out["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.fake.calls(), 2);

    // A Retry-After beyond the bound is not waited for: the model is told when to retry.
    s.fake.push_fault(Fault::RateLimited(120));
    let started = Instant::now();
    let message = err_text(&call(&client, "search", json!({"query": "alpha"})).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(message.contains("wait 120 seconds"), "{message}");
}

#[tokio::test]
async fn upstream_errors_become_guidance_and_bad_json_does_not_panic() {
    let s = setup().await;
    let client = s.server.client().await;
    let missing = err_text(
        &call(
            &client,
            "get_page",
            json!({"page_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await,
    );
    assert!(
        missing.contains("not found") && missing.contains("search"),
        "{missing}"
    );

    s.fake.push_fault(Fault::Status(503, "service_unavailable"));
    let down = err_text(&call(&client, "get_self", json!({})).await);
    assert!(down.contains("try again"), "{down}");

    s.fake.push_fault(Fault::Malformed);
    let bad = err_text(&call(&client, "get_self", json!({})).await);
    assert!(bad.contains("malformed"), "{bad}");

    let args = err_text(&call(&client, "get_page", json!({"page_id": 42})).await);
    assert!(args.contains("page_id"), "{args}");
    let parent = err_text(&call(&client, "create_page", json!({"parent": {}, "title": "x"})).await);
    assert!(parent.contains("exactly one"), "{parent}");
    // The server still answers after all that.
    ok_json(&call(&client, "get_self", json!({})).await);
}

#[tokio::test]
async fn a_request_without_a_grant_is_refused_with_a_message() {
    let fake = FakeNotion::start().await;
    let tools = ToolServer::new(ToolSet::Notion(NotionApi::new(
        fake.api_url(),
        reqwest::Client::new(),
    )));
    let server = TestServer::start(tools, None).await;
    let client = server.client().await;
    let message = err_text(&call(&client, "search", json!({"query": "x"})).await);
    assert!(message.contains("not authorized"), "{message}");
    assert_eq!(fake.calls(), 0);
}

#[tokio::test]
async fn oauth_endpoints_behave_like_notion() {
    let fake = FakeNotion::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let authorize = http
        .get(fake.authorize_url())
        .query(&[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("owner", "user"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("state", "st-1"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(authorize.status(), 302);
    let location =
        url::Url::parse(authorize.headers()["location"].to_str().expect("location")).expect("url");
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "st-1");
    let code = pairs["code"].clone();
    let exchange = |body: Value| {
        http.post(fake.token_url())
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header("notion-version", "2025-09-03")
            .json(&body)
            .send()
    };
    let first: Value = exchange(json!({"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb"}))
        .await.expect("token").json().await.expect("json");
    for key in [
        "access_token",
        "refresh_token",
        "bot_id",
        "workspace_id",
        "workspace_name",
        "owner",
    ] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }
    assert_eq!(first["token_type"], "bearer");
    let reused = exchange(json!({"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb"})).await.expect("reuse");
    assert_eq!(reused.status(), 400);
    // Notion answers OAuth errors in its API error shape.
    let reused: Value = reused.json().await.expect("json");
    assert_eq!(reused["object"], "error");
    assert_eq!(reused["code"], "invalid_grant");
    let refreshed: Value =
        exchange(json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}))
            .await
            .expect("refresh")
            .json()
            .await
            .expect("json");
    assert_ne!(refreshed["refresh_token"], first["refresh_token"]);
    let rotated =
        exchange(json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}))
            .await
            .expect("old");
    assert_eq!(rotated.status(), 400);
    let wrong = http
        .post(fake.token_url())
        .basic_auth(CLIENT_ID, Some("nope"))
        .header("notion-version", "2025-09-03")
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .expect("wrong");
    assert_eq!(wrong.status(), 401);
    let unversioned = exchange_without_version(&http, &fake).await;
    assert_eq!(unversioned.status(), 400);
    let body: Value = unversioned.json().await.expect("json");
    assert_eq!(body["code"], "missing_version");
}

/// A token request without `Notion-Version`, which Notion requires on its OAuth endpoints too.
async fn exchange_without_version(http: &reqwest::Client, fake: &FakeNotion) -> reqwest::Response {
    http.post(fake.token_url())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .expect("a request")
}
