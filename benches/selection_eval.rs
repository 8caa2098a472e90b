//! Evaluation of per-turn tool selection over the Notion and Calendar catalogs in
//! `tests/fixtures/catalog/`.
//!
//! Messages come from two files. `tests/fixtures/selection/eval.json` is the tuning data: every
//! message there has been looked at while the selector was built. Its `split` field says where a
//! message came from: `tune` (the first tuning set), `seen` (a set once kept apart, then read
//! while tuning, so tuning data too), `new` (messages written for failure kinds found later:
//! unknown names, misspellings, links and numeric dates, one-server deployments, less common
//! tools, and general questions about dates, times, meetings, templates, notes and the assistant
//! that need no tool, with requests that look like them) and `heldout-1`: 163 messages written
//! apart from the selector by someone who had not read its code, scored once at commit 8e494e8
//! (tool recall 94.7 % with both servers and 95.4 % with one; no-tool precision 53.1 % and
//! 70.3 %; schema bytes 15.7 % and 24.2 % of all), then tuned on, so tuning data now too.
//! `heldout-2`: 200 messages (130 requests over both servers' tools, 70 that need no tool) kept
//! outside the project while the selector was tuned, scored once at commit 938588c (tool recall
//! 94.6 % with both servers), then added here, so tuning data now too; its misses were general
//! advice in the services' words, links to a page with a verb for a less common tool, creating
//! or listing calendars, and asking for today's date. `heldout-3`: 200 messages (130 requests,
//! 70 that need no tool) written by someone given only the two tool catalogs and the brief
//! "write what people type into a chat app", kept outside the project while the selector was
//! tuned and scored once at commit 514fcaa: tool recall 88.5 % with both servers and 90.8 % with
//! one (target 95 %), no-tool precision 81.4 % and 84.3 % (target 85 %). Then added here, so
//! tuning data now too. Its misses were calendars named by their title ("the Family calendar")
//! that need the calendar list; bare page, block and data source ids (32 hex digits or a UUID,
//! no link) with a verb for a less common tool; a pasted list of several events to add; people
//! looked up in Notion ("who is tomasz in notion"); lists and logs named by their title
//! ("reading list: add ...", "append to my daily log"); and general questions that merely name
//! the services or their things ("whats the difference between a page and a database in
//! notion", "can a google calendar event start in one time zone and end in another", "what
//! sections should a project kickoff page have"), which got tools. `heldout-5`: 200 messages
//! (65 for Notion, 55 for the Calendar, 20 for reminders, 60 that need no tool) written by
//! someone given only the three tool catalogs and the same brief, kept outside the project and
//! scored once at commit 72d7e24: tool recall 91.4 % with both servers and 90.6 % with one,
//! no-tool precision 88.3 % and 93.3 %. Then added here, so tuning data now too; two of its
//! labels gained `gcal_create_event` (the prompt carries today's date, so "dentist friday 3pm"
//! needs no clock first). Its misses were title words in a link's slug read as the request
//! ("Offsite-Planning"), a calendar title ending in a number, "stick this at the top of", the
//! workspace a connection uses, the assistant's own repeating summaries, a place named by its
//! title after "put it on the", and time zone conversions, product questions, "tldr this" and
//! recommendations, which got tools. `heldout-6`: 200 messages in the same mix, written the same
//! way by someone else again, kept outside the project and scored once at commit 672ee56: tool
//! recall 90.7 % with both servers and 91.2 % with one, no-tool precision 81.7 % and 86.7 %.
//! Then added here, so tuning data now too. Its misses were events named by their title with no
//! date (found by searching), one block of a linked page to change (its blocks read first), a
//! database view's link, limits and wording help, and the assistant's own messages.
//! `heldout-7`: 200 more in the same mix by a third writer, scored once at commit 0f1bbce: tool
//! recall 93.6 % with both servers and 92.5 % with one, no-tool precision 90.0 % and 91.7 %.
//! Then added here, so tuning data now too; `h5-198` gained `gcal_create_event` as the two
//! before. Its misses were "who is <id>", "set up" a database, renaming or wiping a linked page,
//! "remind me" after the text to be reminded of, "each monday" tasks, and wording help for a
//! message to someone, "5 ideas for" and names for a page, which got tools.
//!
//! `tests/fixtures/selection/heldout.json` (or the file named by `SELECT_EVAL_HELDOUT`) holds
//! messages written apart from the selector and never tuned on, in the same shape without
//! `split` (either `{"messages": [...]}` or a bare list); it is reported on its own lines. When it
//! is absent the bench says so. The file in the project is held-out split 8: 200 messages (65 for
//! Notion, 55 for the Calendar, 20 for reminders, 60 that need no tool) written by a fourth
//! writer given only the three tool catalogs and the brief "write what people type into a chat
//! app", scored once at commit 01c3654 (tool recall 95.7 % with both servers and 95.6 % with one,
//! no-tool precision 85.0 % and 89.2 %, schema bytes 12.5 % and 16.9 % of all) and added to the
//! project afterwards. Its misses must not be tuned on: a change to the selector is measured on
//! it as it stands, and a split that gets tuned on moves to `eval.json` with a new held-out
//! split written in its place.
//!
//! Every catalog holds the built-in `assistant_*` tools (reminders and scheduled tasks) after the
//! servers' tools, as `serve` builds a person's catalog; the messages for them (server
//! `assistant`, in `new`) are scored in every configuration.
//!
//! Every message is scored in two modes: with both servers configured, and with only its own
//! server configured (a message that needs no tool, or one for the built-in tools, is scored
//! against each server alone). Per
//! split and mode it prints tool recall (an acceptable first tool is among those offered), no-tool
//! precision (a message that needs no tool gets no catalog tool), and the mean offered schema bytes
//! as a share of offering every tool of that configuration.
//!
//! For the scripted conversations it runs real agent turns (the same code as the gateway, through
//! the shared harness of `tests/support/fixture_agent.rs`) against a scripted model that calls
//! the scripted tools (through `find_tools` when they are not offered), renders each model
//! request as Ollama does (tools before messages), and counts the bytes after the longest common
//! prefix with the previous request of the conversation: what a prefix cache cannot reuse, under
//! `"auto"` as a share of `"all"`. The single-server mode runs the conversations whose calls all
//! go to one server with only that server configured.
//!
//! Run: `cargo bench --bench selection_eval` (set `SELECT_EVAL_VERBOSE=1` to list every miss).

#[path = "../tests/support/fixture_agent.rs"]
mod fixture_agent;

use std::path::{Path, PathBuf};

use mcp_gateway::agent::select::{self, ToolSelector};
use mcp_gateway::config::ToolSelection;
use mcp_gateway::llm::{Role, ToolSpec};
use mcp_gateway::mcp::{Catalog, CatalogTool};
use serde::Deserialize;
use serde_json::{Value, json};

use fixture_agent::{
    Conversation, Request, SERVERS, Script, catalog, common_prefix, config, root,
    run_conversation_with, single_server,
};
use mcp_gateway::schedule::ASSISTANT;

/// The tuning file.
const TUNING_FILE: &str = "tests/fixtures/selection/eval.json";
/// The held-out file, unless `SELECT_EVAL_HELDOUT` names another.
const HELDOUT_FILE: &str = "tests/fixtures/selection/heldout.json";

#[derive(Debug, Deserialize)]
struct EvalSet {
    messages: Vec<EvalMessage>,
    conversations: Vec<Conversation>,
}

/// The held-out file: the messages alone, wrapped or not.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HeldOut {
    Wrapped { messages: Vec<EvalMessage> },
    Bare(Vec<EvalMessage>),
}

#[derive(Debug, Clone, Deserialize)]
struct EvalMessage {
    #[serde(default)]
    id: Option<Value>,
    text: String,
    /// The server the message is for; none when it needs no tool.
    #[serde(default)]
    server: Option<String>,
    /// The acceptable first tools; empty when it needs no tool.
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    split: Option<String>,
}

impl EvalMessage {
    /// Whether the message needs no tool.
    fn no_tool(&self) -> bool {
        self.tools.is_empty()
            || self
                .server
                .as_deref()
                .is_none_or(|s| s.is_empty() || s.eq_ignore_ascii_case("none"))
    }

    /// The server the message is for: its `server`, else the prefix of its first tool.
    fn home(&self) -> Option<String> {
        if self.no_tool() {
            return None;
        }
        self.server
            .clone()
            .filter(|s| SERVERS.contains(&s.as_str()) || s == ASSISTANT)
            .or_else(|| {
                self.tools.iter().find_map(|t| {
                    SERVERS
                        .iter()
                        .find(|s| t.starts_with(&format!("{s}_")))
                        .map(|s| (*s).to_owned())
                })
            })
    }

    fn label(&self, index: usize) -> String {
        match &self.id {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("#{index}"),
        }
    }
}

/// The catalog of a person with `servers` configured, as `serve` builds it: the servers' tools,
/// then the built-in `assistant_*` tools.
fn catalog_for(servers: &[&str]) -> Catalog {
    let mut catalog = catalog(&config(servers, ToolSelection::Auto));
    catalog
        .tools
        .extend(mcp_gateway::schedule::tools::catalog());
    catalog
}

fn all_bytes(catalog: &Catalog) -> f64 {
    let specs: Vec<ToolSpec> = catalog.tools.iter().map(CatalogTool::spec).collect();
    select::schema_bytes(&specs) as f64
}

#[derive(Default, Clone, Copy)]
struct Tally {
    hits: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
    fn show(self) -> String {
        if self.total == 0 {
            return format!("{:>17}", "-");
        }
        format!(
            "{:5.1} % ({:>3}/{:<3})",
            100.0 * self.hits as f64 / self.total as f64,
            self.hits,
            self.total
        )
    }
}

/// The figures of one split in one mode.
#[derive(Default, Clone, Copy)]
struct Figures {
    recall: Tally,
    no_tool: Tally,
    share_sum: f64,
    cases: usize,
}

impl Figures {
    fn merge(&mut self, other: &Self) {
        self.recall.hits += other.recall.hits;
        self.recall.total += other.recall.total;
        self.no_tool.hits += other.no_tool.hits;
        self.no_tool.total += other.no_tool.total;
        self.share_sum += other.share_sum;
        self.cases += other.cases;
    }

    fn row(&self, label: &str, mode: &str) -> String {
        let share = if self.cases == 0 {
            format!("{:>7}", "-")
        } else {
            format!("{:5.1} %", 100.0 * self.share_sum / self.cases as f64)
        };
        format!(
            "  {label:<34} {mode:<7} {}  {}  {share}",
            self.recall.show(),
            self.no_tool.show()
        )
    }
}

/// One configuration to score messages against: its servers, catalog and selector.
struct Setup {
    servers: Vec<&'static str>,
    catalog: Catalog,
    selector: ToolSelector,
    all_bytes: f64,
}

impl Setup {
    fn new(servers: &[&'static str]) -> Self {
        let config = config(servers, ToolSelection::Auto);
        let catalog = catalog_for(servers);
        Self {
            servers: servers.to_vec(),
            selector: ToolSelector::new(&config.agent, &config.servers),
            all_bytes: all_bytes(&catalog),
            catalog,
        }
    }
}

/// Scores `m` under `setup`; adds to `figures`; returns whether it was right.
async fn score(
    m: &EvalMessage,
    key: &str,
    setup: &Setup,
    figures: &mut Figures,
) -> (bool, Vec<String>) {
    for earlier in &m.context {
        setup.selector.select(key, &setup.catalog, earlier).await;
    }
    let selection = setup.selector.select(key, &setup.catalog, &m.text).await;
    let names: Vec<String> = selection.names().into_iter().map(str::to_owned).collect();
    let hit = if m.no_tool() {
        let right = names.is_empty();
        figures.no_tool.add(right);
        right
    } else {
        let right = m.tools.iter().any(|t| names.contains(t));
        figures.recall.add(right);
        right
    };
    let bytes = select::schema_bytes(&selection.specs(&setup.catalog)) as f64;
    figures.share_sum += bytes / setup.all_bytes;
    figures.cases += 1;
    (hit, names)
}

/// Scores `messages` in both modes: with both servers, and with each message's own server alone
/// (each server alone for messages that need no tool).
async fn evaluate(
    messages: &[(usize, &EvalMessage)],
    split: &str,
    both: &Setup,
    singles: &[Setup],
    verbose: bool,
) -> (Figures, Figures) {
    let (mut in_both, mut alone) = (Figures::default(), Figures::default());
    for &(i, m) in messages {
        let key = format!("both-{split}-{i}");
        let (hit, names) = score(m, &key, both, &mut in_both).await;
        if verbose && !hit {
            println!(
                "  miss [{split} {} both] {:?} expected {:?}, offered {:?}",
                m.label(i),
                m.text,
                m.tools,
                names
            );
        }
        for setup in singles {
            // The built-in tools are in every catalog: a message for them is scored against
            // each server alone, like one that needs no tool.
            let applies = match m.home() {
                Some(home) => home == ASSISTANT || setup.servers == [home.as_str()],
                None => true,
            };
            if !applies {
                continue;
            }
            let key = format!("single-{}-{split}-{i}", setup.servers.join("+"));
            let mut own = m.clone();
            own.tools.retain(|t| {
                setup
                    .servers
                    .iter()
                    .chain(std::iter::once(&ASSISTANT))
                    .any(|s| t.starts_with(&format!("{s}_")))
            });
            if !m.no_tool() && own.tools.is_empty() {
                continue;
            }
            let (hit, names) = score(&own, &key, setup, &mut alone).await;
            if verbose && !hit {
                println!(
                    "  miss [{split} {} {} alone] {:?} expected {:?}, offered {:?}",
                    m.label(i),
                    setup.servers.join("+"),
                    m.text,
                    own.tools,
                    names
                );
            }
        }
    }
    (in_both, alone)
}

/// Tool names of `messages` that no catalog has: mistakes in the file, reported, not fatal.
fn unknown_tools(messages: &[EvalMessage], catalog: &Catalog) -> Vec<String> {
    let mut out: Vec<String> = messages
        .iter()
        .flat_map(|m| m.tools.iter())
        .filter(|t| !catalog.tools.iter().any(|c| &c.qualified == *t))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the held-out messages, or says why there are none.
fn read_heldout(path: &Path) -> Result<Vec<EvalMessage>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "{} is absent: no held-out split is scored (put the held-out messages there, or name their file in SELECT_EVAL_HELDOUT)",
                path.display()
            ));
        }
        Err(e) => panic!("{} cannot be read: {e}", path.display()),
    };
    let parsed: HeldOut = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not a list of messages (each {{\"id\", \"text\", \"server\", \"tools\"}}), bare or under \"messages\": {e}",
            path.display()
        )
    });
    let mut messages = match parsed {
        HeldOut::Wrapped { messages } | HeldOut::Bare(messages) => messages,
    };
    // A tool named without its server's prefix ("search" for a Notion message) is that
    // server's tool.
    for m in &mut messages {
        let server = m.server.clone().filter(|s| SERVERS.contains(&s.as_str()));
        if let Some(server) = server {
            for tool in &mut m.tools {
                if !SERVERS.iter().any(|s| tool.starts_with(&format!("{s}_"))) {
                    *tool = format!("{server}_{tool}");
                }
            }
        }
    }
    Ok(messages)
}

async fn evaluate_messages(set: &EvalSet, heldout: &Path, verbose: bool) {
    let both = Setup::new(&SERVERS);
    let singles: Vec<Setup> = SERVERS.iter().map(|s| Setup::new(&[*s])).collect();
    let unknown = unknown_tools(&set.messages, &both.catalog);
    assert!(
        unknown.is_empty(),
        "{TUNING_FILE} names tools no catalog has: {unknown:?}"
    );
    println!(
        "messages: per split and mode; \"both\" has both servers configured, \"alone\" only the message's own server (messages that need no tool: each server alone)"
    );
    println!(
        "  {:<34} {:<7} {:>17}  {:>17}  {:>7}",
        "split", "mode", "tool recall", "no-tool precision", "schema"
    );
    let mut splits: Vec<String> = Vec::new();
    for m in &set.messages {
        let split = m.split.clone().unwrap_or_else(|| "tune".to_owned());
        if !splits.contains(&split) {
            splits.push(split);
        }
    }
    let (mut tuning_both, mut tuning_alone) = (Figures::default(), Figures::default());
    for split in &splits {
        let messages: Vec<(usize, &EvalMessage)> = set
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.split.as_deref().unwrap_or("tune") == split)
            .collect();
        let (b, a) = evaluate(&messages, split, &both, &singles, verbose).await;
        let label = format!("tuning: {split} ({})", messages.len());
        println!("{}", b.row(&label, "both"));
        println!("{}", a.row("", "alone"));
        tuning_both.merge(&b);
        tuning_alone.merge(&a);
    }
    let label = format!("tuning, all ({})", set.messages.len());
    println!("{}", tuning_both.row(&label, "both"));
    println!("{}", tuning_alone.row("", "alone"));
    match read_heldout(heldout) {
        Ok(messages) => {
            let unknown = unknown_tools(&messages, &both.catalog);
            if !unknown.is_empty() {
                println!("  note: the held-out file names tools no catalog has: {unknown:?}");
            }
            let indexed: Vec<(usize, &EvalMessage)> = messages.iter().enumerate().collect();
            let (b, a) = evaluate(&indexed, "held-out", &both, &singles, verbose).await;
            let label = format!("held-out ({})", messages.len());
            println!("{}", b.row(&label, "both"));
            println!("{}", a.row("", "alone"));
        }
        Err(note) => println!("  held-out: {note}"),
    }
    println!(
        "  targets: tool recall >= 97 % (tuning), >= 95 % (held-out) in both modes; no-tool precision >= 85 %; schema bytes <= 20 % of all"
    );
    println!(
        "  catalog, each with the built-in assistant tools: notion {:.0} bytes, gcal {:.0} bytes, both {:.0} bytes of schemas",
        singles[0].all_bytes, singles[1].all_bytes, both.all_bytes
    );
}

/// The request as Ollama lays it out: the tool list first, then the messages.
fn render(request: &Request) -> String {
    let mut out = String::new();
    for tool in &request.tools {
        out.push_str(&tool.to_wire().to_string());
        out.push('\n');
    }
    for m in &request.messages {
        let role = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        out.push_str(&format!("<|{role}|>\n{}\n", m.content));
        for call in &m.tool_calls {
            out.push_str(&json!({"name": call.name, "arguments": call.arguments}).to_string());
            out.push('\n');
        }
    }
    out
}

/// Runs one conversation with `servers` configured; returns the uncached bytes of each model
/// request and the script (how the scripted calls went).
async fn conversation_bytes(
    conversation: &Conversation,
    servers: &[&str],
    catalog: &Catalog,
    selection: ToolSelection,
) -> (Vec<usize>, Script) {
    let script =
        run_conversation_with(conversation, &config(servers, selection), catalog, true).await;
    let mut uncached = Vec::new();
    let mut previous = String::new();
    let verbose = std::env::var_os("SELECT_EVAL_VERBOSE").is_some();
    for request in &script.requests {
        let rendered = render(request);
        uncached.push(rendered.len() - common_prefix(&rendered, &previous));
        if verbose {
            let tools: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
            println!(
                "    {selection:?} {} bytes, {} uncached, tools {tools:?}",
                rendered.len(),
                uncached.last().copied().unwrap_or(0)
            );
        }
        previous = rendered;
    }
    (uncached, script)
}

async fn evaluate_conversations(set: &EvalSet) {
    println!("conversations: uncached prompt bytes, \"auto\" against \"all\"");
    println!(
        "  {:<26} {:<14} {:>5} {:>9} {:>9} {:>7} {:>12} {:>12}",
        "", "servers", "reqs", "auto B", "all B", "share", "auto B/req", "all B/req"
    );
    for mode in ["both", "alone"] {
        let (mut auto_total, mut all_total) = (0usize, 0usize);
        let (mut direct, mut searched, mut missed) = (0usize, 0usize, 0usize);
        let mut count = 0;
        for conversation in &set.conversations {
            let servers: Vec<&str> = match mode {
                "both" => SERVERS.to_vec(),
                _ => match single_server(conversation) {
                    Some(server) => vec![server],
                    None => continue,
                },
            };
            count += 1;
            // The agent adds the built-in tools itself, as `serve` does.
            let catalog = catalog(&config(&servers, ToolSelection::Auto));
            let (auto, script) =
                conversation_bytes(conversation, &servers, &catalog, ToolSelection::Auto).await;
            let (all, _) =
                conversation_bytes(conversation, &servers, &catalog, ToolSelection::All).await;
            direct += script.offered_at_need;
            searched += script.found_by_search;
            missed += script.missed;
            let a: usize = auto.iter().sum();
            let b: usize = all.iter().sum();
            auto_total += a;
            all_total += b;
            println!(
                "  {:<26} {:<14} {:>5} {:>9} {:>9} {:>6.1}% {:>12.0} {:>12.0}",
                conversation.name,
                servers.join("+"),
                auto.len(),
                a,
                b,
                100.0 * a as f64 / b.max(1) as f64,
                a as f64 / auto.len().max(1) as f64,
                b as f64 / all.len().max(1) as f64,
            );
        }
        println!(
            "  {mode}: {count} conversations, uncached prompt bytes auto {auto_total}, all {all_total}: {:.1} % of all  (target <= 50 %)",
            100.0 * auto_total as f64 / all_total.max(1) as f64
        );
        let calls = direct + searched + missed;
        println!(
            "  {mode}: scripted tool calls {calls}; offered when needed {direct}, found with find_tools {searched}, never offered {missed}"
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let verbose = std::env::var_os("SELECT_EVAL_VERBOSE").is_some();
    let set: EvalSet = serde_json::from_str(
        &std::fs::read_to_string(root().join(TUNING_FILE))
            .unwrap_or_else(|e| panic!("{TUNING_FILE} is not readable: {e}")),
    )
    .unwrap_or_else(|e| panic!("{TUNING_FILE} does not parse: {e}"));
    let heldout = std::env::var_os("SELECT_EVAL_HELDOUT")
        .map_or_else(|| root().join(HELDOUT_FILE), PathBuf::from);
    let config = config(&SERVERS, ToolSelection::Auto);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    println!(
        "catalog: {} tools; max_offered_tools = {}",
        catalog_for(&SERVERS).tools.len(),
        config.agent.max_offered_tools
    );
    runtime.block_on(async {
        evaluate_messages(&set, &heldout, verbose).await;
        evaluate_conversations(&set).await;
    });
}
