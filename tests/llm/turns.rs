//! Whole agent turns against the strict fake Ollama: one slot for several people, a context that
//! tool results would overflow, thinking, the qwen rendering of calls, swallowed calls and
//! replies cut short.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnOutcome, TurnSink};
use mcp_gateway::config::{Config, ModelConfig, Provider};
use mcp_gateway::llm::ChatModel;
use mcp_gateway::llm::ollama::OllamaClient;
use mcp_gateway::mcp::{Catalog, CatalogTool, ToolError, ToolHints, ToolHost, ToolOutput};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::fake_ollama::{FakeOllama, Reply, prompt};
use crate::model_config;

/// A sink that keeps what the agent told it.
#[derive(Default)]
struct Recorder {
    activities: Mutex<Vec<Activity>>,
    shown: Mutex<String>,
}

impl Recorder {
    fn queued(&self) -> Vec<usize> {
        self.activities
            .lock()
            .iter()
            .filter_map(|a| match a {
                Activity::Queued { place } => Some(*place),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl TurnSink for Recorder {
    fn progress(&self, text: &str) {
        *self.shown.lock() = text.to_owned();
    }
    async fn activity(&self, activity: Activity) {
        self.activities.lock().push(activity);
    }
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        true
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

/// A Notion-like server with one search tool whose every result is `result`.
struct Notes {
    result: String,
    calls: AtomicUsize,
}

impl Notes {
    fn new(result: String) -> Arc<Self> {
        Arc::new(Self {
            result,
            calls: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl ToolHost for Notes {
    async fn catalog(&self, _: &Principal) -> Catalog {
        Catalog {
            tools: vec![CatalogTool {
                server: "notion".into(),
                tool: "search".into(),
                qualified: "notion_search".into(),
                title: Some("Search pages".into()),
                description: "Search the person's Notion pages".into(),
                input_schema: json!({"type": "object",
                    "properties": {"query": {"type": "string", "description": "What to look for"}},
                    "required": ["query"]})
                .into(),
                hints: ToolHints {
                    read_only: true,
                    destructive: false,
                    idempotent: true,
                },
            }],
            ..Catalog::default()
        }
    }

    async fn call(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(ToolOutput {
            text: self.result.clone(),
            structured: None,
            is_error: false,
        })
    }
}

/// An agent on `fake` with its own store, the model configured as `model` says.
fn agent(
    fake: &FakeOllama,
    tools: Arc<dyn ToolHost>,
    model: impl FnOnce(&mut ModelConfig),
) -> (Agent, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let defaults = Config::parse("", &dir.path().join("gateway.toml")).expect("defaults");
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.num_ctx = 16384;
    model(&mut config);
    let client: Arc<dyn ChatModel> = Arc::new(OllamaClient::new(&config).expect("client"));
    let store = Store::open(&dir.path().join("gateway.db")).expect("store");
    let agent = Agent::new(
        client,
        tools,
        store,
        defaults.agent,
        Vec::new(),
        Metrics::unregistered(),
    )
    .expect("agent");
    (agent, dir)
}

async fn turn(agent: &Agent, who: &Principal, text: &str, sink: &Recorder) -> TurnOutcome {
    let input = TurnInput {
        principal: who,
        chat: "chat",
        text,
    };
    agent
        .run_turn(input, sink, &CancellationToken::new())
        .await
        .expect("the turn is answered")
}

fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn last_role(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["role"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Three people at once, one slot, a second per request and a first-byte limit that a request
/// waiting in Ollama's own queue would break: the gateway keeps the queue itself, so every
/// request's first output comes in time; all three are answered, and the two who wait are told
/// their place.
#[tokio::test]
async fn three_people_at_once_share_one_slot() {
    let fake =
        FakeOllama::start(|request| Reply::text(&format!("Hi {}", last_user_text(request)))).await;
    fake.set_request_time(Duration::from_secs(1));
    let (agent, _dir) = agent(&fake, Notes::new(String::new()), |m| {
        m.first_byte_timeout = Duration::from_millis(2500);
        m.queue_notice = Duration::from_millis(400);
    });
    let people = ["ann", "bob", "cid"];
    let turns = people.map(|name| {
        let agent = agent.clone();
        tokio::spawn(async move {
            let sink = Recorder::default();
            let outcome = turn(&agent, &Principal::console(name), name, &sink).await;
            (outcome, sink.queued())
        })
    });
    let mut told = Vec::new();
    for (name, task) in people.iter().zip(turns) {
        let (outcome, queued) = task.await.expect("turn task");
        assert_eq!(outcome.reply, format!("Hi {name}"));
        told.extend(queued);
    }
    told.sort_unstable();
    assert_eq!(told, [1, 2], "the second and third were told their places");
    assert_eq!(fake.most_at_once(), 1);
    assert_eq!(
        fake.most_waiting(),
        0,
        "no request waited at the server without a byte of answer"
    );
}

/// Notion-like search results: ids, dates and links, about `chars` characters.
fn search_result(chars: usize) -> String {
    let mut out = String::from("{\"results\":[");
    let mut n = 0;
    while out.len() < chars {
        out.push_str(&format!(
            "{{\"id\":\"{n:08x}-2cf9-4fdf-8782-e53db2{n:06}\",\"title\":\"Trip notes {n}\",\"last_edited\":\"2026-11-{:02}T09:30:00Z\",\"url\":\"https://www.notion.so/Trip-notes-{n}-{n:08x}2cf94fdf8782e53db2{n:06}\"}},",
            n % 28 + 1
        ));
        n += 1;
    }
    out.truncate(chars);
    out
}

/// A turn whose one round brings four 16,000-character results: on their own they would be
/// more than the 16,384-token context, which Ollama makes room for by dropping the question.
/// The gateway cuts the results to fit, with a note, so the model still sees the question and
/// its own calls.
#[tokio::test]
async fn four_big_tool_results_keep_the_question() {
    let question = "Which of my trip notes mention Lisbon?";
    let result = search_result(16_000);
    assert!(
        prompt::count_tokens(&result) * 4 > 16_384,
        "the results alone overflow the context"
    );
    let fake = FakeOllama::start(|request| match last_role(request).as_str() {
        "tool" => Reply::text("Two of them do."),
        _ => Reply::tool_calls(
            (1..=4)
                .map(|i| ("notion_search", json!({"query": format!("Lisbon {i}")})))
                .collect(),
        ),
    })
    .await;
    let notes = Notes::new(result);
    let (agent, _dir) = agent(&fake, notes.clone(), |_| {});
    let sink = Recorder::default();
    let outcome = turn(&agent, &Principal::console("ann"), question, &sink).await;
    assert_eq!(outcome.reply, "Two of them do.");
    assert_eq!(notes.calls.load(Ordering::SeqCst), 4);
    let seen = fake.seen();
    let after_tools = &seen[1];
    assert_eq!(after_tools.dropped, 0, "nothing was dropped from the front");
    assert!(after_tools.tokens <= 16_384, "{}", after_tools.tokens);
    assert!(
        after_tools.prompt.contains(question),
        "the question is there"
    );
    assert!(
        after_tools
            .prompt
            .contains("{\"name\": \"notion_search\", \"arguments\": {\"query\":\"Lisbon 1\"}}"),
        "the first call is there"
    );
    assert_eq!(after_tools.prompt.matches("<tool_response>").count(), 4);
    assert!(
        after_tools
            .prompt
            .contains("so that everything fits the model's context")
    );
}

/// The worst a turn brings: every round eight calls, each with a 16,000-character result, until
/// the rounds run out. Before every request the whole prompt is fitted again, so the server
/// never drops a message from the front, and every request still holds the question and the
/// latest round's calls.
#[tokio::test]
async fn every_round_of_a_tool_heavy_turn_keeps_the_question() {
    let question = "Which of my trip notes mention Lisbon?";
    let rounds = AtomicUsize::new(0);
    let fake = FakeOllama::start(move |request| {
        if request.get("tools").is_none() {
            return Reply::text("Several of them do.");
        }
        let round = rounds.fetch_add(1, Ordering::SeqCst);
        Reply::tool_calls(
            (1..=8)
                .map(|i| {
                    (
                        "notion_search",
                        json!({"query": format!("Lisbon round {round} part {i}")}),
                    )
                })
                .collect(),
        )
    })
    .await;
    let notes = Notes::new(search_result(16_000));
    let (agent, _dir) = agent(&fake, notes.clone(), |_| {});
    let sink = Recorder::default();
    let outcome = turn(&agent, &Principal::console("ann"), question, &sink).await;
    assert_eq!(outcome.reply, "Several of them do.");
    let seen = fake.seen();
    assert!(seen.len() >= 4, "several rounds ran: {}", seen.len());
    assert!(notes.calls.load(Ordering::SeqCst) >= 24);
    for (n, request) in seen.iter().enumerate() {
        assert_eq!(
            request.dropped, 0,
            "request {n} lost messages from the front"
        );
        assert!(request.tokens <= 16_384, "request {n}: {}", request.tokens);
        assert!(
            request.prompt.contains(question),
            "request {n} lost the question"
        );
    }
    let last = &seen[seen.len() - 1];
    let latest_round = seen.len() - 2;
    assert!(
        last.prompt
            .contains(&format!("Lisbon round {latest_round} part 8")),
        "the latest round's calls are there"
    );
}

/// A thinking model (qwen3) is asked not to think, so it answers at once.
#[tokio::test]
async fn a_thinking_model_gets_think_false() {
    let fake =
        FakeOllama::start(|_| Reply::text("Paris.").with_thinking("Let me recall capitals.")).await;
    fake.set_models(vec!["qwen3:8b".into()]);
    fake.set_thinking_time(Duration::from_secs(5));
    let (agent, _dir) = agent(&fake, Notes::new(String::new()), |m| {
        m.name = "qwen3:8b".into();
    });
    let sink = Recorder::default();
    let outcome = turn(
        &agent,
        &Principal::console("ann"),
        "Capital of France?",
        &sink,
    )
    .await;
    assert_eq!(outcome.reply, "Paris.");
    assert_eq!(fake.chat_requests()[0]["think"], false);
    let seen = fake.seen();
    assert!(!seen[0].thought);
    assert!(seen[0].prompt.contains("Capital of France? /no_think"));
}

/// The request after a tool call carries the call: the model's text that came with it does
/// not hide it in the qwen template.
#[tokio::test]
async fn the_request_after_a_call_carries_the_call() {
    let fake = FakeOllama::start(|request| match last_role(request).as_str() {
        "tool" => Reply::text("You have one page about Lisbon."),
        _ => Reply::tool_call("notion_search", json!({"query": "Lisbon"}))
            .with_text("Let me look that up. "),
    })
    .await;
    let (agent, _dir) = agent(&fake, Notes::new("Lisbon trip".into()), |_| {});
    let sink = Recorder::default();
    let outcome = turn(&agent, &Principal::console("ann"), "Lisbon pages?", &sink).await;
    assert_eq!(
        outcome.reply,
        "Let me look that up.\n\nYou have one page about Lisbon."
    );
    let seen = fake.seen();
    assert!(
        seen[1].prompt.contains(
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"notion_search\", \"arguments\": {\"query\":\"Lisbon\"}}\n</tool_call><|im_end|>"
        ),
        "{}",
        seen[1].prompt
    );
    // The next turn's history carries it too.
    let _ = turn(&agent, &Principal::console("ann"), "Thanks!", &sink).await;
    assert!(
        fake.seen()[2]
            .prompt
            .contains("\"arguments\": {\"query\":\"Lisbon\"}")
    );
}

/// A call Ollama's parser swallows (here: without arguments) leaves an empty reply; the turn
/// asks again with a nudge, then for a plain answer without tools, and the person gets that.
#[tokio::test]
async fn a_swallowed_call_still_gives_an_answer() {
    let fake = FakeOllama::start(|request| {
        if request.get("tools").is_none() {
            Reply::text("I could not search just now; Lisbon is in your trip notes, I believe.")
        } else {
            Reply::generated("<tool_call>\n{\"name\": \"notion_search\"}\n</tool_call>")
        }
    })
    .await;
    let notes = Notes::new("Lisbon trip".into());
    let (agent, _dir) = agent(&fake, notes.clone(), |_| {});
    let sink = Recorder::default();
    let outcome = turn(&agent, &Principal::console("ann"), "Lisbon pages?", &sink).await;
    assert_eq!(
        outcome.reply,
        "I could not search just now; Lisbon is in your trip notes, I believe."
    );
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 3);
    assert!(last_user_text(&requests[1]).contains("came through empty"));
    assert!(requests[1].get("tools").is_some());
    assert!(requests[2].get("tools").is_none());
    assert_eq!(notes.calls.load(Ordering::SeqCst), 0);

    // When the nudge helps, the call goes through and the turn goes on as usual.
    let tries = AtomicUsize::new(0);
    fake.set_responder(move |request| match last_role(request).as_str() {
        "tool" => Reply::text("Found it."),
        _ if tries.fetch_add(1, Ordering::SeqCst) == 0 => Reply::generated(
            "<tool_call>\n{\"name\": \"notion_search\", \"arguments\": {\"query\": ",
        ),
        _ => Reply::tool_call("notion_search", json!({"query": "Lisbon"})),
    });
    let outcome = turn(&agent, &Principal::console("bob"), "Lisbon pages?", &sink).await;
    assert_eq!(outcome.reply, "Found it.");
    assert_eq!(notes.calls.load(Ordering::SeqCst), 1);

    // And when nothing helps, the person is told so rather than given nothing.
    fake.set_responder(|_| Reply::generated("<tool_call>\nthinking about it"));
    let outcome = turn(&agent, &Principal::console("cid"), "Lisbon pages?", &sink).await;
    assert!(
        outcome
            .reply
            .starts_with("Sorry, I could not put an answer together")
    );
}

/// A stream Ollama's repeat guard ended keeps its text, without the runaway, and says it was
/// cut; so does a reply that reached the length limit.
#[tokio::test]
async fn replies_cut_short_say_so() {
    let fake = FakeOllama::scripted(vec![
        Reply::repeating("Your meeting is at ", "nine ", 80),
        Reply::text("Here are the first items of a long list").with_done_reason("length"),
    ])
    .await;
    let (agent, _dir) = agent(&fake, Notes::new(String::new()), |_| {});
    let sink = Recorder::default();
    let outcome = turn(&agent, &Principal::console("ann"), "When is it?", &sink).await;
    assert_eq!(
        outcome.reply,
        "Your meeting is at nine\n\n(The model stopped before finishing this answer.)"
    );
    let outcome = turn(&agent, &Principal::console("ann"), "List them", &sink).await;
    assert_eq!(
        outcome.reply,
        "Here are the first items of a long list\n\n(This answer was cut off: it reached the model's length limit.)"
    );
}
