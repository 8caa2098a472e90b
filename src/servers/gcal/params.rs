//! The input of every Calendar tool, as typed structs whose doc comments become the schema's
//! descriptions.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Who Google emails about a change.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub enum SendUpdates {
    /// every guest
    All,
    /// outside guests
    ExternalOnly,
    /// nobody
    None,
}

impl SendUpdates {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SendUpdates::All => "all",
            SendUpdates::ExternalOnly => "externalOnly",
            SendUpdates::None => "none",
        }
    }
}

/// Event list order.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub enum OrderBy {
    /// by start (default; needs single_events)
    StartTime,
    /// by last change
    Updated,
}

/// An answer to an invitation.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub enum Response {
    /// going
    Accepted,
    /// not going
    Declined,
    /// maybe
    Tentative,
}

impl Response {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Response::Accepted => "accepted",
            Response::Declined => "declined",
            Response::Tentative => "tentative",
        }
    }
}

/// A reminder before an event.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct Reminder {
    /// popup (default) or email.
    pub method: Option<String>,
    /// Minutes before the start, 0 to 40320 (4 weeks).
    pub minutes: u32,
}

/// Arguments of `get_current_time`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CurrentTimeParams {
    /// IANA time zone, e.g. Europe/Berlin (default: the person's).
    pub time_zone: Option<String>,
}

/// Arguments of `list_calendars`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCalendarsParams {
    /// Include hidden calendars.
    pub show_hidden: Option<bool>,
    /// Include removed calendars.
    pub show_deleted: Option<bool>,
    /// Most calendars to return, 1 to 250.
    pub max_results: Option<u32>,
    /// The last nextPageToken.
    pub page_token: Option<String>,
}

/// Arguments naming one calendar, defaulting to the primary one.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CalendarParams {
    /// Calendar id from list_calendars (default primary).
    pub calendar_id: Option<String>,
}

/// Arguments of `list_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListEventsParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Events ending after this: a date 2026-11-25, a local time 2026-11-25T09:00 (the person's
    /// zone unless time_zone is given) or RFC3339.
    pub time_min: Option<String>,
    /// Events starting before this, in the same forms.
    pub time_max: Option<String>,
    /// Words in the title, notes, place or guests.
    pub q: Option<String>,
    /// Most events, 1 to 2500 (default 25).
    pub max_results: Option<u32>,
    /// Expand recurring events into occurrences (default true).
    pub single_events: Option<bool>,
    /// Order of events.
    pub order_by: Option<OrderBy>,
    /// Include cancelled events.
    pub show_deleted: Option<bool>,
    /// IANA zone (default: the person's).
    pub time_zone: Option<String>,
    /// The last nextPageToken.
    pub page_token: Option<String>,
}

/// Arguments of `search_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchEventsParams {
    /// Words in the title, notes, place or guests.
    pub query: String,
    /// Window start: a date, a local time or RFC3339.
    pub time_min: Option<String>,
    /// Window end, in the same forms.
    pub time_max: Option<String>,
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Most events (default 25).
    pub max_results: Option<u32>,
}

/// Arguments naming one event.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EventParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Event id from list_events.
    pub event_id: String,
}

/// Arguments of `list_event_instances`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct InstancesParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// The recurring event's id.
    pub event_id: String,
    /// Window start: a date, a local time or RFC3339.
    pub time_min: Option<String>,
    /// Window end, in the same forms.
    pub time_max: Option<String>,
    /// Most occurrences (default 25).
    pub max_results: Option<u32>,
    /// The last nextPageToken.
    pub page_token: Option<String>,
}

/// Arguments of `query_freebusy`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FreeBusyParams {
    /// Calendar ids (default [primary]).
    pub calendar_ids: Option<Vec<String>>,
    /// Window start: a date, a local time or RFC3339.
    pub time_min: String,
    /// Window end, at most 90 days after its start.
    pub time_max: String,
    /// IANA zone (default: the person's).
    pub time_zone: Option<String>,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoParams {}

/// A new event.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct NewEvent {
    /// The title.
    pub summary: String,
    /// A local time 2026-11-25T09:00 (in time_zone), RFC3339, or a date 2026-11-25 for all day.
    pub start: String,
    /// End, same form as start (all day: the day after the last day).
    pub end: String,
    /// IANA zone (default: the person's).
    pub time_zone: Option<String>,
    /// Notes.
    pub description: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Guest emails.
    pub attendees: Option<Vec<String>>,
    /// RRULE lines, e.g. ["RRULE:FREQ=WEEKLY;COUNT=5"].
    pub recurrence: Option<Vec<String>>,
    /// At most 5; omit for the calendar's defaults.
    pub reminders: Option<Vec<Reminder>>,
    /// Color id from list_colors.
    pub color_id: Option<String>,
    /// Add a Google Meet link.
    pub add_meet_link: Option<bool>,
}

/// Arguments of `create_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEventParams {
    /// The event.
    #[serde(flatten)]
    pub event: NewEvent,
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `quick_add_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QuickAddParams {
    /// A sentence such as "Lunch with Ana tomorrow 1pm".
    pub text: String,
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `create_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEventsParams {
    /// 1 to 50 events.
    pub events: Vec<NewEvent>,
    /// Default primary.
    pub calendar_id: Option<String>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `respond_to_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RespondParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// Your answer.
    pub response: Response,
    /// Note to the organiser.
    pub comment: Option<String>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `create_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCalendarParams {
    /// Its name.
    pub summary: String,
    /// A description.
    pub description: Option<String>,
    /// IANA zone, e.g. Europe/Berlin.
    pub time_zone: Option<String>,
    /// A location.
    pub location: Option<String>,
}

/// Arguments of `update_event`: only the given fields change.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateEventParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// A new title.
    pub summary: Option<String>,
    /// New start: a local time, RFC3339, or a date for all day.
    pub start: Option<String>,
    /// New end, in the same forms.
    pub end: Option<String>,
    /// IANA zone (default: the person's).
    pub time_zone: Option<String>,
    /// New notes.
    pub description: Option<String>,
    /// A new location.
    pub location: Option<String>,
    /// The whole new guest list (emails).
    pub attendees: Option<Vec<String>>,
    /// New RRULE lines.
    pub recurrence: Option<Vec<String>>,
    /// New reminders (at most 5).
    pub reminders: Option<Vec<Reminder>>,
    /// A new color id.
    pub color_id: Option<String>,
    /// Add a Google Meet link.
    pub add_meet_link: Option<bool>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `replace_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplaceEventParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// The whole Google Calendar event resource; fields left out are cleared.
    pub event: Map<String, Value>,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `move_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MoveEventParams {
    /// Calendar it is in (default primary).
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// The calendar to move it to.
    pub destination_calendar_id: String,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `delete_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteEventParams {
    /// Default primary.
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// Who is emailed.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `delete_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteCalendarParams {
    /// A secondary calendar's id (the primary one cannot be deleted).
    pub calendar_id: String,
}

/// Arguments of `clear_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClearCalendarParams {
    /// primary (or its id); no other calendar can be cleared.
    pub calendar_id: String,
    /// Must be true: every event is deleted.
    pub confirm: Option<bool>,
}
