//! Notion's request size limits, and block trees made to fit them.
//!
//! Notion refuses (400 `validation_error`) a request in which a rich-text item's `text.content`
//! is longer than 2,000 UTF-16 units, a rich-text array holds more than 100 items, a `children`
//! array more than 100 blocks, a block nested more than two levels below the request's top-level
//! blocks carries children, or the request holds more than 1,000 blocks or 500 KB. Content of
//! any size and depth is therefore reshaped before it is sent, without changing what it reads:
//! long text is split into several items ([`fit_blocks`]); a block with more than 100 items (or
//! very long text) continues in further blocks, at a line break where there is one; and a
//! list of blocks is cut into [`Batch`]es, each one request, whose blocks carry their children
//! along when the whole subtree fits and otherwise leave them to be appended under the new block
//! once its id is known.

use std::collections::VecDeque;

use serde_json::{Map, Value};

/// The most UTF-16 units in one rich-text item's `text.content`.
pub const MAX_TEXT_UNITS: usize = 2000;
/// The most characters in a link URL.
pub const MAX_URL_CHARS: usize = 2000;
/// The most items in one rich-text array.
pub const MAX_RICH_TEXT_ITEMS: usize = 100;
/// The most blocks in one `children` array.
pub const MAX_CHILDREN: usize = 100;
/// The nesting levels below a request's top-level blocks that may carry children.
pub const MAX_NESTING: usize = 2;
/// The most blocks in one request, at every level.
pub const MAX_BLOCKS: usize = 1000;
/// The largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 500_000;
/// The bytes of a request's children left for the rest of the body (position, parent, ...).
const BODY_RESERVE: usize = 20_000;
/// The most bytes of rich text one block carries, so that any block fits a request alone.
const MAX_BLOCK_TEXT_BYTES: usize = 100_000;

/// Splits `text` into pieces of at most `max` UTF-16 units, never inside a character.
#[must_use]
pub fn split_utf16(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(2);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut units = 0;
    for (at, c) in text.char_indices() {
        let width = c.len_utf16();
        if units + width > max {
            pieces.push(&text[start..at]);
            start = at;
            units = 0;
        }
        units += width;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// The text of a rich-text item (`text.content`), when it is a text item.
fn content(item: &Value) -> Option<&str> {
    item.pointer("/text/content").and_then(Value::as_str)
}

/// Rich-text items with every `text.content` longer than Notion allows split into several
/// items of the same formatting and link.
#[must_use]
pub fn fit_items(items: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match content(&item) {
            Some(text) if text.encode_utf16().count() > MAX_TEXT_UNITS => {
                for piece in split_utf16(text, MAX_TEXT_UNITS) {
                    let mut part = item.clone();
                    set_content(&mut part, piece);
                    out.push(part);
                }
            }
            _ => out.push(item),
        }
    }
    out
}

/// The serialized size of `value` in bytes.
fn size(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX / 4, |v| v.len())
}

/// Cuts fitted rich-text items into runs of at most 100 items and about 100 KB. A run that is
/// not the last ends at the latest line break inside it (an item holding a line break is split
/// there), and the line break that starts the next run is dropped: the run boundary stands for
/// it, so the text reads the same line for line.
fn runs(items: Vec<Value>) -> Vec<Vec<Value>> {
    let mut rest: VecDeque<Value> = items.into();
    let mut out: Vec<Vec<Value>> = Vec::new();
    while !rest.is_empty() {
        let mut take = 0;
        let mut bytes = 0;
        while take < rest.len()
            && take < MAX_RICH_TEXT_ITEMS
            && (take == 0 || bytes + size(&rest[take]) <= MAX_BLOCK_TEXT_BYTES)
        {
            bytes += size(&rest[take]);
            take += 1;
        }
        if take < rest.len()
            && let Some((index, at)) = (0..take)
                .rev()
                .find_map(|i| {
                    content(&rest[i])
                        .and_then(|t| t.rfind('\n'))
                        .map(|at| (i, at))
                })
                .filter(|(i, at)| *i > 0 || *at > 0)
        {
            if at == 0 {
                take = index;
            } else if let Some(text) = content(&rest[index]).map(str::to_owned) {
                let (before, after) = text.split_at(at);
                let mut tail = rest[index].clone();
                set_content(&mut rest[index], before);
                set_content(&mut tail, after);
                rest.insert(index + 1, tail);
                take = index + 1;
            }
        }
        let mut run: Vec<Value> = rest.drain(..take).collect();
        if !out.is_empty()
            && let Some(text) = run.first().and_then(content)
            && let Some(after) = text.strip_prefix('\n')
        {
            if after.is_empty() {
                run.remove(0);
            } else {
                let after = after.to_owned();
                if let Some(first) = run.first_mut() {
                    set_content(first, &after);
                }
            }
        }
        if !run.is_empty() {
            out.push(run);
        }
    }
    out
}

/// Sets a text item's `text.content` (and drops a stale `plain_text`).
fn set_content(item: &mut Value, text: &str) {
    if let Some(t) = item.get_mut("text").and_then(Value::as_object_mut) {
        t.insert("content".into(), Value::from(text));
    }
    if let Some(i) = item.as_object_mut() {
        i.remove("plain_text");
    }
}

/// The block's type name.
fn kind(block: &Value) -> Option<String> {
    block.get("type").and_then(Value::as_str).map(str::to_owned)
}

/// Removes and returns the block's nested `children` (under its type's object).
pub fn take_children(block: &mut Value) -> Vec<Value> {
    let Some(kind) = kind(block) else {
        return Vec::new();
    };
    match block
        .get_mut(&kind)
        .and_then(Value::as_object_mut)
        .and_then(|body| body.remove("children"))
    {
        Some(Value::Array(children)) => children,
        _ => Vec::new(),
    }
}

/// Puts `children` under the block's type's object (nothing when empty).
pub fn set_children(block: &mut Value, children: Vec<Value>) {
    if children.is_empty() {
        return;
    }
    let Some(kind) = kind(block) else {
        return;
    };
    if let Some(body) = block.get_mut(&kind).and_then(Value::as_object_mut) {
        body.insert("children".into(), Value::Array(children));
    }
}

/// Whether a continuation of this block type goes into its children (list items, to-dos and
/// toggles, whose siblings would change the list) rather than after it.
fn continues_inside(kind: &str) -> bool {
    matches!(
        kind,
        "bulleted_list_item" | "numbered_list_item" | "to_do" | "toggle"
    )
}

/// Blocks made to fit Notion's rich-text limits, their children too, in order. A block whose
/// rich text is too long continues in more blocks: after it for paragraphs, headings, quotes,
/// callouts and code; as the first paragraphs of its children for list items, to-dos and
/// toggles.
#[must_use]
pub fn fit_blocks(blocks: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        out.extend(fit_block(block));
    }
    out
}

fn fit_block(mut block: Value) -> Vec<Value> {
    let children = fit_blocks(take_children(&mut block));
    let Some(kind) = kind(&block) else {
        return vec![block];
    };
    let Some(body) = block.get_mut(&kind).and_then(Value::as_object_mut) else {
        return vec![block];
    };
    fit_other_text(body);
    let Some(Value::Array(items)) = body.remove("rich_text") else {
        set_children(&mut block, children);
        return vec![block];
    };
    let mut parts = runs(fit_items(items)).into_iter();
    let first = parts.next().unwrap_or_default();
    if let Some(body) = block.get_mut(&kind).and_then(Value::as_object_mut) {
        body.insert("rich_text".into(), Value::Array(first));
    }
    let rest: Vec<Vec<Value>> = parts.collect();
    if rest.is_empty() {
        set_children(&mut block, children);
        return vec![block];
    }
    if continues_inside(&kind) {
        let mut inner: Vec<Value> = rest
            .into_iter()
            .map(|run| text_block("paragraph", None, run))
            .collect();
        inner.extend(children);
        set_children(&mut block, inner);
        return vec![block];
    }
    let template = block.get(&kind).cloned();
    let mut out = vec![block];
    out.extend(
        rest.into_iter()
            .map(|run| text_block(&kind, template.as_ref(), run)),
    );
    if let Some(last) = out.last_mut() {
        set_children(last, children);
    }
    out
}

/// A block of `kind` holding `rich_text`, with the other fields of `template` (language, color,
/// ...) but not its children or icon.
fn text_block(kind: &str, template: Option<&Value>, rich_text: Vec<Value>) -> Value {
    let mut body = template
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    body.remove("children");
    body.remove("icon");
    body.remove("caption");
    body.insert("rich_text".into(), Value::Array(rich_text));
    let mut block = Map::new();
    block.insert("object".into(), Value::from("block"));
    block.insert("type".into(), Value::from(kind));
    block.insert(kind.to_owned(), Value::Object(body));
    Value::Object(block)
}

/// Captions and table cells: long items split, and at most 100 items kept.
fn fit_other_text(body: &mut Map<String, Value>) {
    if let Some(Value::Array(caption)) = body.remove("caption") {
        let mut items = fit_items(caption);
        items.truncate(MAX_RICH_TEXT_ITEMS);
        body.insert("caption".into(), Value::Array(items));
    }
    if let Some(Value::Array(cells)) = body.get_mut("cells") {
        for cell in cells.iter_mut() {
            if let Value::Array(items) = cell {
                let mut fitted = fit_items(std::mem::take(items));
                fitted.truncate(MAX_RICH_TEXT_ITEMS);
                *items = fitted;
            }
        }
    }
}

/// One request's worth of blocks.
#[derive(Debug, Default)]
pub struct Batch {
    /// The request's `children`, each with the nested children that travel along.
    pub blocks: Vec<Value>,
    /// Children left out of the request: `(index in blocks, children)`, appended under that
    /// block once it exists.
    pub later: Vec<(usize, Vec<Value>)>,
}

/// Whether `children`, as the children of a block at `level` (0 for a request's top-level
/// blocks), may travel in the same request.
fn nest_fits(children: &[Value], level: usize) -> bool {
    if children.is_empty() {
        return true;
    }
    if level >= MAX_NESTING || children.len() > MAX_CHILDREN {
        return false;
    }
    children.iter().all(|child| {
        let kind = kind(child).unwrap_or_default();
        let nested = child
            .get(&kind)
            .and_then(|b| b.get("children"))
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        nest_fits(nested, level + 1)
    })
}

/// The number of blocks in `block`, its nested children included.
pub fn count(block: &Value) -> usize {
    let kind = kind(block).unwrap_or_default();
    1 + block
        .get(&kind)
        .and_then(|b| b.get("children"))
        .and_then(Value::as_array)
        .map_or(0, |c| c.iter().map(count).sum())
}

/// Cuts sibling `blocks` (fitted by [`fit_blocks`], nested children allowed at any depth) into
/// batches that each fit one request, in order.
#[must_use]
pub fn batches(blocks: Vec<Value>) -> Vec<Batch> {
    let budget = MAX_BODY_BYTES - BODY_RESERVE;
    let mut out = Vec::new();
    let mut current = Batch::default();
    let (mut blocks_in, mut bytes_in) = (0, 0);
    for mut block in blocks {
        let children = take_children(&mut block);
        let bare_bytes = size(&block);
        let mut inline = nest_fits(&children, 0);
        let mut whole = block.clone();
        let (mut n, mut bytes) = (1, bare_bytes);
        if inline && !children.is_empty() {
            set_children(&mut whole, children.clone());
            n = count(&whole);
            bytes = size(&whole);
            inline = n <= MAX_BLOCKS && bytes <= budget;
        }
        if !inline {
            n = 1;
            bytes = bare_bytes;
        }
        let full = current.blocks.len() >= MAX_CHILDREN
            || blocks_in + n > MAX_BLOCKS
            || bytes_in + bytes > budget;
        if full && !current.blocks.is_empty() {
            out.push(std::mem::take(&mut current));
            blocks_in = 0;
            bytes_in = 0;
        }
        blocks_in += n;
        bytes_in += bytes;
        if inline {
            current.blocks.push(whole);
        } else {
            current.later.push((current.blocks.len(), children));
            current.blocks.push(block);
        }
    }
    if !current.blocks.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(content: &str) -> Value {
        json!({"type": "text", "text": {"content": content, "link": null}})
    }

    fn item(kind: &str, label: &str, children: Vec<Value>) -> Value {
        let mut b = json!({"object": "block", "type": kind, kind: {"rich_text": [text(label)]}});
        set_children(&mut b, children);
        b
    }

    fn units(item: &Value) -> usize {
        content(item).map_or(0, |t| t.encode_utf16().count())
    }

    #[test]
    fn text_is_split_by_utf16_units_never_inside_a_character() {
        let mut long = "a".repeat(1999);
        long.push('🙂');
        long.push_str(&"b".repeat(100));
        let pieces = split_utf16(&long, MAX_TEXT_UNITS);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].encode_utf16().count(), 1999);
        assert!(pieces[1].starts_with('🙂'));
        assert_eq!(pieces.concat(), long);
        let items = fit_items(vec![text(&long)]);
        assert!(items.iter().all(|i| units(i) <= MAX_TEXT_UNITS));
        assert_eq!(split_utf16("", 10).len(), 0);
    }

    #[test]
    fn a_paragraph_over_100_items_continues_at_a_line_break() {
        let mut items = Vec::new();
        for n in 0..60 {
            let lead = if n == 0 { String::new() } else { "\n".into() };
            items.push(text(&format!("{lead}see ")));
            items.push(
                json!({"type": "text", "text": {"content": format!("doc {n}"),
                "link": {"url": format!("https://example.com/{n}")}}}),
            );
        }
        let para =
            json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": items}});
        let blocks = fit_blocks(vec![para]);
        assert_eq!(blocks.len(), 2);
        let first = blocks[0]["paragraph"]["rich_text"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let second = blocks[1]["paragraph"]["rich_text"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(first.len() <= MAX_RICH_TEXT_ITEMS && second.len() <= MAX_RICH_TEXT_ITEMS);
        assert_eq!(first.len() + second.len(), 120);
        // The second paragraph starts a line, without its line break.
        assert_eq!(second[0]["text"]["content"], "see ");
    }

    #[test]
    fn a_line_break_inside_an_item_is_where_a_paragraph_continues() {
        // As the Markdown parser makes them: the text between two links holds the line break.
        let mut items = vec![text("See ")];
        for n in 0..60 {
            items.push(
                json!({"type": "text", "text": {"content": format!("doc {n}"),
                "link": {"url": format!("https://example.com/{n}")}}}),
            );
            let tail = if n == 59 {
                format!(" part {n}")
            } else {
                format!(" part {n}\nSee ")
            };
            items.push(text(&tail));
        }
        let para =
            json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": items}});
        let blocks = fit_blocks(vec![para]);
        assert_eq!(blocks.len(), 2);
        let plain = |b: &Value| -> String {
            b["paragraph"]["rich_text"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(content)
                .collect()
        };
        let first = plain(&blocks[0]);
        let second = plain(&blocks[1]);
        assert!(
            first.ends_with(" part 48") || first.ends_with(" part 49"),
            "{first}"
        );
        assert!(second.starts_with("See doc"), "{second}");
        let lines: Vec<String> = first
            .lines()
            .chain(second.lines())
            .map(str::to_owned)
            .collect();
        assert_eq!(lines.len(), 60);
        assert!(
            blocks
                .iter()
                .all(|b| b["paragraph"]["rich_text"].as_array().map_or(0, Vec::len) <= 100)
        );
    }

    #[test]
    fn a_long_list_item_continues_inside_it() {
        let items: Vec<Value> = (0..150).map(|n| text(&format!("{n} "))).collect();
        let li = json!({"object": "block", "type": "bulleted_list_item",
            "bulleted_list_item": {"rich_text": items, "children": [item("paragraph", "kid", vec![])]}});
        let blocks = fit_blocks(vec![li]);
        assert_eq!(blocks.len(), 1);
        let children = blocks[0]["bulleted_list_item"]["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(children.len(), 2);
        assert_eq!(
            children[0]["paragraph"]["rich_text"]
                .as_array()
                .map(Vec::len),
            Some(50)
        );
        assert_eq!(
            children[1]["paragraph"]["rich_text"][0]["text"]["content"],
            "kid"
        );
    }

    #[test]
    fn batches_keep_order_and_every_limit() {
        // 100 items with 10 sub-items each: 1,100 blocks, more than one request holds.
        let outline: Vec<Value> = (0..100)
            .map(|i| {
                let subs = (0..10)
                    .map(|j| item("bulleted_list_item", &format!("{i}.{j}"), vec![]))
                    .collect();
                item("bulleted_list_item", &i.to_string(), subs)
            })
            .collect();
        let batches = batches(outline);
        assert_eq!(batches.len(), 2);
        assert!(batches.iter().all(|b| b.later.is_empty()));
        let total: usize = batches
            .iter()
            .map(|b| b.blocks.iter().map(count).sum::<usize>())
            .sum();
        assert_eq!(total, 1100);
        assert!(
            batches
                .iter()
                .all(|b| b.blocks.iter().map(count).sum::<usize>() <= MAX_BLOCKS)
        );
        assert_eq!(
            batches[0].blocks[0]["bulleted_list_item"]["rich_text"][0]["text"]["content"],
            "0"
        );
    }

    #[test]
    fn children_that_cannot_travel_along_are_left_for_later() {
        let wide = item(
            "bulleted_list_item",
            "wide",
            (0..150)
                .map(|j| item("bulleted_list_item", &j.to_string(), vec![]))
                .collect(),
        );
        let mut deep = item("bulleted_list_item", "5", vec![]);
        for level in (1..5).rev() {
            deep = item("bulleted_list_item", &level.to_string(), vec![deep]);
        }
        let small = item("paragraph", "small", vec![item("paragraph", "kid", vec![])]);
        let batches = batches(vec![wide, deep, small]);
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.blocks.len(), 3);
        assert_eq!(b.later.len(), 2);
        assert_eq!((b.later[0].0, b.later[0].1.len()), (0, 150));
        assert_eq!((b.later[1].0, b.later[1].1.len()), (1, 1));
        assert!(b.blocks[0]["bulleted_list_item"].get("children").is_none());
        assert_eq!(count(&b.blocks[2]), 2);
    }

    #[test]
    fn batches_hold_at_most_100_top_level_blocks_and_500_kb() {
        let many: Vec<Value> = (0..250)
            .map(|i| item("paragraph", &i.to_string(), vec![]))
            .collect();
        let sizes: Vec<usize> = batches(many).iter().map(|b| b.blocks.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let big = "x".repeat(1900);
        let heavy: Vec<Value> = (0..40)
            .map(|_| {
                let items: Vec<Value> = (0..40).map(|_| text(&big)).collect();
                json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": items}})
            })
            .collect();
        for b in batches(fit_blocks(heavy)) {
            let bytes: usize = b.blocks.iter().map(size).sum();
            assert!(bytes <= MAX_BODY_BYTES - BODY_RESERVE, "{bytes}");
        }
    }
}
