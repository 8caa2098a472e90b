//! The bytes of every model request in the project's scripted conversations: how much of each
//! prompt is tool schema, and how much a prefix cache cannot reuse.
//!
//! The conversations of `tests/fixtures/selection/eval.json` run as real agent turns (the
//! gateway's code) over the Notion and Calendar catalog fixtures, loaded with the rules of a
//! live listing, against a scripted model that calls each turn's tools in order (through
//! `find_tools` when one is not offered) and then answers. Each request is measured twice:
//!
//! - as sent: the bytes of the `/api/chat` body's `tools`, compact JSON;
//! - as the model sees it: the prompt rendered the way Ollama 0.12.11 renders it for qwen2.5
//!   (the fake's decoding of `tools` and its template, `tests/support/fake_ollama/`): its
//!   total, the part the tools take, its tokens, and the uncached part, what follows the
//!   longest common prefix with the previous request of the same conversation.
//!
//! Both selection modes are run: `"auto"` (per-turn selection) and `"all"` (every tool). With
//! `PROMPT_BYTES_RAW=1` the tools keep the input schemas their servers list, as offered before
//! the schema compiler, for a side-by-side figure. `PROMPT_BYTES_VERBOSE=1` prints every request.
//!
//! Run: `cargo bench --bench prompt_bytes` (the figures are byte counts, not timings).

#[path = "../tests/support/fake_ollama/decode.rs"]
#[allow(dead_code)]
mod decode;
#[path = "../tests/support/fake_ollama/prompt.rs"]
#[allow(dead_code)]
mod prompt;

#[path = "../tests/support/fixture_agent.rs"]
mod fixture_agent;

use std::sync::Arc;

use mcp_gateway::agent::select;
use mcp_gateway::config::ToolSelection;
use mcp_gateway::llm::{Role, ToolSpec};
use mcp_gateway::mcp::Catalog;
use serde::Deserialize;
use serde_json::{Value, json};

use fixture_agent::{
    Conversation, Request, SERVERS, catalog_dir, common_prefix, config, root, run_conversation,
};
use prompt::{Msg, Template, Think};

/// The file holding the scripted conversations.
const CONVERSATIONS_FILE: &str = "tests/fixtures/selection/eval.json";

#[derive(Debug, Deserialize)]
struct EvalSet {
    conversations: Vec<Conversation>,
}

/// The catalog of the fixtures as a live listing keeps it; with `raw`, each tool keeps the
/// input schema its server lists.
fn catalog(raw: bool) -> Catalog {
    let dir = catalog_dir();
    let mut catalog = fixture_agent::catalog(&config(&SERVERS, ToolSelection::Auto));
    if raw {
        for server in SERVERS {
            let text = std::fs::read_to_string(dir.join(format!("{server}.json")))
                .expect("the fixture reads");
            let listing: Value = serde_json::from_str(&text).expect("the fixture parses");
            for tool in listing["tools"].as_array().into_iter().flatten() {
                let name = format!("{server}_{}", tool["name"].as_str().unwrap_or(""));
                if let Some(entry) = catalog.tools.iter_mut().find(|t| t.qualified == name) {
                    entry.input_schema = Arc::new(tool["inputSchema"].clone());
                }
            }
        }
    }
    catalog
}

/// The figures of one model request.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    /// The `tools` of the body, compact JSON.
    sent_tools: usize,
    /// The rendered prompt.
    prompt: usize,
    /// The part of the prompt the tools take.
    prompt_tools: usize,
    /// The prompt's tokens (the fake's count).
    tokens: usize,
    /// What follows the longest common prefix with the previous request.
    uncached: usize,
}

/// The request's messages as Ollama decodes them.
fn messages(request: &Request) -> Vec<Msg> {
    request
        .messages
        .iter()
        .map(|m| Msg {
            role: match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            }
            .to_owned(),
            content: m.content.clone(),
            thinking: String::new(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.arguments.as_object().cloned().unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Measures one request, given the rendered prompt of the one before it.
fn measure(request: &Request, previous: &str) -> (Figures, String) {
    let tools: Vec<Value> = request.tools.iter().map(ToolSpec::to_wire).collect();
    let msgs = messages(request);
    let think = Think {
        set: false,
        on: false,
    };
    let rendered = prompt::render(Template::Qwen25, &msgs, &tools, think);
    let bare = prompt::render(Template::Qwen25, &msgs, &[], think);
    let figures = Figures {
        sent_tools: select::schema_bytes(&request.tools),
        prompt: rendered.len(),
        prompt_tools: rendered.len().saturating_sub(bare.len()),
        tokens: prompt::count_tokens(&rendered),
        uncached: rendered.len() - common_prefix(&rendered, previous),
    };
    (figures, rendered)
}

/// Runs one conversation; returns the figures of each model request.
async fn run(
    conversation: &Conversation,
    catalog: &Catalog,
    selection: ToolSelection,
) -> Vec<Figures> {
    let script = run_conversation(conversation, &config(&SERVERS, selection), catalog).await;
    let mut previous = String::new();
    let mut out = Vec::new();
    for request in &script.requests {
        let (figures, rendered) = measure(request, &previous);
        out.push(figures);
        previous = rendered;
    }
    out
}

fn mean(values: impl Iterator<Item = usize>) -> (usize, f64) {
    let (mut n, mut sum) = (0usize, 0usize);
    for v in values {
        n += 1;
        sum += v;
    }
    (sum, sum as f64 / n.max(1) as f64)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let raw = std::env::var_os("PROMPT_BYTES_RAW").is_some();
    let verbose = std::env::var_os("PROMPT_BYTES_VERBOSE").is_some();
    let set: EvalSet = serde_json::from_str(
        &std::fs::read_to_string(root().join(CONVERSATIONS_FILE))
            .unwrap_or_else(|e| panic!("{CONVERSATIONS_FILE} is not readable: {e}")),
    )
    .unwrap_or_else(|e| panic!("{CONVERSATIONS_FILE} does not parse: {e}"));
    let catalog = catalog(raw);
    let all: Vec<ToolSpec> = catalog.tools.iter().map(|t| t.spec()).collect();
    let wire: Vec<Value> = all.iter().map(ToolSpec::to_wire).collect();
    let route_json = json!({ "tools": wire }).to_string();
    println!(
        "schemas: {}",
        if raw {
            "as the servers list them (PROMPT_BYTES_RAW)"
        } else {
            "as offered (compiled for the model)"
        }
    );
    println!(
        "all {} tools: {} bytes as `route --json` prints them; {} bytes of the prompt as the model sees them",
        all.len(),
        route_json.len(),
        prompt::render(
            Template::Qwen25,
            &[],
            &wire,
            Think {
                set: false,
                on: false
            }
        )
        .len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    println!(
        "  {:<26} {:<5} {:>4} {:>10} {:>10} {:>10} {:>9} {:>10}",
        "conversation", "mode", "reqs", "sent tools", "prompt", "its tools", "tokens", "uncached"
    );
    for selection in [ToolSelection::Auto, ToolSelection::All] {
        let mode = format!("{selection:?}").to_lowercase();
        let mut every = Vec::new();
        for conversation in &set.conversations {
            let figures = runtime.block_on(run(conversation, &catalog, selection));
            if verbose {
                for (i, f) in figures.iter().enumerate() {
                    println!(
                        "    {} #{i}: sent tools {} B, prompt {} B ({} B tools, {} tokens), uncached {} B",
                        conversation.name,
                        f.sent_tools,
                        f.prompt,
                        f.prompt_tools,
                        f.tokens,
                        f.uncached
                    );
                }
            }
            let n = figures.len();
            println!(
                "  {:<26} {:<5} {:>4} {:>10.0} {:>10.0} {:>10.0} {:>9.0} {:>10}",
                conversation.name,
                mode,
                n,
                mean(figures.iter().map(|f| f.sent_tools)).1,
                mean(figures.iter().map(|f| f.prompt)).1,
                mean(figures.iter().map(|f| f.prompt_tools)).1,
                mean(figures.iter().map(|f| f.tokens)).1,
                mean(figures.iter().map(|f| f.uncached)).0,
            );
            every.extend(figures);
        }
        println!(
            "  {mode}: {} requests; per request: sent tools {:.0} B, prompt {:.0} B of which tools {:.0} B, {:.0} tokens; uncached {} B in all ({:.0} B per request)",
            every.len(),
            mean(every.iter().map(|f| f.sent_tools)).1,
            mean(every.iter().map(|f| f.prompt)).1,
            mean(every.iter().map(|f| f.prompt_tools)).1,
            mean(every.iter().map(|f| f.tokens)).1,
            mean(every.iter().map(|f| f.uncached)).0,
            mean(every.iter().map(|f| f.uncached)).1,
        );
    }
}
