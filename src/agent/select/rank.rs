//! From the chosen servers and tool scores to the tools worth offering.
//!
//! Which servers a message asks for is decided in [`super::domain`]. Each chosen server brings its
//! core tools, whether or not any of its tools scores well, and its tools scoring within a share of
//! its best tool (at most a few); several chosen servers share the budget.

use super::index::Score;
use super::lexicon;
use super::text::{self, stem};
use crate::mcp::CatalogTool;

/// The knobs of ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// The least evidence that chooses a server.
    pub server_floor: f32,
    /// The evidence that naming a server gives it.
    pub name_evidence: f32,
    /// A server is chosen when its score is at least this share of the best server's.
    pub server_ratio: f32,
    /// A tool is kept when its score is at least this share of its server's best tool.
    pub tool_ratio: f32,
    /// The most tools kept per chosen server, its core tools included.
    pub per_server: usize,
    /// The same when several servers are chosen and share the budget.
    pub per_server_shared: usize,
    /// The most core tools found from annotations when none are configured.
    pub auto_core: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            server_floor: 1.0,
            name_evidence: 2.0,
            server_ratio: 0.45,
            tool_ratio: 0.5,
            per_server: 6,
            per_server_shared: 3,
            auto_core: 2,
        }
    }
}

/// One tool picked for a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// Its position in the catalog.
    pub index: usize,
    /// Its score against the message.
    pub score: f32,
    /// Whether it came along as a core tool of a chosen server.
    pub core: bool,
}

/// The servers of a catalog, each with its tools' positions and core tools.
#[derive(Debug, Clone)]
pub struct Servers {
    /// `(name, tool positions, core tool positions)`, in catalog order.
    pub groups: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl Servers {
    /// Groups `tools` by server. `configured_core(server)` gives the configured core tool names
    /// of a server (server-side names); when empty, core tools come from annotations and
    /// descriptions: read-only tools that need no arguments, broad ones (search, list) first.
    #[must_use]
    pub fn group(
        tools: &[CatalogTool],
        tuning: &Tuning,
        configured_core: impl Fn(&str) -> Vec<String>,
    ) -> Self {
        let mut groups: Vec<(String, Vec<usize>, Vec<usize>)> = Vec::new();
        for (i, tool) in tools.iter().enumerate() {
            match groups.iter_mut().find(|(name, _, _)| *name == tool.server) {
                Some((_, members, _)) => members.push(i),
                None => groups.push((tool.server.clone(), vec![i], Vec::new())),
            }
        }
        for (name, members, core) in &mut groups {
            let configured = configured_core(name);
            if configured.is_empty() {
                *core = auto_core(tools, members, tuning.auto_core);
            } else {
                *core = members
                    .iter()
                    .copied()
                    .filter(|&i| tools.get(i).is_some_and(|t| configured.contains(&t.tool)))
                    .collect();
            }
        }
        Self { groups }
    }
}

/// Core tools from annotations and names, when none are configured: the server's main object is
/// the noun most of its tool names share (`event`, `page`); the core tools are the simplest
/// read-only tool that needs no arguments (about the main object when there is one, else a broad
/// search or list), and the simplest additive write tool about the main object.
fn auto_core(tools: &[CatalogTool], members: &[usize], limit: usize) -> Vec<usize> {
    let verbs: Vec<String> = lexicon::catalog_action_words()
        .chain(lexicon::action_chat_words())
        .map(stem)
        .collect();
    let nouns = |tool: &CatalogTool| -> Vec<String> {
        text::words(&tool.tool)
            .iter()
            .filter(|w| !text::is_stop_word(w))
            .map(|w| stem(w))
            .filter(|w| !verbs.contains(w))
            .collect()
    };
    let mut counts: Vec<(String, usize)> = Vec::new();
    for tool in members.iter().filter_map(|&i| tools.get(i)) {
        for noun in nouns(tool) {
            match counts.iter_mut().find(|(n, _)| *n == noun) {
                Some((_, c)) => *c += 1,
                None => counts.push((noun, 1)),
            }
        }
    }
    let main = counts
        .iter()
        .max_by_key(|(_, c)| *c)
        .filter(|(_, c)| *c >= 2)
        .map(|(n, _)| n.clone());
    let about_main = |tool: &CatalogTool| main.as_ref().is_some_and(|m| nouns(tool).contains(m));
    let broad = |tool: &CatalogTool| {
        let name = tool.tool.to_ascii_lowercase();
        ["search", "list", "find", "query"]
            .iter()
            .any(|verb| name.contains(verb))
    };
    let needs_arguments = |tool: &CatalogTool| {
        tool.input_schema
            .get("required")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|r| !r.is_empty())
    };
    let simplest = |filter: &dyn Fn(&CatalogTool) -> Option<u8>| -> Option<usize> {
        members
            .iter()
            .copied()
            .filter_map(|i| {
                let tool = tools.get(i)?;
                filter(tool).map(|rank| (rank, tool.tool.len(), i))
            })
            .min()
            .map(|(_, _, i)| i)
    };
    let read = simplest(&|t: &CatalogTool| {
        if !t.hints.read_only || needs_arguments(t) {
            return None;
        }
        match (about_main(t), broad(t)) {
            (true, true) => Some(0),
            (true, false) => Some(1),
            (false, true) => Some(2),
            (false, false) => None,
        }
    });
    let write = simplest(&|t: &CatalogTool| {
        (!t.hints.read_only && !t.hints.destructive && about_main(t)).then_some(0)
    });
    let mut core: Vec<usize> = read.into_iter().chain(write).take(limit).collect();
    core.sort_unstable();
    core
}

/// The tools to offer for scores `scores` (catalog order) from the `chosen` servers (by name),
/// best first, at most `limit`.
#[must_use]
pub fn pick(
    scores: &[Score],
    servers: &Servers,
    chosen: &[&str],
    tuning: &Tuning,
    limit: usize,
) -> Vec<Pick> {
    let chosen: Vec<usize> = chosen
        .iter()
        .filter_map(|c| servers.groups.iter().position(|(name, _, _)| name == c))
        .collect();
    // Several servers share the budget: each keeps fewer tools of its own.
    let per_server = if chosen.len() > 1 {
        tuning.per_server_shared
    } else {
        tuning.per_server
    };
    let mut picks: Vec<Pick> = Vec::new();
    for &server in &chosen {
        let Some((_, members, core)) = servers.groups.get(server) else {
            continue;
        };
        let mut mine: Vec<Pick> = core
            .iter()
            .map(|&index| Pick {
                index,
                score: scores.get(index).map_or(0.0, |s| s.total()),
                core: true,
            })
            .collect();
        let mut ranked: Vec<(f32, usize)> = members
            .iter()
            .filter_map(|&i| scores.get(i).map(|s| (s.total(), i)))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let top = ranked.first().map_or(0.0, |(s, _)| *s);
        for (score, index) in ranked {
            if mine.len() >= per_server.max(core.len()) || score < tuning.tool_ratio * top {
                break;
            }
            if !mine.iter().any(|p| p.index == index) {
                mine.push(Pick {
                    index,
                    score,
                    core: false,
                });
            }
        }
        picks.extend(mine);
    }
    // Core tools first, then by score, when the total must be cut.
    picks.sort_by(|a, b| {
        b.core
            .cmp(&a.core)
            .then(b.score.total_cmp(&a.score))
            .then(a.index.cmp(&b.index))
    });
    picks.truncate(limit);
    picks
}
