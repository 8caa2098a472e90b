//! The lock file that says a database is in use: every process that opens the database holds a
//! shared lock on `<path>.lock` until its last connection to it has closed, and
//! `backup restore` takes that lock exclusively, so a database is never replaced under a running
//! gateway or MCP server, and nothing opens it while it is being replaced.
//!
//! The locks are `flock` locks on a file of their own: the kernel drops them when the process
//! ends, however it ends, and they never touch the POSIX locks SQLite keeps on the database
//! file itself.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long opening a database waits for a restore that is replacing it.
const RESTORE_WAIT: Duration = Duration::from_secs(60);
/// How often opening a database looks again whether the restore has finished.
const RETRY: Duration = Duration::from_millis(50);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum InUseError {
    /// The lock file cannot be created or locked.
    #[error(
        "cannot lock {path}: {source}; make the database's folder writable by the user mcp-gateway runs as"
    )]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A restore held the lock for longer than [`RESTORE_WAIT`].
    #[error(
        "a backup restore has been replacing the database for over {} seconds ({path} is locked); start again when it has finished",
        RESTORE_WAIT.as_secs()
    )]
    Restoring {
        /// The lock file.
        path: PathBuf,
    },
}

/// The lock file of the database at `db`.
#[must_use]
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open(path: &Path) -> Result<File, InUseError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| InUseError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// A shared hold on a database: while any exists, in this process or another, the database is
/// not replaced. Dropping the last handle to it releases it.
#[derive(Debug)]
pub struct Shared {
    _file: File,
}

impl Shared {
    /// Takes the shared lock of the database at `db`, waiting while a restore replaces it.
    ///
    /// # Errors
    /// Fails when the lock file cannot be made, or a restore holds it for too long.
    pub fn take(db: &Path) -> Result<Self, InUseError> {
        let path = lock_path(db);
        let file = open(&path)?;
        let started = Instant::now();
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if started.elapsed() < RESTORE_WAIT => {
                    std::thread::sleep(RETRY);
                }
                Err(TryLockError::WouldBlock) => return Err(InUseError::Restoring { path }),
                Err(TryLockError::Error(source)) => return Err(InUseError::Io { path, source }),
            }
        }
    }
}

/// The exclusive hold `backup restore` takes while it replaces a database.
#[derive(Debug)]
pub struct Exclusive {
    _file: File,
}

impl Exclusive {
    /// Takes the exclusive lock of the database at `db` without waiting; `Ok(None)` when a
    /// process has the database open.
    ///
    /// # Errors
    /// Fails when the lock file cannot be made or locked.
    pub fn try_take(db: &Path) -> Result<Option<Self>, InUseError> {
        let path = lock_path(db);
        let file = open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(InUseError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_hold_keeps_the_exclusive_one_out_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("main.db");
        let first = Shared::take(&db).unwrap();
        let second = Shared::take(&db).unwrap();
        assert!(Exclusive::try_take(&db).unwrap().is_none());
        drop(first);
        assert!(Exclusive::try_take(&db).unwrap().is_none());
        drop(second);
        let exclusive = Exclusive::try_take(&db).unwrap().expect("nothing holds it");
        assert!(Exclusive::try_take(&db).unwrap().is_none());
        drop(exclusive);
        assert!(Shared::take(&db).is_ok());
        assert_eq!(lock_path(&db), dir.path().join("main.db.lock"));
    }

    #[test]
    fn a_shared_hold_waits_for_a_restore_to_finish() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("main.db");
        let exclusive = Exclusive::try_take(&db).unwrap().expect("nothing holds it");
        let waiter = std::thread::spawn({
            let db = db.clone();
            move || Shared::take(&db).map(|_| Instant::now())
        });
        std::thread::sleep(Duration::from_millis(200));
        let released = Instant::now();
        drop(exclusive);
        let taken = waiter.join().unwrap().expect("taken once the restore ends");
        assert!(taken >= released);
    }
}
