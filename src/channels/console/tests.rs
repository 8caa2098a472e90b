//! The console as the schedule's outlet: a reminder made at the console is printed when it
//! falls due with no input in between, a task's answer is printed, what fell due while no
//! console ran is printed at start, and `/reminders` and `/timezone` answer. Time is driven by
//! a [`ManualClock`], not by waiting.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::registry::Registry;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use super::*;
use crate::config::{Config, ToolSelection};
use crate::llm::{ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError, Role, ToolCall};
use crate::mcp::{Catalog, ToolError, ToolHost, ToolOutput};
use crate::schedule::{Clock, ManualClock, Request, Schedule, Scheduler};
use crate::store::Store;
use crate::telemetry::metrics::Metrics;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn principal_uses_user_or_local() {
    assert_eq!(principal_from_env(Some("ann")), Principal::console("ann"));
    assert_eq!(principal_from_env(Some("")), Principal::console("local"));
    assert_eq!(principal_from_env(None), Principal::console("local"));
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// What the model saw on one request: the offered tool names and the last user message.
#[derive(Debug, Clone)]
struct Seen {
    tools: Vec<String>,
    user: String,
}

/// A model that schedules what it is asked to and answers a task's message; it records what
/// each request offered.
#[derive(Default)]
struct Model {
    seen: Mutex<Vec<Seen>>,
}

impl Model {
    fn call(name: &str, arguments: Value) -> ChatOutcome {
        ChatOutcome {
            tool_calls: vec![ToolCall {
                id: None,
                name: name.into(),
                arguments,
            }],
            ..ChatOutcome::default()
        }
    }
}

#[async_trait]
impl ChatModel for Model {
    async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        let user = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        self.seen.lock().push(Seen {
            tools: request.tools.iter().map(|t| t.name.clone()).collect(),
            user: user.clone(),
        });
        let after_tool = request
            .messages
            .last()
            .is_some_and(|m| m.role == Role::Tool);
        let answer = if after_tool {
            "Done."
        } else if user == "remind me at 09:00:30 to stretch" {
            return Ok(Self::call(
                "assistant_schedule",
                json!({"kind": "reminder", "text": "stretch", "at": "2026-05-01T09:00:30"}),
            ));
        } else if user == "at 09:01 tell me what is on today" {
            return Ok(Self::call(
                "assistant_schedule",
                json!({"kind": "task", "text": "what is on today", "at": "2026-05-01T09:01:00"}),
            ));
        } else if user == "what is on today" {
            "Today: nothing planned."
        } else {
            "ok"
        };
        on_delta(answer);
        Ok(ChatOutcome {
            content: answer.into(),
            ..ChatOutcome::default()
        })
    }

    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(Vec::new())
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Ok(Vec::new())
    }

    fn model_name(&self) -> &str {
        "scheduler"
    }

    fn context_tokens(&self) -> u32 {
        16_384
    }
}

/// No servers: the catalog holds only the gateway's own tools.
struct NoServers;

#[async_trait]
impl ToolHost for NoServers {
    async fn catalog(&self, _: &Principal) -> Catalog {
        Catalog::default()
    }

    async fn call(
        &self,
        _: &Principal,
        server: &str,
        _: &str,
        _: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        Err(ToolError::UnknownServer(server.to_owned()))
    }
}

/// Everything written to the console's output.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<String>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        self.0.lock().clone()
    }

    async fn wait_for(&self, needle: &str) {
        let shown = tokio::time::timeout(WAIT, async {
            while !self.text().contains(needle) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            shown.is_ok(),
            "no {needle:?} on the console:\n{}",
            self.text()
        );
    }
}

/// A schedule on a hand-driven clock at 09:00 Berlin time, its scheduler, and the console of
/// `console:ann` attached as its outlet.
struct Rig {
    clock: Arc<ManualClock>,
    schedule: Schedule,
    model: Arc<Model>,
    screen: Screen,
    input: tokio::io::DuplexStream,
    stop: CancellationToken,
    principal: Principal,
}

impl Rig {
    fn schedule(store: Store) -> (Arc<ManualClock>, Schedule) {
        let clock = Arc::new(ManualClock::new(utc("2026-05-01T07:00:00Z")));
        let schedule = Schedule::new(store, chrono_tz::Europe::Berlin, 50, clock.clone());
        (clock, schedule)
    }

    /// Starts the scheduler and the console over `schedule`.
    fn start(clock: Arc<ManualClock>, schedule: Schedule) -> Self {
        let mut config = Config::parse("", std::path::Path::new("/tmp/console.toml")).unwrap();
        config.agent.tool_selection = ToolSelection::All;
        let model = Arc::new(Model::default());
        let store = schedule.store().clone();
        let agent = Agent::new(
            Arc::clone(&model) as Arc<dyn ChatModel>,
            Arc::new(NoServers),
            store.clone(),
            config.agent,
            Vec::new(),
            Metrics::unregistered(),
        )
        .unwrap()
        .with_schedule(schedule.clone());
        let principal = Principal::console("ann");
        let console = Console {
            agent,
            commands: Commands::new(store, Vec::new(), None),
            principal: principal.clone(),
            interactive: false,
        };
        let (outlet, deliveries) = ConsoleOutlet::new();
        schedule.attach(CONSOLE_CHANNEL, Arc::new(outlet));
        let stop = CancellationToken::new();
        let scheduler = Scheduler::new(
            schedule.clone(),
            Duration::from_secs(3600),
            Metrics::new(&mut Registry::default()),
        );
        tokio::spawn(scheduler.run(stop.clone()));
        let (input, console_side) = tokio::io::duplex(4096);
        let screen = Screen::default();
        let output = Box::new(screen.clone());
        let inbox = Inbox {
            notices: None,
            deliveries: Some(deliveries),
        };
        tokio::spawn(async move {
            let _ = console
                .run(tokio::io::BufReader::new(console_side), output, inbox)
                .await;
        });
        Self {
            clock,
            schedule,
            model,
            screen,
            input,
            stop,
            principal,
        }
    }

    async fn type_line(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    /// Moves the clock on and lets the scheduler see it.
    async fn advance(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The console offers the schedule tools; a reminder it sets is printed at its second, with no
/// input in between, and not before.
#[tokio::test]
async fn a_reminder_made_at_the_console_is_printed_when_due_without_input() {
    let (clock, schedule) = Rig::schedule(Store::open_in_memory().unwrap());
    let mut rig = Rig::start(clock, schedule);
    rig.type_line("remind me at 09:00:30 to stretch").await;
    rig.screen.wait_for("Done.").await;
    let first = rig.model.seen.lock()[0].clone();
    for tool in [
        "assistant_schedule",
        "assistant_list_scheduled",
        "assistant_cancel_scheduled",
    ] {
        assert!(first.tools.contains(&tool.to_owned()), "{:?}", first.tools);
    }
    let listed = rig.schedule.list(Some(&rig.principal)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.chat, CONSOLE_CHAT);
    assert_eq!(listed[0].json()["next"], json!("2026-05-01T09:00:30+02:00"));

    rig.advance(29).await;
    assert!(
        !rig.screen.text().contains("Reminder"),
        "printed early:\n{}",
        rig.screen.text()
    );
    rig.advance(1).await;
    rig.screen.wait_for("⏰ Reminder: stretch\n").await;
    assert_eq!(rig.screen.text().matches("⏰ Reminder: stretch").count(), 1);
    assert!(
        rig.schedule.list(None).await.unwrap().is_empty(),
        "a one-off ends"
    );
}

/// A task set at the console runs a turn as the person when due, with their tools, and its
/// answer is printed under the task's text.
#[tokio::test]
async fn a_task_runs_a_turn_and_its_answer_is_printed() {
    let (clock, schedule) = Rig::schedule(Store::open_in_memory().unwrap());
    let mut rig = Rig::start(clock, schedule);
    rig.type_line("at 09:01 tell me what is on today").await;
    rig.screen.wait_for("Done.").await;
    rig.advance(60).await;
    rig.screen
        .wait_for("⏰ Scheduled task: what is on today\nToday: nothing planned.\n")
        .await;
    let seen = rig.model.seen.lock().clone();
    let task: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.user == "what is on today")
        .collect();
    assert_eq!(task.len(), 1, "one turn for the task: {seen:?}");
    assert!(
        task[0].tools.contains(&"assistant_schedule".to_owned()),
        "{:?}",
        task[0].tools
    );
    assert_eq!(
        rig.screen.text().matches("Scheduled task").count(),
        1,
        "{}",
        rig.screen.text()
    );
}

/// What fell due while no console ran is printed once when it starts, with when it was due;
/// another person's entry is not printed at this terminal.
#[tokio::test]
async fn what_fell_due_while_no_console_ran_is_printed_at_start() {
    let (clock, schedule) = Rig::schedule(Store::open_in_memory().unwrap());
    for (who, text) in [("ann", "water the plants"), ("bob", "not ann's")] {
        schedule
            .add(Request {
                principal: &Principal::console(who),
                chat: CONSOLE_CHAT,
                kind: "reminder",
                text,
                at: "2026-05-01T09:10:00",
                repeat: None,
            })
            .await
            .unwrap();
    }
    clock.set(utc("2026-05-01T09:00:00Z"));
    let rig = Rig::start(clock, schedule);
    rig.screen
        .wait_for("⏰ Reminder (due Fri 1 May 09:10): water the plants\n")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = rig.screen.text();
    assert_eq!(text.matches("water the plants").count(), 1, "{text}");
    assert!(!text.contains("not ann's"), "{text}");
    let waiting = rig.schedule.list(None).await.unwrap();
    assert_eq!(waiting.len(), 1, "bob's entry waits for his console");
    assert_eq!(waiting[0].entry.principal, Principal::console("bob"));
    let due = utc("2026-05-01T09:01:00Z");
    assert!(
        waiting[0].next >= Some(due),
        "tried again later: {:?}",
        waiting[0].next
    );
}

/// `/timezone` sets the console person's zone and `/reminders` lists their entries in it,
/// saying how to cancel one (the console has no buttons).
#[tokio::test]
async fn reminders_and_timezone_answer_at_the_console() {
    let (clock, schedule) = Rig::schedule(Store::open_in_memory().unwrap());
    let mut rig = Rig::start(clock, schedule);
    rig.type_line("/reminders").await;
    rig.screen.wait_for("You have no reminders").await;
    rig.type_line("/timezone Mars/Olympus").await;
    rig.type_line("/timezone Europe/Lisbon").await;
    rig.screen
        .wait_for("Your time zone is now Europe/Lisbon")
        .await;
    assert!(
        rig.screen.text().contains("Mars/Olympus"),
        "an unknown zone is named: {}",
        rig.screen.text()
    );
    rig.type_line("remind me at 09:00:30 to stretch").await;
    rig.screen.wait_for("Done.").await;
    rig.type_line("/reminders").await;
    rig.screen.wait_for("To cancel one, ask me").await;
    let text = rig.screen.text();
    assert!(text.contains("times in Europe/Lisbon"), "{text}");
    assert!(text.contains("reminder · stretch"), "{text}");
    assert_eq!(rig.clock.now(), utc("2026-05-01T07:00:00Z"));
}
