use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::telemetry::metrics::Metrics;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One delivery as recorded: principal, chat, what, when.
type Sent = (String, String, Delivery, DateTime<Utc>);

/// Records what it was asked to deliver, with the clock's time, and refuses people in `revoked`.
#[derive(Default)]
struct Recorder {
    clock: Mutex<Option<Arc<ManualClock>>>,
    sent: Mutex<Vec<Sent>>,
    revoked: Mutex<Vec<Principal>>,
}

#[async_trait]
impl Outlet for Recorder {
    async fn deliver(&self, principal: &Principal, chat: &str, delivery: Delivery) -> Delivered {
        if self.revoked.lock().contains(principal) {
            return Delivered::NoAccess;
        }
        let now = self
            .clock
            .lock()
            .as_ref()
            .map(|c| c.now())
            .unwrap_or_default();
        self.sent
            .lock()
            .push((principal.to_string(), chat.to_owned(), delivery, now));
        Delivered::Sent
    }
}

struct Harness {
    clock: Arc<ManualClock>,
    schedule: Schedule,
    outlet: Arc<Recorder>,
    stop: CancellationToken,
}

impl Harness {
    fn start(store: Store, now: &str, zone: Tz, grace: Duration) -> Self {
        let clock = Arc::new(ManualClock::new(utc(now)));
        let schedule = Schedule::new(store, zone, 50, clock.clone());
        let outlet = Arc::new(Recorder::default());
        *outlet.clock.lock() = Some(clock.clone());
        schedule.attach("telegram", outlet.clone());
        let metrics = Metrics::new(&mut Registry::default());
        let scheduler = Scheduler::new(schedule.clone(), grace, metrics);
        let stop = CancellationToken::new();
        tokio::spawn(scheduler.run(stop.clone()));
        Self {
            clock,
            schedule,
            outlet,
            stop,
        }
    }

    /// Waits (in real time, briefly) until `n` deliveries were made.
    async fn delivered(&self, n: usize) -> Vec<Sent> {
        for _ in 0..200 {
            if self.outlet.sent.lock().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.outlet.sent.lock().clone()
    }
}

fn request<'a>(principal: &'a Principal, at: &'a str, repeat: Option<&'a str>) -> Request<'a> {
    Request {
        principal,
        chat: "42",
        kind: "reminder",
        text: "water the plants",
        at,
        repeat,
    }
}

/// A daily 08:00 rule in Europe/Berlin fires at 08:00 Berlin time on both sides of the March
/// and the October change, the clock driven by hand.
#[tokio::test]
async fn berlin_daily_eight_fires_at_eight_across_both_changes() {
    let store = Store::open_in_memory().unwrap();
    let h = Harness::start(
        store,
        "2026-03-27T12:00:00Z",
        chrono_tz::Europe::Berlin,
        Duration::from_secs(3600),
    );
    let p = Principal::telegram(7);
    let added = h
        .schedule
        .add(request(&p, "2026-03-28T08:00:00", Some("FREQ=DAILY")))
        .await
        .unwrap();
    assert_eq!(
        added.json()["next"],
        serde_json::json!("2026-03-28T08:00:00+01:00")
    );
    let mut expected = Vec::new();
    for (day, at) in [
        ("2026-03-28", "2026-03-28T07:00:00Z"),
        ("2026-03-29", "2026-03-29T06:00:00Z"),
        ("2026-03-30", "2026-03-30T06:00:00Z"),
    ] {
        // A second before: nothing; at the time: delivered.
        h.clock.set(utc(at) - chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(h.outlet.sent.lock().len(), expected.len(), "early on {day}");
        h.clock.set(utc(at));
        expected.push(utc(at));
        let sent = h.delivered(expected.len()).await;
        assert_eq!(sent.len(), expected.len(), "on {day}");
    }
    // Jump to October without firing the summer: move the entry there by hand-made time.
    h.clock.set(utc("2026-10-24T05:59:59Z"));
    let _ = h.delivered(expected.len() + 1).await;
    h.outlet.sent.lock().clear();
    for at in [
        "2026-10-24T06:00:00Z",
        "2026-10-25T07:00:00Z",
        "2026-10-26T07:00:00Z",
    ] {
        h.clock.set(utc(at) - chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
        let before = h.outlet.sent.lock().len();
        h.clock.set(utc(at));
        let sent = h.delivered(before + 1).await;
        let last = sent.last().unwrap();
        assert_eq!(last.3, utc(at));
        assert_eq!(
            last.3
                .with_timezone(&chrono_tz::Europe::Berlin)
                .format("%H:%M")
                .to_string(),
            "08:00"
        );
    }
    let sent = h.outlet.sent.lock().clone();
    assert!(
        sent.iter()
            .all(|s| s.2 == Delivery::Say("⏰ Reminder: water the plants".into())),
        "{sent:?}"
    );
    h.stop.cancel();
}

/// Entries that fell due while nothing ran fire once when the scheduler starts (a daily one
/// missed for three days too); a task later than its grace period is reported as missed.
#[tokio::test]
async fn what_fell_due_while_down_fires_once_and_late_tasks_are_missed() {
    let store = Store::open_in_memory().unwrap();
    let p = Principal::telegram(7);
    {
        let clock = Arc::new(ManualClock::new(utc("2026-05-01T07:00:00Z")));
        let schedule = Schedule::new(store.clone(), Tz::UTC, 50, clock);
        schedule
            .add(request(&p, "2026-05-01T08:00:00", Some("FREQ=DAILY")))
            .await
            .unwrap();
        schedule
            .add(Request {
                kind: "task",
                text: "what is on today",
                ..request(&p, "2026-05-01T09:00:00", None)
            })
            .await
            .unwrap();
        schedule
            .add(Request {
                kind: "task",
                text: "summarise my inbox",
                ..request(&p, "2026-05-04T09:30:00", None)
            })
            .await
            .unwrap();
    }
    // Three days later, at 10:00: the daily reminder fires once, the first task is missed, the
    // second (30 minutes late, within the hour) runs.
    let h = Harness::start(
        store,
        "2026-05-04T10:00:00Z",
        Tz::UTC,
        Duration::from_secs(3600),
    );
    let sent = h.delivered(3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent_now = h.outlet.sent.lock().clone();
    assert_eq!(sent_now.len(), 3, "{sent_now:?}");
    assert!(sent.iter().any(|s| matches!(&s.2, Delivery::Say(t) if t.starts_with("⏰ Reminder (due") && t.contains("water the plants"))), "{sent:?}");
    assert!(sent.iter().any(|s| matches!(&s.2, Delivery::Say(t) if t.contains("missed") && t.contains("what is on today"))), "{sent:?}");
    assert!(
        sent.iter()
            .any(|s| s.2 == Delivery::Task("summarise my inbox".into())),
        "{sent:?}"
    );
    let left = h.schedule.list(Some(&p)).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].next, Some(utc("2026-05-05T08:00:00Z")));
    h.stop.cancel();
}

/// A cancel made elsewhere (another process writing the same store) takes effect without waking
/// the scheduler: the entry is read again when it fires.
#[tokio::test]
async fn a_cancel_from_elsewhere_and_a_revoked_person_get_nothing() {
    let store = Store::open_in_memory().unwrap();
    let h = Harness::start(
        store.clone(),
        "2026-05-01T07:00:00Z",
        Tz::UTC,
        Duration::from_secs(3600),
    );
    let p = Principal::telegram(7);
    let q = Principal::telegram(8);
    let a = h
        .schedule
        .add(request(&p, "2026-05-01T08:00:00", None))
        .await
        .unwrap();
    h.schedule
        .add(request(&q, "2026-05-01T08:00:00", Some("FREQ=DAILY")))
        .await
        .unwrap();
    h.outlet.revoked.lock().push(q.clone());
    // The operator's cancel goes straight to the store.
    store
        .schedule_cancel(a.entry.id, None)
        .await
        .unwrap()
        .unwrap();
    h.clock.set(utc("2026-05-01T08:00:00Z"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(h.outlet.sent.lock().is_empty());
    assert!(
        h.schedule.list(None).await.unwrap().is_empty(),
        "the revoked person's entry stops"
    );
    h.stop.cancel();
}

#[tokio::test]
async fn limits_and_bad_requests_say_what_to_do() {
    let store = Store::open_in_memory().unwrap();
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T07:00:00Z")));
    let schedule = Schedule::new(store, Tz::UTC, 2, clock);
    let p = Principal::telegram(7);
    schedule
        .add(request(&p, "2026-05-01T08:00:00", None))
        .await
        .unwrap();
    schedule
        .add(request(&p, "2026-05-01T09:00:00", None))
        .await
        .unwrap();
    let full = schedule
        .add(request(&p, "2026-05-01T10:00:00", None))
        .await
        .unwrap_err();
    assert!(full.to_string().contains("cancel one first"), "{full}");
    let q = Principal::telegram(8);
    let past = schedule
        .add(request(&q, "2026-04-30T08:00:00", None))
        .await
        .unwrap_err();
    assert!(past.to_string().contains("already passed"), "{past}");
    let often = schedule
        .add(request(&q, "2026-05-01T08:00:00", Some("FREQ=MINUTELY")))
        .await
        .unwrap_err();
    assert!(often.to_string().contains("every 5 minutes"), "{often}");
    let kind = schedule
        .add(Request {
            kind: "alarm",
            ..request(&q, "2026-05-01T08:00:00", None)
        })
        .await
        .unwrap_err();
    assert!(kind.to_string().contains("\"reminder\""), "{kind}");
    let zone = schedule.set_zone(&q, "Moon/Base").await.unwrap_err();
    assert!(zone.to_string().contains("Europe/Berlin"), "{zone}");
    // Someone else's id is not found.
    let mine = schedule.list(Some(&p)).await.unwrap();
    let theirs = schedule
        .cancel(Some(&q), &mine[0].entry.id.to_string())
        .await;
    assert!(matches!(theirs, Err(ScheduleError::NotFound(_))));
}

/// A person's zone reads their local times; a repeating entry keeps its wall-clock time when
/// they change zone.
#[tokio::test]
async fn a_persons_zone_reads_their_times() {
    let store = Store::open_in_memory().unwrap();
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T00:00:00Z")));
    let schedule = Schedule::new(store, Tz::UTC, 50, clock);
    let p = Principal::telegram(7);
    schedule.set_zone(&p, "Asia/Tokyo").await.unwrap();
    let added = schedule
        .add(request(&p, "2026-05-01T18:00:00", Some("FREQ=DAILY")))
        .await
        .unwrap();
    assert_eq!(added.next, Some(utc("2026-05-01T09:00:00Z")));
    assert_eq!(added.json()["next"], "2026-05-01T18:00:00+09:00");
    schedule.set_zone(&p, "Europe/Berlin").await.unwrap();
    let moved = schedule.list(Some(&p)).await.unwrap();
    assert_eq!(moved[0].next, Some(utc("2026-05-01T16:00:00Z")));
}
