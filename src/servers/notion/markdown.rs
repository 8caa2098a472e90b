//! Markdown and Notion blocks: renders block trees (with rich-text annotations and links) as
//! Markdown, and turns Markdown into block objects ready for the API.

use serde_json::{Map, Value, json};

use super::request_limits::{MAX_TEXT_UNITS, MAX_URL_CHARS, split_utf16};

/// The deepest list nesting kept; items indented deeper join the deepest list.
const MAX_LIST_DEPTH: usize = 20;

/// A block with the children fetched for it.
#[derive(Clone, Debug, Default)]
pub struct BlockTree {
    /// The Notion block object.
    pub block: Value,
    /// Its children, in order (empty when none or not fetched).
    pub children: Vec<BlockTree>,
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// Renders rich-text items as Markdown, keeping bold, italic, strikethrough, code and links.
pub fn rich_text_to_markdown(items: &Value) -> String {
    let Some(items) = items.as_array() else {
        return String::new();
    };
    let mut out = String::new();
    for item in items {
        let text = item
            .get("plain_text")
            .and_then(Value::as_str)
            .or_else(|| item.pointer("/text/content").and_then(Value::as_str))
            .unwrap_or_default();
        if text.is_empty() {
            continue;
        }
        let ann = item.get("annotations");
        let flag = |name: &str| {
            ann.and_then(|a| a.get(name))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let href = item
            .get("href")
            .and_then(Value::as_str)
            .or_else(|| item.pointer("/text/link/url").and_then(Value::as_str));
        let is_equation = item.get("type").and_then(Value::as_str) == Some("equation");
        // Markers go around the trimmed core so that "bold " renders as "**bold** ".
        let start = text.len() - text.trim_start().len();
        let end = text.trim_end().len();
        let (lead, core, trail) = if start < end {
            (&text[..start], &text[start..end], &text[end..])
        } else {
            (text, "", "")
        };
        if core.is_empty() {
            out.push_str(lead);
            continue;
        }
        let mut s = if is_equation {
            format!("${core}$")
        } else if flag("code") {
            format!("`{core}`")
        } else {
            core.to_owned()
        };
        if flag("bold") {
            s = format!("**{s}**");
        }
        if flag("italic") {
            s = format!("*{s}*");
        }
        if flag("strikethrough") {
            s = format!("~~{s}~~");
        }
        if let Some(href) = href {
            s = format!("[{s}]({href})");
        }
        out.push_str(lead);
        out.push_str(&s);
        out.push_str(trail);
    }
    out
}

/// The plain text of rich-text items.
pub fn plain_text(items: &Value) -> String {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    i.get("plain_text")
                        .and_then(Value::as_str)
                        .or_else(|| i.pointer("/text/content").and_then(Value::as_str))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Renders a list of block trees as Markdown.
pub fn render(blocks: &[BlockTree]) -> String {
    let mut out = String::new();
    render_into(blocks, "", &mut out);
    let trimmed = out.trim_end();
    format!("{trimmed}\n")
}

fn is_list(kind: &str) -> bool {
    matches!(kind, "bulleted_list_item" | "numbered_list_item" | "to_do")
}

fn render_into(blocks: &[BlockTree], indent: &str, out: &mut String) {
    let mut number = 0u32;
    let mut previous_list = false;
    for tree in blocks {
        let kind = tree
            .block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unsupported");
        let body = tree.block.get(kind).cloned().unwrap_or(Value::Null);
        let text = rich_text_to_markdown(body.get("rich_text").unwrap_or(&Value::Null));
        if kind == "numbered_list_item" {
            number += 1;
        } else {
            number = 0;
        }
        let list = is_list(kind);
        // Blank line between blocks, except between consecutive list items.
        if !(out.is_empty() || list && previous_list) {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.ends_with("\n\n") {
                out.push('\n');
            }
        }
        previous_list = list;
        let child_indent = format!("{indent}  ");
        match kind {
            "paragraph" => {
                push_lines(out, indent, &text);
                render_children(tree, &child_indent, out);
            }
            "heading_1" | "heading_2" | "heading_3" => {
                let level = match kind {
                    "heading_1" => "#",
                    "heading_2" => "##",
                    _ => "###",
                };
                out.push_str(&format!("{indent}{level} {text}\n"));
                render_children(tree, indent, out);
            }
            "bulleted_list_item" => {
                push_item(out, indent, "- ", &text);
                render_children(tree, &child_indent, out);
            }
            "numbered_list_item" => {
                push_item(out, indent, &format!("{number}. "), &text);
                render_children(tree, &format!("{indent}   "), out);
            }
            "to_do" => {
                let checked = body
                    .get("checked")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let mark = if checked { "- [x] " } else { "- [ ] " };
                push_item(out, indent, mark, &text);
                render_children(tree, &child_indent, out);
            }
            "quote" | "callout" => {
                let icon = body
                    .pointer("/icon/emoji")
                    .and_then(Value::as_str)
                    .map(|e| format!("{e} "))
                    .unwrap_or_default();
                let quoted = format!("{indent}> ");
                push_lines(out, &quoted, &format!("{icon}{text}"));
                let mut inner = String::new();
                render_into(&tree.children, "", &mut inner);
                for line in inner.trim_end().lines() {
                    out.push_str(&format!("{quoted}{line}\n"));
                }
            }
            "code" => {
                let language = body
                    .get("language")
                    .and_then(Value::as_str)
                    .filter(|l| *l != "plain text")
                    .unwrap_or("");
                let code = plain_text(body.get("rich_text").unwrap_or(&Value::Null));
                out.push_str(&format!("{indent}```{language}\n"));
                for line in code.lines() {
                    out.push_str(&format!("{indent}{line}\n"));
                }
                out.push_str(&format!("{indent}```\n"));
            }
            "divider" => out.push_str(&format!("{indent}---\n")),
            "toggle" => {
                out.push_str(&format!(
                    "{indent}<details>\n{indent}<summary>{text}</summary>\n\n"
                ));
                render_into(&tree.children, indent, out);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&format!("{indent}</details>\n"));
            }
            "child_page" | "child_database" => {
                let title = body
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("Untitled");
                let id = tree.block.get("id").and_then(Value::as_str).unwrap_or("");
                let what = if kind == "child_page" {
                    "page"
                } else {
                    "database"
                };
                out.push_str(&format!("{indent}[{what}: {title}] (id {id})\n"));
            }
            "image" | "file" | "pdf" | "video" | "audio" => {
                let url = body
                    .pointer("/external/url")
                    .or_else(|| body.pointer("/file/url"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let caption = plain_text(body.get("caption").unwrap_or(&Value::Null));
                let bang = if kind == "image" { "!" } else { "" };
                let label = if caption.is_empty() {
                    kind.to_owned()
                } else {
                    caption
                };
                out.push_str(&format!("{indent}{bang}[{label}]({url})\n"));
            }
            "bookmark" | "embed" | "link_preview" => {
                let url = body.get("url").and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!("{indent}[{url}]({url})\n"));
            }
            "equation" => {
                let expr = body.get("expression").and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!("{indent}$${expr}$$\n"));
            }
            "table" => render_table(tree, indent, out),
            "column_list" | "column" | "synced_block" => render_into(&tree.children, indent, out),
            _ => {
                if text.is_empty() {
                    out.push_str(&format!("{indent}<!-- {kind} block not shown -->\n"));
                } else {
                    push_lines(out, indent, &text);
                }
                render_children(tree, &child_indent, out);
            }
        }
    }
}

fn render_children(tree: &BlockTree, indent: &str, out: &mut String) {
    if tree.children.is_empty() {
        return;
    }
    let mut inner = String::new();
    render_into(&tree.children, indent, &mut inner);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(inner.trim_end_matches('\n'));
    out.push('\n');
}

fn push_lines(out: &mut String, prefix: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    for line in text.split('\n') {
        out.push_str(prefix);
        out.push_str(line);
        out.push('\n');
    }
}

fn push_item(out: &mut String, indent: &str, marker: &str, text: &str) {
    let mut lines = text.split('\n');
    out.push_str(&format!("{indent}{marker}{}\n", lines.next().unwrap_or("")));
    let pad = " ".repeat(marker.len());
    for line in lines {
        out.push_str(&format!("{indent}{pad}{line}\n"));
    }
}

fn render_table(tree: &BlockTree, indent: &str, out: &mut String) {
    let mut first = true;
    for row in &tree.children {
        let cells = row
            .block
            .pointer("/table_row/cells")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let texts: Vec<String> = cells
            .iter()
            .map(|c| rich_text_to_markdown(c).replace('|', "\\|"))
            .collect();
        out.push_str(&format!("{indent}| {} |\n", texts.join(" | ")));
        if first {
            out.push_str(&format!(
                "{indent}|{}\n",
                " --- |".repeat(texts.len().max(1))
            ));
            first = false;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Converts Markdown into Notion block objects, lists nested as deep as they are written (up to
/// 20 levels). The blocks may exceed what one API request carries; the writer splits them.
pub fn markdown_to_blocks(markdown: &str) -> Vec<Value> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks: Vec<Value> = Vec::new();
    // Open list items: (indent, path of indexes into the nested children).
    let mut list_stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let raw = lines.get(i).copied().unwrap_or("");
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        i += 1;

        if line.is_empty() {
            flush_paragraph(&mut paragraph, &mut blocks);
            continue;
        }
        if let Some(fence) = line.strip_prefix("```") {
            flush_paragraph(&mut paragraph, &mut blocks);
            list_stack.clear();
            let language = code_language(fence.trim());
            let mut code = Vec::new();
            while i < lines.len() {
                let l = lines.get(i).copied().unwrap_or("");
                i += 1;
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(
                    l.get(indent.min(l.len() - l.trim_start().len())..)
                        .unwrap_or(l),
                );
            }
            blocks.push(json!({"object": "block", "type": "code", "code": {
                "rich_text": plain_rich_text(&code.join("\n")), "language": language}}));
            continue;
        }
        if let Some((kind, text, checked)) = list_item(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            let mut body = json!({"rich_text": inline_rich_text(text)});
            if let (Some(checked), Some(obj)) = (checked, body.as_object_mut()) {
                obj.insert("checked".into(), Value::Bool(checked));
            }
            let block = json!({"object": "block", "type": kind, kind: body});
            while list_stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                list_stack.pop();
            }
            let path = match list_stack.last() {
                Some((_, parent)) if parent.len() < MAX_LIST_DEPTH => {
                    let parent = parent.clone();
                    push_child(&mut blocks, &parent, block)
                }
                Some((_, parent)) => {
                    // Deeper than kept: a sibling of the deepest level.
                    let up: Vec<usize> = parent[..parent.len() - 1].to_vec();
                    push_child(&mut blocks, &up, block)
                }
                None => {
                    blocks.push(block);
                    vec![blocks.len() - 1]
                }
            };
            list_stack.push((indent, path));
            continue;
        }
        if !paragraph.is_empty() || indent == 0 {
            list_stack.clear();
        }
        if let Some(rest) = heading(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            let (kind, text) = rest;
            blocks.push(json!({"object": "block", "type": kind, kind: {"rich_text": inline_rich_text(text)}}));
            continue;
        }
        if matches!(line, "---" | "***" | "___") {
            flush_paragraph(&mut paragraph, &mut blocks);
            blocks.push(json!({"object": "block", "type": "divider", "divider": {}}));
            continue;
        }
        if line.starts_with('>') {
            flush_paragraph(&mut paragraph, &mut blocks);
            let mut quoted = vec![line.trim_start_matches('>').trim_start()];
            while let Some(next) = lines.get(i).map(|l| l.trim())
                && next.starts_with('>')
            {
                quoted.push(next.trim_start_matches('>').trim_start());
                i += 1;
            }
            blocks.push(json!({"object": "block", "type": "quote",
                "quote": {"rich_text": inline_rich_text(&quoted.join("\n"))}}));
            continue;
        }
        if let Some((alt, url)) = image(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            let mut image = json!({"type": "external", "external": {"url": url}});
            if !alt.is_empty()
                && let Some(obj) = image.as_object_mut()
            {
                obj.insert("caption".into(), Value::Array(plain_rich_text(alt)));
            }
            blocks.push(json!({"object": "block", "type": "image", "image": image}));
            continue;
        }
        // A continuation line of a list item belongs to it.
        if indent > 0
            && paragraph.is_empty()
            && let Some((_, path)) = list_stack.last()
        {
            let path = path.clone();
            append_text(&mut blocks, &path, line);
            continue;
        }
        paragraph.push(line);
    }
    flush_paragraph(&mut paragraph, &mut blocks);
    blocks
}

fn flush_paragraph(paragraph: &mut Vec<&str>, blocks: &mut Vec<Value>) {
    if paragraph.is_empty() {
        return;
    }
    let text = paragraph.join("\n");
    paragraph.clear();
    blocks.push(json!({"object": "block", "type": "paragraph",
        "paragraph": {"rich_text": inline_rich_text(&text)}}));
}

/// Walks `path` (indexes into nested `children`) and returns the block there.
fn block_at<'a>(blocks: &'a mut [Value], path: &[usize]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let mut current = blocks.get_mut(*first)?;
    for index in rest {
        let kind = current.get("type")?.as_str()?.to_owned();
        current = current
            .get_mut(&kind)?
            .get_mut("children")?
            .get_mut(*index)?;
    }
    Some(current)
}

/// Appends `block` to the children of the block at `parent`; returns the new block's path.
fn push_child(blocks: &mut Vec<Value>, parent: &[usize], block: Value) -> Vec<usize> {
    let Some(target) = block_at(blocks, parent) else {
        blocks.push(block);
        return vec![blocks.len() - 1];
    };
    let kind = target
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("paragraph")
        .to_owned();
    let Some(body) = target.get_mut(&kind).and_then(Value::as_object_mut) else {
        blocks.push(block);
        return vec![blocks.len() - 1];
    };
    let children = body
        .entry("children")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(children) = children.as_array_mut() else {
        blocks.push(block);
        return vec![blocks.len() - 1];
    };
    children.push(block);
    let mut path = parent.to_vec();
    path.push(children.len() - 1);
    path
}

fn append_text(blocks: &mut [Value], path: &[usize], line: &str) {
    let Some(target) = block_at(blocks, path) else {
        return;
    };
    let kind = target
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("paragraph")
        .to_owned();
    if let Some(rich) = target
        .get_mut(&kind)
        .and_then(|b| b.get_mut("rich_text"))
        .and_then(Value::as_array_mut)
    {
        rich.extend(plain_rich_text("\n"));
        rich.extend(inline_rich_text(line));
    }
}

fn heading(line: &str) -> Option<(&'static str, &str)> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = line.get(hashes..)?;
    let text = rest.strip_prefix(' ')?;
    let kind = match hashes {
        1 => "heading_1",
        2 => "heading_2",
        _ => "heading_3",
    };
    Some((kind, text.trim()))
}

/// A list item line: its block type, its text and, for to-dos, whether it is checked.
fn list_item(line: &str) -> Option<(&'static str, &str, Option<bool>)> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            for (todo, checked) in [("[ ] ", false), ("[x] ", true), ("[X] ", true)] {
                if let Some(text) = rest.strip_prefix(todo) {
                    return Some(("to_do", text, Some(checked)));
                }
            }
            if matches!(rest, "[ ]" | "[x]" | "[X]") {
                return Some(("to_do", "", Some(rest != "[ ]")));
            }
            return Some(("bulleted_list_item", rest, None));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 9 {
        let rest = line.get(digits..)?;
        if let Some(text) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(("numbered_list_item", text, None));
        }
    }
    None
}

fn image(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("![")?;
    let (alt, rest) = rest.split_once("](")?;
    let url = rest.strip_suffix(')')?;
    (is_link(url) && !url.contains(' ') && url.chars().count() <= MAX_URL_CHARS)
        .then_some((alt, url))
}

fn is_link(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://") || url.starts_with("mailto:")
}

/// Notion's code block languages that Markdown fences commonly name.
fn code_language(fence: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "bash",
        "c",
        "c#",
        "c++",
        "css",
        "dart",
        "diff",
        "docker",
        "elixir",
        "go",
        "graphql",
        "haskell",
        "html",
        "java",
        "javascript",
        "json",
        "kotlin",
        "latex",
        "lua",
        "makefile",
        "markdown",
        "nix",
        "php",
        "powershell",
        "python",
        "r",
        "ruby",
        "rust",
        "scala",
        "shell",
        "sql",
        "swift",
        "toml",
        "typescript",
        "xml",
        "yaml",
    ];
    let lower = fence.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "sh" | "zsh" => "shell",
        "js" => "javascript",
        "ts" => "typescript",
        "py" => "python",
        "rs" => "rust",
        "yml" => "yaml",
        "cpp" => "c++",
        "csharp" | "cs" => "c#",
        "dockerfile" => "docker",
        "md" => "markdown",
        other => other,
    };
    KNOWN
        .iter()
        .find(|k| **k == alias)
        .copied()
        .unwrap_or("plain text")
}

/// Rich text for `text` with no formatting, split into items Notion accepts.
pub fn plain_rich_text(text: &str) -> Vec<Value> {
    let mut items = Vec::new();
    push_text(&mut items, text, Annotations::default(), None);
    items
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Annotations {
    bold: bool,
    italic: bool,
    strikethrough: bool,
    code: bool,
}

/// Appends `text` as rich-text items of at most 2,000 UTF-16 units each (Notion counts
/// `text.content` in UTF-16 units, so an emoji counts twice).
fn push_text(items: &mut Vec<Value>, text: &str, ann: Annotations, link: Option<&str>) {
    if text.is_empty() {
        return;
    }
    for content in split_utf16(text, MAX_TEXT_UNITS) {
        let mut item = Map::new();
        item.insert("type".into(), Value::from("text"));
        let link_value = link.map_or(Value::Null, |url| json!({"url": url}));
        item.insert(
            "text".into(),
            json!({"content": content, "link": link_value}),
        );
        if ann != Annotations::default() {
            item.insert(
                "annotations".into(),
                json!({"bold": ann.bold, "italic": ann.italic,
                       "strikethrough": ann.strikethrough, "code": ann.code}),
            );
        }
        items.push(Value::Object(item));
    }
}

/// Rich text for one line of Markdown: `**bold**`, `*italic*`, `~~strike~~`, `` `code` `` and
/// `[text](url)` links; unmatched markers stay literal.
pub fn inline_rich_text(text: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut ann = Annotations::default();
    let mut buffer = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            if let Some(end) = rest.get(1..).and_then(|r| r.find('`')) {
                push_text(&mut items, &buffer, ann, None);
                buffer.clear();
                let code = rest.get(1..1 + end).unwrap_or("");
                push_text(&mut items, code, Annotations { code: true, ..ann }, None);
                rest = rest.get(end + 2..).unwrap_or("");
                continue;
            }
        } else if c == '[' {
            if let Some((label, url, after)) = link_at(rest) {
                push_text(&mut items, &buffer, ann, None);
                buffer.clear();
                let mut inner = inline_rich_text(label);
                for item in &mut inner {
                    if let Some(t) = item.get_mut("text").and_then(Value::as_object_mut) {
                        t.insert("link".into(), json!({"url": url}));
                    }
                    if ann != Annotations::default()
                        && let Some(obj) = item.as_object_mut()
                    {
                        obj.entry("annotations").or_insert_with(|| {
                            json!({"bold": ann.bold, "italic": ann.italic,
                                   "strikethrough": ann.strikethrough, "code": false})
                        });
                    }
                }
                items.extend(inner);
                rest = after;
                continue;
            }
        } else if let Some((marker, flag)) = [("**", 0), ("~~", 1), ("*", 2)]
            .into_iter()
            .find(|(m, _)| rest.starts_with(m))
        {
            let after = rest.get(marker.len()..).unwrap_or("");
            let on = match flag {
                0 => ann.bold,
                1 => ann.strikethrough,
                _ => ann.italic,
            };
            // Open only when a closing marker follows (and the text does not start with a space).
            if on || (after.contains(marker) && !after.starts_with(' ')) {
                push_text(&mut items, &buffer, ann, None);
                buffer.clear();
                match flag {
                    0 => ann.bold = !ann.bold,
                    1 => ann.strikethrough = !ann.strikethrough,
                    _ => ann.italic = !ann.italic,
                }
                rest = after;
                continue;
            }
        }
        buffer.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    push_text(&mut items, &buffer, ann, None);
    items
}

/// A `[label](url)` link at the start of `text`: label, url and the text after it.
fn link_at(text: &str) -> Option<(&str, &str, &str)> {
    let close = text.find("](")?;
    let label = text.get(1..close)?;
    if label.contains('[') || label.is_empty() {
        return None;
    }
    let after = text.get(close + 2..)?;
    let end = after.find(')')?;
    let url = after.get(..end)?;
    if !is_link(url) || url.contains(' ') || url.chars().count() > MAX_URL_CHARS {
        return None;
    }
    Some((label, url, after.get(end + 1..).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(block: Value, children: Vec<BlockTree>) -> BlockTree {
        BlockTree { block, children }
    }

    fn text_block(kind: &str, text: &str) -> Value {
        json!({"type": kind, kind: {"rich_text": [{"type": "text", "plain_text": text,
            "text": {"content": text}, "annotations": {}}]}})
    }

    #[test]
    fn renders_common_blocks() {
        let blocks = vec![
            tree(text_block("heading_1", "Plan"), vec![]),
            tree(
                json!({"type": "paragraph", "paragraph": {"rich_text": [
                    {"plain_text": "Read ", "annotations": {}},
                    {"plain_text": "this", "annotations": {"bold": true}, "href": "https://x.io"},
                    {"plain_text": " now", "annotations": {"italic": true}}]}}),
                vec![],
            ),
            tree(
                text_block("bulleted_list_item", "one"),
                vec![tree(text_block("bulleted_list_item", "nested"), vec![])],
            ),
            tree(text_block("bulleted_list_item", "two"), vec![]),
            tree(
                json!({"type": "to_do", "to_do": {"rich_text": [{"plain_text": "done"}], "checked": true}}),
                vec![],
            ),
            tree(
                json!({"type": "code", "code": {"rich_text": [{"plain_text": "let x = 1;"}], "language": "rust"}}),
                vec![],
            ),
            tree(json!({"type": "divider", "divider": {}}), vec![]),
            tree(
                text_block("toggle", "More"),
                vec![tree(text_block("paragraph", "hidden"), vec![])],
            ),
            tree(text_block("quote", "wise"), vec![]),
        ];
        let md = render(&blocks);
        let expected = "# Plan\n\nRead [**this**](https://x.io) *now*\n\n- one\n  - nested\n- two\n- [x] done\n\n\
```rust\nlet x = 1;\n```\n\n---\n\n<details>\n<summary>More</summary>\n\nhidden\n</details>\n\n> wise\n";
        assert_eq!(md, expected);
    }

    #[test]
    fn parses_markdown_into_blocks() {
        let md = "# Title\n\nSome **bold** and *it* and `code` with [a link](https://e.com).\n\n\
- a\n  - a1\n- [ ] task\n1. first\n2. second\n\n```py\nprint(1)\n```\n\n> quoted\n---\n";
        let blocks = markdown_to_blocks(md);
        let kinds: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(
            kinds,
            vec![
                "heading_1",
                "paragraph",
                "bulleted_list_item",
                "to_do",
                "numbered_list_item",
                "numbered_list_item",
                "code",
                "quote",
                "divider"
            ]
        );
        let para = &blocks[1]["paragraph"]["rich_text"];
        assert_eq!(para[1]["text"]["content"], "bold");
        assert_eq!(para[1]["annotations"]["bold"], true);
        assert_eq!(para[3]["annotations"]["italic"], true);
        assert_eq!(para[5]["annotations"]["code"], true);
        assert_eq!(para[7]["text"]["link"]["url"], "https://e.com");
        assert_eq!(
            blocks[2]["bulleted_list_item"]["children"][0]["bulleted_list_item"]["rich_text"][0]["text"]
                ["content"],
            "a1"
        );
        assert_eq!(blocks[3]["to_do"]["checked"], false);
        assert_eq!(blocks[6]["code"]["language"], "python");
    }

    #[test]
    fn round_trips_through_render() {
        let md = "## Notes\n\n- one\n- [x] two\n\n> q\n";
        let trees: Vec<BlockTree> = markdown_to_blocks(md)
            .into_iter()
            .map(|b| {
                let mut b = b;
                // The API answers with plain_text; emulate it from text.content.
                if let Some(kind) = b["type"].as_str().map(str::to_owned)
                    && let Some(items) = b[&kind]["rich_text"].as_array_mut()
                {
                    for i in items {
                        let c = i["text"]["content"].clone();
                        i["plain_text"] = c;
                    }
                }
                tree(b, vec![])
            })
            .collect();
        assert_eq!(render(&trees), md);
    }

    #[test]
    fn long_text_is_split_and_odd_input_is_safe() {
        let long = "x".repeat(4500);
        assert_eq!(plain_rich_text(&long).len(), 3);
        for odd in [
            "**",
            "*",
            "[",
            "[a](",
            "```",
            "- ",
            "1.",
            "# ",
            "#",
            "> ",
            "![x](y",
            "ü**ö",
            "  - x\n    y",
        ] {
            let _ = markdown_to_blocks(odd);
            let _ = inline_rich_text(odd);
        }
        assert!(render(&[tree(json!({"weird": 1}), vec![])]).contains("not shown"));
    }
}
