//! `tools/list` of both servers through a real MCP session, and `tool_list()` offline.

use mcp_gateway::servers::gcal::GcalApi;
use mcp_gateway::servers::notion::NotionApi;
use mcp_gateway::servers::tool_server::{ToolServer, ToolSet};
use rmcp::model::Tool;

use crate::common::TestServer;

const NOTION: [&str; 30] = [
    "search",
    "get_page",
    "get_page_content",
    "get_page_property",
    "get_database",
    "get_data_source",
    "query_database",
    "query_data_source",
    "list_data_source_templates",
    "get_block",
    "get_block_children",
    "list_comments",
    "list_users",
    "get_user",
    "get_self",
    "create_page",
    "append_block_children",
    "create_comment",
    "create_database",
    "create_data_source",
    "restore_page",
    "update_page",
    "move_page",
    "update_block",
    "update_database",
    "update_data_source",
    "replace_page_content",
    "archive_page",
    "archive_database",
    "delete_block",
];

const GCAL: [&str; 20] = [
    "get_current_time",
    "list_calendars",
    "get_calendar",
    "list_events",
    "search_events",
    "get_event",
    "list_event_instances",
    "query_freebusy",
    "list_colors",
    "create_event",
    "quick_add_event",
    "create_events",
    "respond_to_event",
    "create_calendar",
    "update_event",
    "replace_event",
    "move_event",
    "delete_event",
    "delete_calendar",
    "clear_calendar",
];

fn check(tools: &[Tool], expected: &[&str], destructive: &[&str], writes: &[&str]) {
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, expected);
    for t in tools {
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} has annotations", t.name));
        assert!(t.title.is_some(), "{} has a title", t.name);
        assert!(
            t.description.as_ref().is_some_and(|d| d.len() > 20),
            "{} has a description",
            t.name
        );
        assert_eq!(
            t.input_schema.get("type").and_then(|v| v.as_str()),
            Some("object"),
            "{}",
            t.name
        );
        assert_eq!(a.open_world_hint, Some(true), "{}", t.name);
        let name = t.name.as_ref();
        let is_destructive = destructive.contains(&name);
        let is_write = writes.contains(&name);
        assert_eq!(
            a.destructive_hint,
            Some(is_destructive),
            "{name} destructiveHint"
        );
        assert_eq!(
            a.read_only_hint,
            Some(!is_destructive && !is_write),
            "{name} readOnlyHint"
        );
    }
}

const NOTION_DESTRUCTIVE: [&str; 9] = [
    "update_page",
    "move_page",
    "update_block",
    "update_database",
    "update_data_source",
    "replace_page_content",
    "archive_page",
    "archive_database",
    "delete_block",
];
const NOTION_WRITES: [&str; 6] = [
    "create_page",
    "append_block_children",
    "create_comment",
    "create_database",
    "create_data_source",
    "restore_page",
];
const GCAL_DESTRUCTIVE: [&str; 7] = [
    "respond_to_event",
    "update_event",
    "replace_event",
    "move_event",
    "delete_event",
    "delete_calendar",
    "clear_calendar",
];
const GCAL_WRITES: [&str; 4] = [
    "create_event",
    "quick_add_event",
    "create_events",
    "create_calendar",
];

#[test]
fn tool_lists_need_nothing_and_are_complete() {
    check(
        &mcp_gateway::servers::notion::tool_list(),
        &NOTION,
        &NOTION_DESTRUCTIVE,
        &NOTION_WRITES,
    );
    check(
        &mcp_gateway::servers::gcal::tool_list(),
        &GCAL,
        &GCAL_DESTRUCTIVE,
        &GCAL_WRITES,
    );
    let schema =
        serde_json::to_value(mcp_gateway::servers::notion::tool_list()).expect("serialises");
    assert!(schema[0]["inputSchema"]["properties"]["query"]["description"].is_string());
}

#[tokio::test]
async fn servers_list_their_tools_over_mcp() {
    let url: url::Url = "http://127.0.0.1:9".parse().expect("url");
    let notion = TestServer::start(
        ToolServer::new(ToolSet::Notion(NotionApi::new(
            url.clone(),
            reqwest::Client::new(),
        ))),
        None,
    )
    .await;
    let client = notion.client().await;
    let info = client.peer_info().expect("server info");
    assert!(
        info.instructions
            .as_deref()
            .is_some_and(|i| i.contains("search"))
    );
    assert!(info.capabilities.tools.is_some());
    let tools = client.peer().list_all_tools().await.expect("list");
    check(&tools, &NOTION, &NOTION_DESTRUCTIVE, &NOTION_WRITES);

    let gcal = TestServer::start(
        ToolServer::new(ToolSet::Gcal(GcalApi::new(url, reqwest::Client::new()))),
        None,
    )
    .await;
    let client = gcal.client().await;
    let tools = client.peer().list_all_tools().await.expect("list");
    check(&tools, &GCAL, &GCAL_DESTRUCTIVE, &GCAL_WRITES);
    let unknown = client
        .peer()
        .call_tool(rmcp::model::CallToolRequestParams::new("nope"))
        .await;
    assert!(unknown.is_err(), "an unknown tool is a protocol error");
}

/// `--list-tools` prints exactly the committed catalogs that tool selection is tuned on
/// (`tests/fixtures/catalog/`), byte for byte.
#[test]
fn list_tools_prints_the_committed_catalogs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (command, fixture) in [("notion-mcp", "notion.json"), ("gcal-mcp", "gcal.json")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .args([command, "--list-tools"])
            .output()
            .expect("run --list-tools");
        assert!(out.status.success(), "{command} --list-tools failed");
        let committed = std::fs::read(root.join("tests/fixtures/catalog").join(fixture))
            .expect("read the committed catalog");
        assert!(
            out.stdout == committed,
            "{command} --list-tools differs from tests/fixtures/catalog/{fixture}; regenerate it \
             with `mcp-gateway {command} --list-tools > tests/fixtures/catalog/{fixture}` and run \
             the selection tests"
        );
    }
}
