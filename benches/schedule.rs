//! The scheduler under load: 10,000 reminders of 1,000 people, in a database file.
//!
//! 1. Waiting: 10,000 entries due in an hour, the scheduler running on the system clock. Reported:
//!    the resident memory the entries added (the store's page cache included) and the CPU the
//!    process spent over [`IDLE_WINDOW`] while nothing was due (target ≈ 0: the scheduler sleeps
//!    on one timer until the soonest entry).
//! 2. Delivering: 10,000 entries due within the next minute (spread evenly, to the second), each
//!    delivered through an outlet that records when it was asked (no chat platform: what is
//!    measured is the scheduler and the store). Reported: lateness from each entry's due second
//!    to its delivery, p50/p99/max (target p99 ≤ 1 s), and that every entry was delivered once.
//!
//! Run with `cargo bench --bench schedule`.

#[path = "support/measure.rs"]
mod measure;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use futures::StreamExt;
use mcp_gateway::Principal;
use mcp_gateway::schedule::{
    Delivered, Delivery, Outlet, Request, Schedule, Scheduler, SystemClock,
};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use measure::{cpu_seconds, percentile, rss_mib};
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// Entries in each phase.
const ENTRIES: usize = 10_000;
/// People they belong to.
const PEOPLE: usize = 1_000;
/// How long the idle process is watched.
const IDLE_WINDOW: Duration = Duration::from_secs(10);
/// How far ahead the first delivered entry is due, leaving time to add them all.
const LEAD: i64 = 20;
/// The window the delivered entries are due in.
const SPREAD: i64 = 60;

/// Records when each entry's text was delivered.
#[derive(Default)]
struct Recorder {
    at: Mutex<HashMap<String, (chrono::DateTime<Utc>, usize)>>,
}

#[async_trait]
impl Outlet for Recorder {
    async fn deliver(&self, _principal: &Principal, _chat: &str, delivery: Delivery) -> Delivered {
        let now = Utc::now();
        if let Delivery::Say(text) = delivery {
            let mut at = self.at.lock();
            let seen = at.entry(text).or_insert((now, 0));
            seen.1 += 1;
        }
        Delivered::Sent
    }
}

/// Adds `ENTRIES` reminders for `PEOPLE` people, the i-th due at `due(i)` (Unix seconds).
async fn add_entries(schedule: &Schedule, tag: &str, due: impl Fn(usize) -> i64) {
    let people: Vec<Principal> = (0..PEOPLE)
        .map(|p| Principal::telegram(1_000_000 + p as u64))
        .collect();
    let requests: Vec<(usize, String)> = (0..ENTRIES)
        .map(|i| {
            let at = chrono::DateTime::<Utc>::from_timestamp(due(i), 0)
                .expect("a time")
                .to_rfc3339_opts(SecondsFormat::Secs, true);
            (i, at)
        })
        .collect();
    futures::stream::iter(requests)
        .for_each_concurrent(256, |(i, at)| {
            let principal = &people[i % PEOPLE];
            let text = format!("{tag} {i}");
            async move {
                schedule
                    .add(Request {
                        principal,
                        chat: "1",
                        kind: "reminder",
                        text: &text,
                        at: &at,
                        repeat: None,
                    })
                    .await
                    .expect("an entry is added");
            }
        })
        .await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = Store::open(&dir.path().join("schedule.db")).expect("the store");
    let schedule = Schedule::new(store, chrono_tz::Tz::UTC, 50, Arc::new(SystemClock));
    let outlet = Arc::new(Recorder::default());
    schedule.attach("telegram", outlet.clone());
    let metrics = Metrics::new(&mut Registry::default());
    let stop = CancellationToken::new();
    let scheduler = Scheduler::new(schedule.clone(), Duration::from_secs(3600), metrics);
    let running = tokio::spawn(scheduler.run(stop.clone()));

    // Phase 1: waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_mib();
    let in_an_hour = Utc::now().timestamp() + 3600;
    let started = Instant::now();
    add_entries(&schedule, "later", |i| in_an_hour + (i as i64 % 600)).await;
    let added_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_mib();
    let cpu_before = cpu_seconds();
    tokio::time::sleep(IDLE_WINDOW).await;
    let cpu_idle = cpu_seconds() - cpu_before;
    println!(
        "waiting: {ENTRIES} entries of {PEOPLE} people added in {:.2} s; RSS added {:.2} MiB (target ≤ 10 MiB); CPU over {} s with none due {:.3} s (target ≈ 0)",
        added_in.as_secs_f64(),
        rss_after - rss_before,
        IDLE_WINDOW.as_secs(),
        cpu_idle
    );
    // Cancel them so the next phase measures its own entries only.
    let waiting = schedule.list(None).await.expect("a list");
    futures::stream::iter(waiting)
        .for_each_concurrent(256, |listed| {
            let schedule = &schedule;
            async move {
                schedule
                    .cancel(None, &listed.entry.id.to_string())
                    .await
                    .expect("a cancel");
            }
        })
        .await;

    // Phase 2: delivering.
    let first = Utc::now().timestamp() + LEAD;
    let due = move |i: usize| first + (i as i64 * SPREAD) / ENTRIES as i64;
    add_entries(&schedule, "now", due).await;
    let deadline = Instant::now() + Duration::from_secs((LEAD + SPREAD + 30) as u64);
    while outlet.at.lock().len() < ENTRIES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at = outlet.at.lock().clone();
    let mut lateness: Vec<f64> = Vec::with_capacity(ENTRIES);
    let mut twice = 0;
    for i in 0..ENTRIES {
        if let Some((when, count)) = at.get(&format!("⏰ Reminder: now {i}")) {
            let due = chrono::DateTime::<Utc>::from_timestamp(due(i), 0).expect("a time");
            #[allow(clippy::cast_precision_loss)]
            lateness.push((*when - due).num_microseconds().unwrap_or(0) as f64 / 1e6);
            if *count > 1 {
                twice += 1;
            }
        }
    }
    lateness.sort_by(f64::total_cmp);
    let delivered = lateness.len();
    if delivered == 0 {
        println!("delivering: nothing was delivered");
    } else {
        println!(
            "delivering: {delivered} of {ENTRIES} entries due within {SPREAD} s delivered ({twice} twice); lateness p50 {:.3} s, p99 {:.3} s (target ≤ 1 s), max {:.3} s",
            percentile(&lateness, 0.5),
            percentile(&lateness, 0.99),
            lateness.last().copied().unwrap_or_default()
        );
    }
    stop.cancel();
    let _ = running.await;
}
