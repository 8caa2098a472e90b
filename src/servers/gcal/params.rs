//! The input of every Calendar tool, as typed structs whose doc comments become the schema's
//! descriptions.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Who Google notifies about a change.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SendUpdates {
    /// Every guest.
    All,
    /// Guests outside the organisation only.
    ExternalOnly,
    /// Nobody.
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
pub enum OrderBy {
    /// By start time (only with single_events, the default).
    StartTime,
    /// By last modification.
    Updated,
}

/// An answer to an invitation.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Response {
    /// Going.
    Accepted,
    /// Not going.
    Declined,
    /// Maybe.
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
pub struct Reminder {
    /// `popup` (default) or `email`.
    pub method: Option<String>,
    /// Minutes before the start, 0 to 40320 (4 weeks).
    pub minutes: u32,
}

/// Arguments of `get_current_time`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CurrentTimeParams {
    /// An IANA time zone such as "Europe/Berlin"; default: the person's (their Calendar setting).
    pub time_zone: Option<String>,
}

/// Arguments of `list_calendars`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCalendarsParams {
    /// Include calendars hidden from the list.
    pub show_hidden: Option<bool>,
    /// Include calendars removed from the list.
    pub show_deleted: Option<bool>,
    /// At most this many calendars, 1 to 250.
    pub max_results: Option<u32>,
    /// The `nextPageToken` of a previous call.
    pub page_token: Option<String>,
}

/// Arguments naming one calendar, defaulting to the primary one.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CalendarParams {
    /// The calendar id (from list_calendars); default "primary".
    pub calendar_id: Option<String>,
}

/// Arguments of `list_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListEventsParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// Only events ending after this time: a date ("2026-11-25", its midnight), a local time
    /// ("2026-11-25T09:00", in the person's time zone unless time_zone is given) or RFC3339 with offset.
    pub time_min: Option<String>,
    /// Only events starting before this time: a date, a local time or RFC3339 with offset.
    pub time_max: Option<String>,
    /// Words to find in the title, description, location or guests.
    pub q: Option<String>,
    /// At most this many events, 1 to 2500 (default 25).
    pub max_results: Option<u32>,
    /// Expand recurring events into single occurrences (default true).
    pub single_events: Option<bool>,
    /// `startTime` (default with single_events) or `updated`.
    pub order_by: Option<OrderBy>,
    /// Include cancelled events.
    pub show_deleted: Option<bool>,
    /// IANA time zone for local bounds and the answer's times; default: the person's.
    pub time_zone: Option<String>,
    /// The `nextPageToken` of a previous call.
    pub page_token: Option<String>,
}

/// Arguments of `search_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchEventsParams {
    /// Words to find in the title, description, location or guests.
    pub query: String,
    /// Start of the window: a date, a local time (the person's time zone) or RFC3339.
    pub time_min: Option<String>,
    /// End of the window: a date, a local time or RFC3339.
    pub time_max: Option<String>,
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// At most this many events (default 25).
    pub max_results: Option<u32>,
}

/// Arguments naming one event.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EventParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The event id (from list_events).
    pub event_id: String,
}

/// Arguments of `list_event_instances`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct InstancesParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The recurring event's id.
    pub event_id: String,
    /// Start of the window: a date, a local time (the person's time zone) or RFC3339.
    pub time_min: Option<String>,
    /// End of the window: a date, a local time or RFC3339.
    pub time_max: Option<String>,
    /// At most this many occurrences (default 25).
    pub max_results: Option<u32>,
    /// The `nextPageToken` of a previous call.
    pub page_token: Option<String>,
}

/// Arguments of `query_freebusy`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FreeBusyParams {
    /// Calendars to check; default ["primary"].
    pub calendar_ids: Option<Vec<String>>,
    /// Start of the window: a date, a local time (the person's time zone) or RFC3339.
    pub time_min: String,
    /// End of the window, at most 90 days after its start: a date, a local time or RFC3339.
    pub time_max: String,
    /// IANA time zone for local bounds and the answer; default: the person's.
    pub time_zone: Option<String>,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoParams {}

/// The fields of a new event.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct NewEvent {
    /// The title.
    pub summary: String,
    /// Start: a local time "2026-11-25T09:00" (in time_zone, default the person's), RFC3339 with
    /// offset, or a date "2026-11-25" for an all-day event.
    pub start: String,
    /// End, same form as start (for all-day events: the day after the last day).
    pub end: String,
    /// IANA time zone for times written without an offset, e.g. "Europe/Berlin"; default: the
    /// person's.
    pub time_zone: Option<String>,
    /// Notes.
    pub description: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Guest email addresses.
    pub attendees: Option<Vec<String>>,
    /// RRULE lines, e.g. ["RRULE:FREQ=WEEKLY;COUNT=5"], repeated in time_zone (default: the person's).
    pub recurrence: Option<Vec<String>>,
    /// At most 5 reminders; omit to use the calendar's defaults.
    pub reminders: Option<Vec<Reminder>>,
    /// An event color id from list_colors.
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
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `quick_add_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QuickAddParams {
    /// A sentence such as "Lunch with Ana tomorrow 1pm"; Google works out the time.
    pub text: String,
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `create_events`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateEventsParams {
    /// 1 to 50 events.
    pub events: Vec<NewEvent>,
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `respond_to_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RespondParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// accepted, declined or tentative.
    pub response: Response,
    /// A note to the organiser.
    pub comment: Option<String>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `create_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCalendarParams {
    /// The calendar's name.
    pub summary: String,
    /// A description.
    pub description: Option<String>,
    /// IANA time zone, e.g. "Europe/Berlin".
    pub time_zone: Option<String>,
    /// A location.
    pub location: Option<String>,
}

/// Arguments of `update_event`: only the given fields change.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateEventParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// A new title.
    pub summary: Option<String>,
    /// A new start (a local time, RFC3339, or a date for all-day).
    pub start: Option<String>,
    /// A new end (a local time, RFC3339, or a date for all-day).
    pub end: Option<String>,
    /// IANA time zone for times written without an offset; default: the person's.
    pub time_zone: Option<String>,
    /// New notes.
    pub description: Option<String>,
    /// A new location.
    pub location: Option<String>,
    /// The full new guest list (email addresses).
    pub attendees: Option<Vec<String>>,
    /// New RRULE lines.
    pub recurrence: Option<Vec<String>>,
    /// New reminders (at most 5).
    pub reminders: Option<Vec<Reminder>>,
    /// A new color id.
    pub color_id: Option<String>,
    /// Add a Google Meet link.
    pub add_meet_link: Option<bool>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `replace_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplaceEventParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// The complete Google Calendar event resource; fields left out are cleared.
    pub event: Map<String, Value>,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `move_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MoveEventParams {
    /// The calendar the event is in; default "primary".
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// The calendar to move it to.
    pub destination_calendar_id: String,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `delete_event`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteEventParams {
    /// The calendar id; default "primary".
    pub calendar_id: Option<String>,
    /// The event id.
    pub event_id: String,
    /// Who gets notified: all, externalOnly or none.
    pub send_updates: Option<SendUpdates>,
}

/// Arguments of `delete_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteCalendarParams {
    /// The secondary calendar to delete (the primary calendar cannot be deleted).
    pub calendar_id: String,
}

/// Arguments of `clear_calendar`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClearCalendarParams {
    /// The person's primary calendar ("primary" or its id); no other calendar can be cleared.
    pub calendar_id: String,
    /// Must be true: confirms that every event of the calendar is to be deleted.
    pub confirm: Option<bool>,
}
