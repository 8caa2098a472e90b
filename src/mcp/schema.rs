//! The model-facing form of a tool's input schema: only what Ollama's decoder keeps.
//!
//! Ollama decodes a request's `tools` into its own Go types before a template renders them
//! (`api.ToolFunctionParameters` and `api.ToolProperty`): the parameters keep `type`,
//! `properties` and `required`, and every property only `anyOf`, `type`, `items`,
//! `description`, `enum`, `properties` and `required`. Everything else (`$ref`, `oneOf`,
//! `allOf`, `const`, `format`, bounds, `default`, `additionalProperties`) is dropped without a
//! word. [`compile`] rewrites any server's input schema into that subset so that nothing the
//! model needs is lost on the way:
//!
//! - `$ref` (into `$defs`, `definitions` or any JSON pointer of the document) and `allOf` are
//!   resolved inline; a schema that refers to itself is followed [`MAX_REF_REPEAT`] levels deep
//!   and then cut off, and the description says so;
//! - `oneOf`/`anyOf` whose branches are `const` values become an `enum`, the branches'
//!   descriptions folded into the property's; other `oneOf`s become `anyOf`;
//! - a union with `null` (`anyOf` with `{"type": "null"}`, `"type": ["string", "null"]`) becomes
//!   its non-null type: that a value may be left out is already said by `required`;
//! - every property gets a type: from its enum values, its `properties` or `items`, or, for a
//!   free-form value, from what its description says it is (an object when it shows one);
//! - `required` is kept at every depth, limited to the properties that exist;
//! - `$schema`, `$defs`, `title`, `additionalProperties` and the like are dropped, and what
//!   carries meaning (a default, numeric bounds, a format such as date or email, length and
//!   item limits, a short pattern) is said in a few words at the end of the description.
//!
//! The result is deterministic (the same input gives the same bytes), so the tools at the start
//! of a prompt stay the same from one request to the next and a prefix cache can reuse them.
//! Work is bounded: nesting deeper than [`MAX_DEPTH`] or beyond [`MAX_NODES`] schema nodes is
//! cut off the same way as a recursive schema.

use serde_json::{Map, Value};

/// The deepest nesting of properties and items described; deeper values are cut off.
pub const MAX_DEPTH: usize = 8;
/// How many times one `$ref` may be open on a path: a recursive schema shows this many levels.
pub const MAX_REF_REPEAT: usize = 2;
/// The most schema nodes compiled for one tool; the rest are cut off.
pub const MAX_NODES: usize = 2000;
/// The most `$ref` hops followed to reach one schema (a chain of references to references).
const MAX_REF_HOPS: usize = 16;
/// The longest default or pattern said in a description, in bytes of JSON.
const MAX_NOTE_VALUE_BYTES: usize = 60;
/// What a cut-off description ends with.
pub const CUT_NOTE: &str = "deeper levels not shown";
/// The types of a free-form value that says nothing of its kind.
const ANY_TYPES: [&str; 5] = ["string", "number", "boolean", "object", "array"];

/// `schema` (a tool's input schema) in the subset of JSON Schema that Ollama's decoder keeps;
/// always an object schema with `type` and `properties`.
#[must_use]
pub fn compile(schema: &Map<String, Value>) -> Value {
    let root = Value::Object(schema.clone());
    let mut compiler = Compiler {
        root: &root,
        open: Vec::new(),
        nodes: 0,
    };
    let mut out = compiler.node(&root, 0, false);
    out.retain(|key, _| matches!(key.as_str(), "properties" | "required"));
    out.insert("type".into(), Value::from("object"));
    out.entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    Value::Object(out)
}

/// One compilation: the document `$ref`s point into, the references open on the current path,
/// and the nodes compiled so far.
struct Compiler<'a> {
    root: &'a Value,
    open: Vec<String>,
    nodes: usize,
}

/// A schema with its references and combinations resolved into one set of keywords.
#[derive(Default)]
struct Flat {
    keywords: Map<String, Value>,
    /// The references opened to build it, closed once its children are compiled.
    opened: usize,
    /// It refers back into itself too often (or too deep): describe it without children.
    cut: bool,
}

impl<'a> Compiler<'a> {
    /// The compiled form of `schema`, found at nesting `depth`; `decoded` when Ollama decodes it
    /// into a property of its own (a parameter, or a branch of one's `anyOf`) rather than
    /// keeping it raw (`items`) or dropping it (below a parameter, before Ollama 0.13.5).
    fn node(&mut self, schema: &Value, depth: usize, decoded: bool) -> Map<String, Value> {
        self.nodes += 1;
        let mut flat = Flat::default();
        flat.keywords = self.flatten(schema, &mut flat.opened, &mut flat.cut, 0);
        let cut = flat.cut || depth > MAX_DEPTH || self.nodes > MAX_NODES;
        let out = self.emit(&flat.keywords, depth, decoded, cut);
        for _ in 0..flat.opened {
            self.open.pop();
        }
        out
    }

    /// The keywords of `schema` with `$ref`, `allOf` and unions with `null` resolved; the
    /// schema's own keywords win over those it refers to.
    fn flatten(
        &mut self,
        schema: &Value,
        opened: &mut usize,
        cut: &mut bool,
        hops: usize,
    ) -> Map<String, Value> {
        let Value::Object(own) = schema else {
            return Map::new();
        };
        let mut own = own.clone();
        let mut base = Map::new();
        if let Some(Value::String(reference)) = own.remove("$ref") {
            let target = self.lookup(&reference);
            let repeats = self.open.iter().filter(|r| **r == reference).count();
            match target {
                Some(target) if repeats >= MAX_REF_REPEAT || hops >= MAX_REF_HOPS => {
                    *cut = true;
                    base = shallow(target);
                }
                Some(target) => {
                    self.open.push(reference);
                    *opened += 1;
                    base = self.flatten(target, opened, cut, hops + 1);
                }
                None => {}
            }
        }
        if let Some(Value::Array(parts)) = own.remove("allOf") {
            for part in &parts {
                let part = self.flatten(part, opened, cut, hops + 1);
                combine(&mut base, part);
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some(Value::Array(branches)) = own.get(key) else {
                continue;
            };
            let kept: Vec<Value> = branches.iter().filter(|b| !is_null(b)).cloned().collect();
            if kept.len() == branches.len() {
                continue;
            }
            if kept.len() == 1 {
                own.remove(key);
                let only = self.flatten(&kept[0], opened, cut, hops + 1);
                combine(&mut base, only);
            } else {
                own.insert(key.into(), Value::Array(kept));
            }
        }
        own.remove("nullable");
        if let Some(Value::Array(types)) = own.get("type") {
            let kept: Vec<Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            let single = (kept.len() == 1).then(|| kept[0].clone());
            own.insert("type".into(), single.unwrap_or(Value::Array(kept)));
        }
        overlay(&mut base, own);
        base
    }

    /// The schema `reference` points to in this document: `#`, or a JSON pointer after `#`.
    fn lookup(&self, reference: &str) -> Option<&'a Value> {
        let root: &'a Value = self.root;
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(root);
        }
        if !pointer.starts_with('/') {
            return None;
        }
        root.pointer(&percent_decoded(pointer))
    }

    /// The model-facing keywords of a flattened schema; children compiled unless `cut`.
    fn emit(
        &mut self,
        flat: &Map<String, Value>,
        depth: usize,
        decoded: bool,
        cut: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let mut description = text_of(flat.get("description"));
        let mut notes: Vec<String> = Vec::new();

        let mut values: Vec<Value> = Vec::new();
        if let Some(Value::Array(e)) = flat.get("enum") {
            values.extend(e.iter().filter(|v| !v.is_null()).cloned());
        } else if let Some(c) = flat.get("const").filter(|c| !c.is_null()) {
            values.push(c.clone());
        }
        let mut types = types_of(flat.get("type"));
        let union = match (flat.get("anyOf"), flat.get("oneOf")) {
            (Some(Value::Array(b)), _) | (None, Some(Value::Array(b))) => Some(b.clone()),
            _ => None,
        };
        if let Some(branches) = union {
            let flats: Vec<Map<String, Value>> = branches
                .iter()
                .map(|b| {
                    let (mut opened, mut branch_cut) = (0, false);
                    let f = self.flatten(b, &mut opened, &mut branch_cut, 0);
                    for _ in 0..opened {
                        self.open.pop();
                    }
                    f
                })
                .collect();
            if !flats.is_empty() && flats.iter().all(is_constant) {
                let mut said = Vec::new();
                for f in &flats {
                    let value = f
                        .get("const")
                        .cloned()
                        .or_else(|| f.get("enum").and_then(Value::as_array)?.first().cloned())
                        .unwrap_or(Value::Null);
                    if let Some(d) = text_of(f.get("description")) {
                        said.push(format!("{}: {}", plain(&value), d.trim_end_matches('.')));
                    }
                    values.push(value);
                }
                if !said.is_empty() {
                    description = Some(join_sentences(description, &said.join("; ")));
                }
            } else if !cut {
                let compiled: Vec<Map<String, Value>> = branches
                    .iter()
                    .map(|b| self.node(b, depth + 1, decoded))
                    .collect();
                let branch_types: Vec<Vec<String>> =
                    compiled.iter().map(|c| types_of(c.get("type"))).collect();
                let simple = compiled
                    .iter()
                    .all(|c| c.keys().all(|k| k == "type") && c.contains_key("type"));
                if types.is_empty() && branch_types.iter().all(|t| !t.is_empty()) {
                    for t in branch_types.into_iter().flatten() {
                        if !types.contains(&t) {
                            types.push(t);
                        }
                    }
                }
                if !simple {
                    out.insert(
                        "anyOf".into(),
                        Value::Array(compiled.into_iter().map(Value::Object).collect()),
                    );
                }
            }
        }
        dedup(&mut values);
        if !values.is_empty() {
            if types.is_empty() {
                types = value_types(&values);
            }
            out.insert("enum".into(), Value::Array(values.clone()));
        }

        let properties = flat.get("properties").and_then(Value::as_object);
        let items = flat.get("items").or_else(|| flat.get("prefixItems"));
        if types.is_empty() {
            if properties.is_some() || flat.contains_key("additionalProperties") {
                types.push("object".into());
            } else if items.is_some() {
                types.push("array".into());
            } else if !out.contains_key("anyOf") {
                types = free_form_types(description.as_deref());
            }
        }

        if types.iter().any(|t| t == "object") {
            if let Some(properties) = properties
                && !cut
            {
                let mut compiled = Map::new();
                for (name, schema) in properties {
                    let parameter = depth == 0;
                    let node = self.node(schema, depth + 1, parameter);
                    compiled.insert(name.clone(), Value::Object(node));
                }
                let required = required_of(flat.get("required"), &compiled);
                if decoded && !compiled.is_empty() {
                    let lower = description.as_deref().unwrap_or("").to_lowercase();
                    if !compiled.keys().all(|k| lower.contains(&k.to_lowercase())) {
                        notes.push(fields_note(&compiled, &required));
                    }
                }
                out.insert("properties".into(), Value::Object(compiled));
                if !required.is_empty() {
                    out.insert(
                        "required".into(),
                        Value::Array(required.into_iter().map(Value::from).collect()),
                    );
                }
            }
            if let Some(values_schema @ Value::Object(_)) = flat.get("additionalProperties") {
                let mut opened = 0;
                let mut ignored = false;
                let v = self.flatten(values_schema, &mut opened, &mut ignored, 0);
                for _ in 0..opened {
                    self.open.pop();
                }
                let value_types = types_of(v.get("type"));
                if !value_types.is_empty() && properties.is_none() {
                    notes.push(format!("each value {}", value_types.join(" or ")));
                }
            }
        }
        if types.iter().any(|t| t == "array")
            && !cut
            && let Some(items) = items
        {
            let first = match items {
                Value::Array(list) => list.first(),
                other => Some(other),
            };
            // Items that may be anything say nothing Ollama would keep.
            let free = |v: &Value| {
                matches!(v, Value::Bool(true)) || v.as_object().is_some_and(Map::is_empty)
            };
            if let Some(first) = first.filter(|v| !free(v)) {
                let compiled = self.node(first, depth + 1, false);
                if !compiled.is_empty() {
                    out.insert("items".into(), Value::Object(compiled));
                }
            }
        }

        notes.extend(limits(flat, description.as_deref()));
        if cut {
            notes.push(CUT_NOTE.to_owned());
        }
        if !notes.is_empty() {
            description = Some(match description {
                Some(d) => format!("{d} ({})", notes.join(", ")),
                None => capitalised(&notes.join(", ")),
            });
        }
        if let Some(d) = description {
            out.insert("description".into(), Value::from(d));
        }
        match types.len() {
            0 => {}
            1 => {
                out.insert("type".into(), Value::from(types.remove(0)));
            }
            _ => {
                out.insert(
                    "type".into(),
                    Value::Array(types.into_iter().map(Value::from).collect()),
                );
            }
        }
        out
    }
}

/// Whether `schema` only allows `null`.
fn is_null(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => {
            let only_null_type = match m.get("type") {
                Some(Value::String(t)) => t == "null",
                Some(Value::Array(ts)) => ts.iter().all(|t| t.as_str() == Some("null")),
                _ => false,
            };
            only_null_type
                || m.get("const") == Some(&Value::Null) && !m.contains_key("type")
                || matches!(m.get("enum"), Some(Value::Array(e)) if e.iter().all(Value::is_null) && !e.is_empty())
        }
        _ => false,
    }
}

/// Whether a flattened branch is one constant value (`const`, or an `enum` of one).
fn is_constant(flat: &Map<String, Value>) -> bool {
    flat.contains_key("const") || matches!(flat.get("enum"), Some(Value::Array(e)) if e.len() == 1)
}

/// What a cut-off reference is known to be without following it: its type and description.
fn shallow(target: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Value::Object(t) = target else {
        return out;
    };
    let kind = match t.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ if t.contains_key("items") => "array".into(),
        _ => "object".into(),
    };
    out.insert("type".into(), Value::from(kind));
    if let Some(d) = t.get("description") {
        out.insert("description".into(), d.clone());
    }
    out
}

/// Adds the keywords of `part` (one of several combined schemas) to `base`: properties and
/// required names are united, any other keyword already in `base` stays.
fn combine(base: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), base.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.entry(name).or_insert(schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Puts a schema's own keywords over those it refers to: its properties replace theirs of the
/// same name, required names are united, any other keyword of its own wins.
fn overlay(base: &mut Map<String, Value>, own: Map<String, Value>) {
    for (key, value) in own {
        match (key.as_str(), base.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.insert(name, schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, _, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A JSON pointer with `%XX` escapes (as URI fragments have them) decoded.
fn percent_decoded(pointer: &str) -> String {
    if !pointer.contains('%') {
        return pointer.to_owned();
    }
    let bytes = pointer.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = pointer.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A description's text with its whitespace collapsed; `None` when it has none.
fn text_of(value: Option<&Value>) -> Option<String> {
    let text = value?.as_str()?;
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

/// The type names of a `type` keyword, `null` left out.
fn types_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(t)) if t != "null" => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The types of the enum values `values`, in a fixed order.
fn value_types(values: &[Value]) -> Vec<String> {
    let mut types = Vec::new();
    let mut add = |t: &str| {
        if !types.iter().any(|x| x == t) {
            types.push(t.to_owned());
        }
    };
    for v in values {
        match v {
            Value::String(_) => add("string"),
            Value::Bool(_) => add("boolean"),
            Value::Number(n) if n.is_i64() || n.is_u64() => add("integer"),
            Value::Number(_) => add("number"),
            Value::Array(_) => add("array"),
            Value::Object(_) => add("object"),
            Value::Null => {}
        }
    }
    if types.iter().any(|t| t == "number") {
        types.retain(|t| t != "integer");
    }
    types
}

/// The type of a free-form value, from what its description shows: an object for one that
/// shows or names a JSON object, an array for a list, else any JSON value.
fn free_form_types(description: Option<&str>) -> Vec<String> {
    let text = description.unwrap_or("").to_lowercase();
    let object = text.contains('{') || text.contains("object") || text.contains("map of");
    let array = text.contains('[') || text.contains("list of") || text.contains("array");
    match (object, array) {
        (true, false) => vec!["object".into()],
        (false, true) => vec!["array".into()],
        _ => ANY_TYPES.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// The names of `required` that are properties of `compiled`, each once, in their order.
fn required_of(required: Option<&Value>, compiled: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(Value::Array(list)) = required {
        for name in list.iter().filter_map(Value::as_str) {
            if compiled.contains_key(name) && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The fields of an object parameter, for a description that does not name them all (Ollama
/// before 0.13 keeps no `properties` below the top level).
fn fields_note(compiled: &Map<String, Value>, required: &[String]) -> String {
    let names: Vec<String> = compiled
        .keys()
        .map(|k| {
            if required.contains(k) {
                format!("{k} (required)")
            } else {
                k.clone()
            }
        })
        .collect();
    format!("fields: {}", names.join(", "))
}

/// Values once each, in their first order.
fn dedup(values: &mut Vec<Value>) {
    let mut seen: Vec<Value> = Vec::with_capacity(values.len());
    values.retain(|v| {
        if seen.contains(v) {
            false
        } else {
            seen.push(v.clone());
            true
        }
    });
}

/// A value as a description says it: strings bare, anything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` with its first letter upper-case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `extra` added to `description` as its own sentence (its first letter kept as it is: it may
/// be a value).
fn join_sentences(description: Option<String>, extra: &str) -> String {
    match description {
        None => format!("{extra}."),
        Some(d) if d.ends_with(['.', '!', '?']) => format!("{d} {extra}."),
        Some(d) => format!("{d}. {extra}."),
    }
}

/// Whether `number` already appears in `description` as a number of its own.
fn mentions(description: &str, number: &str) -> bool {
    description
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .any(|word| word.trim_end_matches('.') == number)
}

/// The notes a schema's defaults, bounds, formats and limits add to its description, leaving
/// out what the description already says.
fn limits(flat: &Map<String, Value>, description: Option<&str>) -> Vec<String> {
    let said = description.unwrap_or("").to_lowercase();
    let mut notes = Vec::new();
    if let Some(default) = flat.get("default").filter(|d| !d.is_null())
        && !said.contains("default")
    {
        let text = default.to_string();
        if text.len() <= MAX_NOTE_VALUE_BYTES {
            notes.push(format!("default {text}"));
        }
    }
    let format = flat.get("format").and_then(Value::as_str).unwrap_or("");
    if let Some(bounds) = range(flat, "minimum", "maximum", format, &said) {
        notes.push(bounds);
    }
    if let Some(length) = count_range(flat, "minLength", "maxLength", "characters", &said) {
        notes.push(length);
    }
    if let Some(count) = count_range(flat, "minItems", "maxItems", "items", &said) {
        notes.push(count);
    }
    if let Some(count) = count_range(flat, "minProperties", "maxProperties", "fields", &said) {
        notes.push(count);
    }
    let format_note = match format {
        "date" => Some("date YYYY-MM-DD"),
        "date-time" => Some("date-time, RFC 3339"),
        "time" => Some("time HH:MM:SS"),
        "duration" => Some("ISO 8601 duration"),
        "email" | "idn-email" => Some("email address"),
        "uri" | "url" | "iri" | "uri-reference" => Some("URL"),
        "uuid" => Some("UUID"),
        "hostname" | "idn-hostname" => Some("host name"),
        "ipv4" => Some("IPv4 address"),
        "ipv6" => Some("IPv6 address"),
        _ => None,
    };
    if let Some(note) = format_note {
        let word = note.split([' ', ',']).next().unwrap_or(note).to_lowercase();
        if !said.contains(&word) && !said.contains(&format.to_lowercase()) {
            notes.push(note.to_owned());
        }
    }
    if let Some(pattern) = flat.get("pattern").and_then(Value::as_str)
        && pattern.len() <= MAX_NOTE_VALUE_BYTES
        && !said.contains(&pattern.to_lowercase())
    {
        notes.push(format!("pattern {pattern}"));
    }
    notes
}

/// A number as a description says it: integers without a fraction.
fn number_text(value: &Value) -> Option<String> {
    let n = value.as_f64()?;
    if value.is_i64() || value.is_u64() {
        return Some(value.to_string());
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return Some(format!("{n:.0}"));
    }
    Some(value.to_string())
}

/// The numeric bounds of a number: `1 to 100`, `at least 1`, `above 0`, `at most 5`.
fn range(
    flat: &Map<String, Value>,
    min_key: &str,
    max_key: &str,
    format: &str,
    said: &str,
) -> Option<String> {
    let flag = |key: &str| flat.get(key) == Some(&Value::Bool(true));
    let mut min = flat.get(min_key).and_then(number_text);
    let mut max = flat.get(max_key).and_then(number_text);
    let mut min_open = flag("exclusiveMinimum");
    let mut max_open = flag("exclusiveMaximum");
    if let Some(v) = flat.get("exclusiveMinimum").and_then(number_text) {
        min = Some(v);
        min_open = true;
    }
    if let Some(v) = flat.get("exclusiveMaximum").and_then(number_text) {
        max = Some(v);
        max_open = true;
    }
    // An unsigned integer's minimum of 0 is how schema generators say "unsigned"; the name and
    // description of such a value already say more.
    if format.starts_with("uint") && min.as_deref() == Some("0") && !min_open {
        min = None;
    }
    if min.as_deref().is_some_and(|m| mentions(said, m))
        && max.as_deref().is_none_or(|m| mentions(said, m))
    {
        return None;
    }
    if max.as_deref().is_some_and(|m| mentions(said, m)) && min.is_none() {
        return None;
    }
    match (min, max) {
        (Some(lo), Some(hi)) if !min_open && !max_open => Some(format!("{lo} to {hi}")),
        (Some(lo), Some(hi)) => Some(format!(
            "{} {lo} and {} {hi}",
            if min_open { "above" } else { "at least" },
            if max_open { "below" } else { "at most" }
        )),
        (Some(lo), None) => Some(format!(
            "{} {lo}",
            if min_open { "above" } else { "at least" }
        )),
        (None, Some(hi)) => Some(format!(
            "{} {hi}",
            if max_open { "below" } else { "at most" }
        )),
        (None, None) => None,
    }
}

/// A count's bounds: `1 to 50 items`, `at most 2000 characters`, `not empty`.
fn count_range(
    flat: &Map<String, Value>,
    min_key: &str,
    max_key: &str,
    unit: &str,
    said: &str,
) -> Option<String> {
    let min = flat.get(min_key).and_then(Value::as_u64).filter(|m| *m > 0);
    let max = flat.get(max_key).and_then(Value::as_u64);
    if min.is_none_or(|m| mentions(said, &m.to_string()))
        && max.is_none_or(|m| mentions(said, &m.to_string()))
    {
        return None;
    }
    match (min, max) {
        (Some(lo), Some(hi)) if lo == hi => Some(format!("exactly {lo} {unit}")),
        (Some(lo), Some(hi)) => Some(format!("{lo} to {hi} {unit}")),
        (Some(1), None) => Some("not empty".to_owned()),
        (Some(lo), None) => Some(format!("at least {lo} {unit}")),
        (None, Some(hi)) => Some(format!("at most {hi} {unit}")),
        (None, None) => None,
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
