//! Configuration checks, backups and doctor failures through the binary.

use super::common::{Setup, stderr, stdout};

/// An unknown key fails `check-config` with the file, the key, the problem and the line.
#[tokio::test]
async fn unknown_key_is_a_clear_error() {
    let setup = Setup::new("[model]\nname = \"qwen2.5:7b\"\nnum_ctxx = 8192\n");
    let out = setup.run(&["check-config"], "").await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&setup.config.display().to_string()), "{err}");
    assert!(err.contains("[model].num_ctxx"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

/// Every value problem is reported at once, each with its key.
#[tokio::test]
async fn all_value_problems_are_listed() {
    let setup = Setup::new(
        "[model]\nprovider = \"gpt\"\n[agent]\nmax_tool_rounds = 0\n[[servers]]\nname = \"x\"\nurl = \"ftp://nope\"\n",
    );
    let out = setup.run(&["check-config"], "").await;
    assert!(!out.status.success());
    let err = stderr(&out);
    for key in [
        "[model].provider",
        "[agent].max_tool_rounds",
        "[[servers]][0].url",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

/// A minimal file is valid; the missing seal key is only a note.
#[tokio::test]
async fn minimal_file_is_valid() {
    let setup = Setup::new("");
    let out = setup.run(&["check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(": ok"));
}

/// `doctor` says which file the seal key was expected in, and that the model server is down.
#[tokio::test]
async fn doctor_names_a_missing_seal_key_and_a_dead_model_server() {
    let setup = Setup::new("[model]\nbase_url = \"http://127.0.0.1:9\"\n");
    let out = setup.run(&["doctor"], "").await;
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("FAIL model server http://127.0.0.1:9"),
        "{text}"
    );
    assert!(text.contains("seal.key is missing"), "{text}");
}

/// `backup` copies the database online into a dated file and keeps the newest N.
#[tokio::test]
async fn backup_writes_a_dated_copy() {
    let setup = Setup::new("");
    mcp_gateway::store::Store::open(&setup.path("data/mcp-gateway.db")).expect("create database");
    let dir = setup.path("backups");
    let dir_arg = dir.display().to_string();
    let out = setup
        .run(&["backup", "--dir", &dir_arg, "--keep", "2"], "")
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let name = std::path::Path::new(printed.trim())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("mcp-gateway-") && name.ends_with("Z.db"),
        "{name}"
    );
    mcp_gateway::store::Store::open(std::path::Path::new(printed.trim()))
        .expect("the backup opens");
}
