//! Ollama's decoding of a chat request's `tools` into its Go types (`api.Tool`,
//! `api.ToolFunction`, `api.ToolFunctionParameters`, `api.ToolProperty`) and their encoding
//! again for the template: what the model sees of a tool. Go's decoder drops every key its
//! types do not name, without an error; which keys a property keeps depends on the version
//! ([`Fields`]).
//!
//! [`losses`] compares what was sent with what the model sees: keys dropped, references left,
//! properties without a type or an enum.

use serde_json::{Map, Value};

/// The fields of `api.ToolProperty` in one range of Ollama versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// Up to 0.13.4 (the appliance ships 0.12.11): `anyOf`, `type`, `items`, `description`,
    /// `enum`.
    V0_12,
    /// 0.13.5 to 0.19: `properties` as well.
    V0_13_5,
    /// 0.20 and later: `required` as well.
    V0_20,
}

impl Fields {
    fn nested_properties(self) -> bool {
        self != Self::V0_12
    }
    fn nested_required(self) -> bool {
        self == Self::V0_20
    }
}

/// A key of a Go struct as `encoding/json` finds it: the exact name, else one that differs only
/// in ASCII case.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The function of one `tools` entry as Ollama encodes `api.ToolFunction` for the template:
/// `name`, `description` (when not empty) and `parameters`.
pub fn function(tool: &Value, fields: Fields) -> Value {
    let empty = Map::new();
    let function = tool
        .as_object()
        .and_then(|t| field(t, "function"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = Map::new();
    out.insert(
        "name".into(),
        field(function, "name").cloned().unwrap_or(Value::from("")),
    );
    if let Some(Value::String(d)) = field(function, "description")
        && !d.is_empty()
    {
        out.insert("description".into(), Value::from(d.clone()));
    }
    let parameters = field(function, "parameters")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    out.insert("parameters".into(), self::parameters(parameters, fields));
    Value::Object(out)
}

/// `api.ToolFunctionParameters`: `type`, `$defs` and `items` (raw), `required`, `properties`.
fn parameters(parameters: &Map<String, Value>, fields: Fields) -> Value {
    let mut p = Map::new();
    p.insert(
        "type".into(),
        field(parameters, "type")
            .filter(|t| t.is_string())
            .cloned()
            .unwrap_or(Value::from("")),
    );
    for key in ["$defs", "items"] {
        if let Some(v) = field(parameters, key).filter(|v| !v.is_null()) {
            p.insert(key.into(), v.clone());
        }
    }
    if let Some(required) = strings(field(parameters, "required")) {
        p.insert("required".into(), required);
    }
    p.insert(
        "properties".into(),
        match field(parameters, "properties") {
            Some(Value::Object(props)) => Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), property(v, fields)))
                    .collect(),
            ),
            _ => Value::Null,
        },
    );
    Value::Object(p)
}

/// A non-empty list of strings, as `[]string` with `omitempty` keeps it.
fn strings(value: Option<&Value>) -> Option<Value> {
    match value {
        Some(Value::Array(list)) if !list.is_empty() => Some(Value::Array(
            list.iter()
                .map(|v| Value::from(v.as_str().unwrap_or("")))
                .collect(),
        )),
        _ => None,
    }
}

/// `api.ToolProperty` of the version: every other key dropped.
pub fn property(property: &Value, fields: Fields) -> Value {
    let mut out = Map::new();
    let Some(object) = property.as_object() else {
        return Value::Object(out);
    };
    if let Some(Value::Array(any)) = field(object, "anyOf")
        && !any.is_empty()
    {
        out.insert(
            "anyOf".into(),
            Value::Array(any.iter().map(|b| self::property(b, fields)).collect()),
        );
    }
    match field(object, "type") {
        Some(Value::Array(types)) if types.len() == 1 => {
            out.insert("type".into(), types[0].clone());
        }
        Some(Value::Array(types)) if !types.is_empty() => {
            out.insert("type".into(), Value::Array(types.clone()));
        }
        Some(Value::String(t)) => {
            out.insert("type".into(), Value::from(t.clone()));
        }
        // `PropertyType.UnmarshalJSON` reads null as the empty string.
        Some(Value::Null) => {
            out.insert("type".into(), Value::from(""));
        }
        _ => {}
    }
    if let Some(items) = field(object, "items").filter(|v| !v.is_null()) {
        out.insert("items".into(), items.clone());
    }
    if let Some(Value::String(d)) = field(object, "description")
        && !d.is_empty()
    {
        out.insert("description".into(), Value::from(d.clone()));
    }
    if let Some(Value::Array(e)) = field(object, "enum")
        && !e.is_empty()
    {
        out.insert("enum".into(), Value::Array(e.clone()));
    }
    if fields.nested_properties()
        && let Some(Value::Object(props)) = field(object, "properties")
    {
        out.insert(
            "properties".into(),
            Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), self::property(v, fields)))
                    .collect(),
            ),
        );
    }
    if fields.nested_required()
        && let Some(required) = strings(field(object, "required"))
    {
        out.insert("required".into(), required);
    }
    Value::Object(out)
}

/// What the model does not get of one `tools` entry decoded as `fields`, each a line naming
/// where: keys dropped (other than `$schema` and `title`), `$ref`/`$defs`/`definitions` left
/// anywhere (inside `items` too), and properties at any depth with neither a type nor an enum.
/// Below the top level, a version without nested `properties` (or `required`) loses nothing
/// when the property's description names every field.
pub fn losses(tool: &Value, fields: Fields) -> Vec<String> {
    let seen = function(tool, fields);
    let name = seen["name"].as_str().unwrap_or("?").to_owned();
    let sent = tool
        .pointer("/function/parameters")
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    let seen_parameters = &seen["parameters"];
    if let Value::Object(sent_map) = &sent {
        for key in sent_map.keys() {
            if !matches!(key.as_str(), "$schema" | "title")
                && seen_parameters.get(key).is_none_or(Value::is_null)
                && !(key == "properties" && sent_map[key].as_object().is_some_and(Map::is_empty))
            {
                out.push(format!("{name}: `{key}` dropped"));
            }
        }
    }
    references(seen_parameters, &name, &mut out);
    if let (Some(Value::Object(sent_props)), Some(Value::Object(seen_props))) =
        (sent.get("properties"), seen_parameters.get("properties"))
    {
        for (key, prop) in sent_props {
            let path = format!("{name}.{key}");
            compare(prop, &seen_props[key], &path, fields, &mut out);
        }
    }
    out
}

/// Adds what `seen` (a decoded property) lost of `sent` at `path`.
fn compare(sent: &Value, seen: &Value, path: &str, fields: Fields, out: &mut Vec<String>) {
    typed(seen, path, out);
    let Value::Object(sent_map) = sent else {
        return;
    };
    let description = seen["description"].as_str().unwrap_or("").to_lowercase();
    for key in sent_map.keys() {
        if matches!(key.as_str(), "$schema" | "title") || seen.get(key).is_some() {
            continue;
        }
        let named = sent_map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.keys().all(|k| description.contains(&k.to_lowercase())));
        let excused = match key.as_str() {
            "properties" => !fields.nested_properties() && named,
            "required" => !fields.nested_required() && named,
            _ => false,
        };
        if !excused {
            out.push(format!("{path}: `{key}` dropped"));
        }
    }
    if let (Some(Value::Object(sent_props)), Some(Value::Object(seen_props))) =
        (sent.get("properties"), seen.get("properties"))
    {
        for (key, prop) in sent_props {
            compare(
                prop,
                &seen_props[key],
                &format!("{path}.{key}"),
                fields,
                out,
            );
        }
    }
    if let (Some(Value::Array(sent_any)), Some(Value::Array(seen_any))) =
        (sent.get("anyOf"), seen.get("anyOf"))
    {
        for (i, (a, b)) in sent_any.iter().zip(seen_any).enumerate() {
            compare(a, b, &format!("{path}|{i}"), fields, out);
        }
    }
    if let Some(items) = seen.get("items") {
        // Items are kept raw: what they hold must be typed too.
        raw_typed(items, &format!("{path}[]"), out);
    }
}

/// A property with neither a type nor an enum.
fn typed(seen: &Value, path: &str, out: &mut Vec<String>) {
    let has_type = match seen.get("type") {
        Some(Value::String(t)) => !t.is_empty(),
        Some(Value::Array(ts)) => !ts.is_empty(),
        _ => false,
    };
    if !has_type && seen.get("enum").is_none() {
        out.push(format!("{path}: no type"));
    }
}

/// Checks a schema kept raw (an `items`): typed, and its properties typed at every depth.
fn raw_typed(schema: &Value, path: &str, out: &mut Vec<String>) {
    if !schema.is_object() {
        return;
    }
    typed(schema, path, out);
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (key, prop) in props {
            raw_typed(prop, &format!("{path}.{key}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        raw_typed(items, &format!("{path}[]"), out);
    }
    if let Some(Value::Array(any)) = schema.get("anyOf") {
        for (i, branch) in any.iter().enumerate() {
            raw_typed(branch, &format!("{path}|{i}"), out);
        }
    }
}

/// Adds a line for every `$ref`, `$defs` or `definitions` key anywhere in `value`.
fn references(value: &Value, name: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if matches!(key.as_str(), "$ref" | "$defs" | "definitions") {
                    out.push(format!("{name}: `{key}` left in what the model sees"));
                }
                match (key.as_str(), inner) {
                    // Property names are names, not keywords.
                    ("properties", Value::Object(props)) => {
                        for schema in props.values() {
                            references(schema, name, out);
                        }
                    }
                    _ => references(inner, name, out),
                }
            }
        }
        Value::Array(list) => {
            for inner in list {
                references(inner, name, out);
            }
        }
        _ => {}
    }
}
