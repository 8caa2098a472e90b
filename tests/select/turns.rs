//! Selection across the rounds and turns of a conversation.

use serde_json::{Value, json};

use super::common::{FixtureTools, Setup, names, turn};
use crate::fake_ollama::{FakeOllama, Reply};

fn last_role(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["role"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A model that is not offered the tool it needs searches with `find_tools`, and the tool it
/// finds is offered in the next request of the same turn and can be called.
#[tokio::test]
async fn find_tools_then_the_found_tool() {
    let ollama = FakeOllama::start(|request: &Value| {
        let offered = names(request);
        match last_role(request).as_str() {
            "user" => Reply::tool_call("find_tools", json!({"query": "create a new calendar"})),
            "tool"
                if offered.contains(&"gcal_create_calendar".to_owned())
                    && request["messages"]
                        .as_array()
                        .is_some_and(|m| m.iter().filter(|m| m["role"] == "tool").count() == 1) =>
            {
                Reply::tool_call("gcal_create_calendar", json!({"summary": "Kids"}))
            }
            _ => Reply::text("Done."),
        }
    })
    .await;
    let setup = Setup::new(&ollama, "", "");
    let tools = FixtureTools::new(setup.catalog());
    let agent = setup.agent(tools.clone());
    let outcome = turn(&agent, "hello there").await;
    assert_eq!(outcome.reply, "Done.");
    let requests = ollama.chat_requests();
    assert_eq!(
        names(&requests[0]),
        ["find_tools"],
        "small talk offers no catalog tools"
    );
    let second = names(&requests[1]);
    assert!(
        second.contains(&"gcal_create_calendar".to_owned()),
        "{second:?}"
    );
    assert_eq!(second[0], "find_tools", "the list grows at its end");
    let found = requests[1]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(found.contains("gcal_create_calendar"), "{found}");
    assert_eq!(*tools.calls.lock(), ["gcal_create_calendar"]);
}

/// A follow-up that only makes sense after the previous turn keeps that turn's tools, in the
/// same order at the start of the list, so the model server can reuse its prompt cache.
#[tokio::test]
async fn a_follow_up_keeps_its_tools() {
    let ollama = FakeOllama::start(|_: &Value| Reply::text("Thursday: standup.")).await;
    let setup = Setup::new(&ollama, "", "");
    let agent = setup.agent(FixtureTools::new(setup.catalog()));
    turn(&agent, "whats on thurs").await;
    turn(&agent, "and friday?").await;
    turn(&agent, "thanks!").await;
    let requests = ollama.chat_requests();
    let first = names(&requests[0]);
    assert!(first.contains(&"gcal_list_events".to_owned()), "{first:?}");
    for later in &requests[1..] {
        let later = names(later);
        assert_eq!(
            later[..first.len()],
            first[..],
            "the earlier tools keep their places"
        );
    }
}

/// A tool the model calls without it being offered is still run, and offered from then on.
/// (Ollama's own parser drops such a call; servers like vLLM pass it on.)
#[tokio::test]
async fn a_called_tool_stays_offered() {
    let ollama = FakeOllama::start(|request: &Value| match last_role(request).as_str() {
        "user"
            if request["messages"]
                .as_array()
                .is_some_and(|m| m.iter().filter(|m| m["role"] == "user").count() == 1) =>
        {
            Reply::tool_call("notion_list_users", json!({}))
        }
        _ => Reply::text("ok"),
    })
    .await;
    ollama.pass_every_call();
    let setup = Setup::new(&ollama, "", "");
    let tools = FixtureTools::new(setup.catalog());
    let agent = setup.agent(tools.clone());
    turn(&agent, "whats on thurs").await;
    turn(&agent, "ok").await;
    assert_eq!(*tools.calls.lock(), ["notion_list_users"]);
    let requests = ollama.chat_requests();
    assert!(!names(&requests[0]).contains(&"notion_list_users".to_owned()));
    assert!(names(&requests[1]).contains(&"notion_list_users".to_owned()));
    assert!(names(requests.last().unwrap()).contains(&"notion_list_users".to_owned()));
}
