//! The gateway's own tools, offered to the model under the reserved server name
//! [`ASSISTANT`]: `assistant_schedule`, `assistant_list_scheduled` and
//! `assistant_cancel_scheduled`.
//!
//! They sit in each person's catalog like any server's tools, so tool selection offers them
//! when a message asks to be reminded or for something every morning. Their results are JSON
//! the model reads back: the entry's id and its next time in the person's zone, or what to
//! change.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{ASSISTANT, Request, Schedule, ScheduleError};
use crate::Principal;
use crate::mcp::{CatalogTool, ToolHints, qualified_name};

/// Words and phrases that ask for these tools in a message, as tool selection reads them.
pub const KEYWORDS: &[&str] = &[
    "remind",
    "reminder",
    "reminders",
    "alarm",
    "every morning",
    "every evening",
    "every day",
    "every night",
    "every weekday",
    "every week",
    "every month",
    "each day",
    "each week",
    "each month",
    "each monday",
    "each tuesday",
    "each wednesday",
    "each thursday",
    "each friday",
    "each saturday",
    "each sunday",
    "morning summary",
    "daily summary",
    "morning briefing",
    "daily digest",
    "every monday",
    "every tuesday",
    "every wednesday",
    "every thursday",
    "every friday",
    "every saturday",
    "every sunday",
    "each morning",
    "each evening",
    "ping me",
    "nudge me",
    "scheduled tasks",
];

/// `assistant_schedule`'s name on the server.
pub const SCHEDULE: &str = "schedule";
/// `assistant_list_scheduled`'s name on the server.
pub const LIST: &str = "list_scheduled";
/// `assistant_cancel_scheduled`'s name on the server.
pub const CANCEL: &str = "cancel_scheduled";

fn tool(
    name: &str,
    title: &str,
    description: &str,
    schema: Value,
    hints: ToolHints,
) -> CatalogTool {
    CatalogTool {
        server: ASSISTANT.to_owned(),
        tool: name.to_owned(),
        qualified: qualified_name(ASSISTANT, name),
        title: Some(title.to_owned()),
        description: description.to_owned(),
        input_schema: Arc::new(schema),
        hints,
    }
}

/// The three tools, as catalog entries.
#[must_use]
pub fn catalog() -> Vec<CatalogTool> {
    vec![
        tool(
            SCHEDULE,
            "Schedule a reminder or task",
            "Remind the person later, or do something for them at a set time, once or repeating (every morning, each weekday). kind \"reminder\" sends them text at the time; kind \"task\" runs text as their request at the time and sends the answer (e.g. \"what is on my calendar today\"). Returns the entry's id and next time.",
            json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["reminder", "task"], "description": "reminder: send text; task: answer text as a request."},
                    "text": {"type": "string", "description": "What to remind of, or the request to answer."},
                    "at": {"type": "string", "description": "When, RFC 3339 date-time, e.g. 2026-03-30T08:00:00; without an offset it is the person's local time."},
                    "repeat": {"type": "string", "description": "Optional RFC 5545 RRULE without RRULE:, e.g. FREQ=DAILY or FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR. At most every 5 minutes."}
                },
                "required": ["kind", "text", "at"]
            }),
            ToolHints::default(),
        ),
        tool(
            LIST,
            "List scheduled reminders and tasks",
            "List the person's reminders and scheduled tasks with their ids and next times.",
            json!({"type": "object", "properties": {}}),
            ToolHints {
                read_only: true,
                destructive: false,
                idempotent: true,
            },
        ),
        tool(
            CANCEL,
            "Cancel a scheduled reminder or task",
            "Cancel one of the person's reminders or scheduled tasks by its id (list them first to find it).",
            json!({
                "type": "object",
                "properties": {"id": {"type": "string", "description": "The entry's id."}},
                "required": ["id"]
            }),
            ToolHints {
                read_only: false,
                destructive: false,
                idempotent: true,
            },
        ),
    ]
}

/// What a call returned: its JSON text, and whether it is an error the model should correct.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The result as the model reads it.
    pub text: String,
    /// Whether it reports an error.
    pub is_error: bool,
}

fn error(e: &ScheduleError) -> Answer {
    if let ScheduleError::Store(inner) = e {
        tracing::warn!(error = %inner, "a schedule tool could not use the database");
    }
    let message = match e {
        ScheduleError::Store(_) => "the schedule could not be read or saved; try again".to_owned(),
        other => other.to_string(),
    };
    Answer {
        text: json!({"error": message}).to_string(),
        is_error: true,
    }
}

fn text_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

/// Calls `tool` (its name on the server) for `principal` in chat `chat`.
pub async fn call(
    schedule: &Schedule,
    principal: &Principal,
    chat: &str,
    tool: &str,
    args: &Map<String, Value>,
) -> Answer {
    match tool {
        SCHEDULE => {
            let request = Request {
                principal,
                chat,
                kind: text_arg(args, "kind").unwrap_or_default(),
                text: text_arg(args, "text").unwrap_or_default(),
                at: text_arg(args, "at").unwrap_or_default(),
                repeat: text_arg(args, "repeat"),
            };
            match schedule.add(request).await {
                Ok(listed) => {
                    let mut out = listed.json();
                    if let Value::Object(o) = &mut out {
                        o.insert(
                            "said".into(),
                            json!(format!(
                                "Scheduled {} {} for {} ({}).",
                                listed.entry.kind.as_str(),
                                listed.entry.id,
                                listed
                                    .next
                                    .map(|n| super::rule::readable(n, listed.zone, schedule.now()))
                                    .unwrap_or_default(),
                                listed.zone.name()
                            )),
                        );
                    }
                    Answer {
                        text: out.to_string(),
                        is_error: false,
                    }
                }
                Err(e) => error(&e),
            }
        }
        LIST => match schedule.list(Some(principal)).await {
            Ok(entries) => Answer {
                text:
                    json!({"entries": entries.iter().map(super::Listed::json).collect::<Vec<_>>()})
                        .to_string(),
                is_error: false,
            },
            Err(e) => error(&ScheduleError::Store(e)),
        },
        CANCEL => {
            let id = match args.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            match schedule.cancel(Some(principal), &id).await {
                Ok(listed) => Answer {
                    text:
                        json!({"cancelled": listed.entry.id.to_string(), "text": listed.entry.text})
                            .to_string(),
                    is_error: false,
                },
                Err(e) => error(&e),
            }
        }
        other => Answer {
            text: json!({"error": format!("there is no assistant tool `{other}`")}).to_string(),
            is_error: true,
        },
    }
}
