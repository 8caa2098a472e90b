//! Online backups of the database with SQLite's backup API, keeping the newest N files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Store, StoreError};

/// The file name prefix of backups; the rest is a UTC timestamp and `.db`.
const PREFIX: &str = "mcp-gateway-";

/// Writes a consistent copy of the database into `dir` as `mcp-gateway-<yyyymmddTHHMMSSZ>.db`
/// while other processes keep writing, then deletes all but the newest `keep` backups.
///
/// Returns the new file's path.
///
/// # Errors
/// Fails when the folder cannot be created or the copy cannot be written; a partial copy is
/// removed.
pub fn backup_to(store: &Store, dir: &Path, keep: usize) -> Result<PathBuf, StoreError> {
    let io_err = |e: std::io::Error| StoreError::Open {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let target = dir.join(format!("{PREFIX}{stamp}.db"));
    let partial = dir.join(format!(".{PREFIX}{stamp}.db.partial"));
    let _ = std::fs::remove_file(&partial);
    let into = partial.clone();
    let result = store.call_blocking(move |conn| {
        let mut dst = rusqlite::Connection::open(&into)?;
        {
            let backup = rusqlite::backup::Backup::new(conn, &mut dst)?;
            backup.run_to_completion(256, Duration::from_millis(10), None)?;
        }
        dst.pragma_update(None, "journal_mode", "DELETE")?;
        Ok(())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &target).map_err(io_err)?;
    prune(dir, keep).map_err(io_err)?;
    Ok(target)
}

/// Deletes all but the newest `keep` backups in `dir` (names sort by time).
fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".db"))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(keep.max(1));
    for old in backups.into_iter().take(excess) {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;
    use crate::llm::Message;

    #[tokio::test]
    async fn backup_is_complete_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db/main.db")).unwrap();
        store
            .append_turn(
                &Principal::console("a"),
                "c",
                vec![(Message::user("kept"), 1)],
            )
            .await
            .unwrap();
        let out = dir.path().join("backups");
        std::fs::create_dir_all(&out).unwrap();
        for i in 0..3 {
            std::fs::write(out.join(format!("{PREFIX}2020010{i}T000000Z.db")), b"old").unwrap();
        }
        let path = backup_to(&store, &out, 2).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(left[0], format!("{PREFIX}20200102T000000Z.db").as_str());
        let copy = Store::open(&path).unwrap();
        let conv = copy
            .load_conversation(&Principal::console("a"), "c")
            .await
            .unwrap();
        assert_eq!(conv.messages[0].message.content, "kept");
    }
}
