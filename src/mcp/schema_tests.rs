//! One test per schema pattern: what the compiled schema says, and that it only uses what
//! Ollama's decoder keeps.

use serde_json::{Value, json};

use super::*;

/// The keywords Ollama keeps on a property (`api.ToolProperty`).
const PROPERTY_KEYS: [&str; 7] = [
    "anyOf",
    "type",
    "items",
    "description",
    "enum",
    "properties",
    "required",
];

fn compiled(schema: Value) -> Value {
    let Value::Object(map) = schema else {
        panic!("test schemas are objects");
    };
    let out = compile(&map);
    assert_model_ready(&out);
    out
}

/// The parameters keep only `type`, `properties` and `required`; every property at every depth
/// only Ollama's keywords, with a type or an enum, and required names that exist.
fn assert_model_ready(schema: &Value) {
    let top = schema.as_object().expect("an object");
    for key in top.keys() {
        assert!(
            matches!(key.as_str(), "type" | "properties" | "required"),
            "top-level `{key}` in {schema}"
        );
    }
    assert_eq!(top["type"], "object");
    check_object(top, "parameters");
}

fn check_object(node: &Map<String, Value>, path: &str) {
    let Some(Value::Object(properties)) = node.get("properties") else {
        return;
    };
    if let Some(Value::Array(required)) = node.get("required") {
        for name in required {
            let name = name.as_str().expect("required names are strings");
            assert!(properties.contains_key(name), "{path}: required `{name}`");
        }
    }
    for (name, property) in properties {
        check_property(property, &format!("{path}.{name}"));
    }
}

fn check_property(property: &Value, path: &str) {
    let map = property.as_object().expect("properties are objects");
    for key in map.keys() {
        assert!(PROPERTY_KEYS.contains(&key.as_str()), "{path}: `{key}`");
    }
    assert!(
        map.contains_key("type") || map.contains_key("enum"),
        "{path} has neither a type nor an enum: {property}"
    );
    check_object(map, path);
    if let Some(items) = map.get("items") {
        check_property(items, &format!("{path}[]"));
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        for (i, branch) in branches.iter().enumerate() {
            check_property(branch, &format!("{path}|{i}"));
        }
    }
}

fn description(value: &Value) -> &str {
    value["description"].as_str().unwrap_or("")
}

/// schemars (our own servers): `$defs`, a nullable `$ref`, `oneOf` of described constants and
/// nullable type lists.
#[test]
fn schemars_refs_and_constant_unions_become_enums() {
    let out = compiled(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ListEvents",
        "type": "object",
        "$defs": {
            "OrderBy": {"description": "Event list order.", "oneOf": [
                {"const": "startTime", "description": "By start time.", "type": "string"},
                {"const": "updated", "description": "By last modification.", "type": "string"}
            ]},
            "Response": {"type": "string", "enum": ["accepted", "declined"]}
        },
        "properties": {
            "order_by": {"anyOf": [{"$ref": "#/$defs/OrderBy"}, {"type": "null"}], "description": "The order."},
            "response": {"$ref": "#/$defs/Response", "description": "Your answer."},
            "max_results": {"type": ["integer", "null"], "format": "uint32", "minimum": 0, "description": "At most this many."},
            "q": {"type": ["string", "null"], "description": "Words\n  to find."}
        },
        "required": ["response"]
    }));
    let order = &out["properties"]["order_by"];
    assert_eq!(order["type"], "string");
    assert_eq!(order["enum"], json!(["startTime", "updated"]));
    assert_eq!(
        description(order),
        "The order. startTime: By start time; updated: By last modification."
    );
    let response = &out["properties"]["response"];
    assert_eq!(response["enum"], json!(["accepted", "declined"]));
    assert_eq!(description(response), "Your answer.");
    assert_eq!(
        out["properties"]["max_results"],
        json!({"type": "integer", "description": "At most this many."})
    );
    assert_eq!(
        out["properties"]["q"],
        json!({"type": "string", "description": "Words to find."})
    );
    assert_eq!(out["required"], json!(["response"]));
    assert!(!out.to_string().contains("$defs"));
}

/// pydantic / FastMCP: `$defs`, `anyOf` with null, `default`, titles, and a nested model.
#[test]
fn pydantic_models_resolve_with_defaults_said() {
    let out = compiled(json!({
        "$defs": {
            "Priority": {"enum": ["low", "high"], "title": "Priority", "type": "string"},
            "Filter": {
                "properties": {
                    "tag": {"title": "Tag", "type": "string"},
                    "limit": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 50}, {"type": "null"}], "default": 10, "title": "Limit"}
                },
                "required": ["tag"],
                "title": "Filter",
                "type": "object"
            }
        },
        "properties": {
            "query": {"title": "Query", "type": "string", "minLength": 1, "description": "Search text"},
            "priority": {"anyOf": [{"$ref": "#/$defs/Priority"}, {"type": "null"}], "default": null},
            "filter": {"$ref": "#/$defs/Filter"},
            "due": {"anyOf": [{"format": "date", "type": "string"}, {"type": "null"}], "default": null, "title": "Due"}
        },
        "required": ["query", "filter"],
        "title": "searchArguments",
        "type": "object"
    }));
    let p = &out["properties"];
    assert_eq!(
        p["query"],
        json!({"type": "string", "description": "Search text (not empty)"})
    );
    assert_eq!(
        p["priority"],
        json!({"type": "string", "enum": ["low", "high"]})
    );
    assert_eq!(
        p["due"],
        json!({"type": "string", "description": "Date YYYY-MM-DD"})
    );
    let filter = &p["filter"];
    assert_eq!(filter["type"], "object");
    assert_eq!(filter["required"], json!(["tag"]));
    assert_eq!(filter["properties"]["tag"], json!({"type": "string"}));
    assert_eq!(
        filter["properties"]["limit"],
        json!({"type": "integer", "description": "Default 10, 1 to 50"})
    );
    assert_eq!(
        description(filter),
        "Fields: limit, tag (required)",
        "an object parameter names its fields for Ollama versions that keep none below the top"
    );
    assert_eq!(out["required"], json!(["query", "filter"]));
}

/// zod (draft-07): `additionalProperties: false`, lengths, formats, item limits, a default, a
/// map of strings and a `$ref` to another property's path.
#[test]
fn zod_draft_07_keywords_are_folded_into_descriptions() {
    let out = compiled(json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "email": {"type": "string", "format": "email", "description": "Who to invite"},
            "site": {"type": "string", "format": "uri"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            "at": {"type": "string", "format": "date-time"},
            "backup_email": {"$ref": "#/properties/email"},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
        },
        "required": ["name", "email"]
    }));
    let p = &out["properties"];
    assert_eq!(
        p["name"],
        json!({"type": "string", "description": "1 to 100 characters"})
    );
    assert_eq!(description(&p["email"]), "Who to invite (email address)");
    assert_eq!(description(&p["site"]), "URL");
    assert_eq!(description(&p["tags"]), "At most 5 items");
    assert_eq!(
        p["tags"]["items"],
        json!({"type": "string", "description": "At most 20 characters"})
    );
    assert_eq!(description(&p["mode"]), "Default \"fast\"");
    assert_eq!(p["mode"]["enum"], json!(["fast", "slow"]));
    assert_eq!(
        p["meta"],
        json!({"type": "object", "description": "Each value string"})
    );
    assert_eq!(description(&p["at"]), "Date-time, RFC 3339");
    assert_eq!(p["backup_email"], p["email"]);
    assert_eq!(description(&p["ratio"]), "Above 0 and at most 1");
    assert_eq!(out["required"], json!(["name", "email"]));
}

/// draft-04/07 `definitions`, a reference with its own description, and one inside `items`.
#[test]
fn definitions_resolve_inside_items_too() {
    let out = compiled(json!({
        "type": "object",
        "definitions": {
            "Point": {"type": "object", "description": "A point.", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}
        },
        "properties": {
            "from": {"$ref": "#/definitions/Point"},
            "to": {"$ref": "#/definitions/Point", "description": "Where to go: x and y."},
            "path": {"type": "array", "items": {"$ref": "#/definitions/Point"}}
        }
    }));
    let p = &out["properties"];
    assert_eq!(
        description(&p["from"]),
        "A point. (fields: x (required), y (required))"
    );
    assert_eq!(description(&p["to"]), "Where to go: x and y.");
    assert_eq!(p["to"]["required"], json!(["x", "y"]));
    let item = &p["path"]["items"];
    assert_eq!(item["type"], "object");
    assert_eq!(item["properties"]["x"], json!({"type": "number"}));
    assert_eq!(item["required"], json!(["x", "y"]));
    assert!(!out.to_string().contains("$ref"));
}

/// A recursive schema is followed a few levels and then cut off, saying so.
#[test]
fn recursive_references_are_cut_off_and_say_so() {
    let out = compiled(json!({
        "type": "object",
        "$defs": {
            "Node": {"type": "object", "description": "A tree node.", "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
            }, "required": ["name"]}
        },
        "properties": {"tree": {"$ref": "#/$defs/Node"}},
        "required": ["tree"]
    }));
    let tree = &out["properties"]["tree"];
    let child = &tree["properties"]["children"]["items"];
    assert_eq!(child["required"], json!(["name"]));
    let grandchild = &child["properties"]["children"]["items"];
    assert_eq!(grandchild["type"], "object");
    assert!(grandchild.get("properties").is_none(), "{grandchild}");
    assert_eq!(
        description(grandchild),
        format!("A tree node. ({CUT_NOTE})")
    );
    // A reference to the whole document is followed the same way.
    let out = compiled(json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "next": {"$ref": "#"}}
    }));
    let mut node = &out;
    let mut levels = 0;
    while let Some(next) = node["properties"].get("next") {
        node = next;
        levels += 1;
        assert!(levels < 10, "recursion stops");
    }
    assert!(
        description(node).to_lowercase().contains(CUT_NOTE),
        "{node}"
    );
}

/// One `allOf` is merged inline with the property's own keywords winning; several are united.
#[test]
fn all_of_is_merged_inline() {
    let out = compiled(json!({
        "type": "object",
        "$defs": {
            "Time": {"type": "string", "format": "date-time", "description": "A time."},
            "Named": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            "Aged": {"properties": {"age": {"type": "integer", "minimum": 0}}, "required": ["age"]}
        },
        "properties": {
            "when": {"allOf": [{"$ref": "#/$defs/Time"}], "description": "When it starts."},
            "who": {"allOf": [{"$ref": "#/$defs/Named"}, {"$ref": "#/$defs/Aged"}]}
        }
    }));
    assert_eq!(
        out["properties"]["when"],
        json!({"type": "string", "description": "When it starts. (date-time, RFC 3339)"})
    );
    let who = &out["properties"]["who"];
    assert_eq!(who["type"], "object");
    assert_eq!(who["required"], json!(["name", "age"]));
    assert_eq!(
        who["properties"]["age"],
        json!({"type": "integer", "description": "At least 0"})
    );
}

/// A union of different kinds keeps its branches as `anyOf` (Ollama keeps that one) and names
/// their types; a union of plain types becomes a type list.
#[test]
fn other_unions_keep_any_of_with_types() {
    let out = compiled(json!({
        "type": "object",
        "properties": {
            "ids": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "n": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
        }
    }));
    let ids = &out["properties"]["ids"];
    assert_eq!(ids["type"], json!(["string", "array"]));
    assert_eq!(
        ids["anyOf"],
        json!([{"type": "string"}, {"type": "array", "items": {"type": "string"}}])
    );
    assert_eq!(
        out["properties"]["n"],
        json!({"type": ["string", "integer"]})
    );
}

/// Free-form values get the type their description shows; enums without a type get their
/// values' type; constants become one-value enums.
#[test]
fn free_form_values_get_the_type_that_fits() {
    let out = compiled(json!({
        "type": "object",
        "properties": {
            "filter": {"description": "A Notion filter object, e.g. {\"property\":\"Done\"}."},
            "sorts": {"description": "Sort objects, e.g. [{\"property\":\"Due\"}].", "type": ["array", "null"], "items": true},
            "anything": true,
            "level": {"enum": [1, 2, 3]},
            "kind": {"const": "event"},
            "map": {"additionalProperties": true, "description": "Values by name."}
        }
    }));
    let p = &out["properties"];
    assert_eq!(p["filter"]["type"], "object");
    assert_eq!(p["sorts"]["type"], "array");
    assert_eq!(p["anything"]["type"], json!(ANY_TYPES));
    assert_eq!(p["level"], json!({"type": "integer", "enum": [1, 2, 3]}));
    assert_eq!(p["kind"], json!({"type": "string", "enum": ["event"]}));
    assert_eq!(p["map"]["type"], "object");
}

/// Notes are not repeated when the description already says them.
#[test]
fn notes_do_not_repeat_the_description() {
    let out = compiled(json!({
        "type": "object",
        "properties": {
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20, "description": "Results per page, 1 to 100 (default 20)."},
            "day": {"type": "string", "format": "date", "description": "A date such as 2026-11-25."}
        }
    }));
    assert_eq!(
        description(&out["properties"]["page_size"]),
        "Results per page, 1 to 100 (default 20)."
    );
    assert_eq!(
        description(&out["properties"]["day"]),
        "A date such as 2026-11-25."
    );
}

/// The same schema compiles to the same bytes, and an empty or odd schema to a valid one.
#[test]
fn output_is_deterministic_and_always_an_object_schema() {
    let schema = json!({"type": "object", "properties": {"b": {"type": "string"}, "a": {"$ref": "#/$defs/X"}}, "$defs": {"X": {"type": "integer"}}});
    assert_eq!(
        compiled(schema.clone()).to_string(),
        compiled(schema).to_string()
    );
    assert_eq!(
        compiled(json!({})),
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(
        compiled(
            json!({"type": "object", "properties": {"x": {"$ref": "#/nowhere"}, "y": {"$ref": "http://example.com/s.json"}}})
        ),
        json!({"type": "object", "properties": {"x": {"type": ANY_TYPES}, "y": {"type": ANY_TYPES}}})
    );
    let out = compiled(
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost", "a"]}),
    );
    assert_eq!(out["required"], json!(["a"]));
}

/// A schema whose references multiply (each level refers twice to the next) compiles in
/// bounded work and size.
#[test]
fn multiplying_references_stay_bounded() {
    let mut defs = Map::new();
    for i in 0..40 {
        let next = format!("#/$defs/L{}", i + 1);
        defs.insert(
            format!("L{i}"),
            json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
        );
    }
    defs.insert("L40".into(), json!({"type": "string"}));
    let out = compiled(
        json!({"type": "object", "$defs": defs, "properties": {"root": {"$ref": "#/$defs/L0"}}}),
    );
    let len = out.to_string().len();
    assert!(len < 400_000, "{len} bytes");
    assert!(out.to_string().to_lowercase().contains(CUT_NOTE));
}
