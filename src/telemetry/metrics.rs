//! The gateway's Prometheus metrics, registered in one explicit registry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::live::Live;

/// Labels of message counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// `console`, `telegram` or `slack`.
    pub channel: String,
    /// `in` or `out`.
    pub direction: String,
}

/// Labels of tool-call counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    /// The configured server.
    pub server: String,
    /// The tool's name on that server.
    pub tool: String,
    /// `ok`, `error`, `timeout`, `denied`, `invalid` or `unavailable`.
    pub outcome: String,
}

/// Labels naming a server.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    /// The configured server.
    pub server: String,
}

/// Labels naming a server and an outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The configured server.
    pub server: String,
    /// What happened (`revoked`, `unconfirmed`).
    pub outcome: String,
}

/// Labels naming a token kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// `prompt` or `completion`.
    pub kind: String,
}

/// Labels naming a channel.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// `console`, `telegram` or `slack`.
    pub channel: String,
}

/// Labels of scheduled deliveries.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScheduleLabels {
    /// `reminder` or `task`.
    pub kind: String,
    /// `delivered`, `missed`, `no_access` or `failed`.
    pub outcome: String,
}

/// Every gateway metric.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `mcp_gateway_messages_total{channel,direction}`.
    pub messages: Family<MessageLabels, Counter>,
    /// `mcp_gateway_turn_duration_seconds`.
    pub turn_duration: Histogram,
    /// `mcp_gateway_model_request_duration_seconds`.
    pub model_duration: Histogram,
    /// `mcp_gateway_model_queue_wait_seconds`: time a request waited for the model server's slot.
    pub model_queue_wait: Histogram,
    /// `mcp_gateway_model_tokens_total{kind}`.
    pub model_tokens: Family<TokenLabels, Counter>,
    /// `mcp_gateway_tool_calls_total{server,tool,outcome}`.
    pub tool_calls: Family<ToolLabels, Counter>,
    /// `mcp_gateway_tool_call_duration_seconds{server}`.
    pub tool_duration: Family<ServerLabels, Histogram>,
    /// `mcp_gateway_oauth_connects_total{server}`.
    pub oauth_connects: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_refresh_failures_total{server}`.
    pub oauth_refresh_failures: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_refreshes_total{server}`: token refreshes attempted.
    pub oauth_refreshes: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_disconnects_total{server,outcome}`: connections removed, `revoked` when
    /// the server confirmed every revocation, else `unconfirmed`.
    pub oauth_disconnects: Family<OutcomeLabels, Counter>,
    /// `mcp_gateway_rate_limited_total{channel}`.
    pub rate_limited: Family<ChannelLabels, Counter>,
    /// `mcp_gateway_offered_tools`: catalog tools offered per turn (meta-tools not counted).
    pub offered_tools: Histogram,
    /// `mcp_gateway_offered_schema_bytes`: bytes of the tool schemas offered per turn.
    pub offered_schema_bytes: Histogram,
    /// `mcp_gateway_find_tools_calls_total`: calls of the `find_tools` meta-tool.
    pub find_tools_calls: Counter,
    /// `mcp_gateway_unoffered_tool_calls_total{server}`: calls of a catalog tool that was not
    /// offered in that request.
    pub unoffered_tool_calls: Family<ServerLabels, Counter>,
    /// The channels' connections and the last hour's turns and errors, as `status` shows them.
    pub live: Live,
    /// `mcp_gateway_schedule_active_entries`: scheduled entries waiting to fire.
    pub schedule_active: Gauge,
    /// `mcp_gateway_schedule_fired_total{kind,outcome}`.
    pub schedule_fired: Family<ScheduleLabels, Counter>,
    /// `mcp_gateway_schedule_lateness_seconds`: how long after its time an entry was delivered.
    pub schedule_lateness: Histogram,
    /// The tools whose tool-call series exist already, as tool names by server, so that a
    /// catalog seen before costs one lookup per tool and no new label sets.
    known_tools: Arc<RwLock<HashMap<String, HashSet<String>>>>,
}

/// The tool-call outcomes created at zero for every listed tool.
const TOOL_OUTCOMES_SHOWN: [&str; 4] = ["ok", "error", "timeout", "unavailable"];

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    /// Creates the metrics and registers them under the `mcp_gateway` prefix.
    #[must_use]
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            messages: Family::default(),
            turn_duration: latency_histogram(),
            model_duration: latency_histogram(),
            model_queue_wait: latency_histogram(),
            model_tokens: Family::default(),
            tool_calls: Family::default(),
            tool_duration: Family::new_with_constructor(latency_histogram),
            oauth_connects: Family::default(),
            oauth_refresh_failures: Family::default(),
            oauth_refreshes: Family::default(),
            oauth_disconnects: Family::default(),
            rate_limited: Family::default(),
            offered_tools: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            offered_schema_bytes: Histogram::new(exponential_buckets(256.0, 2.0, 12)),
            find_tools_calls: Counter::default(),
            unoffered_tool_calls: Family::default(),
            live: Live::new(),
            schedule_active: Gauge::default(),
            schedule_fired: Family::default(),
            schedule_lateness: Histogram::new(exponential_buckets(0.01, 4.0, 10)),
            known_tools: Arc::default(),
        };
        crate::telemetry::process::register(registry);
        m.live.register(registry);
        let r = registry.sub_registry_with_prefix("mcp_gateway");
        r.register(
            "messages",
            "Chat messages received and sent",
            m.messages.clone(),
        );
        r.register(
            "turn_duration_seconds",
            "Time from a message to the end of its answer",
            m.turn_duration.clone(),
        );
        r.register(
            "model_request_duration_seconds",
            "Time of one model request",
            m.model_duration.clone(),
        );
        r.register(
            "model_queue_wait_seconds",
            "Time a model request waited in the gateway's queue for the model server",
            m.model_queue_wait.clone(),
        );
        r.register(
            "model_tokens",
            "Tokens processed by the model",
            m.model_tokens.clone(),
        );
        r.register(
            "tool_calls",
            "MCP tool calls by outcome",
            m.tool_calls.clone(),
        );
        r.register(
            "tool_call_duration_seconds",
            "Time of one MCP tool call",
            m.tool_duration.clone(),
        );
        r.register(
            "oauth_connects",
            "Accounts connected",
            m.oauth_connects.clone(),
        );
        r.register(
            "oauth_refresh_failures",
            "OAuth token refreshes that failed",
            m.oauth_refresh_failures.clone(),
        );
        r.register(
            "oauth_refreshes",
            "OAuth token refreshes attempted",
            m.oauth_refreshes.clone(),
        );
        r.register(
            "oauth_disconnects",
            "Connections removed, by whether the server confirmed the revocation",
            m.oauth_disconnects.clone(),
        );
        r.register(
            "rate_limited",
            "Messages refused by the per-sender rate limit",
            m.rate_limited.clone(),
        );
        r.register(
            "schedule_active_entries",
            "Scheduled reminders and tasks waiting to fire",
            m.schedule_active.clone(),
        );
        r.register(
            "schedule_fired",
            "Scheduled entries that fell due, by kind and outcome",
            m.schedule_fired.clone(),
        );
        r.register(
            "schedule_lateness_seconds",
            "Time from a scheduled entry's due time to its delivery",
            m.schedule_lateness.clone(),
        );
        r.register(
            "offered_tools",
            "Catalog tools offered to the model per turn",
            m.offered_tools.clone(),
        );
        r.register(
            "offered_schema_bytes",
            "Bytes of tool schemas offered to the model per turn",
            m.offered_schema_bytes.clone(),
        );
        r.register(
            "find_tools_calls",
            "Calls of the find_tools meta-tool",
            m.find_tools_calls.clone(),
        );
        r.register(
            "unoffered_tool_calls",
            "Calls of a catalog tool that was not offered in that request",
            m.unoffered_tool_calls.clone(),
        );
        m
    }

    /// Creates every labelled series the dashboard and the alert rules read, at zero, for the
    /// label values known at start: messages in and out and rate-limited senders of each of
    /// `channels`, both token kinds, and tool-call latency and OAuth connects, refreshes and
    /// refresh failures of each of `servers`. A scrape right after start then shows every panel's
    /// series instead of nothing.
    pub fn initialise(&self, channels: &[&str], servers: &[&str]) {
        for channel in channels {
            for direction in ["in", "out"] {
                let _ = self.messages.get_or_create(&MessageLabels {
                    channel: (*channel).to_owned(),
                    direction: direction.to_owned(),
                });
            }
            let _ = self.rate_limited.get_or_create(&ChannelLabels {
                channel: (*channel).to_owned(),
            });
        }
        for kind in ["prompt", "completion"] {
            let _ = self.model_tokens.get_or_create(&TokenLabels {
                kind: kind.to_owned(),
            });
        }
        for server in servers {
            let labels = ServerLabels {
                server: (*server).to_owned(),
            };
            let _ = self.tool_duration.get_or_create(&labels);
            let _ = self.oauth_connects.get_or_create(&labels);
            let _ = self.oauth_refreshes.get_or_create(&labels);
            let _ = self.oauth_refresh_failures.get_or_create(&labels);
        }
    }

    /// Creates, at zero, the tool-call series the dashboard and the error-rate rule read for
    /// each listed tool: outcomes `ok`, `error`, `timeout` and `unavailable`. Every turn calls
    /// it with its catalog, so tools met before are only looked up: their series are never
    /// removed, and counts already made are kept either way.
    pub fn know_tools<'a>(&self, tools: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let new: Vec<(&str, &str)> = {
            let known = self.known_tools.read();
            tools
                .into_iter()
                .filter(|(server, tool)| !known.get(*server).is_some_and(|t| t.contains(*tool)))
                .collect()
        };
        if new.is_empty() {
            return;
        }
        let mut known = self.known_tools.write();
        for (server, tool) in new {
            let tools = match known.get_mut(server) {
                Some(tools) => tools,
                None => known.entry(server.to_owned()).or_default(),
            };
            if !tools.insert(tool.to_owned()) {
                continue;
            }
            for outcome in TOOL_OUTCOMES_SHOWN {
                let _ = self.tool_calls.get_or_create(&ToolLabels {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                    outcome: outcome.to_owned(),
                });
            }
        }
    }

    /// Metrics registered in a throwaway registry, for tests and one-shot commands.
    #[must_use]
    pub fn unregistered() -> Self {
        Self::new(&mut Registry::default())
    }
}

/// Encodes a registry in the Prometheus text format.
#[must_use]
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry's text with the tool-call series of `server`'s `tool` at `outcome`.
    fn series(server: &str, tool: &str, outcome: &str, value: u64) -> String {
        format!(
            "mcp_gateway_tool_calls_total{{server=\"{server}\",tool=\"{tool}\",outcome=\"{outcome}\"}} {value}"
        )
    }

    #[test]
    fn every_listed_tool_gets_its_series_at_zero_once_and_counts_are_kept() {
        let mut registry = Registry::default();
        let m = Metrics::new(&mut registry);
        m.know_tools([("notion", "search"), ("gcal", "list_events")]);
        let text = encode(&registry);
        for (server, tool) in [("notion", "search"), ("gcal", "list_events")] {
            for outcome in TOOL_OUTCOMES_SHOWN {
                let s = series(server, tool, outcome, 0);
                assert!(text.contains(&s), "{s} missing from:\n{text}");
            }
        }
        m.tool_calls
            .get_or_create(&ToolLabels {
                server: "notion".into(),
                tool: "search".into(),
                outcome: "ok".into(),
            })
            .inc();
        // A later catalog repeats a known tool and brings a new one of a known server.
        m.know_tools([("notion", "search"), ("notion", "create_page")]);
        let text = encode(&registry);
        assert!(
            text.contains(&series("notion", "search", "ok", 1)),
            "{text}"
        );
        for outcome in TOOL_OUTCOMES_SHOWN {
            let s = series("notion", "create_page", outcome, 0);
            assert!(text.contains(&s), "{s} missing from:\n{text}");
        }
        assert_eq!(
            text.matches("mcp_gateway_tool_calls_total{").count(),
            3 * TOOL_OUTCOMES_SHOWN.len()
        );
    }
}
