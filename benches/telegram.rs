//! Benchmark of the Telegram channel's own overhead: 500 simulated senders each send 5 messages
//! through the fake Bot API (teloxide long polling against it over loopback HTTP), answered by an
//! instant in-process model. Each sender writes its next message when the previous reply is
//! final, so 500 conversations run at once.
//!
//! Reported: the time from the fake handing an update out in a `getUpdates` response to the
//! arrival of that message's final (HTML) reply call, p50/p90/p99/max (the model answers
//! instantly, so this is channel, agent and store overhead only), lost messages (no final reply
//! within the deadline), Bot API calls per message, and the process's RSS (current and peak; the
//! process also holds the fake Bot API and the driver, so these are upper bounds).
//!
//! Streaming throttle: the production [`StreamConfig`] is used (edits at most once a second,
//! typing every four seconds). The first text of a reply is sent as soon as it exists and the
//! final formatted edit goes out as soon as the reply is complete, so the throttle spaces only the
//! intermediate edits of slow replies; with an instant model the figure therefore measures the
//! work every message costs, not a waiting time.
//!
//! Run with `cargo bench --bench telegram`. Targets: p99 <= 50 ms, zero lost, RSS <= 64 MiB.

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;
#[path = "../tests/support/scripted_agent.rs"]
mod scripted_agent;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mcp_gateway::channels::stream::StreamConfig;
use mcp_gateway::channels::telegram::{TelegramOptions, run_with};
use mcp_gateway::config::{Policy, TelegramConfig};
use mcp_gateway::store::Store;
use mcp_gateway::telemetry::metrics::Metrics;
use tokio_util::sync::CancellationToken;

use fake_telegram::FakeTelegram;
use scripted_agent::{FakeTools, ScriptedModel, agent};

const SENDERS: u64 = 500;
const MESSAGES_PER_SENDER: u32 = 5;
const FIRST_USER: u64 = 10_000;
const TOKEN: &str = "987654:BENCH-token";
const DEADLINE: Duration = Duration::from_secs(120);

/// One sender's conversation state in the driver.
struct Conversation {
    sent: u32,
    pending_update: i64,
    /// When the pending message was handed to the fake (the person pressed send).
    pushed: Instant,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).expect("token file");
    let fake = FakeTelegram::start(TOKEN).await;
    let config = TelegramConfig {
        token_file,
        api_url: fake.url().parse().expect("url"),
        policy: Policy::Open,
        allow_from: Vec::new(),
        rate_limit_per_minute: 60,
    };
    let store = Store::open(&dir.path().join("bench.db")).expect("store");
    let metrics = Metrics::unregistered();
    let model = ScriptedModel::new(Vec::new());
    let agent = agent(
        model.clone(),
        FakeTools::new(),
        store.clone(),
        metrics.clone(),
    );
    let shutdown = CancellationToken::new();
    let options = TelegramOptions {
        stream: StreamConfig::default(),
        ..TelegramOptions::default()
    };
    let channel = tokio::spawn(run_with(
        config,
        Vec::new(),
        agent,
        store,
        metrics,
        options,
        shutdown.clone(),
    ));
    fake.wait_for("the channel to poll", Duration::from_secs(10), |c| {
        c.iter().any(|c| c.method == "getupdates")
    })
    .await;

    let mut calls = fake.subscribe();
    let mut conversations: HashMap<i64, Conversation> = HashMap::new();
    let started = Instant::now();
    for user in FIRST_USER..FIRST_USER + SENDERS {
        let update = fake.push_private(user, &format!("hello from {user}, message 1"));
        conversations.insert(
            i64::try_from(user).expect("id"),
            Conversation {
                sent: 1,
                pending_update: update,
                pushed: Instant::now(),
            },
        );
    }
    let total = u64::from(MESSAGES_PER_SENDER) * SENDERS;
    let mut latencies: Vec<Duration> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut round_trips: Vec<Duration> = Vec::with_capacity(latencies.capacity());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while (latencies.len() as u64) < total {
        let Ok(Some(call)) = tokio::time::timeout_at(deadline, calls.recv()).await else {
            break;
        };
        if !(call.is_text() && call.ok && call.is_html()) {
            continue;
        }
        let Some(chat) = call.chat() else { continue };
        let Some(conversation) = conversations.get_mut(&chat) else {
            continue;
        };
        let Some(delivered) = fake.delivered_at(conversation.pending_update) else {
            continue;
        };
        latencies.push(call.at.saturating_duration_since(delivered));
        round_trips.push(call.at.saturating_duration_since(conversation.pushed));
        if conversation.sent < MESSAGES_PER_SENDER {
            conversation.sent += 1;
            conversation.pending_update = fake.push_private(
                u64::try_from(chat).expect("id"),
                &format!("message {}", conversation.sent),
            );
            conversation.pushed = Instant::now();
        }
    }
    let elapsed = started.elapsed();
    let (rss, peak) = memory();
    let all = fake.calls();
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), channel).await;

    let answered = latencies.len() as u64;
    latencies.sort_unstable();
    round_trips.sort_unstable();
    let pct = |p: f64| percentile(&latencies, p);
    let count = |m: &str| all.iter().filter(|c| c.method == m).count();
    let per = |n: usize| n as f64 / answered.max(1) as f64;
    println!(
        "telegram channel: {SENDERS} senders x {MESSAGES_PER_SENDER} messages, instant model, fake Bot API over loopback"
    );
    println!(
        "  messages answered      {answered} / {total} (lost: {})",
        total - answered
    );
    println!("  model calls            {}", model.calls());
    println!(
        "  wall time              {:.2} s ({:.0} messages/s)",
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  overhead update->final p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "  sent->final (end to end) p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&round_trips, 0.50)),
        ms(percentile(&round_trips, 0.90)),
        ms(percentile(&round_trips, 0.99)),
        ms(round_trips.last().copied().unwrap_or_default())
    );
    println!(
        "  Bot API calls/message   sendMessage {:.2}, editMessageText {:.2}, sendChatAction {:.2}; getUpdates total {}",
        per(count("sendmessage")),
        per(count("editmessagetext")),
        per(count("sendchataction")),
        count("getupdates")
    );
    println!(
        "  RSS                    {:.1} MiB now, {:.1} MiB peak (whole process: gateway + fake Bot API + driver)",
        mib(rss),
        mib(peak)
    );
    let ok =
        total == answered && pct(0.99) <= Duration::from_millis(50) && peak <= 64 * 1024 * 1024;
    println!(
        "  targets (p99 <= 50 ms, zero lost, RSS <= 64 MiB): {}",
        if ok { "met" } else { "NOT met" }
    );
}

/// The `p` quantile of sorted `values` (nearest rank).
fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[i.min(values.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The process's resident set size and its peak, in bytes, from `/proc/self/status`.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
