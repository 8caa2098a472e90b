//! `backup`: an online copy of the database into a folder, keeping the newest N; and
//! `backup restore FILE`, which puts one back ([`super::restore`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::store::{Store, backup};

/// Options of `backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Restore a backup instead of writing one.
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// The folder to write backups into.
    #[arg(long, value_name = "DIR", required = true)]
    pub dir: Option<PathBuf>,
    /// How many backups to keep.
    #[arg(long, default_value_t = 7)]
    pub keep: usize,
}

/// What `backup` can do besides writing a backup.
#[derive(Debug, Clone, Subcommand)]
pub enum BackupAction {
    /// Replace the database with FILE after checking it (integrity, schema version, seal key)
    /// and that no gateway or MCP server has the database open.
    Restore {
        /// The backup to restore.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Writes one backup and prints its path.
///
/// # Errors
/// Fails when the database cannot be opened or the copy cannot be written.
pub fn run(config: &Config, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    if let Some(BackupAction::Restore { file }) = &args.action {
        return Ok(restore(config, file));
    }
    let Some(dir) = &args.dir else {
        anyhow::bail!("backup needs --dir DIR (or `backup restore FILE`)");
    };
    if !config.store.path.exists() {
        anyhow::bail!(
            "the database {} does not exist; nothing to back up",
            config.store.path.display()
        );
    }
    let store = Store::open(&config.store.path)?;
    let path = backup::backup_to(&store, dir, args.keep)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Restores `file` over `[store].path`: prints what it did, or the one line naming the check
/// that failed and exits non-zero.
fn restore(config: &Config, file: &std::path::Path) -> ExitCode {
    match super::restore::restore(file, &config.store.path, &config.store.seal_key_file) {
        Ok(done) => {
            for component in &done.other_keys {
                println!(
                    "note: the sealed values of {component} open only with another key (each component has its own on Kubernetes); that component's key must be the one in use when the backup was made"
                );
            }
            match &done.previous {
                Some(previous) => println!(
                    "restored {} into {}; the previous database is kept as {}",
                    file.display(),
                    done.path.display(),
                    previous.display()
                ),
                None => println!("restored {} into {}", file.display(), done.path.display()),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: backup restore: {e}");
            ExitCode::FAILURE
        }
    }
}
