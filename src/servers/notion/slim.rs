//! Slimmed views of Notion objects for the model: ids, titles, plain values, without the
//! bookkeeping fields that cost context and help nobody.

use serde_json::{Map, Value, json};

use super::markdown::{plain_text, rich_text_to_markdown};

/// The title of a page (its `title`-typed property) or of a database/data source.
pub fn title_of(object: &Value) -> String {
    if let Some(title) = object.get("title")
        && title.is_array()
    {
        return plain_text(title);
    }
    object
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|props| {
            props
                .values()
                .find(|p| p.get("type").and_then(Value::as_str) == Some("title"))
        })
        .map(|p| plain_text(p.get("title").unwrap_or(&Value::Null)))
        .unwrap_or_default()
}

/// The name of a page's title property (`title` for plain pages, e.g. `Name` for rows).
pub fn title_property_name(properties: &Value) -> Option<String> {
    properties.as_object().and_then(|props| {
        props
            .iter()
            .find(|(_, p)| {
                p.get("type").and_then(Value::as_str) == Some("title")
                    || p.get("title").is_some_and(Value::is_object)
            })
            .map(|(name, _)| name.clone())
    })
}

fn icon(value: Option<&Value>) -> Value {
    let Some(v) = value else { return Value::Null };
    v.get("emoji")
        .or_else(|| v.pointer("/external/url"))
        .or_else(|| v.pointer("/file/url"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn parent(value: Option<&Value>) -> Value {
    let Some(p) = value else { return Value::Null };
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    match p.get(kind) {
        Some(id) if id.is_string() => json!({ kind: id }),
        _ => json!({ "type": kind }),
    }
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Value) {
    if !value.is_null() {
        map.insert(key.to_owned(), value);
    }
}

fn copy(map: &mut Map<String, Value>, from: &Value, key: &str) {
    if let Some(v) = from.get(key)
        && !v.is_null()
    {
        map.insert(key.to_owned(), v.clone());
    }
}

/// The plain value of one page property.
pub fn property_value(property: &Value) -> Value {
    let kind = property.get("type").and_then(Value::as_str).unwrap_or("");
    let inner = property.get(kind).unwrap_or(&Value::Null);
    match kind {
        "title" | "rich_text" => Value::String(rich_text_to_markdown(inner)),
        "select" | "status" => inner.get("name").cloned().unwrap_or(Value::Null),
        "multi_select" => Value::Array(
            inner
                .as_array()
                .map(|a| a.iter().filter_map(|o| o.get("name").cloned()).collect())
                .unwrap_or_default(),
        ),
        "people" => Value::Array(
            inner
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.get("name").or_else(|| u.get("id")).cloned())
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "relation" => Value::Array(
            inner
                .as_array()
                .map(|a| a.iter().filter_map(|r| r.get("id").cloned()).collect())
                .unwrap_or_default(),
        ),
        "formula" => {
            let k = inner.get("type").and_then(Value::as_str).unwrap_or("");
            inner.get(k).cloned().unwrap_or(Value::Null)
        }
        "rollup" => {
            let k = inner.get("type").and_then(Value::as_str).unwrap_or("");
            inner.get(k).cloned().unwrap_or(Value::Null)
        }
        "files" => Value::Array(
            inner
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.get("name").cloned()).collect())
                .unwrap_or_default(),
        ),
        "created_by" | "last_edited_by" => inner
            .get("name")
            .or_else(|| inner.get("id"))
            .cloned()
            .unwrap_or(Value::Null),
        "unique_id" => match (
            inner.get("prefix").and_then(Value::as_str),
            inner.get("number"),
        ) {
            (Some(prefix), Some(n)) => Value::String(format!("{prefix}-{n}")),
            (_, Some(n)) => n.clone(),
            _ => Value::Null,
        },
        _ => inner.clone(),
    }
}

/// A page: id, title, url, parent, trash state, times, icon and property values.
pub fn page(p: &Value) -> Value {
    let mut out = Map::new();
    out.insert("object".into(), Value::from("page"));
    copy(&mut out, p, "id");
    out.insert("title".into(), Value::String(title_of(p)));
    copy(&mut out, p, "url");
    insert_some(&mut out, "parent", parent(p.get("parent")));
    copy(&mut out, p, "in_trash");
    copy(&mut out, p, "created_time");
    copy(&mut out, p, "last_edited_time");
    insert_some(&mut out, "icon", icon(p.get("icon")));
    if let Some(props) = p.get("properties").and_then(Value::as_object) {
        let mut slim = Map::new();
        for (name, prop) in props {
            slim.insert(
                name.clone(),
                json!({"id": prop.get("id"), "type": prop.get("type"), "value": property_value(prop)}),
            );
        }
        out.insert("properties".into(), Value::Object(slim));
    }
    Value::Object(out)
}

/// A database: id, title, description, data sources, trash state.
pub fn database(d: &Value) -> Value {
    let mut out = Map::new();
    out.insert("object".into(), Value::from("database"));
    copy(&mut out, d, "id");
    out.insert("title".into(), Value::String(title_of(d)));
    if let Some(desc) = d.get("description").filter(|v| v.is_array()) {
        out.insert("description".into(), Value::String(plain_text(desc)));
    }
    copy(&mut out, d, "url");
    insert_some(&mut out, "parent", parent(d.get("parent")));
    copy(&mut out, d, "is_inline");
    copy(&mut out, d, "in_trash");
    insert_some(&mut out, "icon", icon(d.get("icon")));
    if let Some(sources) = d.get("data_sources").and_then(Value::as_array) {
        out.insert(
            "data_sources".into(),
            Value::Array(
                sources
                    .iter()
                    .map(|s| json!({"id": s.get("id"), "name": s.get("name")}))
                    .collect(),
            ),
        );
    }
    Value::Object(out)
}

/// A data source: id, title, parent database and property schema (names, types, options).
pub fn data_source(d: &Value) -> Value {
    let mut out = Map::new();
    out.insert("object".into(), Value::from("data_source"));
    copy(&mut out, d, "id");
    out.insert("title".into(), Value::String(title_of(d)));
    insert_some(&mut out, "parent", parent(d.get("parent")));
    copy(&mut out, d, "in_trash");
    copy(&mut out, d, "url");
    if let Some(props) = d.get("properties").and_then(Value::as_object) {
        let mut slim = Map::new();
        for (name, prop) in props {
            let kind = prop.get("type").and_then(Value::as_str).unwrap_or("");
            let mut entry = json!({"id": prop.get("id"), "type": kind});
            if let Some(options) = prop
                .get(kind)
                .and_then(|k| k.get("options"))
                .and_then(Value::as_array)
                && let Some(obj) = entry.as_object_mut()
            {
                obj.insert(
                    "options".into(),
                    Value::Array(
                        options
                            .iter()
                            .filter_map(|o| o.get("name").cloned())
                            .collect(),
                    ),
                );
            }
            slim.insert(name.clone(), entry);
        }
        out.insert("properties".into(), Value::Object(slim));
    }
    Value::Object(out)
}

/// A block: id, type, its text as Markdown, and the fields needed to act on it.
pub fn block(b: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, b, "id");
    let kind = b
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unsupported");
    out.insert("type".into(), Value::from(kind));
    let body = b.get(kind).unwrap_or(&Value::Null);
    if let Some(rt) = body.get("rich_text") {
        out.insert("text".into(), Value::String(rich_text_to_markdown(rt)));
    }
    for key in ["checked", "language", "title", "url", "expression"] {
        copy(&mut out, body, key);
    }
    copy(&mut out, b, "has_children");
    if b.get("in_trash").and_then(Value::as_bool) == Some(true) {
        out.insert("in_trash".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// A comment: id, discussion, author, time and text.
pub fn comment(c: &Value) -> Value {
    json!({
        "id": c.get("id"),
        "discussion_id": c.get("discussion_id"),
        "created_time": c.get("created_time"),
        "created_by": c.pointer("/created_by/id"),
        "text": rich_text_to_markdown(c.get("rich_text").unwrap_or(&Value::Null)),
    })
}

/// A user: id, type, name and email (people) or workspace (bots).
pub fn user(u: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, u, "id");
    copy(&mut out, u, "type");
    copy(&mut out, u, "name");
    if let Some(email) = u.pointer("/person/email") {
        out.insert("email".into(), email.clone());
    }
    if let Some(ws) = u.pointer("/bot/workspace_name") {
        out.insert("workspace_name".into(), ws.clone());
    }
    if let Some(owner) = u.pointer("/bot/owner/user") {
        out.insert("owner".into(), user(owner));
    }
    Value::Object(out)
}

/// A list envelope with each result slimmed by `f`.
pub fn list(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    let results: Vec<Value> = v
        .get("results")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(&f).collect())
        .unwrap_or_default();
    json!({
        "results": results,
        "has_more": v.get("has_more").and_then(Value::as_bool).unwrap_or(false),
        "next_cursor": v.get("next_cursor").cloned().unwrap_or(Value::Null),
    })
}

/// Any object by its `object` field.
pub fn any(v: &Value) -> Value {
    match v.get("object").and_then(Value::as_str) {
        Some("page") => page(v),
        Some("database") => database(v),
        Some("data_source") => data_source(v),
        Some("block") => block(v),
        Some("comment") => comment(v),
        Some("user") => user(v),
        _ => without_request_id(v),
    }
}

/// `v` without Notion's `request_id`.
pub fn without_request_id(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("request_id");
    }
    v
}
