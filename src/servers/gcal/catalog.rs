//! The Google Calendar tool set: each tool's name, title, description, input schema,
//! annotations and handler, declared together in one table.

use std::sync::LazyLock;

use rmcp::model::Tool;

use super::api::GcalApi;
use super::handlers::Call;
use super::params::*;
use crate::servers::tooling::{ToolSpec, tool_table};

/// Every Calendar tool with its handler, in `tools/list` order.
static TOOLS: LazyLock<Vec<ToolSpec<GcalApi>>> = LazyLock::new(|| {
    tool_table! { Call;
        get_current_time(CurrentTimeParams), "Current time", Read,
            "Get the current local date, weekday and time in the person's time zone. Call this before \
             working out \"today\", \"tomorrow\" or \"next week\".";

        list_calendars(ListCalendarsParams), "List calendars", Read,
            "List the person's calendars with their ids, names, time zones and access roles.";

        get_calendar(CalendarParams), "Get calendar", Read,
            "Read one calendar's name, time zone and settings (default: the primary calendar).";

        list_events(ListEventsParams), "List events", Read,
            "List events in a time window (e.g. today's or this week's schedule), in start order, optionally \
             filtered by words. Returns event ids needed to change or delete events.";

        search_events(SearchEventsParams), "Search events", Read,
            "Find events whose title, description, location or guests contain the given words.";

        get_event(EventParams), "Get event", Read,
            "Read one event in full: time, place, guests and their answers, Meet link, recurrence.";

        list_event_instances(InstancesParams), "List occurrences", Read,
            "List the occurrences of a recurring event in a time window.";

        query_freebusy(FreeBusyParams), "Check availability", Read,
            "Find when calendars are busy in a time window, to find a free slot or check availability.";

        list_colors(NoParams), "List colors", Read,
            "List the color ids available for events and calendars.";

        create_event(CreateEventParams), "Create event", Write,
            "Create an event with a title, start and end (a date for all-day events), and optionally guests, \
             place, notes, reminders, recurrence or a Meet link.";

        quick_add_event(QuickAddParams), "Quick add event", Write,
            "Create an event from one sentence such as \"Dentist Friday 3pm\"; Google works out the time.";

        create_events(CreateEventsParams), "Create several events", Write,
            "Create several events at once (1 to 50).";

        respond_to_event(RespondParams), "Answer invitation", Update,
            "Accept, decline or tentatively accept an invitation.";

        create_calendar(CreateCalendarParams), "Create calendar", Write,
            "Create a new secondary calendar.";

        update_event(UpdateEventParams), "Update event", Update,
            "Change some fields of an event (time, title, place, guests, ...); fields not given stay as they \
             are.";

        replace_event(ReplaceEventParams), "Replace event", Update,
            "Replace an event with a complete new event resource; fields left out are cleared. Prefer \
             update_event.";

        move_event(MoveEventParams), "Move event to another calendar", Update,
            "Move an event from one calendar to another.";

        delete_event(DeleteEventParams), "Delete event", Delete,
            "Delete (cancel) an event.";

        delete_calendar(DeleteCalendarParams), "Delete calendar", Delete,
            "Delete a secondary calendar and all its events. The primary calendar cannot be deleted.";

        clear_calendar(ClearCalendarParams), "Clear calendar", Delete,
            "Delete every event of the person's primary calendar. Requires confirm: true. Only use when explicitly \
             asked.";
    }
});

/// Every Calendar tool with its handler, in `tools/list` order.
pub(crate) fn tools() -> &'static [ToolSpec<GcalApi>] {
    &TOOLS
}

/// Every Calendar tool's definition, in a stable order; needs no secrets, store or network.
pub fn tool_list() -> Vec<Tool> {
    TOOLS.iter().map(|spec| spec.tool.clone()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_set_is_complete_and_well_formed() {
        crate::servers::tooling::assert_well_formed(&super::tool_list(), 20);
    }
}
