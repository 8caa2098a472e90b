//! `route` prints what a real turn offers; `"all"`, small talk and the readable list; a saved
//! listing keeps only what a live one keeps.

use serde_json::{Value, json};

use super::common::{FixtureTools, Setup, names, turn};
use crate::fake_ollama::{FakeOllama, Reply};

/// The tools of a real turn's first request are exactly what `route --json` prints, for
/// messages that select different servers, both, none, or the built-in reminder tools.
#[tokio::test]
async fn a_turn_offers_what_route_prints() {
    for message in [
        "whats on thurs",
        "note to self: buy milk and eggs",
        "put tomorrow's meetings into a notion page",
        "hey how are you",
        "remind me at 5pm to call the plumber",
    ] {
        let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
        let setup = Setup::new(&ollama, "", "");
        let agent = setup.agent(FixtureTools::new(setup.catalog()));
        turn(&agent, message).await;
        let sent = ollama.chat_requests()[0]["tools"].clone();
        let printed = setup.route_json(message).await;
        assert_eq!(sent, Value::Array(printed.clone()), "message {message:?}");
        assert_eq!(names(&ollama.chat_requests()[0])[0], "find_tools");
        assert!(printed.len() <= 13, "{message:?}: {} tools", printed.len());
    }
}

/// Small talk and services the catalog does not have get no catalog tools.
#[tokio::test]
async fn small_talk_gets_no_catalog_tools() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let setup = Setup::new(&ollama, "", "");
    for message in [
        "hi",
        "thanks!",
        "whats the weather in berlin tomorrow",
        "play some jazz on spotify",
    ] {
        let tools = setup.route_json(message).await;
        let names: Vec<&str> = tools
            .iter()
            .filter_map(|t| t["function"]["name"].as_str())
            .collect();
        assert_eq!(names, ["find_tools"], "message {message:?}");
    }
}

/// Calendar words pick the calendar, note words Notion; the readable list shows scores.
#[tokio::test]
async fn route_picks_the_server_and_lists_scores() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let setup = Setup::new(&ollama, "", "");
    let tools = setup.route_json("whats on thurs").await;
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(names.contains(&"gcal_list_events"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("notion_")), "{names:?}");
    assert_eq!(tools[1]["type"], "function");
    assert!(tools[1]["function"]["parameters"].is_object());
    let text = setup.route(&["jot down: call the plumber"]).await;
    assert!(text.contains("notion_create_page"), "{text}");
    assert!(
        text.contains("of 53 catalog tools"),
        "the fixtures' 50 and the 3 built-in tools: {text}"
    );
    assert!(
        text.lines().any(|l| l.contains("notion_create_page")
            && l.trim_start().starts_with(|c: char| c.is_ascii_digit())),
        "each tool line starts with its score: {text}"
    );
}

/// `tool_selection = "all"` offers every catalog tool in catalog order, the servers' then the
/// built-in `assistant_*` tools, without `find_tools`; `route` prints exactly that.
#[tokio::test]
async fn all_offers_everything() {
    let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
    let setup = Setup::new(&ollama, "", "tool_selection = \"all\"");
    let catalog = setup.catalog();
    let agent = setup.agent(FixtureTools::new(catalog.clone()));
    turn(&agent, "hi").await;
    let offered = names(&ollama.chat_requests()[0]);
    let mut expected: Vec<String> = catalog.tools.iter().map(|t| t.qualified.clone()).collect();
    expected.extend(
        [
            "assistant_schedule",
            "assistant_list_scheduled",
            "assistant_cancel_scheduled",
        ]
        .map(str::to_owned),
    );
    assert_eq!(offered.len(), 53);
    assert_eq!(offered, expected);
    let printed = setup.route_json("hi").await;
    assert_eq!(ollama.chat_requests()[0]["tools"], Value::Array(printed));
}

/// With one server configured, "search <server> for <a name no catalog has>" offers that
/// server's search tool, and a real turn offers exactly what `route` prints.
#[tokio::test]
async fn one_server_offers_its_search_for_an_unknown_name() {
    let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
    let setup = Setup::with_servers(&ollama, "", "", &["notion"]);
    assert_eq!(
        setup.catalog().tools.len(),
        30,
        "more than max_offered_tools"
    );
    for message in [
        "search notion for Bars Probe",
        "search notion",
        "look up Bars Probe in notion",
    ] {
        let tools = setup.route_json(message).await;
        let offered: Vec<&str> = tools
            .iter()
            .filter_map(|t| t["function"]["name"].as_str())
            .collect();
        assert!(
            offered.contains(&"notion_search"),
            "{message:?}: {offered:?}"
        );
        assert!(offered.len() <= 13, "{message:?}: {offered:?}");
    }
    let agent = setup.agent(FixtureTools::new(setup.catalog()));
    turn(&agent, "search notion for Bars Probe").await;
    let sent = ollama.chat_requests()[0]["tools"].clone();
    let printed = setup.route_json("search notion for Bars Probe").await;
    assert_eq!(sent, Value::Array(printed));
    let small_talk = setup.route_json("thanks!").await;
    assert_eq!(small_talk.len(), 1, "only find_tools for small talk");
}

/// A saved `tools/list` goes through a live listing's rules: a tool whose input schema is over
/// the size bound, whose name the model APIs refuse, that repeats an earlier name or that the
/// server's `deny_tools` excludes is not offered, and a long description is cut.
#[tokio::test]
async fn a_saved_listing_keeps_what_a_live_listing_keeps() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let setup = Setup::with_servers(&ollama, "", "tool_selection = \"all\"", &["notion"]);
    let text = std::fs::read_to_string(&setup.file).expect("read config");
    std::fs::write(&setup.file, format!("{text}deny_tools = [\"secret\"]\n")).expect("config");
    let schema = |description: String| json!({"type": "object", "properties": {"q": {"type": "string", "description": description}}});
    let tool = |name: &str, description: &str, schema: Value| json!({"name": name, "description": description, "inputSchema": schema});
    let listing = json!({"tools": [
        tool("search", "Find pages.", schema("Words.".into())),
        tool("huge", "Too large.", schema("x".repeat(70 * 1024))),
        tool("bad name", "Refused by the model APIs.", schema("Words.".into())),
        tool("search", "Again.", schema("Words.".into())),
        tool("secret", "Denied.", schema("Words.".into())),
        tool("long", &"é".repeat(3000), schema("Words.".into())),
    ]});
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notion.json"), listing.to_string()).expect("listing");
    let text = setup.route_with(dir.path(), &["--json", "hi"]).await;
    let printed: Value = serde_json::from_str(text.trim()).expect("route --json prints JSON");
    let printed = printed["tools"].as_array().cloned().expect("a tools array");
    let names: Vec<&str> = printed
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "notion_search",
            "notion_long",
            "assistant_schedule",
            "assistant_list_scheduled",
            "assistant_cancel_scheduled"
        ],
        "the saved listing's tools, then the built-in ones"
    );
    assert_eq!(printed[0]["function"]["description"], "Find pages.");
    let long = printed[1]["function"]["description"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        long,
        "é".repeat(2048),
        "cut to 4096 bytes on a character boundary"
    );
}
