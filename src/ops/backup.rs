//! `backup`: an online copy of the database into a folder, keeping the newest N.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::store::{Store, backup};

/// Options of `backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The folder to write backups into.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// How many backups to keep.
    #[arg(long, default_value_t = 7)]
    pub keep: usize,
}

/// Writes one backup and prints its path.
///
/// # Errors
/// Fails when the database cannot be opened or the copy cannot be written.
pub fn run(config: &Config, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    if !config.store.path.exists() {
        anyhow::bail!(
            "the database {} does not exist; nothing to back up",
            config.store.path.display()
        );
    }
    let store = Store::open(&config.store.path)?;
    let path = backup::backup_to(&store, &args.dir, args.keep)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
