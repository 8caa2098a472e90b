//! SQLite storage shared by every component: one file, WAL mode, migrations in one place.
//!
//! A [`Store`] owns one connection on a dedicated thread that runs operations one after another
//! in the order they were asked for, so async code never blocks on disk and a burst of requests
//! costs queueing, not a thread per request. Writes asked for with [`Store::write`] that are
//! queued one behind the other share one transaction (group commit), each inside a savepoint of
//! its own, and each caller hears back only once that transaction is committed: under a burst
//! the cost of committing is paid once for many writes. Several processes (the gateway and both
//! MCP servers) may open the same file, a new one too, at the same moment; WAL, a busy timeout
//! and migrations that run one process at a time let them share it. Each component owns its
//! tables (see [`migrations`]); secrets inside rows are sealed with [`seal::Sealer`]. A second
//! thread checkpoints the write-ahead log so that operations never wait for it. While a process
//! has the file open it holds the shared lock of `<path>.lock` ([`in_use`]), which
//! `backup restore` needs exclusively.

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod conversation;
pub(crate) mod history;
pub(crate) mod in_use;
mod migrations;
mod recent;
pub mod schedule;
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
/// The most writes that share one transaction.
const MAX_GROUP: usize = 64;

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
    /// The transaction a write shared with others could not be started or committed, so the
    /// write was not kept.
    #[error("database error: the write was not committed: {0}")]
    NotCommitted(String),
}

/// One operation for the connection thread.
enum Job {
    /// Runs on its own, with the connection to itself.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Runs inside a transaction it may share with the writes queued right behind it.
    Write(WriteJob),
}

/// A write for the connection thread; given no connection, it does not run and only answers.
type WriteJob = Box<dyn FnOnce(Option<&Connection>) -> Written + Send>;

/// What a write did inside the shared transaction.
struct Written {
    /// Whether it succeeded (otherwise its savepoint is rolled back).
    ok: bool,
    /// Tells the caller, once the transaction's outcome is known.
    reply: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// A handle to the database; cheap to clone. The connection closes when the last handle is
/// dropped and the operations already asked for have run.
#[derive(Debug, Clone)]
pub struct Store {
    jobs: std::sync::mpsc::Sender<Job>,
    path: PathBuf,
    /// The conversations used lately; changed only on the connection thread.
    recent: Arc<parking_lot::Mutex<recent::Recent>>,
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
    fn start(
        serving: &Connection,
        path: &Path,
        in_use: Option<Arc<in_use::Shared>>,
    ) -> Result<Self, StoreError> {
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
                // A failure is logged once, not on every attempt, until a checkpoint succeeds.
                let mut failing = false;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        Err(e) if !failing => {
                            tracing::warn!(error = %e, "write-ahead log checkpoint failed; retrying quietly until it succeeds");
                            failing = true;
                        }
                        Err(_) => {}
                        Ok(()) if failing => {
                            tracing::info!("write-ahead log checkpoints succeed again");
                            failing = false;
                        }
                        Ok(()) => {}
                    }
                }
                drop(conn);
                drop(in_use);
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Self { _stop: stop })
    }
}

/// Commits one write (the schema version, unchanged), so that a database that can be read but
/// not written fails at start rather than on the first thing a person does.
fn check_writable(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let probe = || -> rusqlite::Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let written = conn
            .pragma_update(None, "user_version", version)
            .and_then(|()| conn.execute_batch("COMMIT"));
        if written.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        written
    };
    probe().map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        reason: format!(
            "it cannot be written ({e}); make the file, its -wal and -shm files and its folder writable by the user mcp-gateway runs as"
        ),
    })
}

/// How long to wait between two attempts to switch a new database to WAL.
const WAL_RETRY: Duration = Duration::from_millis(10);

/// Puts the database in WAL mode, waiting (up to [`BUSY_TIMEOUT`]) while another connection is
/// doing the same. Switching a new database to WAL reads its header and then takes the write
/// lock; when two processes do it at once, each holds the read lock the other needs, and SQLite
/// answers "database is locked" at once instead of calling the busy handler (which would
/// deadlock). Trying again after the other one finished finds the file in WAL mode already.
fn use_wal(conn: &Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(WAL_RETRY);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `error` is SQLite's "database is locked" (or busy) answer.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Store {
    /// Opens (creating it and its folder when missing) and migrates the database at `path`.
    ///
    /// # Errors
    /// Fails when the file cannot be created, opened or written, or was written by a newer
    /// version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_err(e.to_string()))?;
        }
        let in_use = in_use::Shared::take(path).map_err(|e| open_err(e.to_string()))?;
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        Self::prepare(conn, path, Some(Arc::new(in_use)))
    }

    /// Opens a private in-memory database, for tests and dry runs.
    ///
    /// # Errors
    /// Fails only if SQLite itself cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?, Path::new(":memory:"), None)
    }

    /// Sets up `conn` and starts its threads; each thread keeps `in_use` (the file's shared
    /// lock) until its own connection has closed.
    fn prepare(
        mut conn: Connection,
        path: &Path,
        in_use: Option<Arc<in_use::Shared>>,
    ) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        use_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::apply(&mut conn, path)?;
        if path != Path::new(":memory:") {
            check_writable(&conn, path)?;
        }
        let checkpointer = if path == Path::new(":memory:") {
            None
        } else {
            Some(Arc::new(Checkpointer::start(&conn, path, in_use.clone())?))
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                serve(&mut conn, &queue);
                drop(conn);
                drop(in_use);
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the database thread: {e}"),
            })?;
        Ok(Self {
            jobs,
            path: path.to_path_buf(),
            recent: Arc::default(),
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
            .send(Job::Run(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            })))
            .map_err(|_| StoreError::Cancelled)?;
        rx.await.map_err(|_| StoreError::Cancelled)?
    }

    /// Queues the write `f` for the connection thread (at once, behind the operations asked for
    /// before it); the returned future resolves once the transaction it ran in is committed.
    ///
    /// The transaction may be shared with other writes queued at the same moment (see the module
    /// documentation), so `f` must not begin or end transactions itself, nor leave a deferred
    /// constraint violated (that would fail the commit of every write sharing it); it runs inside
    /// a savepoint of its own, and a failing `f` undoes only its own changes.
    ///
    /// # Errors
    /// Returns `f`'s error, [`StoreError::NotCommitted`] when the transaction could not be
    /// committed, or [`StoreError::Cancelled`] if the connection thread is gone.
    pub fn write<T, F>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_then(f, |value| value)
    }

    /// As [`Store::write`]; once the write is committed, `committed` turns its result into the
    /// caller's on the connection thread, before any later operation runs, so that in-memory
    /// state it updates agrees with the database for every later operation.
    ///
    /// # Errors
    /// As [`Store::write`]; `committed` runs only when the write was committed.
    pub fn write_then<T, U, F, C>(
        &self,
        f: F,
        committed: C,
    ) -> impl Future<Output = Result<U, StoreError>> + Send + use<T, U, F, C>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        C: FnOnce(T) -> U + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let queued = self
            .jobs
            .send(Job::Write(Box::new(move |conn| {
                let result = conn.map(f);
                Written {
                    ok: matches!(result, Some(Ok(_))),
                    reply: Box::new(move |outcome| {
                        let _ = tx.send(match (result, outcome) {
                            (Some(Err(e)), _) | (_, Err(e)) => Err(e),
                            (Some(Ok(value)), Ok(())) => Ok(committed(value)),
                            (None, Ok(())) => Err(StoreError::Cancelled),
                        });
                    }),
                }
            })))
            .map_err(|_| StoreError::Cancelled);
        async move {
            queued?;
            rx.await.map_err(|_| StoreError::Cancelled)?
        }
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
            .send(Job::Run(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            })))
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

/// The connection thread: runs the jobs in order until every [`Store`] handle is gone, grouping
/// consecutive writes into shared transactions.
fn serve(conn: &mut Connection, queue: &std::sync::mpsc::Receiver<Job>) {
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Run(run) => run(conn),
            Job::Write(first) => {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Write(write)) => group.push(write),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                write_group(conn, group);
            }
        }
    }
}

/// Runs `group` in one transaction, each write in a savepoint, and tells every caller the
/// outcome once the transaction is committed (or could not be).
fn write_group(conn: &Connection, group: Vec<WriteJob>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let reason = e.to_string();
        for write in group {
            (write(None).reply)(Err(StoreError::NotCommitted(reason.clone())));
        }
        return;
    }
    // A savepoint that could not be ended leaves the transaction in doubt: nothing is kept.
    let mut doubt: Option<String> = None;
    let mut replies = Vec::with_capacity(group.len());
    for write in group {
        if let Err(e) = exec_cached(conn, "SAVEPOINT write") {
            replies.push((write(None), Some(e.to_string())));
            continue;
        }
        let written = write(Some(conn));
        let ended = if written.ok {
            exec_cached(conn, "RELEASE write")
        } else {
            exec_cached(conn, "ROLLBACK TO write").and_then(|()| exec_cached(conn, "RELEASE write"))
        };
        if let Err(e) = ended {
            doubt.get_or_insert_with(|| e.to_string());
        }
        replies.push((written, None));
    }
    let committed = match doubt {
        Some(reason) => Err(reason),
        None => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
    };
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for (written, refused) in replies {
        let outcome = match (refused, &committed) {
            (Some(reason), _) => Err(reason),
            (None, Err(reason)) => Err(reason.clone()),
            (None, Ok(())) => Ok(()),
        };
        (written.reply)(outcome.map_err(StoreError::NotCommitted));
    }
}

/// Executes one cached statement without parameters.
fn exec_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The current time as Unix seconds.
#[must_use]
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A database that opens but cannot be written is refused with what to fix (the file is
    /// opened read-only here, as SQLite does by itself with a file it may not write).
    #[test]
    fn a_database_that_cannot_be_written_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        drop(Store::open(&path).unwrap());
        let writable = Connection::open(&path).unwrap();
        check_writable(&writable, &path).unwrap();
        let read_only =
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let err = check_writable(&read_only, &path).unwrap_err().to_string();
        assert!(err.contains("cannot be written"), "{err}");
        assert!(
            err.contains("writable by the user mcp-gateway runs as"),
            "{err}"
        );
    }

    /// Holds the connection thread until the returned sender is dropped, so that the writes
    /// queued meanwhile run as one group.
    pub(crate) fn hold(store: &Store) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let store = store.clone();
        std::thread::spawn(move || {
            store.call_blocking(move |_| {
                let _ = started.send(());
                let _ = held.recv();
                Ok(())
            })
        });
        running.recv().unwrap();
        release
    }

    #[test]
    fn a_new_database_opened_by_several_connections_at_once_opens_for_all() {
        // As when the gateway and both MCP servers start together on an empty volume.
        for round in 0..100 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("new.db");
            let start = Arc::new(std::sync::Barrier::new(6));
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    let (path, start) = (path.clone(), Arc::clone(&start));
                    std::thread::spawn(move || {
                        start.wait();
                        Store::open(&path).map(|_| ())
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().unwrap();
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        }
    }

    async fn rows(store: &Store) -> Vec<String> {
        store
            .call(|c| {
                let mut stmt = c.prepare("SELECT v FROM t ORDER BY rowid")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap()
    }

    fn insert(
        store: &Store,
        v: &'static str,
    ) -> impl Future<Output = Result<(), StoreError>> + use<> {
        store.write(move |c| {
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(())
        })
    }

    /// A failing write in a group undoes only its own changes; the others are committed and
    /// every caller hears its own outcome.
    #[tokio::test]
    async fn a_failing_write_undoes_only_itself() {
        let store = Store::open_in_memory().unwrap();
        store
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (v TEXT NOT NULL)")?))
            .await
            .unwrap();
        let release = hold(&store);
        let first = insert(&store, "first");
        let failing = store.write(|c| {
            c.execute("INSERT INTO t (v) VALUES ('half done')", [])?;
            c.execute("INSERT INTO t (v) VALUES (NULL)", [])?;
            Ok(())
        });
        let last = insert(&store, "last");
        drop(release);
        let (first, failing, last) = tokio::join!(first, failing, last);
        assert!(first.is_ok() && last.is_ok());
        assert!(matches!(failing, Err(StoreError::Sql(_))), "{failing:?}");
        assert_eq!(rows(&store).await, vec!["first", "last"]);
    }

    /// Writes queued together share one transaction: a write whose deferred constraint fails the
    /// commit takes the others of its group with it (which is why writes must not leave one
    /// violated), and a later write commits on its own.
    #[tokio::test]
    async fn writes_queued_together_share_one_commit() {
        let store = Store::open_in_memory().unwrap();
        store
            .call(|c| {
                Ok(c.execute_batch(
                    "CREATE TABLE t (v TEXT NOT NULL);
                     CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
                )?)
            })
            .await
            .unwrap();
        let release = hold(&store);
        let good = insert(&store, "grouped");
        let orphan = store.write(|c| {
            c.execute("INSERT INTO child (pid) VALUES (999)", [])?;
            Ok(())
        });
        drop(release);
        let (good, orphan) = tokio::join!(good, orphan);
        assert!(matches!(good, Err(StoreError::NotCommitted(_))), "{good:?}");
        assert!(
            matches!(orphan, Err(StoreError::NotCommitted(_))),
            "{orphan:?}"
        );
        assert!(rows(&store).await.is_empty());
        insert(&store, "alone").await.unwrap();
        assert_eq!(rows(&store).await, vec!["alone"]);
    }

    /// Writes keep their order with the other operations: one asked for after a write sees it.
    #[tokio::test]
    async fn operations_after_a_write_see_it() {
        let store = Store::open_in_memory().unwrap();
        store
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (v TEXT NOT NULL)")?))
            .await
            .unwrap();
        let release = hold(&store);
        let writes: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|v| insert(&store, v))
            .collect();
        let read = rows(&store);
        drop(release);
        let (written, seen) = tokio::join!(futures::future::join_all(writes), read);
        assert!(written.iter().all(Result::is_ok));
        assert_eq!(seen, vec!["a", "b", "c"]);
    }

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
