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

/// `doctor` prints the redirect URI to register with Google and with Notion for the configured
/// public URLs, exactly, and fails on one the provider would refuse (a raw LAN address, plain
/// http); the gateway's own callback is named as registered by the gateway itself.
#[tokio::test]
async fn doctor_prints_the_redirect_uris_to_register_and_refuses_what_google_would() {
    let secrets = "client_id_file = \"id\"\nclient_secret_file = \"secret\"\n";
    let setup = Setup::new(&format!(
        "[model]\nbase_url = \"http://127.0.0.1:9\"\n\
         [[servers]]\nname = \"gcal\"\nurl = \"https://gcal-mcp.example.org/mcp\"\nauth = \"oauth\"\n\
         [http]\npublic_url = \"https://assistant.example.org\"\n\
         [gcal_mcp]\npublic_url = \"https://gcal-mcp.example.org/\"\n{secrets}\
         [notion_mcp]\npublic_url = \"http://192.168.1.20:8000\"\n{secrets}"
    ));
    for name in ["id", "secret"] {
        std::fs::write(setup.dir.path().join(name), "x").expect("a secret file");
    }
    let out = setup.run(&["doctor"], "").await;
    let text = stdout(&out);
    assert!(
        text.contains(
            "ok   Google OAuth client (type \"Web application\"): register the redirect URI https://gcal-mcp.example.org/oauth/callback"
        ),
        "{text}"
    );
    assert!(
        text.contains("FAIL Notion public connection: the redirect URI http://192.168.1.20:8000/oauth/callback"),
        "{text}"
    );
    assert!(text.contains("https"), "{text}");
    assert!(
        text.contains("gateway callback https://assistant.example.org/oauth/callback"),
        "{text}"
    );
    assert!(
        text.contains("nothing to register at Google or Notion"),
        "{text}"
    );
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

/// A secret file that is empty, a folder or a named pipe is a `check-config` error saying what is
/// there (each cause once), and `serve` exits non-zero on it instead of starting.
#[tokio::test]
async fn unusable_secret_files_are_errors_and_stop_serve() {
    let setup = Setup::new(
        "[store]\nseal_key_file = \"seal.key\"\n[channels.telegram]\ntoken_file = \"token\"\npolicy = \"open\"\n",
    );
    std::fs::write(setup.path("seal.key"), "ab".repeat(32)).unwrap();
    private(&setup.path("seal.key"));
    std::fs::write(setup.path("token"), "\n").unwrap();
    let out = setup.run(&["check-config"], "").await;
    assert!(!out.status.success(), "an empty token file is accepted");
    let err = stderr(&out);
    assert!(err.contains("[channels.telegram].token_file"), "{err}");
    assert_eq!(err.matches("is empty").count(), 1, "{err}");
    let out = setup.run(&["serve"], "").await;
    assert!(
        !out.status.success(),
        "serve exits 0 on an empty token file"
    );
    assert_eq!(
        stderr(&out).matches("is empty").count(),
        1,
        "{}",
        stderr(&out)
    );

    std::fs::remove_file(setup.path("token")).unwrap();
    std::fs::create_dir(setup.path("token")).unwrap();
    let err = stderr(&setup.run(&["check-config"], "").await);
    assert!(err.contains("is a directory, not a regular file"), "{err}");

    std::fs::remove_dir(setup.path("token")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(setup.path("token"))
        .status()
        .unwrap();
    assert!(made.success());
    let err = stderr(&setup.run(&["check-config"], "").await);
    assert!(
        err.contains("is a named pipe (FIFO), not a regular file"),
        "{err}"
    );
    assert!(!err.contains("does not exist"), "{err}");
}

/// A seal key others may read is a `check-config` warning and a `doctor` failure; `serve` refuses a
/// key its group or every user may read, with the command that fixes it, unless
/// `[store].seal_key_group_readable` (the group) or `[store].allow_readable_seal_key` (anyone)
/// accepts it.
#[tokio::test]
async fn a_readable_seal_key_is_a_warning_and_refused_by_serve() {
    use std::os::unix::fs::PermissionsExt;
    let setup = Setup::new(
        "[model]\nbase_url = \"http://127.0.0.1:9\"\n[store]\nseal_key_file = \"seal.key\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
    );
    let key = setup.path("seal.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let chmod = |mode| std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode));
    chmod(0o644).unwrap();
    let out = setup.run(&["check-config"], "").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("warning: [store].seal_key_file")
            && text.contains("may be read by every user")
            && text.contains("chmod 600"),
        "{text}"
    );
    let doctor = stdout(&setup.run(&["doctor"], "").await);
    assert!(doctor.contains("FAIL [store].seal_key_file"), "{doctor}");
    let out = setup.run(&["serve"], "").await;
    assert!(!out.status.success(), "serve accepted a world-readable key");
    let err = stderr(&out);
    assert!(err.contains("chmod 600"), "{err}");
    assert_eq!(err.matches("may be read by every user").count(), 1, "{err}");

    chmod(0o640).unwrap();
    let text = stdout(&setup.run(&["check-config"], "").await);
    assert!(
        text.contains("may be read by its group") && text.contains("seal_key_group_readable"),
        "{text}"
    );
    let doctor = stdout(&setup.run(&["doctor"], "").await);
    assert!(doctor.contains("FAIL [store].seal_key_file"), "{doctor}");
    let out = setup.run(&["serve"], "").await;
    assert!(!out.status.success(), "serve accepted a group-readable key");
    let err = stderr(&out);
    assert_eq!(err.matches("may be read by its group").count(), 1, "{err}");
    assert!(err.contains("chmod 600"), "{err}");

    // Declared the service's own group, a group-readable key is accepted, a world-readable one not.
    let declared = std::fs::read_to_string(&setup.config)
        .unwrap()
        .replace("[store]\n", "[store]\nseal_key_group_readable = true\n");
    std::fs::write(&setup.config, declared).unwrap();
    let text = stdout(&setup.run(&["check-config"], "").await);
    assert!(text.contains("accepted because"), "{text}");
    let doctor = stdout(&setup.run(&["doctor"], "").await);
    assert!(!doctor.contains("FAIL [store].seal_key_file"), "{doctor}");
    chmod(0o644).unwrap();
    let out = setup.run(&["serve"], "").await;
    assert!(!out.status.success(), "serve accepted a world-readable key");
    assert!(
        stderr(&out).contains("may be read by every user"),
        "{}",
        stderr(&out)
    );
    chmod(0o600).unwrap();
    let text = stdout(&setup.run(&["check-config"], "").await);
    assert!(!text.contains("warning"), "{text}");

    chmod(0o644).unwrap();
    std::fs::write(
        &setup.config,
        "[store]\nseal_key_file = \"seal.key\"\nallow_readable_seal_key = true\n",
    )
    .unwrap();
    let text = stdout(&setup.run(&["check-config"], "").await);
    assert!(text.contains("accepted because"), "{text}");
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
