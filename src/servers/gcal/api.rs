//! The Google Calendar v3 REST client, errors turned into guidance, and event time parsing.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use http::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use crate::servers::Grant;
use crate::servers::tooling::ToolFailure;
use crate::servers::upstream_http::{Limits, UpstreamClient, UpstreamError, UpstreamRequest};

/// A Calendar v3 client rooted at the configured API URL (e.g.
/// `https://www.googleapis.com/calendar/v3`).
#[derive(Clone, Debug)]
pub struct GcalApi {
    client: UpstreamClient,
}

impl GcalApi {
    /// A client for the API at `api_url` with the default limits.
    pub fn new(api_url: Url, http: reqwest::Client) -> Self {
        Self::with_limits(api_url, http, Limits::default())
    }

    /// A client for the API at `api_url` with the given limits.
    pub fn with_limits(api_url: Url, http: reqwest::Client, limits: Limits) -> Self {
        Self {
            client: UpstreamClient::new(api_url, http, HeaderMap::new(), limits),
        }
    }

    /// Sends `request` (paths relative to the API root, e.g. `["calendars", id, "events"]`).
    pub async fn call(
        &self,
        grant: &Grant,
        request: &UpstreamRequest,
    ) -> Result<Value, UpstreamError> {
        self.client.call(grant, request).await
    }
}

/// The guidance for a failed call about `what` (e.g. "event"); `find` names the tool that
/// lists valid ids.
pub fn explain(error: UpstreamError, what: &str, find: &str) -> ToolFailure {
    match &error {
        UpstreamError::Status { status: 404, .. } => ToolFailure::new(format!(
            "{what} not found: check the id with {find} and call again."
        )),
        UpstreamError::Status { status: 410, .. } => ToolFailure::new(format!(
            "this {what} was already deleted; nothing left to do."
        )),
        UpstreamError::Status {
            status: 403,
            code,
            message,
        } if code.contains("ateLimit") || code == "quotaExceeded" => ToolFailure::new(format!(
            "Google Calendar is rate limiting ({message}); wait a minute and try again."
        )),
        UpstreamError::Status {
            status: 403,
            message,
            ..
        } => ToolFailure::new(format!(
            "no permission for this {what} ({message}); the person may only have read access to that calendar."
        )),
        UpstreamError::Status {
            status: 400,
            code,
            message,
        } => ToolFailure::new(format!(
            "Google Calendar rejected the request ({code}: {message}). Fix the arguments and call again."
        )),
        UpstreamError::Status {
            status: 409,
            message,
            ..
        } => ToolFailure::new(format!(
            "conflict ({message}); the {what} already exists or was changed meanwhile."
        )),
        UpstreamError::Status { status, code, .. } if *status >= 500 => ToolFailure::new(format!(
            "Google Calendar is having trouble ({status} {code}); try again in a little while."
        )),
        _ => ToolFailure::new(format!("Google Calendar: {error}")),
    }
}

/// An event `start`/`end` object: `{"date"}` for `YYYY-MM-DD`, `{"dateTime"}` for RFC3339 (with
/// `timeZone` when given), and a time without offset only together with a time zone.
pub fn event_time(field: &str, raw: &str, time_zone: Option<&str>) -> Result<Value, ToolFailure> {
    let s = raw.trim();
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Ok(json!({"date": s}));
    }
    let zone = time_zone.map(str::trim).filter(|z| !z.is_empty());
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(match zone {
            Some(z) => json!({"dateTime": s, "timeZone": z}),
            None => json!({"dateTime": s}),
        });
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"));
    match (naive, zone) {
        (Ok(t), Some(z)) => {
            Ok(json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": z}))
        }
        (Ok(_), None) => Err(ToolFailure::new(format!(
            "{field} `{s}` has no UTC offset: add one (e.g. {s}+01:00) or pass time_zone (call get_current_time for the calendar's zone)."
        ))),
        (Err(_), _) => Err(ToolFailure::new(format!(
            "{field} `{s}` is not a time: use RFC3339 like 2026-11-25T09:00:00+01:00, or a date like 2026-11-25 for all-day events."
        ))),
    }
}

/// A window bound (`timeMin`/`timeMax`): RFC3339 with offset, or a date (its midnight UTC).
pub fn window_time(field: &str, raw: &str) -> Result<String, ToolFailure> {
    let s = raw.trim();
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Ok(format!("{s}T00:00:00Z"));
    }
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(s.to_owned());
    }
    Err(ToolFailure::new(format!(
        "{field} `{s}` must be RFC3339 with an offset, like 2026-11-25T00:00:00+01:00 (or a date like 2026-11-25)."
    )))
}

/// Checks that `start` and `end` are of the same kind and in order, moving a same-day all-day
/// end to the next day (the end date is exclusive).
pub fn check_span(start: &Value, end: &mut Value) -> Result<(), ToolFailure> {
    match (
        start.get("date").and_then(Value::as_str),
        end.get("date").and_then(Value::as_str),
    ) {
        (Some(s), Some(e)) => {
            let (Ok(sd), Ok(ed)) = (
                NaiveDate::parse_from_str(s, "%Y-%m-%d"),
                NaiveDate::parse_from_str(e, "%Y-%m-%d"),
            ) else {
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
            let parse = |v: &Value| {
                v.get("dateTime")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            };
            if let (Some(s), Some(e)) = (parse(start), parse(end))
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

/// The calendar id to use: the given one, trimmed, or `primary`.
pub fn calendar(id: Option<&str>) -> String {
    id.map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("primary")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            window_time("time_min", "2026-11-25").ok().as_deref(),
            Some("2026-11-25T00:00:00Z")
        );
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
    }
}
