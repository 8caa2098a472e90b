//! The Google Calendar MCP server's tools: 20 tools over the Calendar v3 REST API, each call made
//! with the upstream token of the request's [`Grant`](crate::servers::Grant).

mod api;
mod catalog;
mod handlers;
pub(crate) mod params;
mod time;

pub use api::GcalApi;
pub use catalog::tool_list;
pub(crate) use catalog::tools;

/// What the server tells clients about itself and how to use its tools.
pub(crate) const INSTRUCTIONS: &str = "Tools for the person's Google Calendar. Call `get_current_time` before \
working out relative dates; list a day or week with `list_events` (time_min/time_max); create \
events with `create_event` (local times like 2026-11-25T09:00 are in the person's time zone; \
YYYY-MM-DD for all-day) or `quick_add_event`; \
event ids come from `list_events`. Calendar ids default to \"primary\".";
