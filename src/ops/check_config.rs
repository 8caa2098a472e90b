//! `check-config`: validates the configuration and reports every problem with file and key.

use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use crate::store::seal::{KeyExposure, KeyReaders, key_exposure};

/// What to say when users other than its owner may read the seal key file; `None` when only the
/// owner may.
#[must_use]
pub fn seal_key_warning(config: &Config) -> Option<String> {
    let path = config.store.seal_key_file.display();
    let exposure = key_exposure(&config.store.seal_key_file)?;
    let accepted = exposure.accepted_by(KeyReaders::of(&config.store));
    match exposure {
        KeyExposure::Private => None,
        KeyExposure::Group if accepted => Some(format!(
            "[store].seal_key_file {path} may be read by its group (accepted because [store].seal_key_group_readable = true says that group is this service's alone)"
        )),
        KeyExposure::Group => Some(format!(
            "[store].seal_key_file {path} may be read by its group, so `serve`, `up`, `chat` and the MCP servers refuse it; run `chmod 600 {path}`, or set [store].seal_key_group_readable = true if that group is this service's alone"
        )),
        KeyExposure::World if accepted => Some(format!(
            "[store].seal_key_file {path} may be read by every user of this machine (accepted because [store].allow_readable_seal_key = true); run `chmod 600 {path}`"
        )),
        KeyExposure::World => Some(format!(
            "[store].seal_key_file {path} may be read by every user of this machine, so `serve`, `up`, `chat` and the MCP servers refuse it; run `chmod 600 {path}`"
        )),
    }
}

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
            if let Some(warning) = seal_key_warning(&config) {
                println!("warning: {warning}");
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
