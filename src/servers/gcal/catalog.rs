//! The Google Calendar tool set: names, titles, descriptions, input schemas and annotations.

use rmcp::model::Tool;

use super::params::*;
use crate::servers::tooling::{Kind, tool};

/// Every Calendar tool, in a stable order; needs no secrets, store or network.
pub fn tool_list() -> Vec<Tool> {
    vec![
        tool::<CurrentTimeParams>(
            "get_current_time",
            "Current time",
            Kind::Read,
            "Get the current local date, weekday and time in the person's time zone. Call this before \
             working out \"today\", \"tomorrow\" or \"next week\".",
        ),
        tool::<ListCalendarsParams>(
            "list_calendars",
            "List calendars",
            Kind::Read,
            "List the person's calendars with their ids, names, time zones and access roles.",
        ),
        tool::<CalendarParams>(
            "get_calendar",
            "Get calendar",
            Kind::Read,
            "Read one calendar's name, time zone and settings (default: the primary calendar).",
        ),
        tool::<ListEventsParams>(
            "list_events",
            "List events",
            Kind::Read,
            "List events in a time window (e.g. today's or this week's schedule), in start order, optionally \
             filtered by words. Returns event ids needed to change or delete events.",
        ),
        tool::<SearchEventsParams>(
            "search_events",
            "Search events",
            Kind::Read,
            "Find events whose title, description, location or guests contain the given words.",
        ),
        tool::<EventParams>(
            "get_event",
            "Get event",
            Kind::Read,
            "Read one event in full: time, place, guests and their answers, Meet link, recurrence.",
        ),
        tool::<InstancesParams>(
            "list_event_instances",
            "List occurrences",
            Kind::Read,
            "List the occurrences of a recurring event in a time window.",
        ),
        tool::<FreeBusyParams>(
            "query_freebusy",
            "Check availability",
            Kind::Read,
            "Find when calendars are busy in a time window, to find a free slot or check availability.",
        ),
        tool::<NoParams>(
            "list_colors",
            "List colors",
            Kind::Read,
            "List the color ids available for events and calendars.",
        ),
        tool::<CreateEventParams>(
            "create_event",
            "Create event",
            Kind::Write,
            "Create an event with a title, start and end (a date for all-day events), and optionally guests, \
             place, notes, reminders, recurrence or a Meet link.",
        ),
        tool::<QuickAddParams>(
            "quick_add_event",
            "Quick add event",
            Kind::Write,
            "Create an event from one sentence such as \"Dentist Friday 3pm\"; Google works out the time.",
        ),
        tool::<CreateEventsParams>(
            "create_events",
            "Create several events",
            Kind::Write,
            "Create several events at once (1 to 50).",
        ),
        tool::<RespondParams>(
            "respond_to_event",
            "Answer invitation",
            Kind::Update,
            "Accept, decline or tentatively accept an invitation.",
        ),
        tool::<CreateCalendarParams>(
            "create_calendar",
            "Create calendar",
            Kind::Write,
            "Create a new secondary calendar.",
        ),
        tool::<UpdateEventParams>(
            "update_event",
            "Update event",
            Kind::Update,
            "Change some fields of an event (time, title, place, guests, ...); fields not given stay as they \
             are.",
        ),
        tool::<ReplaceEventParams>(
            "replace_event",
            "Replace event",
            Kind::Update,
            "Replace an event with a complete new event resource; fields left out are cleared. Prefer \
             update_event.",
        ),
        tool::<MoveEventParams>(
            "move_event",
            "Move event to another calendar",
            Kind::Update,
            "Move an event from one calendar to another.",
        ),
        tool::<DeleteEventParams>(
            "delete_event",
            "Delete event",
            Kind::Delete,
            "Delete (cancel) an event.",
        ),
        tool::<DeleteCalendarParams>(
            "delete_calendar",
            "Delete calendar",
            Kind::Delete,
            "Delete a secondary calendar and all its events. The primary calendar cannot be deleted.",
        ),
        tool::<ClearCalendarParams>(
            "clear_calendar",
            "Clear calendar",
            Kind::Delete,
            "Delete every event of a calendar. Requires confirm: true. Only use when explicitly asked.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_set_is_complete_and_well_formed() {
        crate::servers::tooling::assert_well_formed(&super::tool_list(), 20);
    }
}
