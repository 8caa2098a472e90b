//! Benchmark of the Telegram channel's own overhead: 500 simulated senders each send 5 messages
//! through the fake Bot API (teloxide long polling against it over loopback HTTP), answered by an
//! instant in-process model, under the default `pairing` policy with every sender approved (so
//! each message's sender is checked). Each sender writes its next message as soon as the previous reply
//! is final, and all 500 start at the same instant, so the channel runs saturated: 500
//! conversations at once with no pause between messages. This is done twice: right after the
//! channel started (cold: new connections, empty caches) and again on the running process.
//!
//! Reported per burst: the time from the fake handing an update out in a `getUpdates` response
//! to the arrival of that message's final (HTML) reply call (`update->final`), and from the
//! message being queued at the fake, as if the person pressed send, to that call
//! (`sent->final`, which also counts the wait for the next `getUpdates`), p50/p90/p99/max; lost
//! messages (no final reply within the deadline). The model answers instantly, so these are
//! channel, agent and store costs, and under this saturation mostly queueing: with 500 messages
//! always outstanding, a message waits for the ones ahead of it, wherever that queue forms.
//! Also: Bot API calls per message, and the process's RSS (current and peak; the process also
//! holds the fake Bot API and the driver, so these are upper bounds).
//!
//! Streaming throttle: the production [`StreamConfig`] is used. A reply complete within the
//! settle time goes out as one formatted message as soon as it is complete, so with an instant
//! model the figures measure the work every message costs, not a waiting time.
//!
//! Run with `cargo bench --bench telegram`. Targets: update->final p99 <= 50 ms and zero lost in
//! both bursts, RSS <= 64 MiB.

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;
#[path = "../tests/support/scripted_agent.rs"]
mod scripted_agent;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mcp_gateway::Principal;
use mcp_gateway::channels::engine::{ChannelOptions, Shared};
use mcp_gateway::channels::pairing::Pairing;
use mcp_gateway::channels::stream::StreamConfig;
use mcp_gateway::channels::telegram::run;
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
    // As `mcp-gateway serve` does before its runtime starts.
    let _ = mcp_gateway::process::prepare();
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
        policy: Policy::Pairing,
        allow_from: Vec::new(),
        admins: Vec::new(),
        rate_limit_per_minute: 60,
    };
    let store = Store::open(&dir.path().join("bench.db")).expect("store");
    approve_senders(&store).await;
    let metrics = Metrics::unregistered();
    let model = ScriptedModel::new(Vec::new());
    let agent = agent(
        model.clone(),
        FakeTools::new(),
        store.clone(),
        metrics.clone(),
    );
    let shutdown = CancellationToken::new();
    let options = ChannelOptions {
        stream: StreamConfig::default(),
        ..ChannelOptions::default()
    };
    let shared = Shared::new(agent, store, metrics, &[]);
    let channel = tokio::spawn(run(config, shared, options, shutdown.clone()));
    fake.wait_for("the channel to poll", Duration::from_secs(10), |c| {
        c.iter().any(|c| c.method == "getupdates")
    })
    .await;

    let mut calls = fake.subscribe();
    println!(
        "telegram channel: {SENDERS} senders x {MESSAGES_PER_SENDER} messages per round, instant model, fake Bot API over loopback"
    );
    let first = round(&fake, &mut calls, 1).await;
    first.print("first burst after start");
    let second = round(&fake, &mut calls, 2).await;
    second.print("second burst, running process");
    let (rss, peak) = memory();
    let all = fake.calls();
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), channel).await;

    let answered = first.answered() + second.answered();
    let count = |m: &str| all.iter().filter(|c| c.method == m).count();
    let per = |n: usize| n as f64 / answered.max(1) as f64;
    println!("  model calls            {}", model.calls());
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
    let met = |r: &Round| r.lost() == 0 && r.delivered_p(0.99) <= Duration::from_millis(50);
    let ok = met(&first) && met(&second) && peak <= 64 * 1024 * 1024;
    println!(
        "  targets (update->final p99 <= 50 ms and zero lost in both bursts, RSS <= 64 MiB): {}",
        if ok { "met" } else { "NOT met" }
    );
}

/// Approves every simulated sender as the operator would (`pairing approve CODE`), so that the
/// channel runs under its default policy and checks each message's sender.
async fn approve_senders(store: &Store) {
    let pairing = Pairing::new(store.clone());
    for user in FIRST_USER..FIRST_USER + SENDERS {
        let principal = Principal::telegram(user);
        let (code, _) = pairing
            .code_for(&principal, &format!("User{user}"))
            .await
            .expect("pairing code")
            .expect("room for a pending sender");
        pairing.approve(&code).await.expect("approve");
    }
}

/// What one burst measured.
struct Round {
    /// Update handed out -> final reply call, sorted.
    delivered: Vec<Duration>,
    /// Message pushed to the fake (the person pressed send) -> final reply call, sorted.
    sent: Vec<Duration>,
    elapsed: Duration,
}

impl Round {
    fn answered(&self) -> u64 {
        self.delivered.len() as u64
    }

    fn lost(&self) -> u64 {
        u64::from(MESSAGES_PER_SENDER) * SENDERS - self.answered()
    }

    fn delivered_p(&self, p: f64) -> Duration {
        percentile(&self.delivered, p)
    }

    fn print(&self, what: &str) {
        let line = |values: &[Duration]| {
            format!(
                "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                ms(percentile(values, 0.50)),
                ms(percentile(values, 0.90)),
                ms(percentile(values, 0.99)),
                ms(values.last().copied().unwrap_or_default())
            )
        };
        println!("  {what}:");
        println!(
            "    answered {} / {} (lost {}) in {:.2} s ({:.0} messages/s)",
            self.answered(),
            u64::from(MESSAGES_PER_SENDER) * SENDERS,
            self.lost(),
            self.elapsed.as_secs_f64(),
            self.answered() as f64 / self.elapsed.as_secs_f64()
        );
        println!("    update->final {}", line(&self.delivered));
        println!("    sent->final   {}", line(&self.sent));
    }
}

/// Every sender sends [`MESSAGES_PER_SENDER`] messages, each as soon as the previous one's final
/// reply arrived; all senders start at once.
async fn round(
    fake: &FakeTelegram,
    calls: &mut tokio::sync::mpsc::UnboundedReceiver<std::sync::Arc<fake_telegram::Call>>,
    number: u32,
) -> Round {
    let mut conversations: HashMap<i64, Conversation> = HashMap::new();
    let started = Instant::now();
    for user in FIRST_USER..FIRST_USER + SENDERS {
        let update = fake.push_private(user, &format!("round {number}: hello from {user}"));
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
    let mut delivered: Vec<Duration> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut sent: Vec<Duration> = Vec::with_capacity(delivered.capacity());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while (delivered.len() as u64) < total {
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
        let Some(handed_out) = fake.delivered_at(conversation.pending_update) else {
            continue;
        };
        delivered.push(call.at.saturating_duration_since(handed_out));
        sent.push(call.at.saturating_duration_since(conversation.pushed));
        if conversation.sent < MESSAGES_PER_SENDER {
            conversation.sent += 1;
            conversation.pending_update = fake.push_private(
                u64::try_from(chat).expect("id"),
                &format!("round {number}: message {}", conversation.sent),
            );
            conversation.pushed = Instant::now();
        }
    }
    delivered.sort_unstable();
    sent.sort_unstable();
    Round {
        delivered,
        sent,
        elapsed: started.elapsed(),
    }
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
