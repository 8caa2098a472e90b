//! Reading and writing a page's content as block trees, within Notion's request and rate limits.
//!
//! Writing cuts the blocks into requests that each fit ([`request_limits`]): up to 100 blocks per
//! request (later requests go right after the blocks of the one before), nested children along
//! when they fit and otherwise appended under their block once it exists, so content of any size
//! and depth arrives whole and in order.
//!
//! Reading goes level by level: the page's blocks first, then the children of every block that
//! has some, at most [`READ_CONCURRENCY`] requests at a time (each still spaced by the account's
//! request budget). When the call's deadline comes first (a rate limit that does not clear in
//! time), the read stops and says which blocks' content it did not get; it never answers with
//! nothing when it read something.

use std::future::Future;
use std::pin::Pin;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http::Method;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::call::{Call, segs};
use super::markdown::{BlockTree, plain_text};
use super::params::Position;
use super::request_limits::{batches, count, fit_blocks};
use crate::servers::tooling::ToolFailure;
use crate::servers::upstream_http::{UpstreamError, UpstreamRequest};

/// Children listings of one read in flight at once.
pub(super) const READ_CONCURRENCY: usize = 3;
/// The most blocks listed under one parent when the old content of a page is replaced.
const MAX_REPLACED_BLOCKS: usize = 10_000;
/// The time clean-up after a failed write gets, even when the call's deadline has passed.
const CLEANUP_TIME: std::time::Duration = std::time::Duration::from_secs(15);
/// Missing parts named in a reading's note (all of them are in its structured form).
const NAMED_MISSING: usize = 10;

/// What a write added.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// The new blocks directly under the parent written to, in order.
    pub ids: Vec<String>,
    /// The blocks added at every level.
    pub blocks: usize,
    /// The requests made.
    pub requests: usize,
}

/// A write that stopped part-way: what it had added, and why it stopped.
#[derive(Debug)]
pub(super) struct WriteFailure {
    /// What was added before the failure.
    pub written: Written,
    /// Why it stopped.
    pub failure: ToolFailure,
}

/// A part of a page that a read did not get.
#[derive(Debug, Clone)]
pub(super) struct Missing {
    /// The block (or page) whose children were not (all) read.
    pub block_id: String,
    /// The block, as a person would name it: its type and the start of its text.
    pub label: String,
}

/// What a read got.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// The blocks read, with the children read for them.
    pub trees: Vec<BlockTree>,
    /// Blocks whose children were not (all) read before the deadline or an error.
    pub missing: Vec<Missing>,
    /// Why the first missing part was not read.
    pub reason: Option<String>,
    /// Whether the read stopped at its block limit.
    pub cut: bool,
}

impl Reading {
    /// The note appended to the rendered content when something is missing.
    pub fn missing_note(&self) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        let named: Vec<String> = self
            .missing
            .iter()
            .take(NAMED_MISSING)
            .map(|m| format!("{} (block id {})", m.label, m.block_id))
            .collect();
        let more = self.missing.len().saturating_sub(NAMED_MISSING);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let reason = self.reason.as_deref().unwrap_or("an error");
        Some(format!(
            "[Not everything was read ({reason}). Missing: the content inside {} block(s): {}{more}. Read one \
             with get_page_content on its block id, or ask again in a minute.]",
            self.missing.len(),
            named.join(", ")
        ))
    }

    /// The missing parts as structured content.
    pub fn missing_json(&self) -> Value {
        Value::Array(
            self.missing
                .iter()
                .map(|m| json!({"block_id": m.block_id, "block": m.label}))
                .collect(),
        )
    }
}

/// Why a part was not read, in a few words for the note.
fn short_reason(error: &UpstreamError) -> String {
    match error {
        UpstreamError::RateLimited(_) => {
            "Notion's rate limit did not leave time to read it all before the call's time limit"
                .into()
        }
        UpstreamError::Transport(why) => format!("Notion could not be reached in time: {why}"),
        other => other.to_string(),
    }
}

/// A block as a person would name it: `toggle "Details"`.
fn label(block: &Value) -> String {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("block");
    let text = plain_text(
        block
            .get(kind)
            .and_then(|b| b.get("rich_text"))
            .unwrap_or(&Value::Null),
    );
    let text: String = text.chars().take(40).collect();
    if text.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} \"{text}\"")
    }
}

/// Whether the block has children a read should follow (sub-pages and databases are not
/// followed: they are pages of their own).
fn has_nested(block: &Value) -> bool {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    block.get("has_children").and_then(Value::as_bool) == Some(true)
        && !matches!(kind, "child_page" | "child_database")
}

/// Children listed under one block: what was read, and the error that stopped it, if any.
type Listing = (Vec<Value>, Option<UpstreamError>);

type WriteFuture<'s> = Pin<Box<dyn Future<Output = Result<(), ToolFailure>> + Send + 's>>;

impl Call<'_> {
    /// Lists the children of `block_id`, all pages of them up to `limit` blocks; what was read
    /// comes back even when a later page failed, with the error.
    pub(super) async fn list_children(&self, block_id: &str, limit: usize) -> Listing {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let request = UpstreamRequest::get(segs(&["blocks", block_id, "children"]))
                .query("page_size", 100)
                .query_opt("start_cursor", cursor.as_ref());
            let v = match self.api.call(self.grant, &request, self.deadline).await {
                Ok(v) => v,
                Err(e) => return (out, Some(e)),
            };
            for b in v
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if out.len() >= limit {
                    return (out, None);
                }
                out.push(b.clone());
            }
            cursor = v
                .get("next_cursor")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .filter(|_| v.get("has_more").and_then(Value::as_bool) == Some(true));
            if cursor.is_none() || out.len() >= limit {
                return (out, None);
            }
        }
    }

    /// The children of each `(node, block id)` of `wanted`, up to `limit` blocks each, listed
    /// at most [`READ_CONCURRENCY`] at a time, in the order they finished.
    async fn list_many(&self, wanted: Vec<(usize, String)>, limit: usize) -> Vec<(usize, Listing)> {
        let mut waiting = wanted.into_iter();
        let mut running = FuturesUnordered::new();
        let mut done = Vec::new();
        loop {
            while running.len() < READ_CONCURRENCY {
                let Some((node, id)) = waiting.next() else {
                    break;
                };
                running.push(self.list_one(node, id, limit));
            }
            match running.next().await {
                Some(listed) => done.push(listed),
                None => return done,
            }
        }
    }

    async fn list_one(&self, node: usize, id: String, limit: usize) -> (usize, Listing) {
        (node, self.list_children(&id, limit).await)
    }

    /// Reads the blocks under `root`, `depth` levels deep (1 = only its children), at most
    /// `max_blocks` blocks.
    ///
    /// # Errors
    /// Only when not even the first of `root`'s children could be read.
    pub(super) async fn read_tree(
        &self,
        root: &str,
        depth: u32,
        max_blocks: usize,
        what: &str,
    ) -> Result<Reading, ToolFailure> {
        let mut reading = Reading::default();
        let mut budget = max_blocks;
        let (top, error) = self.list_children(root, budget).await;
        if let Some(e) = error {
            if top.is_empty() {
                return Err(super::api::explain(e, what));
            }
            reading.reason = Some(short_reason(&e));
            reading.missing.push(Missing {
                block_id: root.to_owned(),
                label: format!("the {what} after its first {} blocks", top.len()),
            });
        }
        budget -= top.len();
        reading.cut = budget == 0;
        // An arena of the blocks read: (block, indexes of its children).
        let mut nodes: Vec<(Value, Vec<usize>)> = Vec::new();
        let mut roots = Vec::new();
        for b in top {
            roots.push(nodes.len());
            nodes.push((b, Vec::new()));
        }
        let mut frontier = roots.clone();
        for _ in 1..depth {
            let wanted: Vec<(usize, String)> = frontier
                .iter()
                .filter(|n| has_nested(&nodes[**n].0))
                .filter_map(|n| {
                    let id = nodes[*n].0.get("id").and_then(Value::as_str)?;
                    Some((*n, id.to_owned()))
                })
                .collect();
            if wanted.is_empty() || budget == 0 {
                reading.cut |= !wanted.is_empty();
                break;
            }
            let mut results = self.list_many(wanted, budget).await;
            results.sort_by_key(|(n, _)| *n);
            let mut next = Vec::new();
            for (n, (children, error)) in results {
                if let Some(e) = error {
                    if reading.reason.is_none() {
                        reading.reason = Some(short_reason(&e));
                    }
                    reading.missing.push(Missing {
                        block_id: nodes[n]
                            .0
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        label: label(&nodes[n].0),
                    });
                }
                let take = children.len().min(budget);
                reading.cut |= take < children.len();
                budget -= take;
                for child in children.into_iter().take(take) {
                    let index = nodes.len();
                    nodes.push((child, Vec::new()));
                    nodes[n].1.push(index);
                    next.push(index);
                }
            }
            frontier = next;
        }
        reading.trees = assemble(&mut nodes, &roots);
        Ok(reading)
    }

    /// Writes `blocks` (nested children allowed, any size and depth) under `parent` at
    /// `position` (`after` for [`Position::AfterBlock`]), in as many requests as needed.
    pub(super) async fn write_blocks(
        &self,
        parent: &str,
        blocks: Vec<Value>,
        position: Position,
        after: Option<String>,
    ) -> Result<Written, WriteFailure> {
        let mut written = Written::default();
        match self
            .write_level(
                parent,
                fit_blocks(blocks),
                position,
                after,
                &mut written,
                true,
            )
            .await
        {
            Ok(()) => Ok(written),
            Err(failure) => Err(WriteFailure { written, failure }),
        }
    }

    fn write_level<'s>(
        &'s self,
        parent: &'s str,
        blocks: Vec<Value>,
        position: Position,
        after: Option<String>,
        written: &'s mut Written,
        top: bool,
    ) -> WriteFuture<'s> {
        Box::pin(async move {
            let mut anchor = after;
            let mut first = true;
            for batch in batches(blocks) {
                let sent = batch.blocks.len();
                let blocks_in: usize = batch.blocks.iter().map(count).sum();
                let mut body = Map::new();
                body.insert("children".into(), Value::Array(batch.blocks));
                let at = match (position, &anchor, first) {
                    (Position::End, _, _) => None,
                    (Position::Start, _, true) => Some(json!({"type": "start"})),
                    (_, Some(a), _) => {
                        Some(json!({"type": "after_block", "after_block": {"id": a}}))
                    }
                    (_, None, _) => None,
                };
                if let Some(at) = at {
                    body.insert("position".into(), at);
                }
                let v = self
                    .send(
                        UpstreamRequest::new(Method::PATCH, segs(&["blocks", parent, "children"]))
                            .json(Value::Object(body)),
                        "page or block",
                    )
                    .await?;
                written.requests += 1;
                written.blocks += blocks_in;
                let ids: Vec<String> = v
                    .get("results")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                // The API answers with the appended blocks; should it answer with all the
                // parent's children, the appended ones are found next to the anchor (or at the
                // end).
                let ids = if ids.len() <= sent {
                    ids
                } else {
                    pick_appended(&ids, sent, position, anchor.as_deref(), first)
                };
                if top {
                    written.ids.extend(ids.iter().cloned());
                }
                anchor = ids.last().cloned().or(anchor);
                first = false;
                for (index, children) in batch.later {
                    let Some(id) = ids.get(index) else {
                        return Err(ToolFailure::new(
                            "Notion did not answer with the ids of the new blocks, so their nested content \
                             could not be added",
                        ));
                    };
                    self.write_level(id, children, Position::End, None, written, false)
                        .await?;
                }
            }
            Ok(())
        })
    }

    /// Deletes the blocks `ids` (and so everything inside them), one request each, before
    /// `deadline`; on failure returns how many were deleted and why it stopped.
    pub(super) async fn delete_blocks(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Result<(), (usize, UpstreamError)> {
        for (done, id) in ids.iter().enumerate() {
            let request = UpstreamRequest::new(Method::DELETE, segs(&["blocks", id]));
            match self.api.call(self.grant, &request, deadline).await {
                Ok(_) | Err(UpstreamError::Status { status: 404, .. }) => {}
                Err(e) => return Err((done, e)),
            }
        }
        Ok(())
    }

    /// A deadline for clean-up after a failure: the call's own, or a little more when that has
    /// (nearly) passed.
    pub(super) fn cleanup_deadline(&self) -> Instant {
        self.deadline.max(Instant::now() + CLEANUP_TIME)
    }

    /// Replaces the content of `page_id` with `blocks` without ever losing the old content:
    /// the new blocks are written after the old ones, and the old ones are deleted only once
    /// the new ones are all there. A refused write is rolled back.
    pub(super) async fn replace_content(
        &self,
        page_id: &str,
        blocks: Vec<Value>,
    ) -> Result<Value, ToolFailure> {
        let (old, error) = self.list_children(page_id, MAX_REPLACED_BLOCKS).await;
        if let Some(e) = error {
            let failure = super::api::explain(e, "page");
            return Err(ToolFailure::new(format!(
                "{failure} Nothing was changed: the page still has its old content."
            )));
        }
        let old_ids: Vec<String> = old
            .iter()
            .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let written = match self
            .write_blocks(page_id, blocks, Position::End, None)
            .await
        {
            Ok(written) => written,
            Err(WriteFailure { written, failure }) => {
                return Err(self.roll_back(&written, &failure).await);
            }
        };
        if let Err((deleted, e)) = self.delete_blocks(&old_ids, self.deadline).await {
            let left = &old_ids[deleted..];
            return Err(ToolFailure::new(format!(
                "The new content was written, but removing the old content stopped ({e}). The page now has \
                 {} block(s) of its old content first (ids: {}), then the new content. Delete those with \
                 delete_block, or call replace_page_content again.",
                left.len(),
                shorten_ids(left)
            )));
        }
        Ok(json!({
            "page_id": page_id,
            "blocks_written": written.blocks,
            "blocks_removed": old_ids.len(),
            "requests": written.requests,
        }))
    }

    /// Removes what a failed replacement wrote; the failure says what is on the page now.
    async fn roll_back(&self, written: &Written, failure: &ToolFailure) -> ToolFailure {
        if written.ids.is_empty() {
            return ToolFailure::new(format!(
                "{failure} Nothing was changed: the page still has its old content."
            ));
        }
        match self
            .delete_blocks(&written.ids, self.cleanup_deadline())
            .await
        {
            Ok(()) => ToolFailure::new(format!(
                "{failure} The part of the new content already written was removed again, so nothing was \
                 changed: the page still has its old content."
            )),
            Err((deleted, e)) => {
                let left = &written.ids[deleted..];
                ToolFailure::new(format!(
                    "{failure} Removing the part of the new content already written failed too ({e}), so the \
                     page now has its old content followed by {} block(s) of the new content (ids: {}). Delete \
                     those with delete_block, or call replace_page_content again.",
                    left.len(),
                    shorten_ids(left)
                ))
            }
        }
    }
}

/// Up to 20 ids, comma-separated, with a count of the rest.
fn shorten_ids(ids: &[String]) -> String {
    let mut shown = ids.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > 20 {
        shown.push_str(&format!(" and {} more", ids.len() - 20));
    }
    shown
}

/// The trees of `roots` out of the arena (which is emptied of them).
fn assemble(nodes: &mut [(Value, Vec<usize>)], roots: &[usize]) -> Vec<BlockTree> {
    roots
        .iter()
        .map(|&n| {
            let block = std::mem::take(&mut nodes[n].0);
            let children = std::mem::take(&mut nodes[n].1);
            BlockTree {
                block,
                children: assemble(nodes, &children),
            }
        })
        .collect()
}

/// The ids of the blocks one append request added, out of the children list the API answered.
fn pick_appended(
    results: &[String],
    count: usize,
    position: Position,
    anchor: Option<&str>,
    first: bool,
) -> Vec<String> {
    let start = match (position, anchor) {
        (Position::Start, _) if first => Some(0),
        (Position::End, _) => None,
        (_, Some(a)) => results.iter().position(|id| id == a).map(|i| i + 1),
        _ => None,
    };
    match start {
        Some(s) => results.iter().skip(s).take(count).cloned().collect(),
        None => results.iter().rev().take(count).rev().cloned().collect(),
    }
}
