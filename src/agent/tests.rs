//! Turn-loop tests with an in-process scripted model and tool host.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::Principal;
use crate::config::{Config, ToolSelection};
use crate::llm::{ChatOutcome, ChatRequest, DeltaSink, Message, ModelError, Role, ToolCall};
use crate::mcp::{Catalog, CatalogTool, ToolError, ToolHints, ToolOutput};

/// What the scripted model does on one request.
enum Step {
    Text(&'static str),
    Call(&'static str, Value),
    Fail(ModelError),
    Slow(Duration),
}

#[derive(Default)]
struct ScriptedModel {
    steps: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<(Vec<Message>, Vec<String>)>>,
    num_ctx: u32,
}

impl ScriptedModel {
    fn new(steps: Vec<Step>) -> Arc<Self> {
        Arc::new(Self {
            steps: Mutex::new(steps.into()),
            requests: Mutex::default(),
            num_ctx: 16384,
        })
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        self.requests.lock().push((
            request.messages.to_vec(),
            request.tools.iter().map(|t| t.name.clone()).collect(),
        ));
        let step = self.steps.lock().pop_front().unwrap_or(Step::Text("done"));
        match step {
            Step::Text(text) => {
                for piece in text.split_inclusive(' ') {
                    on_delta(piece);
                }
                Ok(ChatOutcome {
                    content: text.to_owned(),
                    ..ChatOutcome::default()
                })
            }
            Step::Call(name, arguments) => Ok(ChatOutcome {
                tool_calls: vec![ToolCall {
                    id: Some("call_1".into()),
                    name: name.into(),
                    arguments,
                }],
                ..ChatOutcome::default()
            }),
            Step::Fail(e) => Err(e),
            Step::Slow(d) => {
                on_delta("thinking ");
                tokio::time::sleep(d).await;
                Ok(ChatOutcome {
                    content: "late".into(),
                    ..ChatOutcome::default()
                })
            }
        }
    }
    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(Vec::new())
    }
    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Ok(vec!["m".into()])
    }
    fn model_name(&self) -> &str {
        "m"
    }
    fn context_tokens(&self) -> u32 {
        self.num_ctx
    }
}

#[derive(Default)]
struct FakeTools {
    calls: Mutex<Vec<(String, Map<String, Value>)>>,
}

fn tool(name: &str, destructive: bool) -> CatalogTool {
    CatalogTool {
        server: "t".into(),
        tool: name.into(),
        qualified: format!("t_{name}"),
        title: None,
        description: format!("{name} tool"),
        input_schema: json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}).into(),
        hints: ToolHints {
            destructive,
            ..ToolHints::default()
        },
    }
}

#[async_trait]
impl ToolHost for FakeTools {
    async fn catalog(&self, _: &Principal) -> Catalog {
        Catalog {
            tools: vec![
                tool("echo", false),
                tool("delete", true),
                tool("big", false),
            ],
            ..Catalog::default()
        }
    }
    async fn call(
        &self,
        _: &Principal,
        _: &str,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        self.calls.lock().push((tool.to_owned(), arguments.clone()));
        let text = match tool {
            "big" => "x".repeat(10 * 1024 * 1024),
            _ => format!(
                "echo: {}",
                arguments
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
        };
        Ok(ToolOutput {
            text,
            structured: None,
            is_error: false,
        })
    }
}

#[derive(Default)]
struct RecordingSink {
    progress: Mutex<Vec<String>>,
    confirm_answer: bool,
    confirms: Mutex<Vec<ConfirmRequest>>,
}

#[async_trait]
impl TurnSink for RecordingSink {
    fn progress(&self, text: &str) {
        self.progress.lock().push(text.to_owned());
    }
    async fn activity(&self, _: Activity) {}
    async fn confirm(&self, request: &ConfirmRequest) -> bool {
        self.confirms.lock().push(request.clone());
        self.confirm_answer
    }
    async fn connect_link(&self, _: &str, _: &str) {}
}

fn agent_with(
    model: Arc<ScriptedModel>,
    tools: Arc<FakeTools>,
    tweak: impl FnOnce(&mut Config),
) -> Agent {
    let mut config = Config::parse("", std::path::Path::new("/tmp/x.toml")).unwrap();
    config.agent.tool_selection = ToolSelection::All;
    tweak(&mut config);
    let store = crate::store::Store::open_in_memory().unwrap();
    Agent::new(
        model,
        tools,
        store,
        config.agent,
        config.servers,
        crate::telemetry::metrics::Metrics::unregistered(),
    )
    .unwrap()
}

fn input<'a>(p: &'a Principal, text: &'a str) -> TurnInput<'a> {
    TurnInput {
        principal: p,
        chat: "c",
        text,
    }
}

#[tokio::test]
async fn tool_round_trip_runs_the_tool_and_answers() {
    let model = ScriptedModel::new(vec![
        Step::Call("t_echo", json!({"message": "hi"})),
        Step::Text("It said hi."),
    ]);
    let tools = Arc::new(FakeTools::default());
    let agent = agent_with(model.clone(), tools.clone(), |_| {});
    let sink = RecordingSink::default();
    let p = Principal::console("a");
    let out = agent
        .run_turn(input(&p, "please echo"), &sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.reply, "It said hi.");
    assert_eq!(out.tool_calls, 1);
    assert_eq!(tools.calls.lock()[0].0, "echo");
    let requests = model.requests.lock().clone();
    assert!(requests[0].1.contains(&"t_echo".to_owned()));
    let tool_msg = requests[1].0.iter().find(|m| m.role == Role::Tool).unwrap();
    assert_eq!(tool_msg.content, "echo: hi");
    assert_eq!(tool_msg.tool_name.as_deref(), Some("t_echo"));
    let audit = agent.store().recent_tool_calls(&p, 5).await.unwrap();
    assert_eq!(audit[0].outcome, "ok");
    assert_ne!(audit[0].args_sha256, "hi");
    // The turn was stored: user, assistant call, tool result, final answer.
    assert_eq!(
        agent
            .store()
            .load_conversation(&p, "c")
            .await
            .unwrap()
            .messages
            .len(),
        4
    );
}

#[tokio::test]
async fn leaked_tool_call_text_is_run_and_never_shown() {
    let model = ScriptedModel::new(vec![
        Step::Text(
            "<tool_call> {\"name\": \"t_echo\", \"arguments\": {\"message\": \"x\"}} </tool_call>",
        ),
        Step::Text("Done."),
    ]);
    let tools = Arc::new(FakeTools::default());
    let agent = agent_with(model, tools.clone(), |_| {});
    let sink = RecordingSink::default();
    let p = Principal::console("a");
    let out = agent
        .run_turn(input(&p, "echo x"), &sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.reply, "Done.");
    assert_eq!(tools.calls.lock().len(), 1);
    assert!(
        sink.progress
            .lock()
            .iter()
            .all(|t| !t.contains("tool_call") && !t.contains('{'))
    );
}

#[tokio::test]
async fn invalid_arguments_go_back_to_the_model() {
    let model = ScriptedModel::new(vec![
        Step::Call("t_echo", json!({"msg": 1})),
        Step::Text("Sorry."),
    ]);
    let tools = Arc::new(FakeTools::default());
    let agent = agent_with(model.clone(), tools.clone(), |_| {});
    let p = Principal::console("a");
    agent
        .run_turn(
            input(&p, "echo"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(tools.calls.lock().is_empty());
    let requests = model.requests.lock().clone();
    let tool_msg = requests[1].0.iter().find(|m| m.role == Role::Tool).unwrap();
    assert!(
        tool_msg
            .content
            .contains("missing required argument `message`"),
        "{}",
        tool_msg.content
    );
}

#[tokio::test]
async fn destructive_tools_wait_for_confirmation() {
    for allow in [false, true] {
        let model = ScriptedModel::new(vec![
            Step::Call("t_delete", json!({"message": "page"})),
            Step::Text("ok"),
        ]);
        let tools = Arc::new(FakeTools::default());
        let agent = agent_with(model.clone(), tools.clone(), |_| {});
        let sink = RecordingSink {
            confirm_answer: allow,
            ..RecordingSink::default()
        };
        let p = Principal::console("a");
        agent
            .run_turn(input(&p, "delete it"), &sink, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(sink.confirms.lock().len(), 1);
        assert_eq!(sink.confirms.lock()[0].tool, "t_delete");
        assert_eq!(tools.calls.lock().len(), usize::from(allow));
        let audit = agent.store().recent_tool_calls(&p, 1).await.unwrap();
        assert_eq!(audit[0].outcome, if allow { "ok" } else { "denied" });
    }
}

#[tokio::test]
async fn huge_tool_results_are_bounded() {
    let model = ScriptedModel::new(vec![
        Step::Call("t_big", json!({"message": "m"})),
        Step::Text("ok"),
    ]);
    let agent = agent_with(model.clone(), Arc::new(FakeTools::default()), |c| {
        c.agent.max_tool_result_chars = 1000
    });
    let p = Principal::console("a");
    agent
        .run_turn(
            input(&p, "big"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let requests = model.requests.lock().clone();
    let tool_msg = requests[1].0.iter().find(|m| m.role == Role::Tool).unwrap();
    assert!(tool_msg.content.len() < 1400, "{}", tool_msg.content.len());
    assert!(tool_msg.content.contains("more characters were cut"));
}

#[tokio::test]
async fn model_down_gives_a_clear_reply_and_keeps_the_message() {
    let err = ModelError::Unreachable {
        url: "http://127.0.0.1:9".into(),
        reason: "refused".into(),
        ever_reached: true,
    };
    let model = ScriptedModel::new(vec![Step::Fail(err)]);
    let agent = agent_with(model, Arc::new(FakeTools::default()), |_| {});
    let p = Principal::console("a");
    let e = agent
        .run_turn(
            input(&p, "hello?"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        e.user_message().contains("not reachable"),
        "{}",
        e.user_message()
    );
    let conv = agent.store().load_conversation(&p, "c").await.unwrap();
    assert_eq!(conv.messages[0].message.content, "hello?");
}

#[tokio::test]
async fn the_last_round_offers_no_tools() {
    let steps = (0..10)
        .map(|_| Step::Call("t_echo", json!({"message": "again"})))
        .collect();
    let model = ScriptedModel::new(steps);
    let agent = agent_with(model.clone(), Arc::new(FakeTools::default()), |c| {
        c.agent.max_tool_rounds = 2
    });
    let p = Principal::console("a");
    let out = agent
        .run_turn(
            input(&p, "loop"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let requests = model.requests.lock().clone();
    assert_eq!(requests.len(), 3);
    assert!(requests[2].1.is_empty());
    assert_eq!(out.tool_calls, 2);
}

#[tokio::test]
async fn cancel_stops_a_slow_model_at_once() {
    let model = ScriptedModel::new(vec![Step::Slow(Duration::from_secs(30))]);
    let agent = agent_with(model, Arc::new(FakeTools::default()), |_| {});
    let p = Principal::console("a");
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c2.cancel();
    });
    let started = std::time::Instant::now();
    let out = agent
        .run_turn(input(&p, "slow"), &RecordingSink::default(), &cancel)
        .await
        .unwrap();
    assert_eq!(out.end, TurnEnd::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn deadline_ends_a_turn() {
    let model = ScriptedModel::new(vec![Step::Slow(Duration::from_secs(30))]);
    let agent = agent_with(model, Arc::new(FakeTools::default()), |c| {
        c.agent.turn_timeout = Duration::from_millis(100)
    });
    let p = Principal::console("a");
    let out = agent
        .run_turn(
            input(&p, "slow"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.end, TurnEnd::TimedOut);
    assert!(out.reply.contains("took too long"));
}

#[tokio::test]
async fn history_is_per_principal_and_compacted_when_full() {
    let mut steps = Vec::new();
    for _ in 0..12 {
        steps.push(Step::Text("A fairly long answer that takes up some room in the context window of this tiny model."));
    }
    steps.push(Step::Text("summary of earlier talk"));
    steps.push(Step::Text("final"));
    let model = Arc::new(ScriptedModel {
        steps: Mutex::new(steps.into()),
        requests: Mutex::default(),
        num_ctx: 600,
    });
    let agent = agent_with(model.clone(), Arc::new(FakeTools::default()), |c| {
        c.servers.clear()
    });
    let (a, b) = (Principal::telegram(1), Principal::telegram(2));
    agent
        .run_turn(
            input(&b, "secret of b"),
            &RecordingSink::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    for i in 0..12 {
        let text = format!("message number {i} with some padding words to fill the budget");
        agent
            .run_turn(
                input(&a, &text),
                &RecordingSink::default(),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
    }
    let requests = model.requests.lock().clone();
    for (msgs, _) in requests.iter() {
        let has_b = msgs.iter().any(|m| m.content.contains("secret of b"));
        let has_a = msgs.iter().any(|m| m.content.contains("message number"));
        assert!(
            !(has_a && has_b),
            "a request mixed two principals' histories"
        );
    }
    let conv = agent.store().load_conversation(&a, "c").await.unwrap();
    assert!(conv.summary.is_some(), "history should have been compacted");
    let last = &requests.last().unwrap().0;
    let total: usize = last.iter().map(|m| m.content.len()).sum();
    assert!(
        total < 600 * 4,
        "request stays within the context: {total} bytes"
    );
}

/// Records, when the reply is handed over, how many messages of the conversation are stored.
struct AnsweredSink {
    store: crate::store::Store,
    principal: Principal,
    answered: Mutex<Option<(String, usize)>>,
}

#[async_trait]
impl TurnSink for AnsweredSink {
    fn progress(&self, _: &str) {}
    async fn activity(&self, _: Activity) {}
    async fn confirm(&self, _: &ConfirmRequest) -> bool {
        false
    }
    async fn connect_link(&self, _: &str, _: &str) {}
    fn answered(&self, outcome: &TurnOutcome) {
        let principal = self.principal.clone();
        let stored = self
            .store
            .call_blocking(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM chat_messages WHERE principal = ?1",
                    [principal.as_str()],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .unwrap();
        *self.answered.lock() = Some((
            outcome.reply.clone(),
            usize::try_from(stored).unwrap_or_default(),
        ));
    }
}

/// The channel gets the reply before the turn is written to the database, so the person does
/// not wait for the disk; the turn is stored by the time `run_turn` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_is_handed_over_before_the_turn_is_stored() {
    let model = ScriptedModel::new(vec![Step::Text("Here you are.")]);
    let agent = agent_with(model, Arc::new(FakeTools::default()), |_| {});
    let p = Principal::console("a");
    let sink = AnsweredSink {
        store: agent.store().clone(),
        principal: p.clone(),
        answered: Mutex::new(None),
    };
    let out = agent
        .run_turn(input(&p, "hello"), &sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.reply, "Here you are.");
    assert_eq!(
        sink.answered.lock().clone(),
        Some(("Here you are.".to_owned(), 0))
    );
    let stored = agent.store().load_conversation(&p, "c").await.unwrap();
    assert_eq!(stored.messages.len(), 2);
}

/// Account links that are never asked for anything.
struct NoLinks;

#[async_trait]
impl AccountLinks for NoLinks {
    async fn connect_link(
        &self,
        _: &Principal,
        _: &str,
    ) -> Result<String, crate::mcp::accounts::AccountError> {
        Ok(String::new())
    }
    async fn disconnect(
        &self,
        _: &Principal,
        _: &str,
    ) -> Result<crate::mcp::accounts::Disconnected, crate::mcp::accounts::AccountError> {
        Ok(crate::mcp::accounts::Disconnected::default())
    }
    async fn connected(
        &self,
        _: &Principal,
    ) -> Result<Vec<String>, crate::mcp::accounts::AccountError> {
        Ok(Vec::new())
    }
}

/// Settings given to an agent that is already shared apply to the agent returned; the clone
/// made before keeps what it had.
#[test]
fn settings_apply_to_an_agent_already_shared() {
    let agent = agent_with(
        ScriptedModel::new(vec![]),
        Arc::new(FakeTools::default()),
        |_| {},
    );
    let earlier = agent.clone();
    let agent = agent.with_accounts(Arc::new(NoLinks));
    assert!(agent.accounts().is_some());
    assert!(earlier.accounts().is_none());
    let agent = agent.with_embed_model(Some("nomic-embed-text".into()));
    assert!(agent.accounts().is_some(), "earlier settings are kept");
}
