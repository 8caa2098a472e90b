//! Wall-clock times placed in an IANA time zone, by the rule Google Calendar follows and both
//! the Calendar server and the schedule keep: a time in a daylight-saving gap moves forward by
//! the gap, an ambiguous one takes the earlier offset.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// The instant the wall-clock time `local` stands for in `tz`; `None` only when the zone has
/// no offset for the hours around it.
pub(crate) fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        // In a gap (clocks jumped forward): read with the offset in force before the gap, so
        // the time moves forward by the gap's length.
        LocalResult::None => {
            let before = tz
                .from_local_datetime(&(local - Duration::hours(6)))
                .earliest()?;
            let offset = before.offset().fix();
            Some(tz.from_utc_datetime(&(local - offset)))
        }
    }
}
