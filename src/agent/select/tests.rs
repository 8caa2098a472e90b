//! Unit tests of selection over the Notion and Calendar catalog fixtures.

use super::*;
use crate::config::Config;

fn setup(agent: &str) -> (Config, Catalog) {
    let text = format!(
        "[agent]\n{agent}\n[[servers]]\nname = \"notion\"\nurl = \"http://127.0.0.1:9/mcp\"\n\
         [[servers]]\nname = \"gcal\"\nurl = \"http://127.0.0.1:9/mcp\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("/tmp/x.toml")).unwrap();
    let mut catalog = Catalog::default();
    for (server, listing) in [
        (
            "notion",
            include_str!("../../../tests/fixtures/catalog/notion.json"),
        ),
        (
            "gcal",
            include_str!("../../../tests/fixtures/catalog/gcal.json"),
        ),
    ] {
        let server = config.server(server).unwrap();
        catalog.tools.extend(
            crate::mcp::listing::from_text(server, listing, crate::mcp::listing::Limits::default())
                .unwrap(),
        );
    }
    (config, catalog)
}

async fn names(selector: &ToolSelector, key: &str, catalog: &Catalog, text: &str) -> Vec<String> {
    selector
        .select(key, catalog, text)
        .await
        .tools
        .into_iter()
        .map(|t| t.name)
        .collect()
}

#[tokio::test]
async fn messages_pick_their_server_and_small_talk_gets_nothing() {
    let (config, catalog) = setup("");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let cal = names(&selector, "a", &catalog, "whats on thurs").await;
    assert!(cal.contains(&"gcal_list_events".to_owned()), "{cal:?}");
    assert!(cal.iter().all(|n| n.starts_with("gcal_")), "{cal:?}");
    let notes = names(&selector, "b", &catalog, "jot down: call the plumber").await;
    assert!(
        notes.contains(&"notion_create_page".to_owned()),
        "{notes:?}"
    );
    assert!(names(&selector, "c", &catalog, "hi there").await.is_empty());
    assert!(
        names(
            &selector,
            "d",
            &catalog,
            "whats the weather in berlin tomorrow"
        )
        .await
        .is_empty()
    );
    assert!(cal.len() <= config.agent.max_offered_tools);
}

#[tokio::test]
async fn configured_core_tools_come_along() {
    let (mut config, catalog) = setup("");
    for server in &mut config.servers {
        if server.name == "gcal" {
            server.core_tools = vec!["get_current_time".into()];
        }
    }
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let selection = selector
        .select("a", &catalog, "lunch w/ mike tmrw 1pm")
        .await;
    let core: Vec<&str> = selection
        .tools
        .iter()
        .filter(|t| t.core)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(core, ["gcal_get_current_time"]);
}

#[tokio::test]
async fn find_adds_tools_at_the_end_and_all_offers_everything() {
    let (config, catalog) = setup("");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let first = names(&selector, "a", &catalog, "whats on thurs").await;
    let found = selector.find("a", &catalog, "archive a notion page");
    assert!(
        found.added.contains(&"notion_archive_page".to_owned()),
        "{found:?}"
    );
    assert!(found.message().contains("notion_archive_page"));
    let next = names(&selector, "a", &catalog, "ok").await;
    assert_eq!(next[..first.len()], first[..]);
    assert!(next.contains(&"notion_archive_page".to_owned()));
    assert!(
        selector
            .find("a", &catalog, "zzz qqq")
            .message()
            .starts_with("No tool")
    );

    let (config, catalog) = setup("tool_selection = \"all\"");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let selection = selector.select("a", &catalog, "hi").await;
    assert!(!selection.find_tools);
    assert_eq!(selection.tools.len(), catalog.tools.len());
    assert_eq!(selection.specs(&catalog).len(), 50);
}

#[test]
fn queries_correct_spelling_and_know_dates() {
    let (config, catalog) = setup("");
    let _ = config;
    let index = Index::build(&catalog.tools, &[]);
    let terms =
        |q: &str| -> Vec<String> { index.query(q).terms.into_iter().map(|t| t.term).collect() };
    assert!(terms("my calender").contains(&text::stem("calendar")));
    assert!(terms("thurs 3pm").contains(&text::stem("event")));
    assert!(index.query("book a flight to paris").mostly_unknown());
    assert!(!index.query("whats on thurs").mostly_unknown());
}
