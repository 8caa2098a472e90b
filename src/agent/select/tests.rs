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

/// The configuration and catalog with only `server` of the fixtures configured.
fn setup_only(server: &str) -> (Config, Catalog) {
    let (mut config, mut catalog) = setup("");
    config.servers.retain(|s| s.name == server);
    catalog.tools.retain(|t| t.server == server);
    (config, catalog)
}

/// Both fixture servers when `only` is empty, else only that one.
fn setup_for(only: &str) -> (Config, Catalog) {
    if only.is_empty() {
        setup("")
    } else {
        setup_only(only)
    }
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
    assert!(index.query("book a flight to paris").elsewhere());
    assert!(!index.query("whats on thurs").elsewhere());
    assert!(!index.query("search for Bars Probe").elsewhere());
}

/// With only Notion configured, a request that names it offers its search tool even when what
/// it asks for is a name no catalog knows; small talk and other services still get nothing.
#[tokio::test]
async fn one_server_offers_its_search_for_unknown_names() {
    let (config, catalog) = setup_only("notion");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    assert!(
        selector.selects(&catalog),
        "30 tools are more than the default 12"
    );
    for (i, message) in [
        "search notion for Bars Probe",
        "search notion",
        "look up Bars Probe in notion",
        "search for Bars Probe",
        "notoin: Bars Probe",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("n{i}"), &catalog, message).await;
        assert!(
            offered.contains(&"notion_search".to_owned()),
            "{message:?}: {offered:?}"
        );
        assert!(offered.len() <= config.agent.max_offered_tools);
    }
    for (i, message) in [
        "hi",
        "thanks!",
        "whats the weather in berlin tomorrow",
        "how do i boil an egg",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("s{i}"), &catalog, message).await;
        assert!(offered.is_empty(), "{message:?}: {offered:?}");
    }
}

/// With only the Calendar configured, "calendar" still counts as evidence for it although every
/// one of its tools says "calendar", and its less common tools are ranked in.
#[tokio::test]
async fn one_calendar_server_hears_its_own_words() {
    let (config, catalog) = setup_only("gcal");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let offered = names(&selector, "a", &catalog, "which calendars do I have?").await;
    assert!(
        offered.contains(&"gcal_list_calendars".to_owned()),
        "{offered:?}"
    );
    let offered = names(&selector, "b", &catalog, "check my calendar").await;
    assert!(
        offered.contains(&"gcal_list_events".to_owned()),
        "{offered:?}"
    );
    let offered = names(&selector, "c", &catalog, "anything on 14/03?").await;
    assert!(
        offered.contains(&"gcal_list_events".to_owned()),
        "{offered:?}"
    );
}

/// Names the catalog cannot know do not count against a request; other services and other apps
/// do, unless a server is named; general questions do even when they name a server.
#[tokio::test]
async fn unknown_names_are_neutral_and_other_services_are_not() {
    let (config, catalog) = setup("");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let offered = names(&selector, "a", &catalog, "search for Bars Probe").await;
    assert!(offered.contains(&"notion_search".to_owned()), "{offered:?}");
    assert!(
        offered.contains(&"gcal_search_events".to_owned()),
        "both servers can search: {offered:?}"
    );
    let offered = names(
        &selector,
        "b",
        &catalog,
        "show me the tasks in my Projects database that are still open",
    )
    .await;
    assert!(
        offered.contains(&"notion_query_database".to_owned()),
        "{offered:?}"
    );
    for (i, message) in [
        "book me a flight to paris",
        "create a jira ticket for the login bug",
        "explain how database indexes work",
        "whats 17 times 23",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("x{i}"), &catalog, message).await;
        assert!(offered.is_empty(), "{message:?}: {offered:?}");
    }
    let offered = names(&selector, "y", &catalog, "how do I share a page in notion").await;
    assert!(offered.is_empty(), "a how-to question: {offered:?}");
    let offered = names(
        &selector,
        "z",
        &catalog,
        "open the Bars Probe page in notion",
    )
    .await;
    assert!(
        offered.iter().all(|n| n.starts_with("notion_")) && !offered.is_empty(),
        "a named server is asked for: {offered:?}"
    );
}

/// A server's name is evidence for that server only, and the evidence of things does not depend
/// on how many of the server's own tools share a word.
#[test]
fn server_evidence_does_not_fade_with_one_server() {
    let (config, catalog) = setup_only("gcal");
    let words: Vec<ServerWords> = config
        .servers
        .iter()
        .map(|s| ServerWords {
            name: s.name.clone(),
            keywords: s.keywords.clone(),
        })
        .collect();
    let index = Index::build(&catalog.tools, &words);
    let tuning = Tuning::default();
    let evidence = domain::evidence(&index.query("my calendar"), &index);
    assert!(evidence[0] >= tuning.server_floor, "{evidence:?}");
    let chosen = domain::decide(&index.query("gcal"), &index, &[], &[], &tuning);
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0].reason, domain::Reason::Named);
    let follow_up = domain::decide(
        &index.query("cancel it"),
        &index,
        &[],
        &["gcal".to_owned()],
        &tuning,
    );
    assert_eq!(
        follow_up.first().map(|c| c.reason),
        Some(domain::Reason::Continues)
    );
    assert!(domain::decide(&index.query("cancel it"), &index, &[], &[], &tuning).is_empty());
}

/// A configured keyword names its server as the server's name does.
#[tokio::test]
async fn keywords_name_their_server() {
    let (mut config, catalog) = setup("");
    for server in &mut config.servers {
        if server.name == "notion" {
            server.keywords = vec!["kb".into()];
        }
    }
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let offered = names(
        &selector,
        "a",
        &catalog,
        "anything in the kb about Bars Probe",
    )
    .await;
    assert!(offered.contains(&"notion_search".to_owned()), "{offered:?}");
    assert!(
        offered.iter().all(|n| n.starts_with("notion_")),
        "{offered:?}"
    );
}

/// Asking to be reminded, for something every morning, or for one's reminders offers the
/// gateway's own tools next to the Notion and Calendar ones; a follow-up that names none keeps
/// them.
#[tokio::test]
async fn reminder_requests_offer_the_assistant_tools() {
    let (config, mut catalog) = setup("");
    catalog.tools.extend(crate::schedule::tools::catalog());
    let selector = ToolSelector::new(&config.agent, &config.servers);
    for (i, message) in [
        "remind me at 5 to call the plumber",
        "every morning tell me what's on my calendar",
        "what reminders do I have",
        "set an alarm for 7am",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("s{i}"), &catalog, message).await;
        assert!(
            offered.contains(&"assistant_schedule".to_owned())
                && offered.contains(&"assistant_cancel_scheduled".to_owned()),
            "{message:?}: {offered:?}"
        );
    }
    let conversation = "s2";
    let offered = names(&selector, conversation, &catalog, "cancel the gym one").await;
    assert!(
        offered.contains(&"assistant_cancel_scheduled".to_owned()),
        "{offered:?}"
    );
    for (i, message) in [
        "whats on thurs",
        "set an alarm on my phone",
        "how do i remember to drink water",
        "tips for a daily schedule",
        "remind me what the eisenhower matrix is",
        "is it better to plan my day the night before or in the morning",
        "append to my daily log: called mom",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("n{i}"), &catalog, message).await;
        assert!(
            offered.iter().all(|n| !n.starts_with("assistant_")),
            "{message:?}: {offered:?}"
        );
    }
    let offered = names(
        &selector,
        "e",
        &catalog,
        "every friday at 4pm ask me what i got done",
    )
    .await;
    assert!(
        offered.contains(&"assistant_schedule".to_owned()),
        "{offered:?}"
    );
}

/// General questions that speak of the services' things get no tools, with one server or both,
/// while requests that look like them keep theirs.
#[tokio::test]
async fn general_questions_get_no_tools_and_look_alike_requests_do() {
    for only in ["", "gcal", "notion"] {
        let (config, catalog) = setup_for(only);
        let selector = ToolSelector::new(&config.agent, &config.servers);
        for (i, message) in [
            "3pm PST in CET?",
            "how many days from 2026-12-09 to 2027-03-01",
            "tips for running a 15 min standup that doesnt drag",
            "draft an agenda for a 1h kickoff with a new client",
            "how do i share my google calendar with my partner",
            "whats the difference between a notion database and a page",
            "do you keep my data or is it gone after the chat?",
        ]
        .into_iter()
        .enumerate()
        {
            let offered = names(&selector, &format!("g{i}"), &catalog, message).await;
            assert!(offered.is_empty(), "{only:?} {message:?}: {offered:?}");
        }
    }
    let (config, catalog) = setup_only("gcal");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    for (i, message) in [
        "schedule a call with marta.kowalski@gmail.com on 2026-12-09 at 14:00 for 45 min",
        "how many days until my vacation",
        "what's on my calendar at 3pm PST tomorrow",
    ]
    .into_iter()
    .enumerate()
    {
        let offered = names(&selector, &format!("r{i}"), &catalog, message).await;
        assert!(!offered.is_empty(), "{message:?}");
    }
}

/// Advice and what-is questions in the services' words get no tools; a page link with a verb for
/// a less common tool, a new calendar by name, and today's date get the tools they need.
#[tokio::test]
async fn advice_gets_nothing_and_less_common_requests_get_their_tools() {
    for only in ["", "gcal", "notion"] {
        let (config, catalog) = setup_for(only);
        let selector = ToolSelector::new(&config.agent, &config.servers);
        for (i, message) in [
            "how do most teams run their monthly planning meeting?",
            "whats timeboxing, is it worth trying",
            "best practices for keeping meeting notes short",
            "pros and cons of one shared calendar for the whole family",
            "write me an apology for missing the standup",
        ]
        .into_iter()
        .enumerate()
        {
            let offered = names(&selector, &format!("g{i}"), &catalog, message).await;
            assert!(offered.is_empty(), "{only:?} {message:?}: {offered:?}");
        }
    }
    for (only, message, wanted) in [
        (
            "gcal",
            "make a new calendar named 'Band practice'",
            "gcal_create_calendar",
        ),
        ("gcal", "what is the date today?", "gcal_get_current_time"),
        (
            "notion",
            "trash this one https://www.notion.so/Old-notes-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
            "notion_archive_page",
        ),
    ] {
        for config in ["", only] {
            let (config, catalog) = if config.is_empty() {
                setup("")
            } else {
                setup_only(config)
            };
            let selector = ToolSelector::new(&config.agent, &config.servers);
            let offered = names(&selector, "r", &catalog, message).await;
            assert!(
                offered.contains(&wanted.to_owned()),
                "{message:?}: {offered:?}"
            );
        }
    }
}

/// A later turn changes the set only for a tool clearly better than those offered, and then at
/// its end: "cancel it" brings the delete tool, "and book a new one" keeps the create tool it has.
#[tokio::test]
async fn later_turns_add_only_what_is_clearly_better() {
    for only in ["", "gcal"] {
        let (config, catalog) = setup_for(only);
        let selector = ToolSelector::new(&config.agent, &config.servers);
        let first = names(&selector, "a", &catalog, "when's my next dentist appt").await;
        assert!(first.contains(&"gcal_create_event".to_owned()), "{first:?}");
        let second = names(&selector, "a", &catalog, "cancel it").await;
        assert_eq!(second[..first.len()], first[..], "{only:?}");
        assert!(
            second.contains(&"gcal_delete_event".to_owned()),
            "{only:?} {second:?}"
        );
        let third = names(&selector, "a", &catalog, "and book a new one next tues 9am").await;
        assert_eq!(third, second, "{only:?}: the offered create tool serves");
    }
}

/// Runs `steps` as the turns of conversation `key`: each turn keeps the previous list as its
/// prefix, offers every tool of its second field and none of its third.
async fn run_turns(
    selector: &ToolSelector,
    key: &str,
    catalog: &Catalog,
    steps: &[(&str, &[&str], &[&str])],
) -> Vec<String> {
    let mut previous: Vec<String> = Vec::new();
    for (text, offered, not_offered) in steps {
        let now = names(selector, key, catalog, text).await;
        assert_eq!(
            now[..previous.len()],
            previous[..],
            "{text}: the list only grows"
        );
        for tool in *offered {
            assert!(now.contains(&(*tool).to_owned()), "{text}: {now:?}");
        }
        for tool in *not_offered {
            assert!(!now.contains(&(*tool).to_owned()), "{text}: {now:?}");
        }
        previous = now;
    }
    previous
}

/// On a later turn, a request for an action that no offered tool of the server does brings the
/// best tool for it (two when they act on different things, one when they do the same to the
/// same thing), so that the set changes once instead of through `find_tools`; "move ... to" a
/// time asks for a new time, not a new place.
#[tokio::test]
async fn later_turns_bring_an_action_no_offered_tool_does() {
    for only in ["", "gcal"] {
        let (config, catalog) = setup_for(only);
        let selector = ToolSelector::new(&config.agent, &config.servers);
        run_turns(
            &selector,
            "week",
            &catalog,
            &[
                ("when's my next dentist appt", &[], &["gcal_update_event"]),
                (
                    "move it to 4 on friday",
                    &["gcal_update_event"],
                    &["gcal_move_event"],
                ),
            ],
        )
        .await;
        let mut steps: Vec<(&str, &[&str], &[&str])> = vec![
            ("what calendars do i have", &[], &[]),
            (
                "delete the old project calendar",
                &["gcal_delete_calendar"],
                &["gcal_clear_calendar"],
            ),
        ];
        if only == "gcal" {
            steps.push((
                "and make a new one called side projects",
                &["gcal_create_calendar"],
                &[],
            ));
        }
        run_turns(&selector, "cals", &catalog, &steps).await;
    }
    let (config, catalog) = setup_only("notion");
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let marked = run_turns(
        &selector,
        "t",
        &catalog,
        &[
            ("show me my tasks that arent done", &[], &[]),
            ("mark the slides one as done", &["notion_update_page"], &[]),
        ],
    )
    .await;
    let added = names(&selector, "t", &catalog, "add a new task: book venue").await;
    assert_eq!(added, marked, "the offered create tool serves");
}

/// Each message gets the tool it needs first: a link's title slug is the page's words, not the
/// request's; a calendar title may end in a number; an event named by its title with no date is
/// searched for; one block of a linked page to change needs the page's blocks; a database
/// view's link points at the database and any other Notion link at a page; "who is <id>" asks
/// for a person; "set up" a database creates one; "remind me" after a dictated text and "each
/// monday" ask the assistant.
#[tokio::test]
async fn messages_get_the_tool_they_need_first() {
    let (config, mut catalog) = setup("");
    catalog.tools.extend(crate::schedule::tools::catalog());
    let selector = ToolSelector::new(&config.agent, &config.servers);
    let cases = [
        (
            "https://www.notion.so/acme/Offsite-Planning-d013082e9585fd47cfc45d36db4a20b6 summarize pls",
            "notion_get_page_content",
        ),
        ("delete the Soccer 2023 calendar", "gcal_list_calendars"),
        (
            "who's coming to the Q3 planning meeting and did they rsvp",
            "gcal_search_events",
        ),
        (
            "uncheck the first todo on https://www.notion.so/6d167ec46dff934ba5edcb4224cc9507",
            "notion_get_block_children",
        ),
        (
            "list everything in https://www.notion.so/3bdd2748f608b93d57de1de05326b126?v=185c8615512b60f53127c8127f91431b",
            "notion_query_database",
        ),
        (
            "who is 5da5081f-5d16-7f4b-1c08-097ffcad0143 in notion?",
            "notion_get_user",
        ),
        (
            "set up an Expenses database in https://www.notion.so/Finance-f7a6b5c4d3e24f1a0b9c8d7e6f5a4b3c",
            "notion_create_database",
        ),
        (
            "rename https://www.notion.so/Untitled-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d to 'Reading notes'",
            "notion_update_page",
        ),
        (
            "12/14 noon: renew passport. remind me",
            "assistant_schedule",
        ),
        (
            "each monday at 9 check my notion tasks due that week and send me a summary",
            "assistant_schedule",
        ),
    ];
    for (i, (text, tool)) in cases.iter().enumerate() {
        let offered = names(&selector, &i.to_string(), &catalog, text).await;
        assert!(offered.contains(&(*tool).to_owned()), "{text}: {offered:?}");
        if text.contains("Offsite-Planning") {
            assert!(
                offered.iter().all(|n| n.starts_with("notion_")),
                "{offered:?}"
            );
        }
    }
    let words = ServerWords {
        name: crate::schedule::ASSISTANT.to_owned(),
        keywords: crate::schedule::tools::KEYWORDS
            .iter()
            .map(|k| (*k).to_owned())
            .collect(),
    };
    let index = Index::build(&catalog.tools, &[words]);
    for text in [
        "every month on the 1st pay rent",
        "stop the morning summary",
    ] {
        let named = index.query(text).named;
        assert!(
            named.iter().any(|(s, _)| s == crate::schedule::ASSISTANT),
            "{text}"
        );
    }
}

#[test]
fn moving_to_a_time_is_rescheduling() {
    let (config, catalog) = setup("");
    let index = Index::build(&catalog.tools, &[]);
    let _ = config;
    for text in [
        "move the 2pm on friday to 4",
        "push standup to tomorrow",
        "can you shift my dentist appt to 3pm",
        "bump the review to next week",
    ] {
        let actions = index.query(text).actions;
        assert!(
            actions.contains(&"update") && !actions.contains(&"move"),
            "{text}: {actions:?}"
        );
    }
    assert!(
        index
            .query("move the offsite to the team calendar")
            .actions
            .contains(&"move"),
    );
}

/// A calendar named by its title brings the calendar list, a bare page id with a verb its
/// server's tools, a pasted list of dated items the tools that add events, and a person looked
/// up in Notion the users tool; questions that merely name the services get nothing.
#[tokio::test]
async fn titles_ids_lists_and_people_get_their_tools() {
    for (only, message, wanted) in [
        (
            "gcal",
            "what timezone is the Family calendar on?",
            "gcal_list_calendars",
        ),
        (
            "gcal",
            "is my Work cal busy friday at 3pm",
            "gcal_list_calendars",
        ),
        (
            "gcal",
            "delete the 'Old Uni Timetable' calendar",
            "gcal_list_calendars",
        ),
        (
            "notion",
            "set the due date on 5d2c8a1e-7f3b-4e9d-a6c0-1b2c3d4e5f60 to june 3",
            "notion_update_page",
        ),
        (
            "gcal",
            "add these: mon 9am standup, tue 2pm dentist, thu 11am haircut",
            "gcal_create_events",
        ),
        (
            "notion",
            "who is tomasz in notion, i need his user id",
            "notion_list_users",
        ),
    ] {
        for config in ["", only] {
            let (config, catalog) = if config.is_empty() {
                setup("")
            } else {
                setup_only(config)
            };
            let selector = ToolSelector::new(&config.agent, &config.servers);
            let offered = names(&selector, "r", &catalog, message).await;
            assert!(
                offered.contains(&wanted.to_owned()),
                "{message:?}: {offered:?}"
            );
        }
    }
    for only in ["", "gcal", "notion"] {
        let (config, catalog) = setup_for(only);
        let selector = ToolSelector::new(&config.agent, &config.servers);
        for (i, message) in [
            "is notion better than obsidian",
            "how does google calendar handle time zones",
            "can a google calendar event start in one time zone and end in another?",
            "whats the actual difference between a page and a database in notion",
            "what's on my calendar? no wait, how do i export it to a file",
        ]
        .into_iter()
        .enumerate()
        {
            let offered = names(&selector, &format!("g{i}"), &catalog, message).await;
            assert!(offered.is_empty(), "{only:?} {message:?}: {offered:?}");
        }
        let plain = names(&selector, "plain", &catalog, "whats on my calendar today").await;
        assert!(
            !plain.contains(&"gcal_list_calendars".to_owned()),
            "{only:?}: my calendar names no calendar by title: {plain:?}"
        );
    }
}

#[test]
fn a_tool_that_does_what_an_offered_one_does_is_told() {
    assert!(same_action("quick_add_event", "create_event"));
    assert!(!same_action("delete_event", "create_event"));
    assert!(!same_action("create_calendar", "create_event"));
    assert!(!same_action("create_event", "create_event"));
}
