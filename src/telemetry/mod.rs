//! Logging and metrics: structured logs through `tracing`, Prometheus metrics through
//! `prometheus-client`.

pub mod live;
pub mod metrics;
pub mod process;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, readable text when it is.
    Auto,
    /// One JSON object per line.
    Json,
    /// Readable text.
    Text,
}

/// Installs the global log subscriber: JSON lines when stderr is not a terminal (or when asked),
/// readable text otherwise, filtered by `RUST_LOG` (default `level`, noisy crates at `warn`).
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},rmcp=warn,hyper=warn,reqwest=warn,teloxide=warn,h2=warn"
        ))
    });
    // rmcp's OAuth module logs authorization codes at debug level; never show them.
    let filter = match "rmcp::transport::auth=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
