//! What the benchmarks measure of their own process — resident memory and CPU time, read as
//! `/metrics` reads them ([`ProcessSample`]) — and percentiles of sorted samples.

use mcp_gateway::telemetry::process::ProcessSample;

/// The process's resident memory in MiB (0 where the system cannot tell).
#[allow(dead_code)] // not every benchmark measures memory
pub fn rss_mib() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    ProcessSample::read()
        .resident_bytes
        .map_or(0.0, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

/// The user and system CPU time the process has used, in seconds (0 where the system cannot
/// tell); the kernel counts it in clock ticks, 10 ms on most systems.
#[allow(dead_code)] // not every benchmark measures CPU
pub fn cpu_seconds() -> f64 {
    ProcessSample::read().cpu_seconds.unwrap_or(0.0)
}

/// The `p` quantile (0 to 1) of `sorted`, by nearest rank.
///
/// # Panics
/// When `sorted` is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
