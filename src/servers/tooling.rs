//! Shared building blocks of the Notion and Calendar tool sets: the typed tool table that
//! declares each tool once (name, title, annotations, parameter type and handler together),
//! argument parsing, the request's [`Grant`], and the results handed to the model.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use rmcp::service::RequestContext;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Grant;
use super::upstream_http::UpstreamError;

/// What a tool does to the upstream data, which decides its annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reads only.
    Read,
    /// Adds new data and changes nothing that exists.
    Write,
    /// Undoes a removal (restores from trash); changes no content.
    Restore,
    /// Modifies existing data.
    Update,
    /// Deletes, archives, trashes or overwrites data.
    Delete,
}

impl Kind {
    /// The MCP annotations for this kind of tool, titled `title`.
    pub fn annotations(self, title: &str) -> ToolAnnotations {
        let (read_only, destructive, idempotent) = match self {
            Kind::Read => (true, false, true),
            Kind::Write => (false, false, false),
            Kind::Restore => (false, false, true),
            Kind::Update | Kind::Delete => (false, true, true),
        };
        ToolAnnotations::with_title(title)
            .read_only(read_only)
            .destructive(destructive)
            .idempotent(idempotent)
            .open_world(true)
    }
}

/// The future a tool handler returns, borrowing the call's API client and grant.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

/// A tool's handler: parses the call's arguments into the tool's parameter type and runs the
/// tool against `Api` for the grant.
pub type Handler<Api> = for<'a> fn(&'a Api, &'a Grant, Option<&'a JsonObject>) -> HandlerFuture<'a>;

/// One tool of a tool set: what `tools/list` shows and the handler that runs it, made together
/// by [`tool_table!`] so that the schema's parameter type is the one the handler takes.
pub struct ToolSpec<Api> {
    /// The definition: name, title, description, input schema and annotations.
    pub tool: Tool,
    /// Runs the tool.
    pub run: Handler<Api>,
}

impl<Api> std::fmt::Debug for ToolSpec<Api> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.tool.name)
            .finish_non_exhaustive()
    }
}

/// The entry of `table` named `name`.
pub fn find<'t, Api>(table: &'t [ToolSpec<Api>], name: &str) -> Option<&'t ToolSpec<Api>> {
    table.iter().find(|spec| spec.tool.name == name)
}

/// Declares a tool set as a table of [`ToolSpec`]s, one entry per tool, in `tools/list` order:
///
/// ```text
/// tool_table! { Call;
///     search(SearchParams), "Search Notion", Read, "Find pages ...";
/// }
/// ```
///
/// Each entry names the tool (also the name of the `Call` method that runs it), its parameter
/// type (the input schema, and what the arguments are parsed into before the method gets
/// them), its title, its [`Kind`] and its description. `Call::new(&api, &grant)` builds the
/// per-call context; a method whose parameter type differs from the entry's does not compile.
macro_rules! tool_table {
    ($call:ident; $( $name:ident ( $params:ty ), $title:literal, $kind:ident, $description:literal; )+) => {
        vec![$(
            $crate::servers::tooling::ToolSpec {
                tool: $crate::servers::tooling::tool::<$params>(
                    stringify!($name),
                    $title,
                    $crate::servers::tooling::Kind::$kind,
                    $description,
                ),
                run: |api, grant, arguments| {
                    Box::pin(async move {
                        let params: $params =
                            $crate::servers::tooling::parse_args(stringify!($name), arguments)?;
                        let call = $call::new(api, grant);
                        call.$name(params).await
                    })
                },
            },
        )+]
    };
}
pub(crate) use tool_table;

/// Builds a tool named `name` whose input schema is generated from `P`.
pub fn tool<P: JsonSchema + 'static>(
    name: &'static str,
    title: &'static str,
    kind: Kind,
    description: &'static str,
) -> Tool {
    Tool::new(name, description, Arc::new(JsonObject::new()))
        .with_input_schema::<P>()
        .with_title(title)
        .with_annotations(kind.annotations(title))
}

/// A tool's successful answer: text for the model, and the same data as structured content
/// when it is a JSON object.
#[derive(Debug)]
pub struct ToolOutput {
    text: String,
    structured: Option<Value>,
}

impl ToolOutput {
    /// An answer made of `value`: structured content when it is an object, pretty text always.
    pub fn json(value: Value) -> Self {
        let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        let structured = value.is_object().then_some(value);
        Self { text, structured }
    }

    /// A text answer that also carries structured content.
    pub fn text_with(text: impl Into<String>, structured: Value) -> Self {
        Self {
            text: text.into(),
            structured: Some(structured),
        }
    }

    /// The MCP result for this answer.
    pub fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::success(vec![ContentBlock::text(self.text)]);
        result.structured_content = self.structured;
        result
    }
}

/// A tool failure: the message tells the model (or the person) what to do next.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ToolFailure(pub String);

impl ToolFailure {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The MCP error result (`isError: true`) for this failure.
    pub fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(self.0)])
    }
}

impl From<UpstreamError> for ToolFailure {
    fn from(error: UpstreamError) -> Self {
        Self(error.to_string())
    }
}

/// The outcome of one tool handler.
pub type ToolResult = Result<ToolOutput, ToolFailure>;

/// Parses a call's arguments into `P`, with a message naming the offending field on failure.
pub fn parse_args<P: DeserializeOwned>(
    tool: &str,
    arguments: Option<&JsonObject>,
) -> Result<P, ToolFailure> {
    let value = Value::Object(arguments.cloned().unwrap_or_default());
    serde_path_to_error::deserialize::<_, P>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ToolFailure::new(format!(
                "invalid arguments for {tool}: {inner}. Check the tool's input schema and call it again."
            ))
        } else {
            ToolFailure::new(format!(
                "invalid argument `{path}` for {tool}: {inner}. Check the tool's input schema and call it again."
            ))
        }
    })
}

/// The [`Grant`] of the request being served, placed by the bearer middleware in the HTTP
/// request extensions that rmcp hands the handler.
pub fn grant_of(context: &RequestContext<RoleServer>) -> Result<Grant, ToolFailure> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Grant>())
        .or_else(|| context.extensions.get::<Grant>())
        .cloned()
        .ok_or_else(|| {
            ToolFailure::new(
                "this request is not authorized: no connected account came with it. Connect the account \
                 (sign in again through the MCP client) and retry.",
            )
        })
}

/// Clamps an optional page size to `1..=max`, defaulting to `default`.
pub fn page_size(requested: Option<u32>, default: u32, max: u32) -> u32 {
    requested.unwrap_or(default).clamp(1, max)
}

/// Rejects an empty or blank identifier named `what`.
pub fn require_id<'a>(what: &str, value: &'a str, hint: &str) -> Result<&'a str, ToolFailure> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(ToolFailure::new(format!("{what} is empty: {hint}")))
    } else {
        Ok(trimmed)
    }
}

/// Checks that a server's tool list has `count` tools with unique names, each with a title,
/// annotations and an object input schema.
#[cfg(test)]
pub(crate) fn assert_well_formed(tools: &[Tool], count: usize) {
    let names: std::collections::HashSet<_> = tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools.len(), count);
    assert_eq!(names.len(), count, "tool names are unique");
    for t in tools {
        assert!(t.annotations.is_some(), "{} has annotations", t.name);
        assert!(t.title.is_some(), "{} has a title", t.name);
        assert_eq!(
            t.input_schema.get("type").and_then(|v| v.as_str()),
            Some("object")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    struct P {
        /// A page id.
        page_id: String,
    }

    #[test]
    fn annotations_follow_the_kind() {
        let read = Kind::Read.annotations("r");
        assert_eq!(read.read_only_hint, Some(true));
        assert_eq!(read.destructive_hint, Some(false));
        let delete = Kind::Delete.annotations("d");
        assert_eq!(delete.destructive_hint, Some(true));
        assert_eq!(delete.read_only_hint, Some(false));
        assert_eq!(delete.open_world_hint, Some(true));
        let write = Kind::Write.annotations("w");
        assert_eq!(write.idempotent_hint, Some(false));
        assert_eq!(write.destructive_hint, Some(false));
    }

    #[test]
    fn tool_has_schema_title_and_annotations() {
        let t = tool::<P>("get_page", "Get page", Kind::Read, "Reads a page.");
        assert_eq!(t.title.as_deref(), Some("Get page"));
        assert_eq!(
            t.input_schema.get("type"),
            Some(&Value::String("object".into()))
        );
        assert!(t.input_schema.get("properties").is_some());
        assert!(t.annotations.is_some());
    }

    #[test]
    fn parse_errors_name_the_field() {
        let mut args = JsonObject::new();
        args.insert("page_id".into(), Value::from(5));
        let err = parse_args::<P>("get_page", Some(&args)).err().map(|e| e.0);
        let err = err.unwrap_or_default();
        assert!(err.contains("page_id"), "{err}");
        let err = parse_args::<P>("get_page", None).err().map(|e| e.0);
        assert!(err.unwrap_or_default().contains("page_id"));
        args.insert("page_id".into(), Value::from("abc"));
        let parsed = parse_args::<P>("get_page", Some(&args)).map(|p| p.page_id);
        assert_eq!(parsed.ok().as_deref(), Some("abc"));
    }
}
