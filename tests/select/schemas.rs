//! What the model sees of the tools: every offered schema decoded the way Ollama decodes it
//! (the fake's [`decode`]) keeps its types, enums, fields and required lists, for the Notion and
//! Calendar tools and for third-party servers' schemas; and all of them fit the byte budget.

use serde_json::{Value, json};

use super::common::{FixtureTools, Setup, turn};
use crate::fake_ollama::decode::{self, Fields};
use crate::fake_ollama::{FakeOllama, Reply};

/// The most bytes all 50 Notion and Calendar tools may take as `route --json` prints them.
const ALL_TOOLS_BUDGET: usize = 30_000;
/// The most bytes the 3 built-in `assistant_*` tools may add beside them.
const BUILT_IN_BUDGET: usize = 2_500;

/// The decoded function named `name` among `tools`.
fn decoded<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is offered"))
}

/// Every loss of every tool under each version's field set.
fn all_losses(tools: &[Value]) -> Vec<String> {
    let mut losses = Vec::new();
    for fields in [Fields::V0_12, Fields::V0_13_5, Fields::V0_20] {
        for tool in tools {
            losses.extend(
                decode::losses(tool, fields)
                    .into_iter()
                    .map(|l| format!("{fields:?} {l}")),
            );
        }
    }
    losses
}

/// With `tool_selection = "all"`, every Notion and Calendar tool of a real request, and every
/// built-in tool beside them, reaches the model whole: nothing dropped but `$schema`/`title`, no
/// reference left, every property typed.
#[tokio::test]
async fn every_tool_of_both_servers_reaches_the_model_whole() {
    let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
    let setup = Setup::new(&ollama, "", "tool_selection = \"all\"");
    let agent = setup.agent(FixtureTools::new(setup.catalog()));
    turn(&agent, "what can you do").await;
    let sent = ollama.chat_requests()[0]["tools"]
        .as_array()
        .cloned()
        .expect("tools are sent");
    assert_eq!(sent.len(), 53, "the fixtures' 50 and the 3 built-in tools");
    let losses = all_losses(&sent);
    assert!(losses.is_empty(), "{}", losses.join("\n"));
    let seen = &ollama.seen()[0].tools;
    assert_eq!(seen.len(), 53);
    for (sent, seen) in sent.iter().zip(seen) {
        assert_eq!(&decode::function(sent, Fields::V0_12), seen);
    }
}

/// The enums, object parameters and required lists that Ollama used to drop arrive: the model
/// sees each enum's values, `parent`'s fields (as properties, and named in the description for
/// versions that keep no nested properties) and the fields of a list of events.
#[tokio::test]
async fn enums_and_object_parameters_reach_the_model() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let setup = Setup::new(&ollama, "", "tool_selection = \"all\"");
    let sent = setup.route_json("anything").await;
    let now: Vec<Value> = sent
        .iter()
        .map(|t| decode::function(t, Fields::V0_20))
        .collect();
    let old: Vec<Value> = sent
        .iter()
        .map(|t| decode::function(t, Fields::V0_12))
        .collect();
    for (tool, property, values) in [
        (
            "notion_search",
            "object_type",
            json!(["page", "data_source"]),
        ),
        (
            "notion_search",
            "sort_direction",
            json!(["ascending", "descending"]),
        ),
        (
            "notion_get_page_content",
            "format",
            json!(["markdown", "blocks"]),
        ),
        (
            "notion_append_block_children",
            "position",
            json!(["end", "start", "after_block"]),
        ),
        (
            "gcal_respond_to_event",
            "response",
            json!(["accepted", "declined", "tentative"]),
        ),
        (
            "gcal_delete_event",
            "send_updates",
            json!(["all", "externalOnly", "none"]),
        ),
    ] {
        for tools in [&now, &old] {
            let p = &decoded(tools, tool)["parameters"]["properties"][property];
            assert_eq!(p["enum"], values, "{tool}.{property}: {p}");
            assert_eq!(p["type"], "string", "{tool}.{property}: {p}");
        }
    }
    for tool in ["notion_create_page", "notion_move_page"] {
        let parameters = &decoded(&now, tool)["parameters"];
        let parent = parameters["properties"]
            .as_object()
            .and_then(|p| p.iter().find(|(k, _)| k.contains("parent")))
            .map(|(_, v)| v)
            .expect("a parent parameter");
        assert_eq!(parent["type"], "object", "{tool}: {parent}");
        let fields: Vec<&String> = parent["properties"]
            .as_object()
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&&"page_id".to_owned())
                && fields.contains(&&"data_source_id".to_owned()),
            "{tool}: {parent}"
        );
        let old_parent = &decoded(&old, tool)["parameters"]["properties"];
        let text = old_parent.to_string();
        assert!(
            text.contains("page_id") && text.contains("data_source_id"),
            "{tool} names the parent's fields for 0.12: {old_parent}"
        );
    }
    let events = &decoded(&now, "gcal_create_events")["parameters"]["properties"]["events"];
    assert_eq!(events["type"], "array");
    assert_eq!(events["items"]["type"], "object");
    assert_eq!(
        events["items"]["required"],
        json!(["summary", "start", "end"])
    );
    let reminder = &events["items"]["properties"]["reminders"]["items"];
    assert_eq!(reminder["required"], json!(["minutes"]), "{reminder}");
}

/// A third-party server's listing with a tool of each pattern servers produce.
fn third_party() -> Vec<(&'static str, Value)> {
    vec![
        (
            // FastMCP / pydantic: `$defs`, `anyOf` with null, defaults, titles, a nested model.
            "py",
            json!({"tools": [{
                "name": "search_notes",
                "description": "Search the notes.",
                "inputSchema": {
                    "$defs": {
                        "Priority": {"enum": ["low", "normal", "high"], "title": "Priority", "type": "string"},
                        "Window": {"properties": {
                            "start": {"format": "date-time", "title": "Start", "type": "string"},
                            "end": {"anyOf": [{"format": "date-time", "type": "string"}, {"type": "null"}], "default": null, "title": "End"}
                        }, "required": ["start"], "title": "Window", "type": "object"}
                    },
                    "properties": {
                        "query": {"title": "Query", "type": "string"},
                        "priority": {"anyOf": [{"$ref": "#/$defs/Priority"}, {"type": "null"}], "default": null},
                        "window": {"anyOf": [{"$ref": "#/$defs/Window"}, {"type": "null"}], "default": null},
                        "limit": {"default": 10, "maximum": 100, "minimum": 1, "title": "Limit", "type": "integer"}
                    },
                    "required": ["query"],
                    "title": "search_notesArguments",
                    "type": "object"
                }
            }]}),
        ),
        (
            // zod-to-json-schema, draft-07.
            "zod",
            json!({"tools": [{
                "name": "send_mail",
                "description": "Send an email.",
                "inputSchema": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "to": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
                        "subject": {"type": "string", "minLength": 1, "maxLength": 200},
                        "cc": {"$ref": "#/properties/to"},
                        "importance": {"type": "string", "enum": ["low", "normal", "high"], "default": "normal"},
                        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                        "send_at": {"type": "string", "format": "date-time"},
                        "kind": {"anyOf": [{"type": "string", "const": "plain"}, {"type": "string", "const": "html"}]}
                    },
                    "required": ["to", "subject"]
                }
            }]}),
        ),
        (
            // draft-04 `definitions`, `allOf`, `oneOf` of kinds, and a reference inside items.
            "defs",
            json!({"tools": [{
                "name": "draw",
                "description": "Draw shapes.",
                "inputSchema": {
                    "type": "object",
                    "definitions": {
                        "Point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]},
                        "Color": {"oneOf": [{"const": "red", "description": "Warm."}, {"const": "blue", "description": "Cold."}]}
                    },
                    "properties": {
                        "origin": {"allOf": [{"$ref": "#/definitions/Point"}], "description": "Where to start."},
                        "points": {"type": "array", "items": {"$ref": "#/definitions/Point"}},
                        "color": {"$ref": "#/definitions/Color"},
                        "label": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"text": {"type": "string"}}}]}
                    },
                    "required": ["points"]
                }
            }]}),
        ),
        (
            // A recursive schema: an outline of nested items.
            "tree",
            json!({"tools": [{
                "name": "write_outline",
                "description": "Write an outline.",
                "inputSchema": {
                    "type": "object",
                    "$defs": {"Item": {"type": "object", "properties": {
                        "text": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
                    }, "required": ["text"]}},
                    "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
                    "required": ["items"]
                }
            }]}),
        ),
    ]
}

/// Third-party servers' schemas (pydantic/FastMCP, zod draft-07, `definitions`, recursion)
/// reach the model whole too, through the same listing rules `route --catalog` applies.
#[tokio::test]
async fn third_party_schemas_reach_the_model_whole() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let servers = ["py", "zod", "defs", "tree"];
    let setup = Setup::with_servers(&ollama, "", "tool_selection = \"all\"", &servers);
    let dir = tempfile::tempdir().expect("temp dir");
    for (server, listing) in third_party() {
        std::fs::write(
            dir.path().join(format!("{server}.json")),
            listing.to_string(),
        )
        .expect("write listing");
    }
    let text = setup.route_with(dir.path(), &["--json", "anything"]).await;
    let printed: Value = serde_json::from_str(text.trim()).expect("JSON");
    let sent = printed["tools"].as_array().cloned().expect("tools");
    assert_eq!(
        sent.len(),
        7,
        "the four servers' tools and the 3 built-in ones"
    );
    let losses = all_losses(&sent);
    assert!(losses.is_empty(), "{}", losses.join("\n"));
    let now: Vec<Value> = sent
        .iter()
        .map(|t| decode::function(t, Fields::V0_20))
        .collect();

    let py = &decoded(&now, "py_search_notes")["parameters"]["properties"];
    assert_eq!(py["priority"]["enum"], json!(["low", "normal", "high"]));
    assert_eq!(py["window"]["required"], json!(["start"]));
    assert_eq!(py["window"]["properties"]["end"]["type"], "string");
    assert!(
        py["limit"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Default 10") && d.contains("1 to 100")),
        "{}",
        py["limit"]
    );

    let zod = &decoded(&now, "zod_send_mail")["parameters"]["properties"];
    assert_eq!(zod["cc"], zod["to"]);
    assert_eq!(zod["kind"]["enum"], json!(["plain", "html"]));
    assert!(
        zod["subject"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("1 to 200 characters")),
        "{}",
        zod["subject"]
    );

    let defs = &decoded(&now, "defs_draw")["parameters"]["properties"];
    assert_eq!(defs["origin"]["required"], json!(["x", "y"]));
    assert_eq!(defs["points"]["items"]["required"], json!(["x", "y"]));
    assert_eq!(defs["color"]["enum"], json!(["red", "blue"]));
    assert_eq!(defs["label"]["type"], json!(["string", "object"]));

    let tree = &decoded(&now, "tree_write_outline")["parameters"]["properties"]["items"];
    let text = tree.to_string();
    assert!(
        text.to_lowercase().contains("deeper levels not shown"),
        "{text}"
    );
    assert!(!text.contains("$ref"), "{text}");
}

/// All 50 tools as `route --json` prints them (compact JSON) fit the budget, and the 3 built-in
/// tools printed beside them fit a small one of their own.
#[tokio::test]
async fn all_fifty_tools_fit_the_byte_budget() {
    let ollama = FakeOllama::scripted(Vec::new()).await;
    let setup = Setup::new(&ollama, "", "tool_selection = \"all\"");
    let text = setup.route(&["--json", "anything"]).await;
    let printed: Value = serde_json::from_str(text.trim()).expect("JSON");
    let tools = printed["tools"].as_array().cloned().expect("tools");
    assert_eq!(tools.len(), 53);
    let (built_in, servers): (Vec<Value>, Vec<Value>) = tools.into_iter().partition(|t| {
        t["function"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("assistant_"))
    });
    assert_eq!(built_in.len(), 3);
    let bytes = json!({"tools": servers}).to_string().len();
    assert!(
        bytes <= ALL_TOOLS_BUDGET,
        "all 50 tools take {bytes} bytes (at most {ALL_TOOLS_BUDGET})"
    );
    let bytes = text.trim().len() - bytes;
    assert!(
        bytes <= BUILT_IN_BUDGET,
        "the built-in tools take {bytes} bytes (at most {BUILT_IN_BUDGET})"
    );
}
