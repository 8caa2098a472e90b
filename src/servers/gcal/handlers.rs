//! What each Calendar tool does: builds the REST calls and shapes slim answers.

use http::Method;
use serde_json::{Map, Value, json};

use super::api::{GcalApi, calendar, explain};
use super::params::*;
use super::time::{self, check_span, event_time, window_time};
use crate::servers::Grant;
use crate::servers::tooling::{ToolFailure, ToolOutput, ToolResult, require_id};
use crate::servers::upstream_http::UpstreamRequest;

fn event_id(raw: &str) -> Result<String, ToolFailure> {
    require_id("event_id", raw, "take it from list_events or search_events").map(str::to_owned)
}

fn copy(out: &mut Map<String, Value>, from: &Value, key: &str, to: &str) {
    if let Some(v) = from.get(key)
        && !v.is_null()
        && v.as_str() != Some("")
        && v.as_array().is_none_or(|a| !a.is_empty())
    {
        out.insert(to.to_owned(), v.clone());
    }
}

fn time_of(v: Option<&Value>) -> Value {
    v.and_then(|t| t.get("dateTime").or_else(|| t.get("date")))
        .cloned()
        .unwrap_or(Value::Null)
}

/// An event without bookkeeping: times as strings, guests as email + answer.
fn slim_event(e: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, e, "id", "id");
    copy(&mut out, e, "summary", "summary");
    out.insert("start".into(), time_of(e.get("start")));
    out.insert("end".into(), time_of(e.get("end")));
    if e.pointer("/start/date").is_some() {
        out.insert("all_day".into(), Value::Bool(true));
    }
    if let Some(tz) = e.pointer("/start/timeZone") {
        out.insert("time_zone".into(), tz.clone());
    }
    copy(&mut out, e, "location", "location");
    copy(&mut out, e, "description", "description");
    if let Some(status) = e.get("status").and_then(Value::as_str)
        && status != "confirmed"
    {
        out.insert("status".into(), Value::from(status));
    }
    if let Some(org) = e.pointer("/organizer/email") {
        out.insert("organizer".into(), org.clone());
    }
    if let Some(attendees) = e.get("attendees").and_then(Value::as_array) {
        let list: Vec<Value> = attendees
            .iter()
            .map(|a| {
                let mut m = Map::new();
                copy(&mut m, a, "email", "email");
                copy(&mut m, a, "responseStatus", "response");
                if a.get("self").and_then(Value::as_bool) == Some(true) {
                    m.insert("self".into(), Value::Bool(true));
                }
                if a.get("optional").and_then(Value::as_bool) == Some(true) {
                    m.insert("optional".into(), Value::Bool(true));
                }
                Value::Object(m)
            })
            .collect();
        out.insert("attendees".into(), Value::Array(list));
    }
    copy(&mut out, e, "recurrence", "recurrence");
    copy(&mut out, e, "recurringEventId", "recurring_event_id");
    copy(&mut out, e, "hangoutLink", "meet_link");
    copy(&mut out, e, "colorId", "color_id");
    copy(&mut out, e, "htmlLink", "link");
    Value::Object(out)
}

fn slim_events(v: &Value) -> Value {
    let items: Vec<Value> = v
        .get("items")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(slim_event).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("count".into(), Value::from(items.len()));
    out.insert("events".into(), Value::Array(items));
    copy(&mut out, v, "timeZone", "time_zone");
    copy(&mut out, v, "nextPageToken", "next_page_token");
    Value::Object(out)
}

fn slim_calendar(c: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, c, "id", "id");
    copy(&mut out, c, "summaryOverride", "summary");
    if !out.contains_key("summary") {
        copy(&mut out, c, "summary", "summary");
    }
    copy(&mut out, c, "description", "description");
    copy(&mut out, c, "timeZone", "time_zone");
    copy(&mut out, c, "location", "location");
    copy(&mut out, c, "accessRole", "access_role");
    copy(&mut out, c, "primary", "primary");
    copy(&mut out, c, "hidden", "hidden");
    copy(&mut out, c, "backgroundColor", "color");
    Value::Object(out)
}

/// The event body fields shared by create and update.
fn event_body(body: &mut Map<String, Value>, e: EventFields<'_>) -> Result<(), ToolFailure> {
    if let Some(s) = e.summary {
        body.insert("summary".into(), Value::from(s));
    }
    if let Some(d) = e.description {
        body.insert("description".into(), Value::from(d));
    }
    if let Some(l) = e.location {
        body.insert("location".into(), Value::from(l));
    }
    let start = e
        .start
        .map(|s| event_time("start", s, e.time_zone))
        .transpose()?;
    let end = e
        .end
        .map(|s| event_time("end", s, e.time_zone))
        .transpose()?;
    match (start, end) {
        (Some(start), Some(mut end)) => {
            check_span(&start, &mut end)?;
            body.insert("start".into(), start);
            body.insert("end".into(), end);
        }
        (Some(start), None) => {
            body.insert("start".into(), start);
        }
        (None, Some(end)) => {
            body.insert("end".into(), end);
        }
        (None, None) => {}
    }
    if let Some(attendees) = e.attendees {
        let list: Vec<Value> = attendees
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(|a| json!({"email": a}))
            .collect();
        if let Some(bad) = attendees.iter().find(|a| !a.contains('@')) {
            return Err(ToolFailure::new(format!(
                "attendee `{bad}` is not an email address; give guests as email addresses."
            )));
        }
        body.insert("attendees".into(), Value::Array(list));
    }
    if let Some(recurrence) = e.recurrence {
        let lines: Vec<Value> = recurrence
            .iter()
            .map(|r| {
                let r = r.trim();
                if r.starts_with("RRULE:")
                    || r.starts_with("EXDATE")
                    || r.starts_with("RDATE")
                    || r.starts_with("EXRULE")
                {
                    Value::from(r)
                } else {
                    Value::from(format!("RRULE:{r}"))
                }
            })
            .collect();
        body.insert("recurrence".into(), Value::Array(lines));
    }
    if let Some(reminders) = e.reminders {
        check_reminders(reminders)?;
        let overrides: Vec<Value> = reminders
            .iter()
            .map(
                |r| json!({"method": r.method.as_deref().unwrap_or("popup"), "minutes": r.minutes}),
            )
            .collect();
        body.insert(
            "reminders".into(),
            json!({"useDefault": false, "overrides": overrides}),
        );
    }
    if let Some(color) = e.color_id {
        body.insert("colorId".into(), Value::from(color));
    }
    if e.add_meet_link == Some(true) {
        let request_id = format!(
            "meet-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        body.insert(
            "conferenceData".into(),
            json!({"createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}),
        );
    }
    Ok(())
}

/// The longest free/busy window Google answers, in days.
const MAX_FREE_BUSY_DAYS: i64 = 90;

/// Checks that a free/busy window (RFC 3339 bounds) is not empty and not longer than Google
/// answers.
fn check_free_busy_window(time_min: &str, time_max: &str) -> Result<(), ToolFailure> {
    let (Some(min), Some(max)) = (time::with_offset(time_min), time::with_offset(time_max)) else {
        return Ok(());
    };
    if max <= min {
        return Err(ToolFailure::new(
            "time_max is not after time_min: the free/busy window is empty; give an end after the start.",
        ));
    }
    if max - min > chrono::Duration::days(MAX_FREE_BUSY_DAYS) {
        return Err(ToolFailure::new(format!(
            "the free/busy window is {} days long, but Google Calendar answers at most {MAX_FREE_BUSY_DAYS} days \
             at a time; ask for {MAX_FREE_BUSY_DAYS} days or less (several calls for a longer span).",
            (max - min).num_days()
        )));
    }
    Ok(())
}

/// Google's limits on an event's reminders.
const MAX_REMINDERS: usize = 5;
/// The earliest a reminder may fire: four weeks before the start, in minutes.
const MAX_REMINDER_MINUTES: u32 = 40_320;

/// Checks reminders against what Google accepts.
fn check_reminders(reminders: &[Reminder]) -> Result<(), ToolFailure> {
    if reminders.len() > MAX_REMINDERS {
        return Err(ToolFailure::new(format!(
            "{} reminders given, but Google Calendar allows at most {MAX_REMINDERS} per event; keep the {MAX_REMINDERS} \
             that matter most.",
            reminders.len()
        )));
    }
    if let Some(r) = reminders.iter().find(|r| r.minutes > MAX_REMINDER_MINUTES) {
        return Err(ToolFailure::new(format!(
            "a reminder {} minutes before the start is too early: Google Calendar allows 0 to {MAX_REMINDER_MINUTES} \
             minutes (4 weeks).",
            r.minutes
        )));
    }
    if let Some(method) = reminders
        .iter()
        .filter_map(|r| r.method.as_deref())
        .find(|m| !matches!(*m, "popup" | "email"))
    {
        return Err(ToolFailure::new(format!(
            "reminder method `{method}` is not one Google Calendar knows: use popup or email."
        )));
    }
    Ok(())
}

struct EventFields<'a> {
    summary: Option<&'a str>,
    start: Option<&'a str>,
    end: Option<&'a str>,
    time_zone: Option<&'a str>,
    description: Option<&'a str>,
    location: Option<&'a str>,
    attendees: Option<&'a [String]>,
    recurrence: Option<&'a [String]>,
    reminders: Option<&'a [Reminder]>,
    color_id: Option<&'a str>,
    add_meet_link: Option<bool>,
}

impl<'a> From<&'a NewEvent> for EventFields<'a> {
    fn from(e: &'a NewEvent) -> Self {
        Self {
            summary: Some(&e.summary),
            start: Some(&e.start),
            end: Some(&e.end),
            time_zone: e.time_zone.as_deref(),
            description: e.description.as_deref(),
            location: e.location.as_deref(),
            attendees: e.attendees.as_deref(),
            recurrence: e.recurrence.as_deref(),
            reminders: e.reminders.as_deref(),
            color_id: e.color_id.as_deref(),
            add_meet_link: e.add_meet_link,
        }
    }
}

/// One tool call: the API client and the grant it acts for.
pub(super) struct Call<'a> {
    api: &'a GcalApi,
    grant: &'a Grant,
    /// When the call must answer.
    deadline: tokio::time::Instant,
    /// The person's time zone, fetched at most once per call.
    home: tokio::sync::OnceCell<chrono_tz::Tz>,
}

impl<'a> Call<'a> {
    /// The context of one call to `api` for `grant`.
    pub(super) fn new(api: &'a GcalApi, grant: &'a Grant) -> Self {
        Self {
            api,
            grant,
            deadline: api.deadline(),
            home: tokio::sync::OnceCell::new(),
        }
    }
}

impl Call<'_> {
    async fn send(
        &self,
        request: UpstreamRequest,
        what: &str,
        find: &str,
    ) -> Result<Value, ToolFailure> {
        self.api
            .call(self.grant, &request, self.deadline)
            .await
            .map_err(|e| explain(e, what, find))
    }

    /// The person's time zone as set in Google Calendar (UTC when the setting is missing or
    /// unknown).
    async fn home_zone(&self) -> Result<chrono_tz::Tz, ToolFailure> {
        self.home
            .get_or_try_init(|| async {
                let v = self
                    .send(
                        UpstreamRequest::get(["users", "me", "settings", "timezone"]),
                        "setting",
                        "list_calendars",
                    )
                    .await?;
                Ok(v.get("value")
                    .and_then(Value::as_str)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(chrono_tz::Tz::UTC))
            })
            .await
            .copied()
    }

    /// The zone to read dates and local times in: the `given` one, else the person's own when
    /// `needed` (some input has no offset); `None` when neither.
    async fn zone_for(
        &self,
        given: Option<&str>,
        needed: bool,
    ) -> Result<Option<chrono_tz::Tz>, ToolFailure> {
        match given.map(str::trim).filter(|z| !z.is_empty()) {
            Some(z) => time::zone("time_zone", z).map(Some),
            None if needed => self.home_zone().await.map(Some),
            None => Ok(None),
        }
    }

    /// The zone for window bounds: as [`Call::zone_for`], needed when a bound is a date or a
    /// local time.
    async fn window_zone(
        &self,
        given: Option<&str>,
        bounds: [Option<&str>; 2],
    ) -> Result<Option<chrono_tz::Tz>, ToolFailure> {
        let needed = bounds.into_iter().flatten().any(time::is_local);
        self.zone_for(given, needed).await
    }

    /// The zone for event times: the `given` one; else the person's when `start` or `end` is a
    /// local time (all-day dates need none); else, for a `repeating` event whose times carry
    /// only an offset, the zone that offset stands for ([`time::zone_for_offset`]), since
    /// Google repeats an event in a named zone and refuses a repeating event without one.
    async fn event_zone(
        &self,
        given: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
        repeating: bool,
    ) -> Result<Option<&'static str>, ToolFailure> {
        let local = [start, end].into_iter().flatten().any(time::is_local_time);
        if let Some(zone) = self.zone_for(given, local).await? {
            return Ok(Some(zone.name()));
        }
        let Some(at) = [start, end]
            .into_iter()
            .flatten()
            .find_map(time::with_offset)
            .filter(|_| repeating)
        else {
            return Ok(None);
        };
        let home = self.home_zone().await?;
        Ok(Some(time::zone_for_offset(at, home).name()))
    }

    /// The window bounds `(timeMin, timeMax)`, local ones read in `tz`.
    fn window(
        tz: Option<chrono_tz::Tz>,
        time_min: Option<&str>,
        time_max: Option<&str>,
    ) -> Result<(Option<String>, Option<String>), ToolFailure> {
        let min = time_min
            .map(|t| window_time("time_min", t, tz))
            .transpose()?;
        let max = time_max
            .map(|t| window_time("time_max", t, tz))
            .transpose()?;
        Ok((min, max))
    }

    pub(super) async fn get_current_time(&self, p: CurrentTimeParams) -> ToolResult {
        let tz = self
            .zone_for(p.time_zone.as_deref(), true)
            .await?
            .unwrap_or(chrono_tz::Tz::UTC);
        let mut out = time::now_in(tz, chrono::Utc::now());
        if let Some(obj) = out.as_object_mut() {
            obj.insert(
                "hint".into(),
                Value::from(
                    "dates and local times like 2026-11-25T09:00 are read in the person's time zone; add an offset or time_zone for another",
                ),
            );
        }
        Ok(ToolOutput::json(out))
    }

    pub(super) async fn list_calendars(&self, p: ListCalendarsParams) -> ToolResult {
        let request = UpstreamRequest::get(["users", "me", "calendarList"])
            .query_opt("maxResults", p.max_results.map(|m| m.clamp(1, 250)))
            .query_opt("pageToken", p.page_token)
            .query_opt("showHidden", p.show_hidden)
            .query_opt("showDeleted", p.show_deleted);
        let v = self
            .send(request, "calendar list", "list_calendars")
            .await?;
        let items: Vec<Value> = v
            .get("items")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(slim_calendar).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        out.insert("calendars".into(), Value::Array(items));
        copy(&mut out, &v, "nextPageToken", "next_page_token");
        Ok(ToolOutput::json(Value::Object(out)))
    }

    pub(super) async fn get_calendar(&self, p: CalendarParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let v = self
            .send(
                UpstreamRequest::get(["users", "me", "calendarList", &cal]),
                "calendar",
                "list_calendars",
            )
            .await?;
        Ok(ToolOutput::json(slim_calendar(&v)))
    }

    async fn events(&self, cal: &str, p: ListEventsParams) -> ToolResult {
        let single = p.single_events.unwrap_or(true);
        let order = match (p.order_by, single) {
            (Some(OrderBy::StartTime), false) => {
                return Err(ToolFailure::new(
                    "order_by startTime needs single_events true; set single_events true or order_by updated.",
                ));
            }
            (Some(OrderBy::StartTime), true) | (None, true) => Some("startTime"),
            (Some(OrderBy::Updated), _) => Some("updated"),
            (None, false) => None,
        };
        let tz = self
            .window_zone(
                p.time_zone.as_deref(),
                [p.time_min.as_deref(), p.time_max.as_deref()],
            )
            .await?;
        let (time_min, time_max) = Self::window(tz, p.time_min.as_deref(), p.time_max.as_deref())?;
        let request = UpstreamRequest::get(["calendars", cal, "events"])
            .query("singleEvents", single)
            .query("maxResults", p.max_results.unwrap_or(25).clamp(1, 2500))
            .query_opt("orderBy", order)
            .query_opt("timeMin", time_min)
            .query_opt("timeMax", time_max)
            .query_opt("q", p.q.filter(|q| !q.trim().is_empty()))
            .query_opt("showDeleted", p.show_deleted)
            .query_opt("timeZone", tz.map(|z| z.name()))
            .query_opt("pageToken", p.page_token);
        let v = self.send(request, "calendar", "list_calendars").await?;
        Ok(ToolOutput::json(slim_events(&v)))
    }

    pub(super) async fn list_events(&self, p: ListEventsParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        self.events(&cal, p).await
    }

    pub(super) async fn search_events(&self, p: SearchEventsParams) -> ToolResult {
        if p.query.trim().is_empty() {
            return Err(ToolFailure::new(
                "query is empty; give words to search for, or use list_events.",
            ));
        }
        let cal = calendar(p.calendar_id.as_deref());
        let list = ListEventsParams {
            calendar_id: None,
            time_min: p.time_min,
            time_max: p.time_max,
            q: Some(p.query),
            max_results: p.max_results,
            single_events: Some(true),
            order_by: None,
            show_deleted: None,
            time_zone: None,
            page_token: None,
        };
        self.events(&cal, list).await
    }

    pub(super) async fn get_event(&self, p: EventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        let v = self
            .send(
                UpstreamRequest::get(["calendars", &cal, "events", &id]),
                "event",
                "list_events",
            )
            .await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    pub(super) async fn list_event_instances(&self, p: InstancesParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        let tz = self
            .window_zone(None, [p.time_min.as_deref(), p.time_max.as_deref()])
            .await?;
        let (time_min, time_max) = Self::window(tz, p.time_min.as_deref(), p.time_max.as_deref())?;
        let request = UpstreamRequest::get(["calendars", &cal, "events", &id, "instances"])
            .query("maxResults", p.max_results.unwrap_or(25).clamp(1, 2500))
            .query_opt("timeMin", time_min)
            .query_opt("timeMax", time_max)
            .query_opt("pageToken", p.page_token);
        let v = self.send(request, "recurring event", "list_events").await?;
        Ok(ToolOutput::json(slim_events(&v)))
    }

    pub(super) async fn query_freebusy(&self, p: FreeBusyParams) -> ToolResult {
        let ids = p
            .calendar_ids
            .filter(|ids| !ids.is_empty())
            .unwrap_or_else(|| vec!["primary".to_owned()]);
        if ids.len() > 50 {
            return Err(ToolFailure::new(
                "at most 50 calendars per query; split the request.",
            ));
        }
        let tz = self
            .window_zone(
                p.time_zone.as_deref(),
                [Some(&p.time_min), Some(&p.time_max)],
            )
            .await?;
        let time_min = window_time("time_min", &p.time_min, tz)?;
        let time_max = window_time("time_max", &p.time_max, tz)?;
        check_free_busy_window(&time_min, &time_max)?;
        let mut body = json!({
            "timeMin": time_min,
            "timeMax": time_max,
            "items": ids.iter().map(|id| json!({"id": id.trim()})).collect::<Vec<_>>(),
        });
        if let (Some(tz), Some(obj)) = (tz, body.as_object_mut()) {
            obj.insert("timeZone".into(), Value::from(tz.name()));
        }
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, ["freeBusy"]).json(body),
                "calendar",
                "list_calendars",
            )
            .await?;
        let mut calendars = Map::new();
        for (id, entry) in v
            .get("calendars")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let busy: Vec<Value> = entry
                .get("busy")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|b| json!({"start": b.get("start"), "end": b.get("end")}))
                        .collect()
                })
                .unwrap_or_default();
            let mut c = json!({"busy": busy});
            if let Some(errors) = entry
                .get("errors")
                .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
                && let Some(obj) = c.as_object_mut()
            {
                obj.insert("errors".into(), errors.clone());
            }
            calendars.insert(id.clone(), c);
        }
        Ok(ToolOutput::json(json!({
            "time_min": v.get("timeMin"), "time_max": v.get("timeMax"), "calendars": calendars,
        })))
    }

    pub(super) async fn list_colors(&self, _p: NoParams) -> ToolResult {
        let v = self
            .send(UpstreamRequest::get(["colors"]), "colors", "list_colors")
            .await?;
        let pick = |key: &str| {
            let mut out = Map::new();
            for (id, c) in v.get(key).and_then(Value::as_object).into_iter().flatten() {
                out.insert(
                    id.clone(),
                    c.get("background").cloned().unwrap_or(Value::Null),
                );
            }
            Value::Object(out)
        };
        Ok(ToolOutput::json(
            json!({"event": pick("event"), "calendar": pick("calendar")}),
        ))
    }

    async fn insert_event(
        &self,
        cal: &str,
        e: &NewEvent,
        send_updates: Option<SendUpdates>,
    ) -> Result<Value, ToolFailure> {
        if e.summary.trim().is_empty() {
            return Err(ToolFailure::new("summary (the event title) is empty."));
        }
        let repeating = e.recurrence.as_ref().is_some_and(|r| !r.is_empty());
        let zone = self
            .event_zone(
                e.time_zone.as_deref(),
                Some(&e.start),
                Some(&e.end),
                repeating,
            )
            .await?;
        let mut fields = EventFields::from(e);
        fields.time_zone = zone;
        let mut body = Map::new();
        event_body(&mut body, fields)?;
        let request = UpstreamRequest::new(Method::POST, ["calendars", cal, "events"])
            .query_opt("sendUpdates", send_updates.map(SendUpdates::as_str))
            .query_opt(
                "conferenceDataVersion",
                (e.add_meet_link == Some(true)).then_some(1),
            )
            .json(Value::Object(body));
        let v = self.send(request, "calendar", "list_calendars").await?;
        Ok(slim_event(&v))
    }

    pub(super) async fn create_event(&self, p: CreateEventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        Ok(ToolOutput::json(
            self.insert_event(&cal, &p.event, p.send_updates).await?,
        ))
    }

    pub(super) async fn quick_add_event(&self, p: QuickAddParams) -> ToolResult {
        if p.text.trim().is_empty() {
            return Err(ToolFailure::new(
                "text is empty; describe the event, e.g. \"Dentist Friday 3pm\".",
            ));
        }
        let cal = calendar(p.calendar_id.as_deref());
        let request = UpstreamRequest::new(Method::POST, ["calendars", &cal, "events", "quickAdd"])
            .query("text", p.text.trim())
            .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str));
        let v = self.send(request, "calendar", "list_calendars").await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    pub(super) async fn create_events(&self, p: CreateEventsParams) -> ToolResult {
        if p.events.is_empty() || p.events.len() > 50 {
            return Err(ToolFailure::new("give 1 to 50 events."));
        }
        let cal = calendar(p.calendar_id.as_deref());
        let mut created = Vec::new();
        let mut failed = Vec::new();
        for (index, e) in p.events.iter().enumerate() {
            match self.insert_event(&cal, e, p.send_updates).await {
                Ok(v) => created.push(v),
                Err(f) => failed.push(json!({"index": index, "summary": e.summary, "error": f.0})),
            }
        }
        if created.is_empty() {
            return Err(ToolFailure::new(format!(
                "no event was created: {}",
                Value::Array(failed)
            )));
        }
        Ok(ToolOutput::json(
            json!({"created": created, "failed": failed}),
        ))
    }

    pub(super) async fn respond_to_event(&self, p: RespondParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        let event = self
            .send(
                UpstreamRequest::get(["calendars", &cal, "events", &id]),
                "event",
                "list_events",
            )
            .await?;
        let mut attendees = event
            .get("attendees")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(me) = attendees
            .iter_mut()
            .find(|a| a.get("self").and_then(Value::as_bool) == Some(true))
        else {
            return Err(ToolFailure::new(
                "the person is not a guest of this event (it may be their own event), so there is no invitation to answer.",
            ));
        };
        if let Some(obj) = me.as_object_mut() {
            obj.insert("responseStatus".into(), Value::from(p.response.as_str()));
            if let Some(comment) = p.comment {
                obj.insert("comment".into(), Value::from(comment));
            }
        }
        let request = UpstreamRequest::new(Method::PATCH, ["calendars", &cal, "events", &id])
            .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str))
            .json(json!({"attendees": attendees}));
        let v = self.send(request, "event", "list_events").await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    pub(super) async fn create_calendar(&self, p: CreateCalendarParams) -> ToolResult {
        if p.summary.trim().is_empty() {
            return Err(ToolFailure::new("summary (the calendar name) is empty."));
        }
        let mut body = Map::new();
        body.insert("summary".into(), Value::from(p.summary));
        for (key, value) in [
            ("description", p.description),
            ("timeZone", p.time_zone),
            ("location", p.location),
        ] {
            if let Some(v) = value {
                body.insert(key.into(), Value::from(v));
            }
        }
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, ["calendars"]).json(Value::Object(body)),
                "calendar",
                "list_calendars",
            )
            .await?;
        Ok(ToolOutput::json(slim_calendar(&v)))
    }

    pub(super) async fn update_event(&self, p: UpdateEventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        // Whether the event repeats after the change decides whether its times need a zone;
        // the stored event tells when the call does not say.
        let new_rule = p.recurrence.as_ref().map(|r| !r.is_empty());
        let offset_only = [p.start.as_deref(), p.end.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| time::with_offset(t).is_some());
        let zone_given = p.time_zone.as_deref().is_some_and(|z| !z.trim().is_empty());
        let current =
            if new_rule == Some(true) || (new_rule.is_none() && offset_only && !zone_given) {
                Some(
                    self.send(
                        UpstreamRequest::get(["calendars", &cal, "events", &id]),
                        "event",
                        "list_events",
                    )
                    .await?,
                )
            } else {
                None
            };
        let repeating = new_rule.unwrap_or_else(|| {
            current
                .as_ref()
                .and_then(|e| e.get("recurrence"))
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty())
        });
        let zone = self
            .event_zone(
                p.time_zone.as_deref(),
                p.start.as_deref(),
                p.end.as_deref(),
                repeating,
            )
            .await?;
        let mut body = Map::new();
        event_body(
            &mut body,
            EventFields {
                summary: p.summary.as_deref(),
                start: p.start.as_deref(),
                end: p.end.as_deref(),
                time_zone: zone,
                description: p.description.as_deref(),
                location: p.location.as_deref(),
                attendees: p.attendees.as_deref(),
                recurrence: p.recurrence.as_deref(),
                reminders: p.reminders.as_deref(),
                color_id: p.color_id.as_deref(),
                add_meet_link: p.add_meet_link,
            },
        )?;
        if body.is_empty() {
            return Err(ToolFailure::new(
                "nothing to change: give at least one field to update.",
            ));
        }
        if let (true, Some(current)) = (repeating, &current) {
            self.zone_kept_times(&mut body, current, zone).await?;
        }
        let request = UpstreamRequest::new(Method::PATCH, ["calendars", &cal, "events", &id])
            .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str))
            .query_opt(
                "conferenceDataVersion",
                (p.add_meet_link == Some(true)).then_some(1),
            )
            .json(Value::Object(body));
        let v = self.send(request, "event", "list_events").await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    /// Gives the start and end an event keeps through an update (those `body` does not set) the
    /// time zone a repeating event needs, when they have none: `zone`, else the zone of their
    /// offset.
    async fn zone_kept_times(
        &self,
        body: &mut Map<String, Value>,
        current: &Value,
        zone: Option<&'static str>,
    ) -> Result<(), ToolFailure> {
        for key in ["start", "end"] {
            if body.contains_key(key) {
                continue;
            }
            let Some(kept) = current.get(key) else {
                continue;
            };
            let Some(date_time) = kept.get("dateTime").and_then(Value::as_str) else {
                continue;
            };
            if kept.get("timeZone").is_some_and(|z| !z.is_null()) {
                continue;
            }
            let name = match (zone, time::with_offset(date_time)) {
                (Some(z), _) => z,
                (None, Some(at)) => time::zone_for_offset(at, self.home_zone().await?).name(),
                (None, None) => continue,
            };
            body.insert(
                key.to_owned(),
                json!({"dateTime": date_time, "timeZone": name}),
            );
        }
        Ok(())
    }

    pub(super) async fn replace_event(&self, p: ReplaceEventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        if !p.event.contains_key("start") || !p.event.contains_key("end") {
            return Err(ToolFailure::new(
                "event must be a complete event with start and end; to change some fields use update_event.",
            ));
        }
        let request = UpstreamRequest::new(Method::PUT, ["calendars", &cal, "events", &id])
            .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str))
            .json(Value::Object(p.event));
        let v = self.send(request, "event", "list_events").await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    pub(super) async fn move_event(&self, p: MoveEventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        let destination = require_id(
            "destination_calendar_id",
            &p.destination_calendar_id,
            "take it from list_calendars",
        )?;
        let request =
            UpstreamRequest::new(Method::POST, ["calendars", &cal, "events", &id, "move"])
                .query("destination", destination)
                .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str));
        let v = self
            .send(
                request,
                "event or calendar",
                "list_events and list_calendars",
            )
            .await?;
        Ok(ToolOutput::json(slim_event(&v)))
    }

    pub(super) async fn delete_event(&self, p: DeleteEventParams) -> ToolResult {
        let cal = calendar(p.calendar_id.as_deref());
        let id = event_id(&p.event_id)?;
        let request = UpstreamRequest::new(Method::DELETE, ["calendars", &cal, "events", &id])
            .query_opt("sendUpdates", p.send_updates.map(SendUpdates::as_str));
        self.send(request, "event", "list_events").await?;
        Ok(ToolOutput::json(
            json!({"deleted": true, "calendar_id": cal, "event_id": id}),
        ))
    }

    pub(super) async fn delete_calendar(&self, p: DeleteCalendarParams) -> ToolResult {
        let cal =
            require_id("calendar_id", &p.calendar_id, "take it from list_calendars")?.to_owned();
        if cal.eq_ignore_ascii_case("primary") {
            return Err(ToolFailure::new(
                "the primary calendar cannot be deleted; to remove its events use delete_event (or clear_calendar).",
            ));
        }
        let entry = self
            .send(
                UpstreamRequest::get(["users", "me", "calendarList", &cal]),
                "calendar",
                "list_calendars",
            )
            .await?;
        if entry.get("primary").and_then(Value::as_bool) == Some(true) {
            return Err(ToolFailure::new(
                "that is the person's primary calendar, which cannot be deleted.",
            ));
        }
        self.send(
            UpstreamRequest::new(Method::DELETE, ["calendars", &cal]),
            "calendar",
            "list_calendars",
        )
        .await?;
        Ok(ToolOutput::json(
            json!({"deleted": true, "calendar_id": cal}),
        ))
    }

    pub(super) async fn clear_calendar(&self, p: ClearCalendarParams) -> ToolResult {
        let cal =
            require_id("calendar_id", &p.calendar_id, "take it from list_calendars")?.to_owned();
        // Google clears only a primary calendar; another one is refused before anything is asked.
        if !cal.eq_ignore_ascii_case("primary") {
            let entry = self
                .send(
                    UpstreamRequest::get(["users", "me", "calendarList", &cal]),
                    "calendar",
                    "list_calendars",
                )
                .await?;
            if entry.get("primary").and_then(Value::as_bool) != Some(true) {
                return Err(ToolFailure::new(format!(
                    "`{cal}` is not the person's primary calendar, and Google Calendar can clear only the primary \
                     one. To empty a secondary calendar, delete its events with delete_event, or delete the whole \
                     calendar with delete_calendar (after asking the person)."
                )));
            }
        }
        if p.confirm != Some(true) {
            return Err(ToolFailure::new(
                "clear_calendar deletes every event of the calendar and needs confirm: true. Ask the person first; \
                 to delete single events use delete_event.",
            ));
        }
        self.send(
            UpstreamRequest::new(Method::POST, ["calendars", &cal, "clear"]),
            "calendar",
            "list_calendars",
        )
        .await?;
        Ok(ToolOutput::json(
            json!({"cleared": true, "calendar_id": cal}),
        ))
    }
}
