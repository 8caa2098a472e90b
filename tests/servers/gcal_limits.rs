//! Calendar tools against the fake Google Calendar made as strict as the real API: time zones of
//! repeating events, usage limits, and the values Google refuses.

use std::time::{Duration, Instant};

use mcp_gateway::servers::gcal::GcalApi;
use mcp_gateway::servers::tool_server::{ToolServer, ToolSet};
use serde_json::{Value, json};

use crate::common::{
    self, CLIENT_ID, CLIENT_SECRET, Flavor, TestServer, TestTokens, call, err_text, ok_json,
};
use crate::fake_google::{FakeGoogle, Fault, PRIMARY, TokenState};

struct Setup {
    fake: FakeGoogle,
    server: TestServer,
}

async fn setup() -> Setup {
    let fake = FakeGoogle::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    fake.set_token("ya29.t1", TokenState::Valid);
    fake.add_refresh_token("1//r1");
    let tokens = TestTokens::new(Flavor::Google, fake.token_url(), "ya29.t1", "1//r1");
    let tools = ToolServer::new(ToolSet::Gcal(GcalApi::new(
        fake.api_url(),
        reqwest::Client::new(),
    )));
    let server = TestServer::start(tools, Some(common::grant(tokens))).await;
    Setup { fake, server }
}

/// The body of the last call to a path ending with `end`.
fn last_body(fake: &FakeGoogle, end: &str) -> Value {
    fake.bodies()
        .into_iter()
        .rev()
        .find(|(p, _)| p.ends_with(end))
        .map(|(_, b)| b)
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_weekly_event_written_with_an_offset_is_created_in_the_persons_zone() {
    let s = setup().await;
    let client = s.server.client().await;
    let created = ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "Team sync", "start": "2026-12-07T09:00:00+01:00",
                "end": "2026-12-07T09:30:00+01:00", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=30"]}),
        )
        .await,
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let body = last_body(&s.fake, "/events");
    // The person's zone (Europe/Berlin has +01:00 in December), so the event stays at 09:00
    // after the change to summer time.
    assert_eq!(
        body["start"],
        json!({"dateTime": "2026-12-07T09:00:00+01:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(body["end"]["timeZone"], "Europe/Berlin");
    let summer = ok_json(
        &call(
            &client,
            "list_event_instances",
            json!({"event_id": id, "time_min": "2027-06-01T00:00:00Z", "time_max": "2027-06-30T00:00:00Z"}),
        )
        .await,
    );
    let starts: Vec<&str> = summer["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["start"].as_str())
        .collect();
    assert!(!starts.is_empty());
    assert!(
        starts.iter().all(|s| s.ends_with("T09:00:00+02:00")),
        "{starts:?}"
    );

    // An offset the person's zone does not have: the zone of that offset.
    ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "NY call", "start": "2026-12-08T09:00:00-05:00",
                "end": "2026-12-08T10:00:00-05:00", "recurrence": ["FREQ=DAILY;COUNT=3"]}),
        )
        .await,
    );
    assert_eq!(
        last_body(&s.fake, "/events")["start"]["timeZone"],
        "Etc/GMT+5"
    );
    // A single event keeps its offset alone.
    ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "Once", "start": "2026-12-09T09:00:00+01:00", "end": "2026-12-09T10:00:00+01:00"}),
        )
        .await,
    );
    assert_eq!(
        last_body(&s.fake, "/events")["start"],
        json!({"dateTime": "2026-12-09T09:00:00+01:00"})
    );
}

#[tokio::test]
async fn a_recurrence_added_to_an_event_gives_its_times_a_zone() {
    let s = setup().await;
    let id = s.fake.seed_event(
        PRIMARY,
        json!({"summary": "Gym", "start": {"dateTime": "2026-12-07T18:00:00+01:00"},
            "end": {"dateTime": "2026-12-07T19:00:00+01:00"}}),
    );
    let client = s.server.client().await;
    let updated = ok_json(
        &call(
            &client,
            "update_event",
            json!({"event_id": id, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=10"]}),
        )
        .await,
    );
    assert_eq!(updated["time_zone"], "Europe/Berlin");
    let body = last_body(&s.fake, &format!("/events/{id}"));
    assert_eq!(body["start"]["timeZone"], "Europe/Berlin");
    assert_eq!(body["end"]["timeZone"], "Europe/Berlin");
    // Moving a repeating event with an offset-only time keeps a zone on it too.
    ok_json(
        &call(
            &client,
            "update_event",
            json!({"event_id": id, "start": "2026-12-07T19:00:00+01:00", "end": "2026-12-07T20:00:00+01:00"}),
        )
        .await,
    );
    let body = last_body(&s.fake, &format!("/events/{id}"));
    assert_eq!(body["start"]["timeZone"], "Europe/Berlin");
}

#[tokio::test]
async fn the_strict_fake_refuses_a_repeating_event_without_a_zone() {
    let s = setup().await;
    let refused = reqwest::Client::new()
        .post(format!("{}/calendars/primary/events", s.fake.api_url()))
        .bearer_auth("ya29.t1")
        .json(
            &json!({"summary": "x", "start": {"dateTime": "2026-12-07T09:00:00+01:00"},
            "end": {"dateTime": "2026-12-07T10:00:00+01:00"}, "recurrence": ["RRULE:FREQ=WEEKLY"]}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(
        body["error"]["message"],
        "Missing time zone definition for start time."
    );
}

#[tokio::test]
async fn rate_limits_sent_as_403_are_retried_and_quotas_are_explained() {
    let s = setup().await;
    let client = s.server.client().await;
    s.fake
        .push_fault(Fault::UsageLimit(403, "rateLimitExceeded"));
    let started = Instant::now();
    let out = ok_json(&call(&client, "list_calendars", json!({})).await);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(out["calendars"].as_array().map(Vec::len), Some(2));
    assert_eq!(s.fake.calls(), 2);

    s.fake
        .push_fault(Fault::UsageLimit(403, "userRateLimitExceeded"));
    ok_json(&call(&client, "list_calendars", json!({})).await);
    assert_eq!(s.fake.calls(), 4);

    s.fake
        .push_fault(Fault::UsageLimit(403, "dailyLimitExceeded"));
    let daily = err_text(&call(&client, "list_calendars", json!({})).await);
    assert_eq!(s.fake.calls(), 5, "a daily quota is not retried");
    assert!(daily.contains("daily request quota"), "{daily}");
    assert!(!daily.contains("permission"), "{daily}");

    s.fake.push_fault(Fault::UsageLimit(403, "quotaExceeded"));
    let usage = err_text(&call(&client, "list_calendars", json!({})).await);
    assert!(usage.contains("usage limits"), "{usage}");
    assert!(!usage.contains("permission"), "{usage}");
}

#[tokio::test]
async fn clearing_a_secondary_calendar_is_refused_with_a_clear_message() {
    let s = setup().await;
    let client = s.server.client().await;
    let refused = err_text(
        &call(
            &client,
            "clear_calendar",
            json!({"calendar_id": "work@example.com", "confirm": true}),
        )
        .await,
    );
    assert!(
        refused.contains("not the person's primary calendar")
            && refused.contains("delete_calendar"),
        "{refused}"
    );
    assert!(
        !s.fake.call_log().iter().any(|(_, p)| p.contains("/clear")),
        "no clear was sent"
    );
    // The primary calendar, named by its id, can be cleared.
    s.fake.seed_event(
        PRIMARY,
        json!({"summary": "x", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}),
    );
    ok_json(
        &call(
            &client,
            "clear_calendar",
            json!({"calendar_id": PRIMARY, "confirm": true}),
        )
        .await,
    );
}

#[tokio::test]
async fn reminders_and_free_busy_windows_google_refuses_are_caught_first() {
    let s = setup().await;
    let client = s.server.client().await;
    let six: Vec<Value> = (1..=6).map(|m| json!({"minutes": m * 10})).collect();
    let too_many = err_text(
        &call(
            &client,
            "create_event",
            json!({"summary": "x", "start": "2026-12-07T09:00", "end": "2026-12-07T10:00", "reminders": six}),
        )
        .await,
    );
    assert!(too_many.contains("at most 5"), "{too_many}");
    let too_early = err_text(
        &call(
            &client,
            "create_event",
            json!({"summary": "x", "start": "2026-12-07T09:00", "end": "2026-12-07T10:00",
                "reminders": [{"minutes": 40_321}]}),
        )
        .await,
    );
    assert!(too_early.contains("40320"), "{too_early}");
    let long = err_text(
        &call(
            &client,
            "query_freebusy",
            json!({"time_min": "2026-01-01", "time_max": "2026-06-01"}),
        )
        .await,
    );
    assert!(long.contains("at most 90 days"), "{long}");
    assert!(
        !s.fake
            .call_log()
            .iter()
            .any(|(_, p)| p.ends_with("/events") || p.contains("freeBusy")),
        "{:?}",
        s.fake.call_log()
    );
    // Five reminders four weeks ahead, and a 90-day window, are fine.
    let five: Vec<Value> = (0..5).map(|m| json!({"minutes": 40_320 - m})).collect();
    ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "x", "start": "2026-12-07T09:00", "end": "2026-12-07T10:00", "reminders": five}),
        )
        .await,
    );
    ok_json(
        &call(
            &client,
            "query_freebusy",
            json!({"time_min": "2026-01-01T00:00:00Z", "time_max": "2026-04-01T00:00:00Z"}),
        )
        .await,
    );
}
