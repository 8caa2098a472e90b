//! `backup restore FILE`: replaces the database with a backup after checking that the backup is
//! whole, that this binary knows its schema, that the current seal key opens its sealed rows and
//! that no gateway or MCP server has the database open.
//!
//! Every check runs before anything is written; a failed check names itself in one line and
//! leaves the current database as it was. On success the previous database is kept beside the
//! restored one as `<path>.before-restore`.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::store::in_use::Exclusive;
use crate::store::latest_version;
use crate::store::seal::{SealTally, Sealer};

/// Why a backup was not restored; each message is the one line the operator sees.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The file cannot be read.
    #[error("cannot read the backup {path}: {reason}")]
    Unreadable {
        /// The backup.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The file is not a SQLite database, or fails the integrity check.
    #[error("integrity check failed: {path} {reason}; pick another backup")]
    Corrupt {
        /// The backup.
        path: PathBuf,
        /// What SQLite reported.
        reason: String,
    },
    /// The backup was written by a newer binary.
    #[error(
        "migration version check failed: {path} has schema version {found}, newer than the {supported} this binary knows; restore it with the mcp-gateway that wrote it or a newer one"
    )]
    TooNew {
        /// The backup.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this binary knows.
        supported: i64,
    },
    /// The backup holds no gateway schema at all.
    #[error(
        "migration version check failed: {0} is not an mcp-gateway database (no schema version)"
    )]
    NotOurs(PathBuf),
    /// The seal key cannot be read.
    #[error("seal key check failed: {0}")]
    Key(String),
    /// The backup's sealed rows do not open with the current key.
    #[error(
        "seal key check failed: {failed} of {total} sealed values in {path} do not open with the key in {key} ([store].seal_key_file); {hint}"
    )]
    WrongKey {
        /// The backup.
        path: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Values that did not open.
        failed: u64,
        /// Values tried.
        total: u64,
        /// What to do.
        hint: &'static str,
    },
    /// Another process has the current database open.
    #[error(
        "running check failed: a gateway, an MCP server or another mcp-gateway command has {0} open; stop it first (on Kubernetes scale the gateway, notion-mcp and gcal-mcp Deployments to 0)"
    )]
    Running(PathBuf),
    /// The current database could not be moved aside or the backup put in its place.
    #[error("cannot replace {path}: {reason}")]
    Replace {
        /// The database.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The database now holding the backup.
    pub path: PathBuf,
    /// Where the previous database was kept, when there was one.
    pub previous: Option<PathBuf>,
    /// Components whose sealed values open only with another process's key (one key per
    /// component, as on Kubernetes).
    pub other_keys: Vec<String>,
}

/// Checks `backup` and puts it in place of the database at `path`, whose components seal with
/// the key in `key_file`.
///
/// # Errors
/// The first check that failed, or the replacement that failed; the database at `path` is then
/// unchanged.
pub fn restore(backup: &Path, path: &Path, key_file: &Path) -> Result<Restored, RestoreError> {
    let meta = std::fs::metadata(backup).map_err(|e| RestoreError::Unreadable {
        path: backup.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !meta.is_file() {
        return Err(RestoreError::Unreadable {
            path: backup.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    let conn = open_read_only(backup)?;
    check_integrity(&conn, backup)?;
    check_version(&conn, backup)?;
    let sealer = Sealer::load(key_file, false).map_err(|e| RestoreError::Key(e.to_string()))?;
    let other_keys = check_sealed(&conn, &sealer, backup, key_file)?;
    drop(conn);
    let previous = replace(backup, path)?;
    Ok(Restored {
        path: path.to_path_buf(),
        previous,
        other_keys,
    })
}

fn open_read_only(path: &Path) -> Result<Connection, RestoreError> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| RestoreError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// `PRAGMA integrity_check` must answer exactly `ok`.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), RestoreError> {
    let corrupt = |reason: String| RestoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(10)")
        .map_err(|e| corrupt(format!("is not a SQLite database ({e})")))?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect)
        .map_err(|e| corrupt(format!("cannot be read ({e})")))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        let first: String = lines
            .first()
            .map(|l| l.chars().take(200).collect())
            .unwrap_or_default();
        Err(corrupt(format!("is damaged ({first})")))
    }
}

/// The schema version must be one this binary knows.
fn check_version(conn: &Connection, path: &Path) -> Result<(), RestoreError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| RestoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let supported = latest_version();
    if found > supported {
        return Err(RestoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    if found <= 0 {
        return Err(RestoreError::NotOurs(path.to_path_buf()));
    }
    Ok(())
}

/// Every component's sealed values must open with `sealer`, except that a component whose
/// values all fail is accepted when another component's all open (each component has its own
/// key on Kubernetes: the gateway, and each MCP server's authorization server); those are
/// returned. A component with some values opening and some not, or no component opening at
/// all, fails.
fn check_sealed(
    conn: &Connection,
    sealer: &Sealer,
    path: &Path,
    key: &Path,
) -> Result<Vec<String>, RestoreError> {
    let unreadable = |table: &str, e: rusqlite::Error| RestoreError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("cannot read {table} ({e})"),
    };
    let mut components: Vec<(String, SealTally)> = Vec::new();
    if has_table(conn, "oauth_tokens") {
        let t = crate::mcp::oauth::store::tally_sealed(conn, sealer)
            .map_err(|e| unreadable("oauth_tokens", e))?;
        components.push(("the gateway's connections".to_owned(), t));
    }
    if has_table(conn, "as_upstream_accounts") {
        let servers: Vec<String> = conn
            .prepare("SELECT DISTINCT server FROM as_upstream_accounts ORDER BY server")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| unreadable("as_upstream_accounts", e))?;
        for server in servers {
            let t = crate::servers::auth::tally_sealed(conn, sealer, &server)
                .map_err(|e| unreadable("as_upstream_accounts", e))?;
            components.push((format!("the {server} MCP server's upstream accounts"), t));
        }
    }
    let mut failed = 0;
    let mut opened_somewhere = false;
    let mut other_keys = Vec::new();
    for (name, t) in components {
        failed += t.failed;
        if t.opened > 0 && t.failed > 0 {
            return Err(RestoreError::WrongKey {
                path: path.to_path_buf(),
                key: key.to_path_buf(),
                failed: t.failed,
                total: t.opened + t.failed,
                hint: "the backup mixes keys or was altered; pick another backup",
            });
        }
        if t.opened > 0 {
            opened_somewhere = true;
        } else if t.failed > 0 {
            other_keys.push(name);
        }
    }
    if failed > 0 && !opened_somewhere {
        return Err(RestoreError::WrongKey {
            path: path.to_path_buf(),
            key: key.to_path_buf(),
            failed,
            total: failed,
            hint: "it was sealed with another key; put the key that was in use when the backup was made in that file",
        });
    }
    Ok(other_keys)
}

fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .is_ok()
}

/// Takes the database's in-use lock exclusively and SQLite's exclusive lock on it (either
/// failing when another process has it open), copies `backup` next to `path`, folds its write-ahead log in, moves it to
/// `<path>.before-restore` and puts the copy in its place.
fn replace(backup: &Path, path: &Path) -> Result<Option<PathBuf>, RestoreError> {
    let fail = |reason: String| RestoreError::Replace {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| fail(e.to_string());
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::create_dir_all(parent).map_err(io)?;
    // Held until the backup is in place: every process that opens the database holds this
    // lock shared for as long as it has it open, and waits while it is held here.
    let _held = match Exclusive::try_take(path) {
        Ok(Some(held)) => held,
        Ok(None) => return Err(RestoreError::Running(path.to_path_buf())),
        Err(e) => return Err(fail(e.to_string())),
    };
    let exists = path.exists();
    // A process that does not take the lock above still holds SQLite's shared lock.
    let lock = if exists {
        Some(lock_exclusively(path)?)
    } else {
        None
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mcp-gateway.db".into());
    let partial = parent.join(format!(".{name}.restore.partial"));
    let copied = (|| -> std::io::Result<()> {
        let mut from = std::fs::File::open(backup)?;
        let mut to = std::fs::File::create(&partial)?;
        std::io::copy(&mut from, &mut to)?;
        to.flush()?;
        to.sync_all()
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(io(e));
    }
    let previous = if let Some(conn) = lock {
        // The log is folded into the file and the journal switched off the write-ahead log,
        // so the file moved aside is whole by itself.
        let settled = conn
            .pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| fail(format!("cannot fold in its write-ahead log ({e})")));
        drop(conn);
        if let Err(e) = settled {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let previous = PathBuf::from(format!("{}.before-restore", path.display()));
        if let Err(e) = std::fs::rename(path, &previous) {
            let _ = std::fs::remove_file(&partial);
            return Err(io(e));
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Some(previous)
    } else {
        None
    };
    std::fs::rename(&partial, path).map_err(io)?;
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(previous)
}

/// Opens the database and takes its exclusive lock without waiting: while any other process
/// has it open (each holds a shared lock in write-ahead-log mode), this fails.
fn lock_exclusively(path: &Path) -> Result<Connection, RestoreError> {
    let fail = |reason: String| RestoreError::Replace {
        path: path.to_path_buf(),
        reason,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| fail(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::ZERO)
        .map_err(|e| fail(e.to_string()))?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(|e| fail(e.to_string()))?;
    match conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
        Ok(()) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Err(RestoreError::Running(path.to_path_buf()))
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `replace` would find the database at `path` free: nothing holds its in-use lock
    /// and nothing has it open in SQLite.
    fn free(path: &Path) -> bool {
        match Exclusive::try_take(path).unwrap() {
            Some(_held) => lock_exclusively(path).is_ok(),
            None => false,
        }
    }

    /// Waits (up to five seconds) until the database at `path` is free: a dropped store's
    /// threads release it once their connections have closed.
    fn becomes_free(path: &Path) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !free(path) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        true
    }

    #[test]
    fn a_database_a_store_has_open_is_reported_as_running() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("current.db");
        let backup = dir.path().join("backup.db");
        drop(crate::store::Store::open(&backup).unwrap());
        let store = crate::store::Store::open(&current).unwrap();
        assert!(matches!(
            replace(&backup, &current),
            Err(RestoreError::Running(_))
        ));
        assert!(!free(&current));
        drop(store);
        assert!(becomes_free(&current), "released once the store is closed");
    }

    #[test]
    fn a_database_open_in_sqlite_without_the_lock_is_reported_as_running() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("current.db");
        drop(crate::store::Store::open(&current).unwrap());
        assert!(becomes_free(&current));
        let holder = Connection::open(&current).unwrap();
        holder
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
        assert!(matches!(
            lock_exclusively(&current),
            Err(RestoreError::Running(_))
        ));
        drop(holder);
        assert!(lock_exclusively(&current).is_ok());
    }

    #[test]
    fn an_empty_sqlite_file_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE x (y)")
            .unwrap();
        let conn = open_read_only(&path).unwrap();
        check_integrity(&conn, &path).unwrap();
        assert!(matches!(
            check_version(&conn, &path),
            Err(RestoreError::NotOurs(_))
        ));
    }
}
