//! Calendar tools against the fake Google Calendar API.

use std::sync::Arc;

use mcp_gateway::servers::gcal::GcalApi;
use mcp_gateway::servers::tool_server::{ToolServer, ToolSet};
use serde_json::json;

use crate::common::{
    self, CLIENT_ID, CLIENT_SECRET, Flavor, TestServer, TestTokens, call, err_text, ok_json,
};
use crate::fake_google::{FakeGoogle, Fault, PRIMARY, TokenState};

struct Setup {
    fake: FakeGoogle,
    tokens: Arc<TestTokens>,
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
    let server = TestServer::start(tools, Some(common::grant(tokens.clone()))).await;
    Setup {
        fake,
        tokens,
        server,
    }
}

#[tokio::test]
async fn list_and_search_events_in_a_window_with_recurrence_expanded() {
    let s = setup().await;
    s.fake.seed_event(PRIMARY, json!({"summary": "Standup", "start": {"dateTime": "2026-11-23T09:00:00+01:00"},
        "end": {"dateTime": "2026-11-23T09:15:00+01:00"}, "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]}));
    s.fake.seed_event(PRIMARY, json!({"summary": "Dentist", "location": "Main St", "start": {"dateTime": "2026-11-25T15:00:00+01:00"},
        "end": {"dateTime": "2026-11-25T16:00:00+01:00"}}));
    s.fake.seed_event(PRIMARY, json!({"summary": "Next month", "start": {"date": "2026-12-20"}, "end": {"date": "2026-12-21"}}));
    let client = s.server.client().await;
    let out = ok_json(&call(&client, "list_events", json!({"time_min": "2026-11-25T00:00:00+01:00", "time_max": "2026-11-26T00:00:00+01:00"})).await);
    let summaries: Vec<&str> = out["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(summaries, vec!["Standup", "Dentist"]);
    assert!(
        out["events"][0]["id"]
            .as_str()
            .unwrap_or("")
            .contains("_20261125T080000Z")
    );
    let log = s.fake.call_log();
    assert!(
        log[0].1.contains("singleEvents=true") && log[0].1.contains("orderBy=startTime"),
        "{log:?}"
    );
    assert!(
        log[0]
            .1
            .starts_with("/calendar/v3/calendars/primary/events")
    );

    let found = ok_json(&call(&client, "search_events", json!({"query": "main st"})).await);
    assert_eq!(found["count"], 1);
    let refused = err_text(
        &call(
            &client,
            "list_events",
            json!({"single_events": false, "order_by": "startTime"}),
        )
        .await,
    );
    assert!(refused.contains("single_events"), "{refused}");
    let instances = ok_json(
        &call(
            &client,
            "list_event_instances",
            json!({"event_id": "ev0001"}),
        )
        .await,
    );
    assert_eq!(instances["count"], 5);
}

#[tokio::test]
async fn create_quick_add_update_move_and_delete_events() {
    let s = setup().await;
    let client = s.server.client().await;
    let created = ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "Review", "start": "2026-11-26T10:00:00",
        "end": "2026-11-26T11:00:00", "time_zone": "Europe/Berlin", "attendees": ["bo@example.com"],
        "reminders": [{"minutes": 10}], "add_meet_link": true, "send_updates": "all"}),
        )
        .await,
    );
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["meet_link"], "https://meet.google.com/abc-defg-hij");
    let (path, body) = s.fake.bodies().into_iter().last().expect("body");
    assert_eq!(path, "/calendar/v3/calendars/primary/events");
    assert_eq!(
        body["start"],
        json!({"dateTime": "2026-11-26T10:00:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(
        body["reminders"]["overrides"][0],
        json!({"method": "popup", "minutes": 10})
    );
    assert!(
        s.fake
            .call_log()
            .last()
            .expect("call")
            .1
            .contains("sendUpdates=all")
    );

    let all_day = ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "Holiday", "start": "2026-12-24", "end": "2026-12-24"}),
        )
        .await,
    );
    assert_eq!(all_day["all_day"], true);
    assert_eq!(all_day["end"], "2026-12-25");
    let bad = err_text(
        &call(
            &client,
            "create_event",
            json!({"summary": "x", "start": "2026-12-24", "end": "2026-12-24T10:00:00Z"}),
        )
        .await,
    );
    assert!(bad.contains("both"), "{bad}");

    let quick = ok_json(
        &call(
            &client,
            "quick_add_event",
            json!({"text": "Lunch with Ana tomorrow 1pm"}),
        )
        .await,
    );
    assert_eq!(quick["summary"], "Lunch with Ana tomorrow 1pm");
    assert!(
        s.fake
            .call_log()
            .last()
            .expect("call")
            .1
            .contains("quickAdd?text=Lunch")
    );

    let updated = ok_json(
        &call(
            &client,
            "update_event",
            json!({"event_id": id, "location": "Room 2"}),
        )
        .await,
    );
    assert_eq!(updated["location"], "Room 2");
    assert_eq!(updated["summary"], "Review");
    let moved = ok_json(
        &call(
            &client,
            "move_event",
            json!({"event_id": id, "destination_calendar_id": "work@example.com"}),
        )
        .await,
    );
    assert_eq!(moved["id"], id.as_str());
    assert!(s.fake.event("work@example.com", &id).is_some());
    let gone = err_text(&call(&client, "get_event", json!({"event_id": id})).await);
    assert!(
        gone.contains("not found") && gone.contains("list_events"),
        "{gone}"
    );
    let deleted = ok_json(
        &call(
            &client,
            "delete_event",
            json!({"calendar_id": "work@example.com", "event_id": id}),
        )
        .await,
    );
    assert_eq!(deleted["deleted"], true);
    let again = err_text(
        &call(
            &client,
            "delete_event",
            json!({"calendar_id": "work@example.com", "event_id": id}),
        )
        .await,
    );
    assert!(again.contains("already deleted"), "{again}");

    let batch = ok_json(
        &call(
            &client,
            "create_events",
            json!({"events": [
        {"summary": "A", "start": "2026-11-27", "end": "2026-11-28"},
        {"summary": "B", "start": "nonsense", "end": "2026-11-28"}]}),
        )
        .await,
    );
    assert_eq!(batch["created"].as_array().map(Vec::len), Some(1));
    assert_eq!(batch["failed"][0]["index"], 1);
}

#[tokio::test]
async fn calendars_freebusy_colors_time_and_invitations() {
    let s = setup().await;
    s.fake.seed_event(PRIMARY, json!({"id": "inv1", "summary": "Offsite", "start": {"dateTime": "2026-11-25T10:00:00Z"},
        "end": {"dateTime": "2026-11-25T12:00:00Z"}, "attendees": [{"email": PRIMARY, "self": true, "responseStatus": "needsAction"}]}));
    let client = s.server.client().await;
    let calendars = ok_json(&call(&client, "list_calendars", json!({})).await);
    assert_eq!(calendars["calendars"][0]["primary"], true);
    assert!(calendars["calendars"][0].get("etag").is_none(), "slimmed");
    let primary = ok_json(&call(&client, "get_calendar", json!({})).await);
    assert_eq!(primary["time_zone"], "Europe/Berlin");
    let busy = ok_json(
        &call(
            &client,
            "query_freebusy",
            json!({"calendar_ids": ["primary", "nobody@example.com"],
        "time_min": "2026-11-25", "time_max": "2026-11-26"}),
        )
        .await,
    );
    assert_eq!(
        busy["calendars"]["primary"]["busy"][0],
        json!({"start": "2026-11-25T10:00:00Z", "end": "2026-11-25T12:00:00Z"})
    );
    assert!(busy["calendars"]["nobody@example.com"]["errors"].is_array());
    let colors = ok_json(&call(&client, "list_colors", json!({})).await);
    assert_eq!(colors["event"]["11"], "#dc2127");
    let now = ok_json(&call(&client, "get_current_time", json!({})).await);
    assert_eq!(now["time_zone"], "Europe/Berlin");
    assert!(now["now_utc"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(
        now["now"]
            .as_str()
            .is_some_and(|t| t.ends_with("+01:00") || t.ends_with("+02:00")),
        "{now:?}"
    );

    let answered = ok_json(
        &call(
            &client,
            "respond_to_event",
            json!({"event_id": "inv1", "response": "accepted"}),
        )
        .await,
    );
    assert_eq!(answered["attendees"][0]["response"], "accepted");

    let created = ok_json(&call(&client, "create_calendar", json!({"summary": "Trips"})).await);
    let cal = created["id"].as_str().expect("id").to_owned();
    let replaced = ok_json(&call(&client, "replace_event", json!({"event_id": "inv1", "event": {"summary": "Offsite v2",
        "start": {"dateTime": "2026-11-25T10:00:00Z"}, "end": {"dateTime": "2026-11-25T11:00:00Z"}}})).await);
    assert_eq!(replaced["summary"], "Offsite v2");

    let primary_refused = err_text(
        &call(
            &client,
            "delete_calendar",
            json!({"calendar_id": "primary"}),
        )
        .await,
    );
    assert!(primary_refused.contains("primary"), "{primary_refused}");
    let by_email =
        err_text(&call(&client, "delete_calendar", json!({"calendar_id": PRIMARY})).await);
    assert!(by_email.contains("primary"), "{by_email}");
    let no_confirm =
        err_text(&call(&client, "clear_calendar", json!({"calendar_id": "primary"})).await);
    assert!(no_confirm.contains("confirm"), "{no_confirm}");
    assert!(!s.fake.call_log().iter().any(|(m, p)| m == "DELETE" && p.ends_with("calendars/primary") || p.contains("/clear")));
    ok_json(&call(&client, "delete_calendar", json!({"calendar_id": cal})).await);
    assert!(!s.fake.calendar_ids().contains(&cal));
    ok_json(
        &call(
            &client,
            "clear_calendar",
            json!({"calendar_id": "primary", "confirm": true}),
        )
        .await,
    );
    assert!(s.fake.event(PRIMARY, "inv1").is_none());
}

#[tokio::test]
async fn calendar_ids_are_percent_encoded_in_paths() {
    let s = setup().await;
    let client = s.server.client().await;
    let out = err_text(
        &call(
            &client,
            "list_events",
            json!({"calendar_id": "a b/c#d@example.com"}),
        )
        .await,
    );
    assert!(out.contains("not found"), "{out}");
    let log = s.fake.call_log();
    assert!(
        log[0]
            .1
            .starts_with("/calendar/v3/calendars/a%20b%2Fc%23d@example.com/events"),
        "{log:?}"
    );
}

#[tokio::test]
async fn google_401_refreshes_once_429_waits_and_errors_guide() {
    let s = setup().await;
    s.fake.set_token("ya29.t1", TokenState::Expired);
    let client = s.server.client().await;
    ok_json(&call(&client, "list_calendars", json!({})).await);
    assert_eq!(s.tokens.refreshes(), 1);
    let auths = s.fake.authorizations();
    assert_eq!(auths[0], "Bearer ya29.t1");
    assert_eq!(auths[1], format!("Bearer {}", s.tokens.current()));

    s.fake.push_fault(Fault::RateLimited(1));
    ok_json(&call(&client, "list_colors", json!({})).await);
    s.fake.push_fault(Fault::Malformed);
    let bad = err_text(&call(&client, "list_colors", json!({})).await);
    assert!(bad.contains("malformed"), "{bad}");
    s.fake
        .push_fault(Fault::Status(403, "insufficientPermissions"));
    let denied = err_text(&call(&client, "list_colors", json!({})).await);
    assert!(denied.contains("leave Calendar access ticked"), "{denied}");
    s.fake.push_fault(Fault::Status(403, "accessNotConfigured"));
    let off = err_text(&call(&client, "list_colors", json!({})).await);
    assert!(off.contains("enable \"Google Calendar API\""), "{off}");

    s.fake.revoke_refresh_token("1//r1");
    let current = s.tokens.current();
    s.fake.set_token(&current, TokenState::Revoked);
    let revoked = err_text(&call(&client, "list_calendars", json!({})).await);
    assert!(revoked.contains("reconnect"), "{revoked}");
}

#[tokio::test]
async fn google_oauth_endpoints_follow_the_web_server_flow() {
    let fake = FakeGoogle::start().await;
    fake.add_client(CLIENT_ID, CLIENT_SECRET);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let verifier = "v".repeat(50);
    use base64::Engine;
    use sha2::Digest;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let scope = "openid email https://www.googleapis.com/auth/calendar";
    // Google answers with the full name of the `email` scope.
    let granted = "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/calendar";
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = http
            .get(fake.authorize_url())
            .query(&[
                ("client_id", CLIENT_ID),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("response_type", "code"),
                ("scope", scope),
                ("state", "s1"),
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .expect("auth");
        assert_eq!(r.status(), 302);
        let loc = url::Url::parse(r.headers()["location"].to_str().expect("loc")).expect("url");
        let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "s1");
        assert_eq!(q["scope"], granted);
        codes.push(q["code"].clone());
    }
    let exchange = |code: String, verifier: String| {
        http.post(fake.token_url())
            .form(&[
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", "http://127.0.0.1:9/cb".to_owned()),
                ("client_id", CLIENT_ID.to_owned()),
                ("client_secret", CLIENT_SECRET.to_owned()),
                ("code_verifier", verifier),
            ])
            .send()
    };
    let first: serde_json::Value = exchange(codes[0].clone(), verifier.clone())
        .await
        .expect("t")
        .json()
        .await
        .expect("j");
    assert!(
        first["refresh_token"].is_string() && first["expires_in"].is_number(),
        "{first}"
    );
    assert_eq!(first["scope"], granted);
    let payload = first["id_token"]
        .as_str()
        .expect("id_token")
        .split('.')
        .nth(1)
        .expect("payload")
        .to_owned();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("claims");
    assert_eq!(claims["sub"], "1000001");
    assert_eq!(claims["email"], PRIMARY);
    let wrong_verifier = exchange(codes[1].clone(), "w".repeat(50)).await.expect("t");
    assert_eq!(wrong_verifier.status(), 400);
    let refreshed: serde_json::Value = http
        .post(fake.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                first["refresh_token"].as_str().expect("rt"),
            ),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert!(
        refreshed["access_token"].is_string() && refreshed.get("refresh_token").is_none(),
        "{refreshed}"
    );
}

/// The titles of the events `list_events` answers with for `args`.
async fn listed(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    args: serde_json::Value,
) -> Vec<String> {
    let out = ok_json(&call(client, "list_events", args).await);
    out["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["summary"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Dates and local times mean the person's day and wall clock: they are read in the zone of
/// the person's Calendar setting (Europe/Berlin in the fake) unless the call names another.
#[tokio::test]
async fn local_times_are_read_in_the_persons_time_zone() {
    let s = setup().await;
    // 09:00–09:45 in Berlin is 08:00–08:45 UTC.
    s.fake.seed_event(
        PRIMARY,
        json!({"summary": "Early call", "start": {"dateTime": "2026-11-25T08:00:00Z"},
        "end": {"dateTime": "2026-11-25T08:45:00Z"}}),
    );
    // 00:30 in Berlin on the 26th is still the 25th in UTC.
    s.fake.seed_event(
        PRIMARY,
        json!({"summary": "Night train", "start": {"dateTime": "2026-11-25T23:30:00Z"},
        "end": {"dateTime": "2026-11-26T01:00:00Z"}}),
    );
    let client = s.server.client().await;

    // "After 09:30 my time" still overlaps the call that ends at 09:45 Berlin time.
    let later = listed(
        &client,
        json!({"time_min": "2026-11-25T09:30", "time_max": "2026-11-25T12:00"}),
    )
    .await;
    assert_eq!(later, vec!["Early call"]);
    // "The 26th" is the person's 26th: it holds the night train, not the call.
    let day = listed(
        &client,
        json!({"time_min": "2026-11-26", "time_max": "2026-11-27"}),
    )
    .await;
    assert_eq!(day, vec!["Night train"]);
    // Another zone, when asked for: in Tokyo the 25th ends at 15:00 UTC.
    let tokyo = listed(
        &client,
        json!({"time_min": "2026-11-25", "time_max": "2026-11-26", "time_zone": "Asia/Tokyo"}),
    )
    .await;
    assert_eq!(tokyo, vec!["Early call"]);
    let tokyo_now = ok_json(
        &call(
            &client,
            "get_current_time",
            json!({"time_zone": "Asia/Tokyo"}),
        )
        .await,
    );
    assert!(
        tokyo_now["now"]
            .as_str()
            .is_some_and(|t| t.ends_with("+09:00")),
        "{tokyo_now:?}"
    );
    let bad = err_text(
        &call(
            &client,
            "get_current_time",
            json!({"time_zone": "Mars/Olympus"}),
        )
        .await,
    );
    assert!(bad.contains("IANA"), "{bad}");

    // An event at "10:00" without a zone is created at 10:00 in the person's zone.
    let created = ok_json(
        &call(
            &client,
            "create_event",
            json!({"summary": "Lunch", "start": "2026-11-27T12:30", "end": "2026-11-27T13:30"}),
        )
        .await,
    );
    let id = created["id"].as_str().expect("id");
    let stored = s.fake.event(PRIMARY, id).expect("stored");
    assert_eq!(
        stored["start"],
        json!({"dateTime": "2026-11-27T12:30:00", "timeZone": "Europe/Berlin"})
    );
    let lunch = listed(
        &client,
        json!({"time_min": "2026-11-27T11:00:00Z", "time_max": "2026-11-27T11:45:00Z"}),
    )
    .await;
    assert_eq!(lunch, vec!["Lunch"]);
    // The person's zone was asked for once per call that needed it, and not by calls with
    // offsets only.
    let zone_reads = s
        .fake
        .call_log()
        .iter()
        .filter(|(_, p)| p.ends_with("settings/timezone"))
        .count();
    assert_eq!(zone_reads, 3, "{:?}", s.fake.call_log());
}
