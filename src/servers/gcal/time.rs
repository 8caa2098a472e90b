//! Calendar times as people and models write them: time zones, event start/end objects and
//! window bounds.
//!
//! A model asked about "today" or "3pm tomorrow" writes a date or a local time; what that means
//! depends on the person's time zone. Times without an offset are therefore read in a zone: the
//! one the call names, else the person's Calendar setting (fetched by the caller only when some
//! input needs it). Daylight-saving gaps and overlaps resolve the way Google Calendar does: a
//! time that does not exist moves forward by the gap, an ambiguous one takes the earlier offset.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, SecondsFormat};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::local_time::resolve;
use crate::servers::tooling::ToolFailure;

/// Parses an IANA time zone name such as `Europe/Berlin`.
///
/// # Errors
/// Names the field and gives examples when `name` is not a known zone.
pub fn zone(field: &str, name: &str) -> Result<Tz, ToolFailure> {
    name.trim().parse::<Tz>().map_err(|_| {
        ToolFailure::new(format!(
            "{field} `{name}` is not a time zone: use an IANA name such as Europe/Berlin, America/New_York or UTC."
        ))
    })
}

/// Whether `raw` is a date or a local time, i.e. means something only in a time zone.
#[must_use]
pub fn is_local(raw: &str) -> bool {
    let s = raw.trim();
    DateTime::parse_from_rfc3339(s).is_err() && (date(s).is_some() || naive(s).is_some())
}

/// Whether `raw` is a local date-time (not a date, not with an offset).
#[must_use]
pub fn is_local_time(raw: &str) -> bool {
    let s = raw.trim();
    DateTime::parse_from_rfc3339(s).is_err() && naive(s).is_some()
}

/// The time `raw` names when it is RFC 3339 with an offset.
#[must_use]
pub fn with_offset(raw: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(raw.trim()).ok()
}

/// The time zone a time written only with an offset is repeated in: `home` (the person's zone)
/// when it has that very offset at that instant, so that a weekly 09:00 stays 09:00 across
/// daylight-saving changes; else the fixed zone of that offset (`Etc/GMT-1` is UTC+01:00); else
/// UTC for offsets that are not whole hours, which expands a recurrence to the same instants.
#[must_use]
pub fn zone_for_offset(at: DateTime<chrono::FixedOffset>, home: Tz) -> Tz {
    let offset = at.offset().local_minus_utc();
    if at.with_timezone(&home).offset().fix().local_minus_utc() == offset {
        return home;
    }
    if offset == 0 {
        return Tz::UTC;
    }
    if offset % 3600 == 0 {
        let hours = offset / 3600;
        // The sign of the Etc zones is inverted: Etc/GMT-1 is one hour ahead of UTC.
        let name = format!(
            "Etc/GMT{}{}",
            if hours > 0 { '-' } else { '+' },
            hours.abs()
        );
        if let Ok(tz) = name.parse::<Tz>() {
            return tz;
        }
    }
    Tz::UTC
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
}

/// The current time in `tz`, as the fields `get_current_time` answers with.
#[must_use]
pub fn now_in(tz: Tz, now: DateTime<chrono::Utc>) -> Value {
    let local = now.with_timezone(&tz);
    json!({
        "now": local.to_rfc3339_opts(SecondsFormat::Secs, false),
        "date": local.format("%Y-%m-%d").to_string(),
        "weekday": local.format("%A").to_string(),
        "time_zone": tz.name(),
        "utc_offset": local.format("%:z").to_string(),
        "now_utc": now.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

/// An event `start`/`end` object: `{"date"}` for `YYYY-MM-DD`, `{"dateTime"}` for RFC3339 (with
/// `timeZone` when given), and a local time only together with a time zone.
///
/// # Errors
/// Says how to write the time when it cannot be read, or that a zone is needed.
pub fn event_time(field: &str, raw: &str, time_zone: Option<&str>) -> Result<Value, ToolFailure> {
    let s = raw.trim();
    if date(s).is_some() {
        return Ok(json!({"date": s}));
    }
    let zone_name = match time_zone.map(str::trim).filter(|z| !z.is_empty()) {
        Some(z) => Some(zone("time_zone", z)?.name()),
        None => None,
    };
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(match zone_name {
            Some(z) => json!({"dateTime": s, "timeZone": z}),
            None => json!({"dateTime": s}),
        });
    }
    match (naive(s), zone_name) {
        (Some(t), Some(z)) => {
            Ok(json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": z}))
        }
        (Some(_), None) => Err(ToolFailure::new(format!(
            "{field} `{s}` has no UTC offset: add one (e.g. {s}+01:00) or pass time_zone."
        ))),
        (None, _) => Err(ToolFailure::new(format!(
            "{field} `{s}` is not a time: use RFC3339 like 2026-11-25T09:00:00+01:00, a local time like 2026-11-25T09:00 (read in the calendar's time zone), or a date like 2026-11-25 for all-day events."
        ))),
    }
}

/// A window bound (`timeMin`/`timeMax`) as RFC3339 with an offset. A date means its midnight
/// and a local time means that wall-clock time, both in `tz` (UTC when none is given).
///
/// # Errors
/// Says how to write the bound when it cannot be read.
pub fn window_time(field: &str, raw: &str, tz: Option<Tz>) -> Result<String, ToolFailure> {
    let s = raw.trim();
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(s.to_owned());
    }
    let local = date(s)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| naive(s))
        .ok_or_else(|| {
            ToolFailure::new(format!(
                "{field} `{s}` must be a date like 2026-11-25, a local time like 2026-11-25T09:00, or RFC3339 with an offset like 2026-11-25T00:00:00+01:00."
            ))
        })?;
    let at = resolve(tz.unwrap_or(Tz::UTC), local).ok_or_else(|| {
        ToolFailure::new(format!("{field} `{s}` does not exist in that time zone."))
    })?;
    Ok(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Checks that `start` and `end` are of the same kind and in order, moving a same-day all-day
/// end to the next day (the end date is exclusive).
///
/// # Errors
/// Says what to fix when the end is before the start or the kinds differ.
pub fn check_span(start: &Value, end: &mut Value) -> Result<(), ToolFailure> {
    match (
        start.get("date").and_then(Value::as_str),
        end.get("date").and_then(Value::as_str),
    ) {
        (Some(s), Some(e)) => {
            let (Some(sd), Some(ed)) = (date(s), date(e)) else {
                return Ok(());
            };
            if ed < sd {
                return Err(ToolFailure::new(
                    "end is before start; swap them or fix the dates.",
                ));
            }
            if ed == sd
                && let Some(next) = sd.succ_opt()
            {
                *end = json!({"date": next.format("%Y-%m-%d").to_string()});
            }
            Ok(())
        }
        (None, None) => {
            if let (Some(s), Some(e)) = (instant(start), instant(end))
                && e < s
            {
                return Err(ToolFailure::new("end is before start; fix the times."));
            }
            Ok(())
        }
        _ => Err(ToolFailure::new(
            "start and end must both be dates (all-day) or both be date-times.",
        )),
    }
}

/// The instant of a `{"dateTime", "timeZone"?}` object, when it can be known.
fn instant(v: &Value) -> Option<DateTime<chrono::Utc>> {
    let t = v.get("dateTime").and_then(Value::as_str)?;
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(at.to_utc());
    }
    let tz = v
        .get("timeZone")
        .and_then(Value::as_str)?
        .parse::<Tz>()
        .ok()?;
    resolve(tz, naive(t)?).map(|at| at.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Option<Tz> {
        Some(chrono_tz::Europe::Berlin)
    }

    #[test]
    fn event_times() {
        assert_eq!(
            event_time("start", "2026-11-25", None).ok(),
            Some(json!({"date": "2026-11-25"}))
        );
        assert_eq!(
            event_time("start", "2026-11-25T09:00:00+01:00", None).ok(),
            Some(json!({"dateTime": "2026-11-25T09:00:00+01:00"}))
        );
        assert_eq!(
            event_time("start", "2026-11-25T09:00", Some("Europe/Berlin")).ok(),
            Some(json!({"dateTime": "2026-11-25T09:00:00", "timeZone": "Europe/Berlin"}))
        );
        assert!(event_time("start", "2026-11-25T09:00", None).is_err());
        assert!(event_time("start", "tomorrow", None).is_err());
        let bad = event_time("start", "2026-11-25T09:00", Some("Mars/Olympus")).unwrap_err();
        assert!(bad.0.contains("IANA"), "{}", bad.0);
    }

    #[test]
    fn windows_are_read_in_the_zone() {
        assert_eq!(
            window_time("time_min", "2026-11-25", None).ok().as_deref(),
            Some("2026-11-25T00:00:00Z")
        );
        // Midnight in Berlin, with its offset (UTC+1 in November).
        assert_eq!(
            window_time("time_min", "2026-11-25", berlin())
                .ok()
                .as_deref(),
            Some("2026-11-25T00:00:00+01:00")
        );
        assert_eq!(
            window_time("time_max", "2026-07-01T18:30", berlin())
                .ok()
                .as_deref(),
            Some("2026-07-01T18:30:00+02:00")
        );
        assert_eq!(
            window_time("time_min", "2026-11-25T09:00:00-07:00", berlin())
                .ok()
                .as_deref(),
            Some("2026-11-25T09:00:00-07:00")
        );
        assert!(window_time("time_min", "next week", berlin()).is_err());
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps() {
        // 2026-03-29 02:30 does not exist in Berlin: it is read as 03:30 CEST.
        assert_eq!(
            window_time("time_min", "2026-03-29T02:30", berlin())
                .ok()
                .as_deref(),
            Some("2026-03-29T03:30:00+02:00")
        );
        // 2026-10-25 02:30 happens twice: the earlier (CEST) one is taken.
        assert_eq!(
            window_time("time_min", "2026-10-25T02:30", berlin())
                .ok()
                .as_deref(),
            Some("2026-10-25T02:30:00+02:00")
        );
    }

    #[test]
    fn local_inputs_are_recognised() {
        assert!(is_local("2026-11-25"));
        assert!(is_local("2026-11-25T09:00"));
        assert!(!is_local("2026-11-25T09:00:00Z"));
        assert!(!is_local("garbage"));
        assert!(is_local_time("2026-11-25 09:00"));
        assert!(!is_local_time("2026-11-25"));
    }

    #[test]
    fn offsets_get_a_zone_to_repeat_in() {
        let at = |s: &str| with_offset(s).unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        // The person's own zone when it has that offset then (winter and summer).
        assert_eq!(
            zone_for_offset(at("2026-12-07T09:00:00+01:00"), berlin),
            berlin
        );
        assert_eq!(
            zone_for_offset(at("2026-07-06T09:00:00+02:00"), berlin),
            berlin
        );
        // Another offset: the fixed zone of that offset.
        assert_eq!(
            zone_for_offset(at("2026-12-07T09:00:00-05:00"), berlin).name(),
            "Etc/GMT+5"
        );
        assert_eq!(
            zone_for_offset(at("2026-12-07T09:00:00+01:00"), chrono_tz::Asia::Tokyo).name(),
            "Etc/GMT-1"
        );
        assert_eq!(zone_for_offset(at("2026-12-07T09:00:00Z"), berlin), Tz::UTC);
        assert_eq!(
            zone_for_offset(at("2026-12-07T09:00:00+05:30"), berlin),
            Tz::UTC
        );
        assert!(with_offset("2026-12-07T09:00").is_none());
    }

    #[test]
    fn now_is_given_in_the_zone() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T23:30:00Z")
            .unwrap()
            .to_utc();
        let v = now_in(chrono_tz::Asia::Tokyo, now);
        assert_eq!(v["now"], "2026-11-26T08:30:00+09:00");
        assert_eq!(v["date"], "2026-11-26");
        assert_eq!(v["weekday"], "Thursday");
        assert_eq!(v["utc_offset"], "+09:00");
        assert_eq!(v["now_utc"], "2026-11-25T23:30:00Z");
    }

    #[test]
    fn spans() {
        let start = json!({"date": "2026-11-25"});
        let mut end = json!({"date": "2026-11-25"});
        assert!(check_span(&start, &mut end).is_ok());
        assert_eq!(end, json!({"date": "2026-11-26"}));
        let mut bad = json!({"dateTime": "2026-11-25T09:00:00Z"});
        assert!(check_span(&start, &mut bad).is_err());
        let s = json!({"dateTime": "2026-11-25T10:00:00Z"});
        let mut e = json!({"dateTime": "2026-11-25T09:00:00Z"});
        assert!(check_span(&s, &mut e).is_err());
        let s = json!({"dateTime": "2026-11-25T10:00:00", "timeZone": "Europe/Berlin"});
        let mut e = json!({"dateTime": "2026-11-25T09:30:00", "timeZone": "Europe/Berlin"});
        assert!(check_span(&s, &mut e).is_err());
    }
}
