//! What a running gateway knows about itself right now: when it started, each chat channel's
//! connection and last update, and the turns, failed turns and failed tool calls of the last
//! hour. `status` reads it from the process's `/metrics` (as the gauges below); `/status` in the
//! chat reads it directly.
//!
//! Series (every configured channel from the first scrape):
//! - `mcp_gateway_channel_connected{channel}`: 1 while the channel's long poll or socket works.
//! - `mcp_gateway_channel_last_update_timestamp_seconds{channel}`: when its last update (a
//!   message or a button press) arrived, in seconds since the Unix epoch; absent before the first.
//! - `mcp_gateway_turns_last_hour`, `mcp_gateway_turn_errors_last_hour`,
//!   `mcp_gateway_tool_errors_last_hour`.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// The window the hourly counts cover, in minutes.
const WINDOW_MINUTES: i64 = 60;

/// One chat channel's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChannelState {
    /// Whether its long poll (Telegram) or socket (Slack) works right now.
    pub connected: bool,
    /// When its last update arrived, in seconds since the Unix epoch.
    pub last_update: Option<i64>,
}

/// Counts of the last hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LastHour {
    /// Turns that ended (answered or not).
    pub turns: u64,
    /// Turns that ended in an error the person was told about.
    pub errors: u64,
    /// Tool calls that failed, timed out or found their server unavailable.
    pub tool_errors: u64,
}

/// A copy of the live state at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    /// When the process started, in seconds since the Unix epoch.
    pub started: i64,
    /// Each known channel by name.
    pub channels: BTreeMap<String, ChannelState>,
    /// Counts of the last hour.
    pub last_hour: LastHour,
}

/// Per-minute counts, kept for the last [`WINDOW_MINUTES`] minutes.
#[derive(Debug, Default)]
struct Window {
    /// `(minute since the epoch, counts)`, oldest first.
    minutes: std::collections::VecDeque<(i64, LastHour)>,
}

impl Window {
    fn forget_before(&mut self, minute: i64) {
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| *m <= minute - WINDOW_MINUTES)
        {
            self.minutes.pop_front();
        }
    }

    fn add(&mut self, now: i64, f: impl FnOnce(&mut LastHour)) {
        let minute = now.div_euclid(60);
        self.forget_before(minute);
        match self.minutes.back_mut() {
            Some((m, counts)) if *m == minute => f(counts),
            _ => {
                let mut counts = LastHour::default();
                f(&mut counts);
                self.minutes.push_back((minute, counts));
            }
        }
    }

    fn total(&mut self, now: i64) -> LastHour {
        self.forget_before(now.div_euclid(60));
        self.minutes
            .iter()
            .fold(LastHour::default(), |mut sum, (_, c)| {
                sum.turns += c.turns;
                sum.errors += c.errors;
                sum.tool_errors += c.tool_errors;
                sum
            })
    }
}

#[derive(Debug)]
struct Inner {
    started: i64,
    channels: parking_lot::Mutex<BTreeMap<String, ChannelState>>,
    window: parking_lot::Mutex<Window>,
}

/// The live state of this process; cheap to clone, shared by every part that changes it.
#[derive(Debug, Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

fn now_unix() -> i64 {
    crate::store::now_unix()
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    /// A state starting now, with no channels.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: now_unix(),
                channels: parking_lot::Mutex::default(),
                window: parking_lot::Mutex::default(),
            }),
        }
    }

    /// Creates the series of these channels (not connected, no update yet) unless known.
    pub fn know_channels(&self, names: &[&str]) {
        let mut channels = self.inner.channels.lock();
        for name in names {
            channels.entry((*name).to_owned()).or_default();
        }
    }

    /// Records whether `channel`'s connection works.
    pub fn set_connected(&self, channel: &str, connected: bool) {
        self.inner
            .channels
            .lock()
            .entry(channel.to_owned())
            .or_default()
            .connected = connected;
    }

    /// Records that an update of `channel` arrived now (which also shows it connected).
    pub fn update_arrived(&self, channel: &str) {
        let now = now_unix();
        let mut channels = self.inner.channels.lock();
        let state = channels.entry(channel.to_owned()).or_default();
        state.connected = true;
        state.last_update = Some(now);
    }

    /// Counts a turn that ended now, and whether it failed.
    pub fn turn_ended(&self, failed: bool) {
        self.inner.window.lock().add(now_unix(), |c| {
            c.turns += 1;
            if failed {
                c.errors += 1;
            }
        });
    }

    /// Counts a tool call that failed now.
    pub fn tool_failed(&self) {
        self.inner
            .window
            .lock()
            .add(now_unix(), |c| c.tool_errors += 1);
    }

    /// The state now.
    #[must_use]
    pub fn snapshot(&self) -> LiveSnapshot {
        LiveSnapshot {
            started: self.inner.started,
            channels: self.inner.channels.lock().clone(),
            last_hour: self.inner.window.lock().total(now_unix()),
        }
    }

    /// Registers the series of the module documentation in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(LiveCollector(self.clone())));
    }
}

#[derive(Debug)]
struct LiveCollector(Live);

/// One gauge per channel, under one descriptor; nothing when there is no channel.
fn channel_gauges(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: &[(&str, i64)],
) -> Result<(), std::fmt::Error> {
    if values.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (channel, value) in values {
        let labels = [("channel", *channel)];
        ConstGauge::new(*value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.0.snapshot();
        let connected: Vec<(&str, i64)> = s
            .channels
            .iter()
            .map(|(name, c)| (name.as_str(), i64::from(c.connected)))
            .collect();
        channel_gauges(
            &mut encoder,
            "mcp_gateway_channel_connected",
            "Whether the chat channel's long poll or socket works (1) or not (0)",
            &connected,
        )?;
        let updates: Vec<(&str, i64)> = s
            .channels
            .iter()
            .filter_map(|(name, c)| c.last_update.map(|at| (name.as_str(), at)))
            .collect();
        channel_gauges(
            &mut encoder,
            "mcp_gateway_channel_last_update_timestamp_seconds",
            "When the chat channel's last update arrived, in seconds since the Unix epoch",
            &updates,
        )?;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for (name, help, value) in [
            (
                "mcp_gateway_turns_last_hour",
                "Turns that ended in the last hour",
                s.last_hour.turns,
            ),
            (
                "mcp_gateway_turn_errors_last_hour",
                "Turns that ended in an error in the last hour",
                s.last_hour.errors,
            ),
            (
                "mcp_gateway_tool_errors_last_hour",
                "Tool calls that failed in the last hour",
                s.last_hour.tool_errors,
            ),
        ] {
            let g = ConstGauge::new(count(value));
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_what_is_older_than_an_hour() {
        let mut w = Window::default();
        let t0 = 1_800_000_000;
        w.add(t0, |c| c.turns += 1);
        w.add(t0 + 30, |c| c.errors += 1);
        w.add(t0 + 30 * 60, |c| c.tool_errors += 2);
        assert_eq!(
            w.total(t0 + 59 * 60),
            LastHour {
                turns: 1,
                errors: 1,
                tool_errors: 2
            }
        );
        let later = w.total(t0 + 61 * 60);
        assert_eq!(later.turns, 0);
        assert_eq!(later.tool_errors, 2);
        assert_eq!(w.total(t0 + 120 * 60), LastHour::default());
    }

    #[test]
    fn the_series_show_every_known_channel_and_the_hourly_counts() {
        let live = Live::new();
        live.know_channels(&["telegram", "slack"]);
        live.update_arrived("telegram");
        live.turn_ended(false);
        live.turn_ended(true);
        live.tool_failed();
        let mut registry = Registry::default();
        live.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("mcp_gateway_channel_connected{channel=\"telegram\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mcp_gateway_channel_connected{channel=\"slack\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "mcp_gateway_channel_last_update_timestamp_seconds{channel=\"telegram\"} "
            ),
            "{text}"
        );
        assert!(
            !text.contains("mcp_gateway_channel_last_update_timestamp_seconds{channel=\"slack\"}"),
            "{text}"
        );
        assert!(text.contains("mcp_gateway_turns_last_hour 2"), "{text}");
        assert!(
            text.contains("mcp_gateway_turn_errors_last_hour 1"),
            "{text}"
        );
        assert!(
            text.contains("mcp_gateway_tool_errors_last_hour 1"),
            "{text}"
        );
        live.set_connected("telegram", false);
        assert!(!live.snapshot().channels["telegram"].connected);
    }
}
