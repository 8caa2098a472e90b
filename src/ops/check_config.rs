//! `check-config`: validates the configuration and reports every problem with file and key.

use std::process::ExitCode;

use crate::config::{Config, ConfigError};

/// Reports on the configuration as it loaded: prints `ok`, or every problem one per line.
#[must_use]
pub fn run(loaded: Result<Config, ConfigError>) -> ExitCode {
    match loaded {
        Ok(config) => {
            println!("{}: ok", config.origin);
            if !config.store.seal_key_file.exists() {
                println!(
                    "note: [store].seal_key_file {} does not exist yet; `chat` and `up` create it, other subcommands need it",
                    config.store.seal_key_file.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
