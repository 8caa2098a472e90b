//! Per-turn tool selection: which of the catalog's tools the model sees.
//!
//! A small local model does badly when offered dozens of tool schemas, and every schema costs
//! prefill time on every request. Under `tool_selection = "auto"`, when the catalog holds more than
//! `max_offered_tools` tools, [`ToolSelector::select`] reads the message and the conversation's
//! last messages into a query ([`index`]: chat vocabulary from [`lexicon`], spelling correction,
//! times and dates), decides which servers it asks for ([`domain`]: a server named, its things
//! spoken of, or something to find or add by a name the catalog cannot know), scores every tool
//! (BM25 over tool names, titles, descriptions, parameters, server names and keywords, optionally
//! with embedding similarity from [`embed`] when `[model].embed_name` is set), offers each chosen
//! server's core and best tools ([`rank`]), and merges the result into the conversation's sticky
//! set ([`sticky`]) so the list changes rarely and only at its end. Small talk, general questions
//! and requests for services the catalog does not have get no catalog tools.
//!
//! The model also gets `find_tools`, listed first: it searches the whole catalog by words and the
//! tools it finds are offered from the next request of the same turn on. `"all"` offers every tool
//! in catalog order. `mcp-gateway route` runs the same code for a first message.
//!
//! Sticky sets and the last messages of each conversation are kept in memory, bounded to
//! [`MAX_CONVERSATIONS`] conversations; after a restart a conversation starts a fresh set.

pub(crate) mod domain;
pub(crate) mod embed;
pub(crate) mod general;
pub(crate) mod index;
pub(crate) mod lexicon;
pub(crate) mod rank;
pub(crate) mod sticky;
pub(crate) mod text;

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use crate::config::{AgentConfig, ServerConfig, ToolSelection};
use crate::llm::{ChatModel, ToolSpec};
use crate::mcp::{Catalog, CatalogTool};
use crate::store::Store;

use embed::Embedder;
use index::{Index, ServerWords};
use rank::{Servers, Tuning};
use sticky::StickySets;

/// The name of the meta-tool that searches the catalog.
pub const FIND_TOOLS: &str = "find_tools";
/// The most conversations whose sticky sets are remembered.
pub const MAX_CONVERSATIONS: usize = 10_000;
/// A tool leaves a conversation's set after this many turns without being selected or called.
pub const KEEP_TURNS: u64 = 4;
/// The most tools one `find_tools` call returns.
pub const FIND_LIMIT: usize = 5;
/// How much an earlier message of the conversation counts, per message back.
const CONTEXT_DECAY: f32 = 0.5;
/// The weight of an embedding bonus per standard deviation above the mean similarity.
const EMBED_WEIGHT: f32 = 1.5;
/// How many standard deviations a similarity must stand out to count as evidence for a server.
const EMBED_EVIDENCE_SD: f32 = 3.0;

/// One offered catalog tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    /// Its qualified name (`notion_search`).
    pub name: String,
    /// Its score against the message (0 for tools kept from earlier turns or offered by `"all"`).
    pub score: f32,
    /// Whether it came along as a core tool of a chosen server.
    pub core: bool,
}

/// The tools offered for one turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Catalog tools, in the order they are offered.
    pub tools: Vec<Offered>,
    /// Whether `find_tools` is offered (first, before the catalog tools).
    pub find_tools: bool,
}

impl Selection {
    /// The tools exactly as sent to the model: `find_tools` first when offered, then the catalog
    /// tools in order.
    #[must_use]
    pub fn specs(&self, catalog: &Catalog) -> Vec<ToolSpec> {
        let mut specs = Vec::with_capacity(self.tools.len() + 1);
        if self.find_tools {
            specs.push(find_tools_spec());
        }
        specs.extend(self.tools.iter().filter_map(|o| {
            catalog
                .tools
                .iter()
                .find(|t| t.qualified == o.name)
                .map(CatalogTool::spec)
        }));
        specs
    }

    /// The names of the offered catalog tools.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|o| o.name.as_str()).collect()
    }
}

/// The bytes of the tools' wire JSON, as a measure of what they cost in the prompt.
#[must_use]
pub fn schema_bytes(specs: &[ToolSpec]) -> usize {
    specs.iter().map(ToolSpec::wire_len).sum()
}

/// The `find_tools` meta-tool.
#[must_use]
pub fn find_tools_spec() -> ToolSpec {
    ToolSpec {
        name: FIND_TOOLS.to_owned(),
        description: "Search all available tools by a few words when none of the offered tools fits the request (for example \"calendar events\" or \"notion page\"). The tools found can be called in your next step.".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "A few words describing what the tool should do."}
            },
            "required": ["query"]
        })
        .into(),
    }
}

/// What one `find_tools` call found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The tools found, best first: `(qualified name, description)`.
    pub tools: Vec<(String, String)>,
    /// Those that were not offered before and are offered from now on.
    pub added: Vec<String>,
}

impl Found {
    /// The text the model reads back.
    #[must_use]
    pub fn message(&self) -> String {
        if self.tools.is_empty() {
            return "No tool matches those words. Tell the person this cannot be done with the connected services.".to_owned();
        }
        let mut out = String::from("These tools can be called now:\n");
        for (name, description) in &self.tools {
            let line: String = description.chars().take(160).collect();
            out.push_str(&format!("- {name}: {line}\n"));
        }
        out
    }
}

/// The picks worth adding to a conversation's current set `current`. A first turn takes them
/// all. Later turns keep the prompt prefix stable: a server new to the conversation brings all
/// its picks, but a server already present adds only its best tools that stand out (scoring
/// [`LATER_TURN_MARGIN`] times above every tool of the server already offered and at least
/// [`LATER_TURN_RATIO`] of its top score, at most [`LATER_TURN_ADDITIONS`], none that does what
/// an offered tool does), or, when the message asks for an action that no offered tool of the
/// server does to the thing it speaks of ("move the 2pm to 4" with only reading tools offered),
/// the best tool doing it; the rest stay reachable through `find_tools`.
fn later_turn_additions(
    picks: &[rank::Pick],
    scores: &[index::Score],
    query: &index::Query,
    current: &[String],
    catalog: &Catalog,
) -> Vec<usize> {
    if current.is_empty() {
        return picks.iter().map(|p| p.index).collect();
    }
    // The best score among each server's tools already offered.
    let offered_best = |server: &str| {
        catalog
            .tools
            .iter()
            .zip(scores)
            .filter(|(t, _)| t.server == server && current.contains(&t.qualified))
            .map(|(_, s)| s.total())
            .fold(0.0_f32, f32::max)
    };
    let server_of = |i: usize| catalog.tools.get(i).map(|t| t.server.as_str());
    let present = |server: &str| {
        current.iter().any(|name| {
            catalog
                .tools
                .iter()
                .any(|t| t.qualified == *name && t.server == server)
        })
    };
    let asked = asked_additions(picks, query, current, catalog);
    let mut out = Vec::new();
    let mut added_per_server: Vec<(&str, usize)> = Vec::new();
    for pick in picks {
        let Some(server) = server_of(pick.index) else {
            continue;
        };
        if !present(server) {
            out.push(pick.index);
            continue;
        }
        let top = picks
            .iter()
            .filter(|p| server_of(p.index) == Some(server))
            .map(|p| p.score)
            .fold(0.0_f32, f32::max);
        let count = match added_per_server.iter_mut().find(|(s, _)| *s == server) {
            Some((_, c)) => c,
            None => {
                added_per_server.push((server, 0));
                match added_per_server.last_mut() {
                    Some((_, c)) => c,
                    None => continue,
                }
            }
        };
        // A tool that does what an offered one does ("quick_add_event" beside "create_event")
        // is not worth a change of the set.
        let served = catalog.tools.get(pick.index).is_some_and(|tool| {
            catalog.tools.iter().any(|other| {
                other.server == tool.server
                    && current.contains(&other.qualified)
                    && same_action(&tool.tool, &other.tool)
            })
        });
        let stands_out = pick.score > LATER_TURN_MARGIN * offered_best(server)
            && pick.score >= LATER_TURN_RATIO * top;
        if !served && (stands_out || asked.contains(&pick.index)) && *count < LATER_TURN_ADDITIONS {
            *count += 1;
            out.push(pick.index);
        }
    }
    out
}

/// The picks that do what the message asks to its thing ("move the 2pm to 4": update an event)
/// where no offered tool of their server does: per server, of the picks doing an asked action
/// on the thing the message speaks of most, the best, and the second best too unless it does
/// the same to the same thing. An offered tool doing the action serves the message unless the
/// message speaks more of the pick's thing than of the offered tool's ("make a new calendar"
/// beside `create_event`). Computed once per turn.
fn asked_additions(
    picks: &[rank::Pick],
    query: &index::Query,
    current: &[String],
    catalog: &Catalog,
) -> Vec<usize> {
    if query.actions.is_empty() {
        return Vec::new();
    }
    let does_asked = |tool: &CatalogTool| {
        tool_actions(&tool.tool)
            .iter()
            .any(|a| query.actions.contains(a))
    };
    let weight = |thing: &Option<String>| {
        thing.as_ref().map_or(0.0, |thing| {
            query
                .terms
                .iter()
                .filter(|t| t.term == *thing && t.kind == lexicon::Kind::Object)
                .map(|t| t.weight)
                .fold(0.0_f32, f32::max)
        })
    };
    // The offered tools doing an asked action, with their things.
    let offered: Vec<(&CatalogTool, Option<String>)> = catalog
        .tools
        .iter()
        .filter(|t| current.contains(&t.qualified) && does_asked(t))
        .map(|t| (t, tool_thing(&t.tool)))
        .collect();
    // The picks doing an asked action, with their things.
    let doing: Vec<(&rank::Pick, &CatalogTool, Option<String>)> = picks
        .iter()
        .filter_map(|p| catalog.tools.get(p.index).map(|t| (p, t)))
        .filter(|(_, t)| does_asked(t))
        .map(|(p, t)| (p, t, tool_thing(&t.tool)))
        .collect();
    let mut servers: Vec<&str> = Vec::new();
    for (_, tool, _) in &doing {
        if !servers.contains(&tool.server.as_str()) {
            servers.push(&tool.server);
        }
    }
    let mut out = Vec::new();
    for server in servers {
        let mut rivals: Vec<&(&rank::Pick, &CatalogTool, Option<String>)> = doing
            .iter()
            .filter(|(_, t, _)| t.server == server)
            .collect();
        let most = rivals
            .iter()
            .map(|(_, _, thing)| weight(thing))
            .fold(0.0_f32, f32::max);
        rivals.retain(|(_, _, thing)| weight(thing) >= most);
        rivals.sort_by(|a, b| {
            b.0.score
                .total_cmp(&a.0.score)
                .then(a.0.index.cmp(&b.0.index))
        });
        let best = rivals.first().map(|(_, tool, _)| tool.tool.as_str());
        for (rank, (pick, tool, thing)) in rivals.iter().take(LATER_TURN_ADDITIONS).enumerate() {
            let served = offered.iter().any(|(other, other_thing)| {
                other.server == tool.server
                    && (other_thing == thing || weight(other_thing) >= weight(thing))
            });
            let repeats = rank > 0 && best.is_some_and(|best| same_action(best, &tool.tool));
            if !served && !repeats {
                out.push(pick.index);
            }
        }
    }
    out
}

/// The servers with a tool among `current`, in catalog order.
fn present_servers(catalog: &Catalog, current: &[String]) -> Vec<String> {
    let mut present: Vec<String> = Vec::new();
    for tool in catalog
        .tools
        .iter()
        .filter(|t| current.contains(&t.qualified))
    {
        if !present.contains(&tool.server) {
            present.push(tool.server.clone());
        }
    }
    present
}

/// Whether tool names `a` and `b` (server-side) name the same action on the same thing: their
/// action words mean the same catalog action ("add", "create") and their other words end in the
/// same thing ("event").
fn same_action(a: &str, b: &str) -> bool {
    let (a_actions, b_actions) = (tool_actions(a), tool_actions(b));
    let (a_thing, b_thing) = (tool_thing(a), tool_thing(b));
    a != b
        && a_thing.is_some()
        && a_thing == b_thing
        && a_actions.iter().any(|x| b_actions.contains(x))
}

/// The catalog actions a tool's name (server-side) does: each action word's meaning
/// (`reschedule_event`: update).
fn tool_actions(name: &str) -> Vec<&'static str> {
    text::words(name)
        .iter()
        .filter_map(|w| {
            lexicon::expand(w)
                .find(|(_, kind, main)| *kind == lexicon::Kind::Action && *main)
                .map(|(target, _, _)| target)
        })
        .collect()
}

/// The thing a tool's name (server-side) acts on: its last word that is not an action, stemmed.
fn tool_thing(name: &str) -> Option<String> {
    text::words(name)
        .iter()
        .rev()
        .find(|w| {
            !lexicon::is_action(w) && !lexicon::catalog_action_words().any(|a| a == w.as_str())
        })
        .map(|w| text::stem(w))
}

/// On later turns, a tool of a server already in the set is added only when it scores at least
/// this share of the server's best tool.
const LATER_TURN_RATIO: f32 = 0.8;
/// On later turns, a tool of a server already in the set is added only when it scores above this
/// multiple of the best tool of the server already offered: a change of the set makes the model
/// server read the whole conversation again, worth it only for a tool that is clearly better.
const LATER_TURN_MARGIN: f32 = 1.6;
/// On later turns, at most this many tools of a server already in the set are added: a change
/// costs the same for one tool or two, and a second tool that stands out spares a later change.
const LATER_TURN_ADDITIONS: usize = 2;

/// Per-server settings that steer selection.
#[derive(Debug, Clone)]
struct ServerSettings {
    name: String,
    core_tools: Vec<String>,
    keywords: Vec<String>,
}

/// The gateway's own tools (reminders and scheduled tasks) as a server to select: all three
/// offered together, named by the words people use for them.
fn assistant_settings() -> ServerSettings {
    use crate::schedule::tools;
    ServerSettings {
        name: crate::schedule::ASSISTANT.to_owned(),
        core_tools: vec![
            tools::SCHEDULE.into(),
            tools::LIST.into(),
            tools::CANCEL.into(),
        ],
        keywords: tools::KEYWORDS.iter().map(|k| (*k).to_owned()).collect(),
    }
}

struct Inner {
    mode: ToolSelection,
    max_offered: usize,
    servers: Vec<ServerSettings>,
    tuning: Tuning,
    embedder: Option<Embedder>,
    sticky: Mutex<StickySets>,
}

/// Chooses the tools of each turn; cheap to clone, shared by every turn.
#[derive(Clone)]
pub struct ToolSelector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ToolSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSelector")
            .field("mode", &self.inner.mode)
            .field("max_offered", &self.inner.max_offered)
            .field(
                "embed_model",
                &self.inner.embedder.as_ref().map(Embedder::model_name),
            )
            .finish_non_exhaustive()
    }
}

impl ToolSelector {
    /// A lexical selector for the `[agent]` settings and `[[servers]]` (core tools, keywords).
    #[must_use]
    pub fn new(config: &AgentConfig, servers: &[ServerConfig]) -> Self {
        Self::build(config, servers, None)
    }

    /// A selector that also uses the embedding model `embed_name` on `model`'s server, caching
    /// tool vectors in `store` when given.
    #[must_use]
    pub fn with_embeddings(
        config: &AgentConfig,
        servers: &[ServerConfig],
        model: Arc<dyn ChatModel>,
        embed_name: String,
        store: Option<Store>,
    ) -> Self {
        Self::build(
            config,
            servers,
            Some(Embedder::new(model, embed_name, store)),
        )
    }

    fn build(config: &AgentConfig, servers: &[ServerConfig], embedder: Option<Embedder>) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode: config.tool_selection,
                max_offered: config.max_offered_tools.max(1),
                servers: servers
                    .iter()
                    .map(|s| ServerSettings {
                        name: s.name.clone(),
                        core_tools: s.core_tools.clone(),
                        keywords: s.keywords.clone(),
                    })
                    .chain(std::iter::once(assistant_settings()))
                    .collect(),
                tuning: Tuning::default(),
                embedder,
                sticky: Mutex::new(StickySets::new(MAX_CONVERSATIONS)),
            }),
        }
    }

    /// Whether turns over `catalog` select tools (as opposed to offering all of them).
    #[must_use]
    pub fn selects(&self, catalog: &Catalog) -> bool {
        self.inner.mode == ToolSelection::Auto
            && catalog.tools.len() > self.inner.max_offered
            && !catalog.tools.iter().any(|t| t.qualified == FIND_TOOLS)
    }

    /// The tools to offer for `message`, the newest message of `conversation` (any stable key,
    /// such as the principal and chat), and starts that conversation's next turn.
    pub async fn select(&self, conversation: &str, catalog: &Catalog, message: &str) -> Selection {
        if !self.selects(catalog) {
            return Selection {
                tools: catalog
                    .tools
                    .iter()
                    .map(|t| Offered {
                        name: t.qualified.clone(),
                        score: 0.0,
                        core: false,
                    })
                    .collect(),
                find_tools: false,
            };
        }
        let (recent, current) = {
            let sticky = self.inner.sticky.lock();
            (
                sticky.recent_messages(conversation),
                sticky.current(conversation),
            )
        };
        let index = self.index(catalog);
        let mut query = index.query(message);
        let mut factor = 1.0;
        for earlier in recent.iter().rev() {
            factor *= CONTEXT_DECAY;
            query.merge(&index.query(earlier), factor);
        }
        let mut scores = index.score(&query);
        // A tool whose embedding stands far out is evidence for its server.
        let mut embedded: Vec<(String, f32)> = Vec::new();
        if let Some(embedder) = &self.inner.embedder
            && let Some(similarities) = embedder.similarities(&catalog.tools, message).await
        {
            let bonuses = embed::bonuses(&similarities, EMBED_WEIGHT);
            let strong = EMBED_WEIGHT * (EMBED_EVIDENCE_SD - 1.0);
            for ((score, bonus), tool) in scores.iter_mut().zip(bonuses).zip(&catalog.tools) {
                score.action += bonus;
                if bonus >= strong {
                    match embedded.iter_mut().find(|(s, _)| *s == tool.server) {
                        Some((_, e)) => *e = e.max(bonus - strong),
                        None => embedded.push((tool.server.clone(), bonus - strong)),
                    }
                }
            }
        }
        let present = present_servers(catalog, &current);
        let chosen = domain::decide(&query, &index, &embedded, &present, &self.inner.tuning);
        let chosen: Vec<&str> = chosen.iter().map(|c| c.server.as_str()).collect();
        let picks = rank::pick(
            &scores,
            &self.servers(catalog),
            &chosen,
            &self.inner.tuning,
            self.inner.max_offered,
        );
        // A thing named by its title needs the tool that lists such things, within the
        // chosen servers.
        let mut picks = picks;
        for term in &query.lookups {
            for (i, tool) in catalog.tools.iter().enumerate() {
                if chosen.contains(&tool.server.as_str())
                    && index.holds(i, term)
                    && !picks.iter().any(|p| p.index == i)
                {
                    picks.push(rank::Pick {
                        index: i,
                        score: scores.get(i).map_or(0.0, |s| s.total()),
                        core: true,
                    });
                }
            }
        }
        let fresh = later_turn_additions(&picks, &scores, &query, &current, catalog);
        // A batch of new tools is added in catalog order, so equal selections give equal lists.
        let mut fresh: Vec<usize> = fresh;
        fresh.sort_unstable();
        let fresh: Vec<String> = fresh
            .into_iter()
            .filter_map(|i| catalog.tools.get(i).map(|t| t.qualified.clone()))
            .collect();
        let names: HashSet<&str> = catalog.tools.iter().map(|t| t.qualified.as_str()).collect();
        let offered = self.inner.sticky.lock().start_turn(
            conversation,
            message,
            &fresh,
            |n| names.contains(n),
            self.inner.max_offered,
            KEEP_TURNS,
        );
        let tools = offered
            .into_iter()
            .map(|name| {
                let position = catalog.tools.iter().position(|t| t.qualified == name);
                let pick = position.and_then(|i| picks.iter().find(|p| p.index == i));
                Offered {
                    score: pick.map_or(0.0, |p| p.score),
                    core: pick.is_some_and(|p| p.core),
                    name,
                }
            })
            .collect();
        Selection {
            tools,
            find_tools: true,
        }
    }

    /// Runs `find_tools` for `conversation`: the catalog tools best matching `query` (with the
    /// conversation's last messages, weighing less, when the query itself names something: a
    /// model's query is often a few words that lean on them), which are added to the
    /// conversation's set.
    #[must_use]
    pub fn find(&self, conversation: &str, catalog: &Catalog, query: &str) -> Found {
        let index = self.index(catalog);
        let mut words = index.query(query);
        // The conversation sharpens a query that says something; it never answers one that
        // says nothing the catalog knows.
        if !words.terms.is_empty() {
            let recent = self.inner.sticky.lock().recent_messages(conversation);
            let mut factor = 1.0;
            for earlier in recent.iter().rev() {
                factor *= CONTEXT_DECAY;
                words.merge(&index.query(earlier), factor);
            }
        }
        let scores = index.score(&words);
        let mut ranked: Vec<(f32, usize)> = scores
            .iter()
            .enumerate()
            .map(|(i, s)| (s.total(), i))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut found = Found::default();
        let mut sticky = self.inner.sticky.lock();
        for (_, i) in ranked.into_iter().take(FIND_LIMIT) {
            let Some(tool) = catalog.tools.get(i) else {
                continue;
            };
            if sticky.touch(conversation, &tool.qualified) {
                found.added.push(tool.qualified.clone());
            }
            found
                .tools
                .push((tool.qualified.clone(), tool.description.clone()));
        }
        found
    }

    /// Records that the model called `name` in `conversation`, keeping it in the set (and
    /// adding it when it was not offered).
    pub fn called(&self, conversation: &str, name: &str) {
        self.inner.sticky.lock().touch(conversation, name);
    }

    /// Keeps `name` offered in `conversation` until [`ToolSelector::release`]: for tools that a
    /// confirmation or a connect flow waits on.
    pub fn hold(&self, conversation: &str, name: &str) {
        self.inner.sticky.lock().hold(conversation, name);
    }

    /// Ends one [`ToolSelector::hold`].
    pub fn release(&self, conversation: &str, name: &str) {
        self.inner.sticky.lock().release(conversation, name);
    }

    fn index(&self, catalog: &Catalog) -> Index {
        let words: Vec<ServerWords> = self
            .inner
            .servers
            .iter()
            .map(|s| ServerWords {
                name: s.name.clone(),
                keywords: s.keywords.clone(),
            })
            .collect();
        Index::build(&catalog.tools, &words)
    }

    fn servers(&self, catalog: &Catalog) -> Servers {
        Servers::group(&catalog.tools, &self.inner.tuning, |server| {
            self.inner
                .servers
                .iter()
                .find(|s| s.name == server)
                .map(|s| s.core_tools.clone())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests;
