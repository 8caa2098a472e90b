//! The standard `process_*` metrics (resident and virtual memory, CPU seconds, open and maximum
//! file descriptors, start time), read from `/proc/self` on each scrape, and the
//! `mcp_gateway_build_info{version}` gauge.
//!
//! Every process that serves `/metrics` registers these, so memory, CPU, open files, version and
//! uptime show from the first scrape, before any request.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// The version `--version` prints, and `mcp_gateway_build_info` carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The longest `/proc/self/stat` or `/proc/self/statm` read (they are a few hundred bytes).
const MAX_PROC_FILE: u64 = 16 * 1024;

/// Labels of `mcp_gateway_build_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Registers the `process_*` collector and `mcp_gateway_build_info{version} 1` in `registry`.
pub fn register(registry: &mut Registry) {
    // Remember the start as early as possible, for systems without /proc.
    let _ = fallback_start();
    registry.register_collector(Box::new(ProcessCollector));
    let build = Family::<BuildLabels, Gauge>::default();
    build
        .get_or_create(&BuildLabels {
            version: VERSION.to_owned(),
        })
        .set(1);
    registry.sub_registry_with_prefix("mcp_gateway").register(
        "build_info",
        "The running binary's version, always 1",
        build,
    );
}

/// The wall-clock time of the first registration, the start time where `/proc` cannot tell.
fn fallback_start() -> f64 {
    static START: OnceLock<f64> = OnceLock::new();
    *START.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default()
    })
}

/// Reads the process's figures on each scrape.
#[derive(Debug)]
struct ProcessCollector;

/// One reading of the process's figures; a field is `None` where the system cannot tell.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSample {
    /// Resident memory in bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory in bytes.
    pub virtual_bytes: Option<u64>,
    /// User and system CPU time in seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// Start time in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessSample {
    /// Reads the current process's figures.
    #[must_use]
    pub fn read() -> Self {
        let ticks = rustix::param::clock_ticks_per_second();
        let page = u64::try_from(rustix::param::page_size()).unwrap_or(4096);
        let stat = read_small("/proc/self/stat")
            .as_deref()
            .and_then(StatFields::parse);
        let boot = read_small("/proc/stat")
            .as_deref()
            .and_then(boot_time_seconds);
        let start_time_seconds = match (&stat, boot) {
            #[allow(clippy::cast_precision_loss)]
            (Some(s), Some(boot)) if ticks > 0 => boot as f64 + s.start_ticks as f64 / ticks as f64,
            _ => fallback_start(),
        };
        #[allow(clippy::cast_precision_loss)]
        let cpu_seconds = stat
            .as_ref()
            .filter(|_| ticks > 0)
            .map(|s| (s.utime_ticks.saturating_add(s.stime_ticks)) as f64 / ticks as f64);
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as u64);
        let max_fds = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        Self {
            resident_bytes: stat.as_ref().map(|s| s.rss_pages.saturating_mul(page)),
            virtual_bytes: stat.as_ref().map(|s| s.vsize_bytes),
            cpu_seconds,
            open_fds,
            max_fds,
            start_time_seconds,
        }
    }
}

/// Reads a small file under `/proc`, at most [`MAX_PROC_FILE`] bytes.
fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PROC_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The fields of `/proc/self/stat` the metrics need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatFields {
    utime_ticks: u64,
    stime_ticks: u64,
    start_ticks: u64,
    vsize_bytes: u64,
    rss_pages: u64,
}

impl StatFields {
    /// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
    /// spaces and parentheses itself, so the fields are counted from the last `)`.
    fn parse(text: &str) -> Option<Self> {
        let rest = &text[text.rfind(')')? + 1..];
        // After the name: state is field 3, so field N is at index N - 3.
        let fields: Vec<&str> = rest.split_ascii_whitespace().take(22).collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Self {
            utime_ticks: field(14)?,
            stime_ticks: field(15)?,
            start_ticks: field(22)?,
            vsize_bytes: field(23)?,
            rss_pages: field(24)?,
        })
    }
}

/// The boot time (`btime`) from `/proc/stat`, in seconds since the Unix epoch.
fn boot_time_seconds(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = ProcessSample::read();
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                s.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                s.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                s.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                s.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        if let Some(cpu) = s.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                counter.metric_type(),
            )?)?;
        }
        let start = ConstGauge::new(s.start_time_seconds);
        start.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            None,
            start.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let text = "4242 (mcp (gate) way) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 50 0 0 20 0 8 0 123456 104857600 2048 18446744073709551615";
        let f = StatFields::parse(text).expect("parsed");
        assert_eq!(
            f,
            StatFields {
                utime_ticks: 250,
                stime_ticks: 50,
                start_ticks: 123_456,
                vsize_bytes: 104_857_600,
                rss_pages: 2048,
            }
        );
    }

    #[test]
    fn a_short_or_garbled_stat_is_refused() {
        assert_eq!(StatFields::parse("4242 (x) S 1 2 3"), None);
        assert_eq!(StatFields::parse("no parenthesis here"), None);
        assert_eq!(
            StatFields::parse(&format!("1 (x) S {}", "z ".repeat(30))),
            None
        );
    }

    #[test]
    fn boot_time_is_read_from_its_line() {
        assert_eq!(
            boot_time_seconds("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(boot_time_seconds("cpu 1 2 3\n"), None);
    }

    #[test]
    fn this_process_reads_plausible_figures() {
        let s = ProcessSample::read();
        assert!(s.resident_bytes.unwrap_or(0) > 1024 * 1024, "{s:?}");
        assert!(s.open_fds.unwrap_or(0) >= 3, "{s:?}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs_f64();
        assert!(
            s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86_400.0,
            "{s:?}"
        );
    }

    #[test]
    fn the_registry_holds_every_process_metric_and_the_build_info() {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("encode the registry");
        for name in [
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
            "process_start_time_seconds ",
            &format!("mcp_gateway_build_info{{version=\"{VERSION}\"}} 1"),
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
