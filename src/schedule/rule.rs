//! When an entry falls due: its first wall-clock time and its RFC 5545 recurrence rule, read in
//! the person's IANA time zone.
//!
//! Occurrences are expanded by the `rrule` crate on wall-clock times (a floating start, as
//! RFC 5545 calls a time without a zone), and each one is then placed in the person's zone by
//! the same rule the Calendar server uses: a time in a daylight-saving gap moves forward by the
//! gap, an ambiguous one takes the earlier offset. A daily 08:00 therefore stays 08:00 on both
//! sides of a change.

use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use rrule::{RRule, RRuleSet, Unvalidated};

use crate::local_time::resolve;

/// The shortest time allowed between two occurrences of a recurring entry.
pub const MIN_INTERVAL: Duration = Duration::minutes(5);
/// The longest recurrence rule accepted, in bytes.
pub const MAX_RULE_LEN: usize = 500;
/// How many occurrences are checked against [`MIN_INTERVAL`] when a rule is made.
const CHECKED_OCCURRENCES: usize = 60;
/// How many occurrences are read at most to find the next one after an instant.
const MAX_SCAN: usize = 200_000;

/// Why a time or a rule was refused; the text says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `at` is not a date-time.
    #[error(
        "`at` `{0}` is not a date-time: write RFC 3339, e.g. 2026-03-30T08:00:00 (the person's local time) or 2026-03-30T08:00:00+02:00"
    )]
    BadTime(String),
    /// The recurrence rule does not parse or is not valid.
    #[error(
        "`repeat` `{rule}` is not an RFC 5545 recurrence rule ({reason}); write e.g. FREQ=DAILY or FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    )]
    BadRule {
        /// The rule as given.
        rule: String,
        /// What the parser said.
        reason: String,
    },
    /// Two occurrences are closer than [`MIN_INTERVAL`].
    #[error(
        "`repeat` `{0}` repeats more often than every 5 minutes, which is not allowed; choose a longer interval"
    )]
    TooFrequent(String),
    /// The rule never produces a time after now.
    #[error("`repeat` `{0}` has no occurrence after now; check its COUNT or UNTIL")]
    NoOccurrence(String),
}

/// When an entry falls due: its first wall-clock time, its rule, its zone.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The wall-clock time of the first occurrence in `zone`.
    pub first: NaiveDateTime,
    /// The zone the wall-clock times are read in.
    pub zone: Tz,
    /// The recurrence rule (without `RRULE:`), when the entry repeats.
    pub rule: Option<String>,
    /// The rule, expanded from `first` as a floating time.
    set: Option<RRuleSet>,
}

/// A wall-clock time as the `rrule` crate takes a floating time.
fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    local.and_utc().with_timezone(&rrule::Tz::UTC)
}

/// Reads `at` as an instant: RFC 3339 with an offset as written, without one (or with a space
/// for the `T`, or without seconds) as a wall-clock time in `zone`. Returns the wall-clock time
/// in `zone` and the instant.
///
/// # Errors
/// [`RuleError::BadTime`] when `at` is neither.
pub fn parse_at(at: &str, zone: Tz) -> Result<(NaiveDateTime, DateTime<Utc>), RuleError> {
    let raw = at.trim();
    if raw.len() > 64 {
        return Err(RuleError::BadTime(raw.chars().take(64).collect()));
    }
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(raw) {
        let utc = with_offset.with_timezone(&Utc);
        return Ok((utc.with_timezone(&zone).naive_local(), utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .ok_or_else(|| RuleError::BadTime(raw.to_owned()))?;
    let instant = resolve(zone, local).ok_or_else(|| RuleError::BadTime(raw.to_owned()))?;
    Ok((local, instant.with_timezone(&Utc)))
}

impl Timing {
    /// The timing of an entry first due at the wall-clock time `first` in `zone`, repeating by
    /// `rule` when given.
    ///
    /// # Errors
    /// When the rule does not parse, is not valid for `first`, or repeats more often than
    /// every [`MIN_INTERVAL`].
    pub fn new(first: NaiveDateTime, zone: Tz, rule: Option<&str>) -> Result<Self, RuleError> {
        let rule = rule
            .map(|r| r.trim().trim_start_matches("RRULE:").trim().to_owned())
            .filter(|r| !r.is_empty());
        let set = match &rule {
            None => None,
            Some(text) => Some(Self::parse_rule(text, first)?),
        };
        Ok(Self {
            first,
            zone,
            rule,
            set,
        })
    }

    fn parse_rule(text: &str, first: NaiveDateTime) -> Result<RRuleSet, RuleError> {
        let bad = |reason: String| RuleError::BadRule {
            rule: text.chars().take(80).collect(),
            reason,
        };
        if text.len() > MAX_RULE_LEN {
            return Err(bad(format!("longer than {MAX_RULE_LEN} bytes")));
        }
        if text.contains('\n') || text.contains('\r') {
            return Err(bad("it holds a line break".into()));
        }
        let parsed: RRule<Unvalidated> = text
            .parse()
            .map_err(|e: rrule::RRuleError| bad(e.to_string()))?;
        let set = parsed
            .build(floating(first))
            .map_err(|e| bad(e.to_string()))?;
        let times: Vec<NaiveDateTime> = (&set)
            .into_iter()
            .take(CHECKED_OCCURRENCES)
            .map(|t| t.naive_utc())
            .collect();
        if times.windows(2).any(|w| w[1] - w[0] < MIN_INTERVAL) {
            return Err(RuleError::TooFrequent(text.chars().take(80).collect()));
        }
        Ok(set)
    }

    /// Whether the entry repeats.
    #[must_use]
    pub fn repeats(&self) -> bool {
        self.set.is_some()
    }

    /// The first occurrence strictly after `after`, as an instant; `None` when there is none
    /// (a one-off time that passed, a rule whose COUNT or UNTIL ended).
    #[must_use]
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let place = |local: NaiveDateTime| resolve(self.zone, local).map(|t| t.with_timezone(&Utc));
        let Some(set) = &self.set else {
            return place(self.first).filter(|t| *t > after);
        };
        // Wall-clock times a day before `after` in the zone are certainly not after it.
        let from = after.with_timezone(&self.zone).naive_local() - Duration::days(1);
        let set = set.clone().after(floating(from));
        (&set)
            .into_iter()
            .take(MAX_SCAN)
            .filter_map(|t| place(t.naive_utc()))
            .find(|t| *t > after)
    }

    /// The first occurrence at or after `from`; for a new entry, its first due time.
    #[must_use]
    pub fn first_at_or_after(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(from - Duration::seconds(1))
    }
}

/// An instant as RFC 3339 in `zone`, to the second (`2026-03-30T08:00:00+02:00`).
#[must_use]
pub fn in_zone(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// An instant as a person reads it in `zone`: `Mon 30 Mar 08:00` (with the year when it is not
/// `now`'s).
#[must_use]
pub fn readable(at: DateTime<Utc>, zone: Tz, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&zone);
    let this_year = now.with_timezone(&zone).format("%Y").to_string();
    if local.format("%Y").to_string() == this_year {
        local.format("%a %-d %b %H:%M").to_string()
    } else {
        local.format("%a %-d %b %Y %H:%M").to_string()
    }
}

/// Parses an IANA zone name such as `Europe/Berlin`.
///
/// # Errors
/// A message that names the zone and gives examples.
pub fn zone(name: &str) -> Result<Tz, String> {
    let name = name.trim();
    name.parse::<Tz>().map_err(|_| {
        format!(
            "`{}` is not a time zone I know. Use an IANA name such as Europe/Berlin, America/New_York or Asia/Tokyo.",
            name.chars().take(64).collect::<String>()
        )
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    /// A daily 08:00 in Berlin is 07:00 UTC in winter and 06:00 UTC in summer: on the days
    /// around the March change (29 March 2026) and the October change (25 October 2026).
    #[test]
    fn berlin_daily_eight_stays_eight_across_both_changes() {
        let berlin = chrono_tz::Europe::Berlin;
        let t = Timing::new(local("2026-03-27T08:00:00"), berlin, Some("FREQ=DAILY")).unwrap();
        let mut at = utc("2026-03-27T00:00:00Z");
        let mut seen = Vec::new();
        for _ in 0..4 {
            at = t.next_after(at).unwrap();
            seen.push(at);
        }
        assert_eq!(
            seen,
            vec![
                utc("2026-03-27T07:00:00Z"),
                utc("2026-03-28T07:00:00Z"),
                utc("2026-03-29T06:00:00Z"),
                utc("2026-03-30T06:00:00Z"),
            ]
        );
        let mut at = utc("2026-10-23T12:00:00Z");
        let mut seen = Vec::new();
        for _ in 0..4 {
            at = t.next_after(at).unwrap();
            assert_eq!(
                at.with_timezone(&berlin).format("%H:%M").to_string(),
                "08:00"
            );
            seen.push(at);
        }
        assert_eq!(seen[1], utc("2026-10-25T07:00:00Z"), "{seen:?}");
        assert_eq!(seen[0], utc("2026-10-24T06:00:00Z"));
    }

    /// 02:30 does not exist in Berlin on 29 March 2026: it moves forward to 03:30 CEST. On
    /// 25 October 2026 it happens twice: the earlier (CEST) is taken.
    #[test]
    fn gap_moves_forward_and_overlap_takes_the_earlier_offset() {
        let berlin = chrono_tz::Europe::Berlin;
        let (_, gap) = parse_at("2026-03-29T02:30:00", berlin).unwrap();
        assert_eq!(gap, utc("2026-03-29T01:30:00Z"));
        let (_, overlap) = parse_at("2026-10-25T02:30", berlin).unwrap();
        assert_eq!(overlap, utc("2026-10-25T00:30:00Z"));
        let daily = Timing::new(local("2026-03-28T02:30:00"), berlin, Some("FREQ=DAILY")).unwrap();
        let next = daily.next_after(utc("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(next, utc("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn an_offset_is_kept_and_shown_in_the_zone() {
        let ny = chrono_tz::America::New_York;
        let (wall, at) = parse_at("2026-07-01T12:00:00Z", ny).unwrap();
        assert_eq!(wall, local("2026-07-01T08:00:00"));
        assert_eq!(in_zone(at, ny), "2026-07-01T08:00:00-04:00");
        assert!(matches!(
            parse_at("tomorrow at 8", ny),
            Err(RuleError::BadTime(_))
        ));
    }

    #[test]
    fn rules_more_frequent_than_five_minutes_are_refused() {
        let z = Tz::UTC;
        let start = local("2026-01-01T08:00:00");
        for rule in [
            "FREQ=MINUTELY",
            "FREQ=MINUTELY;INTERVAL=4",
            "FREQ=SECONDLY",
            "FREQ=DAILY;BYMINUTE=0,1",
        ] {
            assert!(
                matches!(
                    Timing::new(start, z, Some(rule)),
                    Err(RuleError::TooFrequent(_))
                ),
                "{rule}"
            );
        }
        assert!(Timing::new(start, z, Some("FREQ=MINUTELY;INTERVAL=5")).is_ok());
        let err = Timing::new(start, z, Some("FREQ=SOMETIMES")).unwrap_err();
        assert!(err.to_string().contains("FREQ=WEEKLY;BYDAY"), "{err}");
    }

    #[test]
    fn weekdays_skip_the_weekend_and_count_ends_the_rule() {
        let z = Tz::UTC;
        let t = Timing::new(
            local("2026-01-02T08:00:00"),
            z,
            Some("RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=2"),
        )
        .unwrap();
        let first = t.first_at_or_after(utc("2026-01-02T08:00:00Z")).unwrap();
        assert_eq!(first, utc("2026-01-02T08:00:00Z"));
        let second = t.next_after(first).unwrap();
        assert_eq!(second, utc("2026-01-05T08:00:00Z"));
        assert_eq!(t.next_after(second), None);
        let once = Timing::new(local("2026-01-02T08:00:00"), z, None).unwrap();
        assert_eq!(
            once.next_after(Utc.with_ymd_and_hms(2026, 1, 2, 9, 0, 0).unwrap()),
            None
        );
    }

    #[test]
    fn zone_names_are_checked() {
        assert!(zone("Europe/Berlin").is_ok());
        assert!(zone("Mars/Olympus").unwrap_err().contains("Europe/Berlin"));
    }
}
