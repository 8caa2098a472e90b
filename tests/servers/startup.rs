//! MCP server processes started at the same instant on a database that does not exist yet.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::deployment::free_ports;

/// Starts `pairs` pairs of `notion-mcp` and `gcal-mcp` processes together on one new database
/// and waits until every one answers `/readyz`; panics with a server's stderr when it exits or
/// never gets ready.
async fn start_together_on_a_new_database(pairs: usize) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, value: &str| {
        std::fs::write(dir.path().join(name), value).expect("write a secret file");
    };
    write("seal.key", &"5e".repeat(32));
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("seal.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .expect("a private seal key");
    }
    for name in ["notion-id", "notion-secret", "google-id", "google-secret"] {
        write(name, name);
    }
    let mut configs = Vec::new();
    for pair in 0..pairs {
        let [np, gp] = free_ports();
        let config = format!(
            r#"[store]
path = "data/new.db"
seal_key_file = "seal.key"

[notion_mcp]
listen = "127.0.0.1:{np}"
public_url = "http://127.0.0.1:{np}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"

[gcal_mcp]
listen = "127.0.0.1:{gp}"
public_url = "http://127.0.0.1:{gp}"
client_id_file = "google-id"
client_secret_file = "google-secret"
"#
        );
        let path = dir.path().join(format!("servers-{pair}.toml"));
        std::fs::write(&path, config).expect("write the config");
        configs.push((path, np, gp));
    }
    let start = |command: &str, config: &std::path::Path| -> Child {
        Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .arg(command)
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start a server")
    };
    let mut servers = Vec::new();
    for (config, np, gp) in &configs {
        servers.push(("notion-mcp", start("notion-mcp", config), *np));
        servers.push(("gcal-mcp", start("gcal-mcp", config), *gp));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (name, child, port) in &mut servers {
        let ready = format!("http://127.0.0.1:{port}/readyz");
        loop {
            if let Ok(r) = reqwest::get(&ready).await
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut stderr).await;
                }
                panic!("{name} exited with {status}: {stderr}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} never became ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The race itself (two connections switching a new file to WAL) is reproduced in-process by
/// the store's own test; here the real processes show it is gone.
#[tokio::test]
async fn two_servers_opening_a_new_store_at_once_both_start() {
    for _ in 0..3 {
        start_together_on_a_new_database(1).await;
    }
}
