//! `mcp-gateway backup restore FILE` on a real backup of the MCP servers' database, with a
//! connected upstream account sealed in it: refused while the servers run, for a corrupt file, a
//! newer schema and another seal key, each leaving the current database as it was; then restored,
//! the previous database kept, and the servers serve the restored accounts; then, after a change,
//! refused while `serve` runs, and restored again once it stopped, the change gone.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::deployment::{Deployment, OAuthClient, free_ports, initialize};

fn mcp_gateway(config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run mcp-gateway")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Restores `file` with `config` and asserts that it was refused with one error line holding
/// `check`, and that `current` kept its bytes and no `.before-restore` appeared.
fn assert_refused(config: &Path, file: &Path, current: &Path, check: &str) {
    assert_refused_keeping(config, file, current, check);
    assert!(
        !before_restore(current).exists(),
        "{check}: nothing is moved aside"
    );
}

/// Restores `file` with `config` and asserts that it was refused with one error line holding
/// `check`, and that neither `current` nor its `.before-restore` changed.
fn assert_refused_keeping(config: &Path, file: &Path, current: &Path, check: &str) {
    let kept = std::fs::read(before_restore(current)).ok();
    let before = std::fs::read(current).expect("the current database");
    assert_one_line_refusal(config, file, check);
    assert_eq!(
        std::fs::read(current).expect("the current database"),
        before,
        "{check}: the current database changed"
    );
    assert_eq!(
        std::fs::read(before_restore(current)).ok(),
        kept,
        "{check}: the kept database changed"
    );
}

/// Restores `file` with `config` while a process has `current` open and writes to it as it
/// likes: the restore must be refused by the running check, leave `current` the same file (not
/// replaced), and leave its `.before-restore` as it was. The bytes of a database in use are not
/// compared: the running process may write them at any moment.
fn assert_refused_while_running(config: &Path, file: &Path, current: &Path) {
    use std::os::unix::fs::MetadataExt;
    let check = "running check failed";
    let kept = std::fs::read(before_restore(current)).ok();
    let inode = std::fs::metadata(current)
        .expect("the current database")
        .ino();
    assert_one_line_refusal(config, file, check);
    assert_eq!(
        std::fs::metadata(current)
            .expect("the current database")
            .ino(),
        inode,
        "{check}: the current database was replaced"
    );
    assert_eq!(
        std::fs::read(before_restore(current)).ok(),
        kept,
        "{check}: the kept database changed"
    );
}

/// Restores `file` with `config` and asserts that it failed with one error line holding `check`.
fn assert_one_line_refusal(config: &Path, file: &Path, check: &str) {
    let out = mcp_gateway(
        config,
        &["backup", "restore", file.to_str().expect("a UTF-8 path")],
    );
    let err = stderr(&out);
    assert!(!out.status.success(), "{check}: restore succeeded: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{check}: one line: {err}");
    assert!(err.contains(check), "{check}: {err}");
}

fn before_restore(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.before-restore", path.display()))
}

/// A folder with the servers' configuration on `restored.db`, the seal key `key` and the fake
/// upstreams of `d`.
fn offline_setup(d: &Deployment, key: &str) -> (tempfile::TempDir, PathBuf, [u16; 2]) {
    let dir = tempfile::tempdir().expect("a folder");
    let original = d.database.parent().expect("the deployment's folder");
    let config =
        std::fs::read_to_string(original.join("servers.toml")).expect("the deployment's config");
    let ports = free_ports();
    let mut config = config.replace("path = \"shared.db\"", "path = \"restored.db\"");
    // Only the listening ports change: the public URLs, and so the tokens' audience, stay.
    for (old, new) in [
        (d.notion.base.as_str(), ports[0]),
        (d.gcal.base.as_str(), ports[1]),
    ] {
        let old_port = old.rsplit(':').next().expect("a port");
        config = config.replace(
            &format!("listen = \"127.0.0.1:{old_port}\""),
            &format!("listen = \"127.0.0.1:{new}\""),
        );
    }
    for name in ["notion-id", "notion-secret", "google-id", "google-secret"] {
        std::fs::copy(original.join(name), dir.path().join(name)).expect("copy a secret");
    }
    std::fs::write(dir.path().join("seal.key"), key).expect("write the key");
    std::fs::set_permissions(
        dir.path().join("seal.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("a private key");
    let path = dir.path().join("servers.toml");
    std::fs::write(&path, config).expect("write the config");
    (dir, path, ports)
}

#[tokio::test]
async fn restore_checks_a_backup_and_round_trips_it() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let tokens = client.connect().await;
    let access = tokens["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let config = d
        .database
        .parent()
        .expect("the deployment's folder")
        .join("servers.toml");
    let backups = tempfile::tempdir().expect("a folder");
    let out = mcp_gateway(
        &config,
        &["backup", "--dir", backups.path().to_str().expect("UTF-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let backup = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(backup.is_file(), "{}", backup.display());

    // The servers have the database open.
    assert_refused_while_running(&config, &backup, &d.database);
    assert!(
        !before_restore(&d.database).exists(),
        "nothing is moved aside while the servers run"
    );

    let (dir, offline, ports) = offline_setup(&d, &"5e".repeat(32));
    let current = dir.path().join("restored.db");
    // An older database to restore over: an empty one of this binary's schema.
    let out = mcp_gateway(&offline, &["backup", "--dir", "unused-backups"]);
    assert!(!out.status.success(), "no database yet: nothing to back up");
    {
        let mut empty = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .args(["notion-mcp", "--config"])
            .arg(&offline)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start notion-mcp");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !current.exists()
            || reqwest::get(format!("http://127.0.0.1:{}/healthz", ports[0]))
                .await
                .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "notion-mcp never started"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        empty.kill().expect("stop notion-mcp");
        empty.wait().expect("reap notion-mcp");
    }

    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not a database at all, just some bytes\n".repeat(200),
    )
    .expect("write garbage");
    assert_refused(&offline, &garbage, &current, "integrity check failed");

    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&backup).expect("the backup");
    let page = 4096;
    assert!(bytes.len() > 3 * page, "the backup has several pages");
    let end = bytes.len() - page;
    for b in &mut bytes[page..end] {
        *b = 0xA5;
    }
    std::fs::write(&damaged, &bytes).expect("write the damaged copy");
    assert_refused(&offline, &damaged, &current, "integrity check failed");

    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).expect("copy the backup");
    rusqlite::Connection::open(&newer)
        .expect("open the copy")
        .pragma_update(None, "user_version", 999)
        .expect("set a newer schema version");
    assert_refused(&offline, &newer, &current, "migration version check failed");

    let (other_dir, other_key, _) = offline_setup(&d, &"7a".repeat(32));
    std::fs::copy(&current, other_dir.path().join("restored.db")).expect("copy the database");
    assert_refused(
        &other_key,
        &backup,
        &other_dir.path().join("restored.db"),
        "seal key check failed",
    );

    let count_clients = |path: &Path| -> i64 {
        rusqlite::Connection::open(path)
            .expect("open a database")
            .query_row("SELECT count(*) FROM as_clients", [], |r| r.get(0))
            .expect("count clients")
    };
    let previous = count_clients(&current);
    let out = mcp_gateway(
        &offline,
        &["backup", "restore", backup.to_str().expect("UTF-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The previous database is kept whole (its write-ahead log folded in).
    assert_eq!(count_clients(&before_restore(&current)), previous);
    let accounts: i64 = rusqlite::Connection::open(&current)
        .expect("open the restored database")
        .query_row("SELECT count(*) FROM as_upstream_accounts", [], |r| {
            r.get(0)
        })
        .expect("count accounts");
    assert_eq!(accounts, 1, "the connected account came back");

    // The restored servers accept the token issued before the backup.
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["notion-mcp", "--config"])
        .arg(&offline)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start notion-mcp on the restored database");
    let resource = format!("http://127.0.0.1:{}/mcp", ports[0]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if reqwest::get(format!("http://127.0.0.1:{}/readyz", ports[0]))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            server.try_wait().expect("poll").is_none(),
            "notion-mcp exited"
        );
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = initialize(&resource, Some(&access)).await;
    assert_eq!(
        status, 200,
        "the token issued before the backup works again"
    );
    let (status, _) = initialize(&resource, Some("not-a-token-we-issued")).await;
    assert_eq!(status, 401);

    // A change after the backup: one more registered client, then the servers stop.
    let in_backup = count_clients(&backup);
    OAuthClient::register(&format!("http://127.0.0.1:{}", ports[0])).await;
    server.kill().await.expect("stop notion-mcp");
    assert_eq!(count_clients(&current), in_backup + 1);

    // A running gateway (`serve`) on the database refuses the restore.
    let mut gateway = serve(&offline, dir.path()).await;
    assert_refused_while_running(&offline, &backup, &current);
    gateway.kill().await.expect("stop serve");

    // Stopped, the backup comes back and the change is gone; the changed database is kept.
    let out = mcp_gateway(
        &offline,
        &["backup", "restore", backup.to_str().expect("UTF-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count_clients(&current), in_backup, "the old data is back");
    assert_eq!(count_clients(&before_restore(&current)), in_backup + 1);
}

/// Starts `serve` with the servers' configuration of `dir` plus a model server on a closed
/// port and `[http].listen`, and waits until it listens.
async fn serve(config: &Path, dir: &Path) -> tokio::process::Child {
    let [port, closed] = free_ports();
    let mut text = std::fs::read_to_string(config).expect("the config");
    text = format!(
        "[model]\nbase_url = \"http://127.0.0.1:{closed}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n{text}"
    );
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).expect("write the gateway's config");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start serve");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .is_err()
    {
        assert!(child.try_wait().expect("poll").is_none(), "serve exited");
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}
