//! The engine on a recording platform: what a conversation does, checked once for every
//! platform.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::channels::pairing::Pairing;
use crate::channels::stream::{Body, ChatSurface};
use crate::config::{Config, ToolSelection};
use crate::llm::{ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError, ToolCall};
use crate::mcp::accounts::{AccountError, PendingMessage};
use crate::mcp::{Catalog, CatalogTool, ToolError, ToolHints, ToolHost, ToolOutput};

const WAIT: Duration = Duration::from_secs(10);

/// A room of the recording platform; room numbers above 100 are private chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Room(u64);

impl Chat for Room {
    fn key(&self) -> String {
        format!("room-{}", self.0)
    }

    fn is_private(&self) -> bool {
        self.0 > 100
    }

    fn parse(key: &str) -> Option<Self> {
        key.strip_prefix("room-")?.parse().ok().map(Self)
    }
}

/// What the platform was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Post {
        room: u64,
        text: String,
        buttons: Vec<Button>,
    },
    Edit {
        id: u64,
        text: String,
    },
    Settle {
        id: u64,
        text: String,
    },
    Answer {
        note: String,
        stale: bool,
    },
}

#[derive(Debug, Default)]
struct Log {
    calls: Mutex<Vec<Call>>,
    next_id: AtomicU64,
}

impl Log {
    fn push(&self, call: Call) -> u64 {
        self.calls.lock().push(call);
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().clone()
    }

    /// Every text shown in `room`, by posts and by edits of its messages.
    fn texts_in(&self, room: u64) -> Vec<String> {
        let calls = self.calls();
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for (id, call) in calls.iter().enumerate() {
            match call {
                Call::Post { room: r, text, .. } if *r == room => {
                    ids.push(id as u64);
                    texts.push(text.clone());
                }
                Call::Edit { id, text } | Call::Settle { id, text } if ids.contains(id) => {
                    texts.push(text.clone());
                }
                _ => {}
            }
        }
        texts
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) {
        let waited = tokio::time::timeout(WAIT, async {
            while !done(&self.calls()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "{what}: {:#?}", self.calls());
    }
}

#[derive(Debug, Clone)]
struct Surface {
    room: u64,
    log: Arc<Log>,
}

#[async_trait]
impl ChatSurface for Surface {
    type MessageId = u64;

    fn max_len(&self) -> usize {
        4000
    }

    fn counted(&self, body: Body<'_>) -> usize {
        let (Body::Plain(text) | Body::Formatted(text)) = body;
        text.chars().count()
    }

    fn format(&self, _plain: &str) -> Option<String> {
        None
    }

    async fn send(&self, body: Body<'_>) -> Result<u64, SurfaceError> {
        let (Body::Plain(text) | Body::Formatted(text)) = body;
        Ok(self.log.push(Call::Post {
            room: self.room,
            text: text.to_owned(),
            buttons: Vec::new(),
        }))
    }

    async fn edit(&self, id: &u64, body: Body<'_>) -> Result<(), SurfaceError> {
        let (Body::Plain(text) | Body::Formatted(text)) = body;
        self.log.push(Call::Edit {
            id: *id,
            text: text.to_owned(),
        });
        Ok(())
    }

    async fn typing(&self) -> Result<(), SurfaceError> {
        Ok(())
    }
}

/// A platform that records what it is asked to do, and refuses link buttons, or posts into
/// some rooms, when told to.
struct Recorder {
    log: Arc<Log>,
    refuse_links: bool,
    blocked_rooms: Vec<u64>,
}

#[async_trait]
impl Platform for Recorder {
    type Chat = Room;
    type Surface = Surface;
    type PressHandle = ();

    const NAMES: Names = Names::new("telegram", "Recorder", "private room", "shared room", '/');

    fn surface(&self, chat: &Room) -> Surface {
        Surface {
            room: chat.0,
            log: Arc::clone(&self.log),
        }
    }

    fn pace(&self, _chat: &Room) -> Pace {
        Pace::FREE
    }

    fn direct_chat(&self, principal: &Principal) -> Option<Room> {
        let id: u64 = principal.as_str().strip_prefix("telegram:")?.parse().ok()?;
        Some(Room(100 + id))
    }

    fn who(&self, principal: &Principal) -> String {
        format!("recorded {principal}")
    }

    fn how_to_reach_privately(&self) -> String {
        "Knock on my door and".to_owned()
    }

    async fn post(
        &self,
        surface: &Surface,
        text: &str,
        buttons: &[Button],
    ) -> Result<u64, SurfaceError> {
        if self.blocked_rooms.contains(&surface.room) {
            return Err(SurfaceError::Gone(
                "the person never opened this room".into(),
            ));
        }
        if self.refuse_links && buttons.iter().any(|b| matches!(b, Button::Link { .. })) {
            return Err(SurfaceError::FormatRejected("no link buttons here".into()));
        }
        Ok(self.log.push(Call::Post {
            room: surface.room,
            text: text.to_owned(),
            buttons: buttons.to_vec(),
        }))
    }

    async fn settle(
        &self,
        _surface: &Surface,
        message: &u64,
        text: &str,
    ) -> Result<(), SurfaceError> {
        self.log.push(Call::Settle {
            id: *message,
            text: text.to_owned(),
        });
        Ok(())
    }

    async fn answer_press(&self, _press: (), note: &str, stale: bool) {
        self.log.push(Call::Answer {
            note: note.to_owned(),
            stale,
        });
    }
}

/// A model that calls the tools it is told to, one a request, then answers with `reply`.
struct Model {
    calls: Mutex<VecDeque<(&'static str, Value)>>,
    reply: &'static str,
}

#[async_trait]
impl ChatModel for Model {
    async fn chat(
        &self,
        _request: &ChatRequest<'_>,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatOutcome, ModelError> {
        if let Some((name, arguments)) = self.calls.lock().pop_front() {
            return Ok(ChatOutcome {
                tool_calls: vec![ToolCall {
                    id: None,
                    name: name.into(),
                    arguments,
                }],
                ..ChatOutcome::default()
            });
        }
        on_delta(self.reply);
        Ok(ChatOutcome {
            content: self.reply.into(),
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
        "recorder"
    }

    fn context_tokens(&self) -> u32 {
        16_384
    }
}

/// One destructive tool, `files_delete`.
#[derive(Default)]
struct Tools {
    ran: Mutex<Vec<String>>,
}

#[async_trait]
impl ToolHost for Tools {
    async fn catalog(&self, _: &Principal) -> Catalog {
        Catalog {
            tools: vec![CatalogTool {
                server: "files".into(),
                tool: "delete".into(),
                qualified: "files_delete".into(),
                title: Some("Delete a file".into()),
                description: "Deletes a file.".into(),
                input_schema: Arc::new(
                    json!({"type": "object", "properties": {"name": {"type": "string"}}}),
                ),
                hints: ToolHints {
                    destructive: true,
                    ..ToolHints::default()
                },
            }],
            ..Catalog::default()
        }
    }

    async fn call(
        &self,
        _: &Principal,
        _: &str,
        tool: &str,
        _: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        self.ran.lock().push(tool.to_owned());
        Ok(ToolOutput {
            text: "deleted".into(),
            structured: None,
            is_error: false,
        })
    }
}

/// Account links that hand out one fixed link, on a page naming the person.
#[derive(Default)]
struct Links;

#[async_trait]
impl AccountLinks for Links {
    async fn connect_link(&self, _: &Principal, server: &str) -> Result<String, AccountError> {
        Ok(format!("https://auth.example/{server}"))
    }

    fn present_link(&self, url: &str, _server: &str, who: &str) -> String {
        format!("{url}?page-for={}", who.replace(' ', "-"))
    }

    async fn disconnect(
        &self,
        _: &Principal,
        _: &str,
    ) -> Result<crate::mcp::accounts::Disconnected, AccountError> {
        Ok(crate::mcp::accounts::Disconnected::default())
    }

    async fn connected(&self, _: &Principal) -> Result<Vec<String>, AccountError> {
        Ok(Vec::new())
    }
}

struct Setup {
    engine: Arc<Engine<Recorder>>,
    log: Arc<Log>,
    store: Store,
    tools: Arc<Tools>,
    _shutdown: CancellationToken,
}

struct Options {
    policy: Policy,
    allow: Vec<Principal>,
    admins: Vec<Principal>,
    admin_line: AdminLine,
    refuse_links: bool,
    blocked_rooms: Vec<u64>,
    calls: Vec<(&'static str, Value)>,
    reply: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::Open,
            allow: Vec::new(),
            admins: Vec::new(),
            admin_line: AdminLine::default(),
            refuse_links: false,
            blocked_rooms: Vec::new(),
            calls: Vec::new(),
            reply: "Hello there.",
        }
    }
}

fn setup(options: Options) -> Setup {
    let mut config = Config::parse("", std::path::Path::new("/tmp/engine.toml")).unwrap();
    config.agent.tool_selection = ToolSelection::All;
    let store = Store::open_in_memory().unwrap();
    let metrics = Metrics::unregistered();
    let tools = Arc::new(Tools::default());
    let model = Arc::new(Model {
        calls: Mutex::new(options.calls.into()),
        reply: options.reply,
    });
    let agent = Agent::new(
        model,
        Arc::clone(&tools) as Arc<dyn ToolHost>,
        store.clone(),
        config.agent,
        Vec::new(),
        metrics.clone(),
    )
    .unwrap();
    let log = Arc::new(Log::default());
    let shutdown = CancellationToken::new();
    let channel_options = ChannelOptions {
        stream: StreamConfig {
            settle: Duration::ZERO,
            edit_interval: Duration::from_millis(10),
            ..StreamConfig::default()
        },
        accounts: Some(Arc::new(Links)),
        ..ChannelOptions::default()
    };
    let engine = Engine::start(
        Recorder {
            log: Arc::clone(&log),
            refuse_links: options.refuse_links,
            blocked_rooms: options.blocked_rooms,
        },
        Admission {
            policy: options.policy,
            allow: options.allow,
            admins: options.admins,
            per_minute: 1000,
        },
        Shared {
            agent,
            store: store.clone(),
            metrics,
            servers: vec![ServerSummary {
                name: "notion".into(),
                oauth: true,
            }],
            admin_line: options.admin_line,
            status_screen: Some(Arc::new(|| {
                Box::pin(async { "OPERATOR SCREEN: 2 paired, 1 pending".to_owned() })
            })),
        },
        &channel_options,
        &shutdown,
    );
    Setup {
        engine,
        log,
        store,
        tools,
        _shutdown: shutdown,
    }
}

fn person(id: u64) -> Sender {
    Sender {
        principal: Principal::telegram(id),
        id: id.to_string(),
        display: format!("person {id}"),
        who: format!("person number {id}"),
    }
}

impl Setup {
    fn say(&self, room: u64, from: u64, text: &str) {
        let surface = self.engine.platform().surface(&Room(room));
        self.engine.dispatch(Event::Message(Incoming {
            chat: Room(room),
            surface,
            sender: person(from),
            command: commands::parse(text, None),
            text: Some(text.to_owned()),
        }));
    }

    fn press(&self, from: u64, data: &str) {
        self.engine.dispatch(Event::Press(Press {
            principal: Principal::telegram(from),
            data: Some(data.to_owned()),
            handle: (),
        }));
    }

    async fn wait_for_text(&self, room: u64, what: &str) {
        let log = &self.log;
        log.wait_for(what, |_| {
            log.texts_in(room).iter().any(|t| t.contains(what))
        })
        .await;
    }
}

#[tokio::test]
async fn unknown_senders_get_a_code_until_approved() {
    let s = setup(Options {
        policy: Policy::Pairing,
        ..Options::default()
    });
    s.say(101, 1, "hello");
    s.wait_for_text(101, "give this code to its operator").await;
    let code = s
        .log
        .texts_in(101)
        .iter()
        .find_map(|t| {
            t.split("pairing approve ")
                .nth(1)
                .map(|c| c.lines().next().unwrap_or_default().to_owned())
        })
        .unwrap();
    Pairing::new(s.store.clone()).approve(&code).await.unwrap();
    s.say(101, 1, "hello again");
    s.wait_for_text(101, "Hello there.").await;
}

/// The pairing buttons (approve, deny) posted in `room`, with the message's id.
async fn pairing_buttons(s: &Setup, room: u64) -> (u64, String, String) {
    s.log
        .wait_for("a pairing request with buttons", |calls| {
            calls.iter().any(|c| matches!(c, Call::Post { room: r, buttons, .. } if *r == room && buttons.len() == 2))
        })
        .await;
    let calls = s.log.calls();
    calls
        .iter()
        .enumerate()
        .find_map(|(id, c)| match c {
            Call::Post {
                room: r, buttons, ..
            } if *r == room && buttons.len() == 2 => {
                let data: Vec<String> = buttons
                    .iter()
                    .filter_map(|b| match b {
                        Button::Callback { data, .. } => Some(data.clone()),
                        Button::Link { .. } => None,
                    })
                    .collect();
                Some((id as u64, data[0].clone(), data[1].clone()))
            }
            _ => None,
        })
        .unwrap()
}

fn admins_setup() -> Setup {
    setup(Options {
        policy: Policy::Pairing,
        admins: vec![Principal::telegram(8), Principal::telegram(9)],
        ..Options::default()
    })
}

/// `/status` shows an admin the operator's screen in their direct chat only; anyone else gets
/// what an unknown command gets, and the screen never reaches a group.
#[tokio::test]
async fn status_is_the_operators_screen_for_admins_in_private_only() {
    let s = setup(Options {
        admins: vec![Principal::telegram(8)],
        ..Options::default()
    });
    s.say(108, 8, "/status");
    s.wait_for_text(108, "OPERATOR SCREEN: 2 paired, 1 pending")
        .await;
    s.say(101, 1, "/status");
    s.wait_for_text(101, "I do not know the command /status.")
        .await;
    s.say(5, 8, "/status");
    s.wait_for_text(5, texts::STATUS_IN_PRIVATE).await;
    s.say(5, 1, "/status");
    s.wait_for_text(5, "I do not know the command /status.")
        .await;
    s.say(101, 1, "/connections");
    s.wait_for_text(101, "notion: ").await;
    for room in [101, 5] {
        assert!(
            !s.log
                .texts_in(room)
                .iter()
                .any(|t| t.contains("OPERATOR SCREEN")),
            "{:?}",
            s.log.texts_in(room)
        );
    }
}

#[tokio::test]
async fn admins_are_asked_and_one_tap_approves_for_everyone() {
    let s = admins_setup();
    s.say(101, 1, "hello");
    s.wait_for_text(101, "give this code to its operator").await;
    let (eight, approve, _) = pairing_buttons(&s, 108).await;
    let (nine, approve_nine, deny_nine) = pairing_buttons(&s, 109).await;
    assert_eq!(approve, approve_nine);
    let asked = s.log.texts_in(109);
    assert!(
        asked[0].contains("New pairing request on Recorder: person number 1, code "),
        "{asked:?}"
    );

    // Someone who is not an admin cannot answer, even with the right data.
    s.press(1, &approve);
    s.log
        .wait_for("the note to a non-admin", |calls| {
            calls
                .iter()
                .any(|c| matches!(c, Call::Answer { note, .. } if note == texts::PAIRING_NOT_ADMIN))
        })
        .await;
    assert!(
        !Pairing::new(s.store.clone())
            .is_approved(&Principal::telegram(1))
            .await
            .unwrap()
    );

    s.press(9, &approve_nine);
    s.wait_for_text(101, "An admin approved your request").await;
    for id in [eight, nine] {
        s.log
            .wait_for("every copy settled", |calls| {
                calls.iter().any(|c| matches!(c, Call::Settle { id: i, text } if *i == id && text.ends_with("Approved by recorded telegram:9.")))
            })
            .await;
    }
    assert!(
        Pairing::new(s.store.clone())
            .is_approved(&Principal::telegram(1))
            .await
            .unwrap()
    );
    s.say(101, 1, "hello again");
    s.wait_for_text(101, "Hello there.").await;

    // A late or replayed tap changes nothing and takes its buttons away.
    s.press(8, &deny_nine);
    s.log
        .wait_for("the stale note", |calls| {
            calls.iter().any(
                |c| matches!(c, Call::Answer { note, stale: true } if note == texts::PAIRING_GONE),
            )
        })
        .await;
    assert!(
        Pairing::new(s.store.clone())
            .is_approved(&Principal::telegram(1))
            .await
            .unwrap()
    );
    assert_eq!(
        s.log
            .texts_in(101)
            .iter()
            .filter(|t| t.contains("declined"))
            .count(),
        0
    );
}

#[tokio::test]
async fn the_admin_line_reaches_each_admin_in_their_direct_chat() {
    let line = AdminLine::default();
    let s = setup(Options {
        policy: Policy::Pairing,
        admins: vec![Principal::telegram(8), Principal::telegram(9)],
        admin_line: line.clone(),
        ..Options::default()
    });
    assert_eq!(line.tell("FIRING: GatewayDown"), 2);
    s.wait_for_text(108, "FIRING: GatewayDown").await;
    s.wait_for_text(109, "FIRING: GatewayDown").await;
    drop(s);
    assert_eq!(line.tell("nobody is left"), 0);
}

#[tokio::test]
async fn a_declined_sender_is_told_and_asks_no_more_for_a_while() {
    let s = admins_setup();
    s.say(101, 1, "hello");
    let (_, _, deny) = pairing_buttons(&s, 109).await;
    s.press(9, &deny);
    s.wait_for_text(101, texts::PAIRING_DECLINED).await;
    s.wait_for_text(109, "Declined by recorded telegram:9.")
        .await;
    assert!(
        Pairing::new(s.store.clone())
            .pending()
            .await
            .unwrap()
            .is_empty()
    );
    let before = s.log.calls().len();
    s.say(101, 1, "please");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.log.calls().len(), before, "{:#?}", s.log.calls());

    // Admins always talk, whatever the policy.
    s.say(108, 8, "hi");
    s.wait_for_text(108, "Hello there.").await;
}

#[tokio::test]
async fn a_request_answered_with_the_cli_leaves_the_buttons_harmless() {
    let s = admins_setup();
    s.say(101, 1, "hello");
    let (_, approve, _) = pairing_buttons(&s, 109).await;
    let code = admins::parse_callback(&approve).unwrap().0;
    Pairing::new(s.store.clone()).approve(&code).await.unwrap();
    s.press(9, &approve);
    s.wait_for_text(109, texts::PAIRING_GONE).await;
    s.wait_for_text(108, texts::PAIRING_GONE).await;
    assert!(!s.log.texts_in(101).iter().any(|t| t.contains("An admin")));
}

#[tokio::test]
async fn refused_senders_are_told_which_id_to_allow() {
    let s = setup(Options {
        policy: Policy::Allowlist,
        allow: vec![Principal::telegram(2)],
        ..Options::default()
    });
    s.say(107, 7, "hello");
    s.wait_for_text(107, "add your Recorder user id 7 to allow_from")
        .await;
    s.say(102, 2, "hello");
    s.wait_for_text(102, "Hello there.").await;
}

#[tokio::test]
async fn a_refused_link_button_becomes_a_link_in_the_text() {
    let s = setup(Options {
        refuse_links: true,
        ..Options::default()
    });
    s.say(101, 1, "/connect");
    s.wait_for_text(101, "https://auth.example/notion").await;
    let texts = s.log.texts_in(101);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("To connect your notion account")
                && t.ends_with("\nhttps://auth.example/notion?page-for=person-number-1")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_link_is_a_button_where_the_platform_shows_one() {
    let s = setup(Options::default());
    s.say(101, 1, "/connect notion");
    s.log
        .wait_for("a link button", |calls| {
            calls.iter().any(|c| {
                matches!(c, Call::Post { room: 101, buttons, .. } if buttons.iter().any(|b| matches!(b, Button::Link { url, .. } if url.starts_with("https://auth.example/notion?page-for="))))
            })
        })
        .await;
}

/// The confirmation question with its buttons' data, once asked in `room`.
async fn question(s: &Setup, room: u64) -> (String, String) {
    s.log
        .wait_for("a question with buttons", |calls| {
            calls
                .iter()
                .any(|c| matches!(c, Call::Post { room: r, buttons, .. } if *r == room && buttons.len() == 2))
        })
        .await;
    s.log
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::Post { buttons, .. } if buttons.len() == 2 => {
                let data: Vec<String> = buttons
                    .iter()
                    .filter_map(|b| match b {
                        Button::Callback { data, .. } => Some(data.clone()),
                        Button::Link { .. } => None,
                    })
                    .collect();
                Some((data[0].clone(), data[1].clone()))
            }
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn only_the_person_asked_answers_a_confirmation() {
    let s = setup(Options {
        calls: vec![("files_delete", json!({"name": "a.txt"}))],
        reply: "Deleted it.",
        ..Options::default()
    });
    s.say(5, 1, "delete a.txt");
    let (allow, _deny) = question(&s, 5).await;
    s.press(2, &allow);
    s.log
        .wait_for("the other person is told", |calls| {
            calls.contains(&Call::Answer {
                note: "Only the person who was asked can answer this.".into(),
                stale: false,
            })
        })
        .await;
    assert!(s.tools.ran.lock().is_empty());
    s.press(1, &allow);
    s.wait_for_text(5, "Deleted it.").await;
    assert_eq!(*s.tools.ran.lock(), vec!["delete".to_owned()]);
    let texts = s.log.texts_in(5);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Allow this action?") && t.ends_with("\n\nAllowed.")),
        "{texts:?}"
    );
    // A second press finds nothing waiting: it is stale.
    s.press(1, &allow);
    s.log
        .wait_for("the stale press is retired", |calls| {
            calls.contains(&Call::Answer {
                note: "This request has expired.".into(),
                stale: true,
            })
        })
        .await;
}

#[tokio::test]
async fn a_denied_action_is_not_done() {
    let s = setup(Options {
        calls: vec![("files_delete", json!({"name": "a.txt"}))],
        reply: "I left it alone.",
        ..Options::default()
    });
    s.say(5, 1, "delete a.txt");
    let (_allow, deny) = question(&s, 5).await;
    s.press(1, &deny);
    s.wait_for_text(5, "I left it alone.").await;
    assert!(s.tools.ran.lock().is_empty());
    s.wait_for_text(5, "Declined; not done.").await;
}

#[tokio::test]
async fn a_finished_connection_answers_the_waiting_message_in_its_chat() {
    let s = setup(Options {
        reply: "Your pages: none.",
        ..Options::default()
    });
    s.engine.on_connected(ConnectedNotice {
        principal: Principal::telegram(1),
        server: "notion".into(),
        account: Some("Acme".into()),
        pending: Some(PendingMessage {
            chat: Room(7).key(),
            text: "list my pages".into(),
        }),
    });
    s.wait_for_text(7, "Your pages: none.").await;
    let texts = s.log.texts_in(7);
    assert_eq!(
        texts[0], "Connected your notion account as Acme.",
        "{texts:?}"
    );
    // Without a waiting message the person hears it in their direct chat.
    s.engine.on_connected(ConnectedNotice {
        principal: Principal::telegram(3),
        server: "notion".into(),
        account: None,
        pending: None,
    });
    s.wait_for_text(103, "Connected your notion account.").await;
    // Another platform's people are not this engine's business.
    s.engine.on_connected(ConnectedNotice {
        principal: Principal::slack("T1", "U1"),
        server: "notion".into(),
        account: None,
        pending: Some(PendingMessage {
            chat: Room(9).key(),
            text: "hi".into(),
        }),
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(s.log.texts_in(9).is_empty());
}

#[tokio::test]
async fn long_messages_are_cut_with_a_note() {
    let s = setup(Options::default());
    s.say(101, 1, &"word ".repeat(texts::MAX_INPUT_CHARS));
    s.wait_for_text(101, "Hello there.").await;
    assert!(s.log.texts_in(101)[0].starts_with("Your message was long"));
}

#[tokio::test]
async fn messages_without_text_are_noted_in_private_only() {
    let s = setup(Options::default());
    for room in [101, 5] {
        let surface = s.engine.platform().surface(&Room(room));
        s.engine.dispatch(Event::Message(Incoming {
            chat: Room(room),
            surface,
            sender: person(1),
            text: None,
            command: None,
        }));
    }
    s.wait_for_text(101, texts::TEXT_ONLY).await;
    s.say(5, 1, "/stop");
    s.wait_for_text(5, commands::NOTHING_TO_STOP).await;
    assert_eq!(
        s.log.texts_in(5),
        vec![commands::NOTHING_TO_STOP.to_owned()]
    );
}

#[tokio::test]
async fn a_link_asked_for_in_a_shared_chat_goes_to_the_private_one() {
    let s = setup(Options::default());
    s.say(5, 1, "/connect notion");
    s.wait_for_text(
        5,
        "I've sent you a link to connect notion in a private room.",
    )
    .await;
    s.log
        .wait_for("the link in the private room", |calls| {
            calls
                .iter()
                .any(|c| matches!(c, Call::Post { room: 101, buttons, .. } if !buttons.is_empty()))
        })
        .await;
    let shared = s.log.texts_in(5).join("\n");
    assert!(!shared.contains("https://"), "{shared}");
}

#[tokio::test]
async fn a_link_that_cannot_go_privately_is_not_posted_at_all() {
    let s = setup(Options {
        blocked_rooms: vec![101],
        ..Options::default()
    });
    s.say(5, 1, "/connect notion");
    s.wait_for_text(
        5,
        "I can't send you a private room, and a connect link must not be posted in a shared room. Knock on my door and send /connect notion there.",
    )
    .await;
    let calls = s.log.calls();
    assert!(
        calls.iter().all(|c| !matches!(c, Call::Post { text, buttons, .. } if text.contains("https://") || !buttons.is_empty())),
        "{calls:#?}"
    );
}
