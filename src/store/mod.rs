//! SQLite storage shared by every component: one file, WAL mode, migrations in one place.
//!
//! A [`Store`] owns one connection on a dedicated thread that runs operations one after another
//! in the order they were asked for, so async code never blocks on disk and a burst of requests
//! costs queueing, not a thread per request. Several processes (the gateway and both MCP servers) may
//! open the same file; WAL and a busy timeout let them share it. Each component owns its tables
//! (see [`migrations`]); secrets inside rows are sealed with [`seal::Sealer`]. A second thread
//! checkpoints the write-ahead log so that operations never wait for it.

pub mod audit;
pub mod backup;
pub mod history;
mod migrations;
pub mod seal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use migrations::latest_version;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the write-ahead log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The size the write-ahead log file is cut back to after a checkpoint, in bytes.
const WAL_SIZE_LIMIT: i64 = 16 << 20;

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file or its folder could not be created or opened.
    #[error("cannot open the database {path}: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The file was written by a newer version of this program.
    #[error(
        "the database {path} has schema version {found}, newer than this program's {supported}; upgrade mcp-gateway"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
    /// A statement failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A sealed value could not be opened or sealed.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// A stored value could not be decoded.
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
    /// The blocking task running the statement was lost.
    #[error("the database task was cancelled")]
    Cancelled,
}

/// One operation for the connection thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the database; cheap to clone. The connection closes when the last handle is
/// dropped and the operations already asked for have run.
#[derive(Debug, Clone)]
pub struct Store {
    jobs: std::sync::mpsc::Sender<Job>,
    path: PathBuf,
    /// Stops when the last handle is dropped.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// Moves the write-ahead log into the database file from a thread and connection of its own,
/// so that no operation on the connection thread waits for a checkpoint (which copies every
/// page written since the last one, milliseconds under load). Passive checkpoints never block
/// readers or writers; when one completes, the next write starts the log from the beginning.
#[derive(Debug)]
struct Checkpointer {
    /// Dropping it stops the thread.
    _stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    /// Turns off automatic checkpoints on `serving` and starts checkpointing the file at `path`.
    fn start(serving: &Connection, path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        serving.pragma_update(None, "wal_autocheckpoint", 0)?;
        serving.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "write-ahead log checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Self { _stop: stop })
    }
}

impl Store {
    /// Opens (creating it and its folder when missing) and migrates the database at `path`.
    ///
    /// # Errors
    /// Fails when the file cannot be created or opened, or was written by a newer version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_err(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        Self::prepare(conn, path)
    }

    /// Opens a private in-memory database, for tests and dry runs.
    ///
    /// # Errors
    /// Fails only if SQLite itself cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?, Path::new(":memory:"))
    }

    fn prepare(mut conn: Connection, path: &Path) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::apply(&mut conn, path)?;
        let checkpointer = if path == Path::new(":memory:") {
            None
        } else {
            Some(Arc::new(Checkpointer::start(&conn, path)?))
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the database thread: {e}"),
            })?;
        Ok(Self {
            jobs,
            path: path.to_path_buf(),
            _checkpointer: checkpointer,
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the connection thread, after the operations asked for
    /// before it.
    ///
    /// # Errors
    /// Returns `f`'s error, or [`StoreError::Cancelled`] if the connection thread is gone.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|_| StoreError::Cancelled)?;
        rx.await.map_err(|_| StoreError::Cancelled)?
    }

    /// Runs `f` with the connection and waits for it on the current thread, for synchronous
    /// callers (never from inside an async task).
    ///
    /// # Errors
    /// Returns `f`'s error, or [`StoreError::Cancelled`] if the connection thread is gone.
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|_| StoreError::Cancelled)?;
        rx.recv().map_err(|_| StoreError::Cancelled)?
    }

    /// Checks that the database answers a trivial query.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
        .await
    }
}

/// The current time as Unix seconds.
#[must_use]
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows committed on the connection thread reach the database file itself (not only the
    /// write-ahead log) by the checkpoint thread, and the serving connection never checkpoints.
    #[tokio::test]
    async fn the_log_is_checkpointed_off_the_connection_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let store = Store::open(&path).unwrap();
        let autocheckpoint: i64 = store
            .call(|c| Ok(c.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(autocheckpoint, 0);
        store
            .call(|c| {
                c.execute_batch("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('committed');")?;
                Ok(())
            })
            .await
            .unwrap();
        // A copy of the main file alone (without its -wal) holds the row once checkpointed.
        let copy = dir.path().join("copy.db");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            std::fs::copy(&path, &copy).unwrap();
            let found = Connection::open(&copy)
                .and_then(|c| c.query_row("SELECT v FROM t", [], |r| r.get::<_, String>(0)))
                .ok();
            if found.as_deref() == Some("committed") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the row never reached the database file"
            );
            tokio::time::sleep(CHECKPOINT_EVERY).await;
        }
    }
}
