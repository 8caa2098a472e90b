use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/gw/mcp-gateway.toml"))
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = parse("").expect("an empty file is valid");
    assert_eq!(c.model.provider, Provider::Ollama);
    assert_eq!(c.model.base_url.as_str(), "http://127.0.0.1:11434/");
    assert_eq!(c.model.name, "qwen2.5:7b");
    assert_eq!(c.model.num_ctx, 16384);
    assert_eq!(c.model.request_timeout, Duration::from_secs(120));
    assert_eq!(c.store.path, Path::new("/etc/gw/data/mcp-gateway.db"));
    assert_eq!(c.store.seal_key_file, Path::new("/etc/gw/secrets/seal.key"));
    assert_eq!(c.agent.max_tool_rounds, 6);
    assert_eq!(c.agent.tool_selection, ToolSelection::Auto);
    assert_eq!(c.agent.max_offered_tools, 12);
    assert_eq!(c.agent.time_zone, chrono_tz::Tz::UTC);
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:18789");
    assert_eq!(c.http.public_url.as_str(), "http://127.0.0.1:18789/");
    assert_eq!(c.notion_mcp.resource_url(), "http://127.0.0.1:8000/mcp");
    assert_eq!(c.gcal_mcp.resource_url(), "http://127.0.0.1:8001/mcp");
    assert!(c.channels.telegram.is_none() && c.channels.slack.is_none());
}

#[test]
fn unknown_key_names_the_section_key_and_line() {
    let err = parse("[model]\nname = \"x\"\nnum_ctxx = 5\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/etc/gw/mcp-gateway.toml: "), "{err}");
    assert!(err.contains("[model].num_ctxx"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn unknown_section_is_an_error() {
    let err = parse("[modle]\nname = \"x\"\n").unwrap_err().to_string();
    assert!(err.contains("modle"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let err = parse("[agent]\nmax_tool_rounds = \"six\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("[agent].max_tool_rounds"), "{err}");
}

#[test]
fn server_keys_are_named_with_their_index() {
    let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://x/mcp\"\n[[servers]]\nname = \"b\"\nurll = \"http://y\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("[[servers]][1].urll"), "{err}");
}

#[test]
fn out_of_range_values_are_all_reported() {
    let err =
        parse("[model]\nnum_ctx = 0\nprovider = \"claude\"\n[agent]\ntool_selection = \"some\"\n")
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("[model].num_ctx: must be between 512"),
        "{err}"
    );
    assert!(
        err.contains("[model].provider: `claude` is not one of"),
        "{err}"
    );
    assert!(err.contains("[agent].tool_selection"), "{err}");
}

#[test]
fn the_agent_time_zone_is_an_iana_name() {
    let c = parse("[agent]\ntime_zone = \"Europe/Berlin\"\n").expect("valid");
    assert_eq!(c.agent.time_zone, chrono_tz::Europe::Berlin);
    let err = parse("[agent]\ntime_zone = \"CEST+1\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[agent].time_zone: `CEST+1` is not a time zone"),
        "{err}"
    );
}

#[test]
fn missing_secret_file_is_named() {
    let err = parse("[channels.telegram]\ntoken_file = \"tg\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[channels.telegram].token_file: file /etc/gw/tg does not exist"),
        "{err}"
    );
}

#[test]
fn duplicate_and_invalid_server_names_are_rejected() {
    let err = parse(
        "[[servers]]\nname = \"a\"\nurl = \"http://x/mcp\"\n[[servers]]\nname = \"a\"\nurl = \"http://x/mcp\"\n[[servers]]\nname = \"B_\"\nurl = \"http://x/mcp\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("[[servers]][1].name: `a` is used by an earlier server"),
        "{err}"
    );
    assert!(err.contains("[[servers]][2].name"), "{err}");
}

#[test]
fn the_assistant_server_name_is_reserved_and_schedule_limits_are_checked() {
    let err = parse(
        "[agent]\ntask_grace_secs = 0\nmax_scheduled = 0\n[[servers]]\nname = \"assistant\"\nurl = \"http://x/mcp\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("[[servers]][0].name: `assistant` is reserved"),
        "{err}"
    );
    assert!(
        err.contains("[agent].task_grace_secs: must be between 1"),
        "{err}"
    );
    assert!(
        err.contains("[agent].max_scheduled: must be between 1"),
        "{err}"
    );
    let c = parse("").unwrap();
    assert_eq!(c.agent.task_grace, std::time::Duration::from_secs(3600));
    assert_eq!(c.agent.max_scheduled, 50);
}

#[test]
fn servers_parse_with_auth_and_lists() {
    let c = parse(
        "[[servers]]\nname = \"notion\"\nurl = \"http://127.0.0.1:8000/mcp\"\nauth = \"oauth\"\ndeny_tools = [\"delete_block\"]\n",
    )
    .unwrap();
    let s = c.server("notion").unwrap();
    assert_eq!(s.auth, ServerAuth::OAuth);
    assert!(s.permits("search"));
    assert!(!s.permits("delete_block"));
}

#[test]
fn invalid_toml_reports_the_line() {
    let err = parse("[model]\nname = \n").unwrap_err().to_string();
    assert!(err.contains("not valid TOML"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_source_prefers_flag_then_env_then_the_default() {
    assert_eq!(
        resolve_source(Some(Path::new("a.toml")), Some("b.toml")),
        Source::Named("a.toml".into())
    );
    assert_eq!(
        resolve_source(None, Some("b.toml")),
        Source::Named("b.toml".into())
    );
    assert_eq!(resolve_source(None, None), Source::Default);
    assert_eq!(resolve_source(None, Some("")), Source::Default);
}

#[test]
fn a_named_file_that_does_not_exist_is_an_error_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = Config::load_source(&Source::Named(missing.clone()), None).unwrap_err();
    let shown = format!("{:#}", anyhow::Error::from(err));
    assert!(
        shown.contains("nope.toml: cannot read the configuration file"),
        "{shown}"
    );
    assert_eq!(shown.matches("os error 2").count(), 1, "{shown}");
    let err = Config::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn the_embedded_defaults_live_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::defaults(dir.path(), None).unwrap();
    assert_eq!(c.origin, Origin::Defaults(dir.path().to_path_buf()));
    assert_eq!(c.store.path, dir.path().join("data/mcp-gateway.db"));
    assert_eq!(c.store.seal_key_file, dir.path().join("secrets/seal.key"));
    assert_eq!(c.model.base_url.as_str(), "http://127.0.0.1:11434/");
    assert!(c.servers.is_empty());
    assert!(c.channels.telegram.is_none() && c.channels.slack.is_none());
    assert!(c.origin.to_string().contains("embedded defaults"));
}

#[test]
fn ollama_host_is_read_as_ollama_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = |host: &str| {
        Config::defaults(dir.path(), Some(host))
            .unwrap()
            .model
            .base_url
            .to_string()
    };
    assert_eq!(url("127.0.0.1:9"), "http://127.0.0.1:9/");
    assert_eq!(url("gpu-box"), "http://gpu-box:11434/");
    assert_eq!(url(":11500"), "http://127.0.0.1:11500/");
    assert_eq!(url("0.0.0.0"), "http://0.0.0.0:11434/");
    assert_eq!(
        url("https://ollama.example.org"),
        "https://ollama.example.org/"
    );
    assert_eq!(url("http://gpu-box"), "http://gpu-box/");
    assert_eq!(
        url("http://gpu-box:8080/prefix"),
        "http://gpu-box:8080/prefix"
    );
    assert_eq!(url("[::1]:11434"), "http://[::1]:11434/");
    assert_eq!(url("  "), "http://127.0.0.1:11434/");
    let err = Config::defaults(dir.path(), Some("ftp://x y"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("$OLLAMA_HOST"), "{err}");
}

#[test]
fn public_url_defaults_follow_listen() {
    let c = parse("[http]\nlisten = \"0.0.0.0:9999\"\n").unwrap();
    assert_eq!(c.http.public_url.as_str(), "http://0.0.0.0:9999/");
}

#[test]
fn model_server_waiting_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.model.connect_timeout, Duration::from_secs(5));
    assert_eq!(c.model.first_byte_timeout, Duration::from_secs(300));
    assert_eq!(c.model.idle_timeout, Duration::from_secs(120));
    assert_eq!(c.model.parallel, 1);
    assert_eq!(c.model.queue_notice, Duration::from_secs(4));
    assert!(!c.model.think);
    assert_eq!(c.model.keep_alive, None);
    // Without its own key, the silence between chunks is bounded by request_timeout_secs.
    let c = parse("[model]\nrequest_timeout_secs = 30\n").unwrap();
    assert_eq!(c.model.idle_timeout, Duration::from_secs(30));
    let c = parse(
        "[model]\nrequest_timeout_secs = 30\nidle_timeout_secs = 90\nfirst_byte_timeout_secs = 600\nconnect_timeout_secs = 2\nparallel = 4\nqueue_notice_secs = 10\nthink = true\n",
    )
    .unwrap();
    assert_eq!(c.model.idle_timeout, Duration::from_secs(90));
    assert_eq!(c.model.first_byte_timeout, Duration::from_secs(600));
    assert_eq!(c.model.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.model.parallel, 4);
    assert_eq!(c.model.queue_notice, Duration::from_secs(10));
    assert!(c.model.think);
    let err = parse("[model]\nparallel = 0\nfirst_byte_timeout_secs = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[model].parallel: must be between 1 and 64"),
        "{err}"
    );
    assert!(err.contains("[model].first_byte_timeout_secs"), "{err}");
}

#[test]
fn keep_alive_is_read_the_way_ollama_reads_it() {
    let keep = |value: &str| {
        parse(&format!("[model]\nkeep_alive = {value}\n")).map(|c| c.model.keep_alive)
    };
    assert_eq!(keep("-1").unwrap(), Some(KeepAlive::Seconds(-1.0)));
    assert_eq!(keep("1.5").unwrap(), Some(KeepAlive::Seconds(1.5)));
    assert_eq!(keep("\"3600\"").unwrap(), Some(KeepAlive::Seconds(3600.0)));
    assert_eq!(
        keep("\"24h\"").unwrap(),
        Some(KeepAlive::Duration("24h".into()))
    );
    let err = keep("\"1d\"").unwrap_err().to_string();
    assert!(err.contains("[model].keep_alive"), "{err}");
    assert!(
        err.contains(r#"time: unknown unit "d" in duration "1d""#),
        "{err}"
    );
    assert!(err.contains("\"24h\""), "the fix is named: {err}");
    let err = keep("true").unwrap_err().to_string();
    assert!(err.contains("[model].keep_alive"), "{err}");
}

#[test]
fn limits_have_safe_defaults_and_are_checked() {
    let c = parse("").expect("defaults");
    assert_eq!(c.http.limits, ListenerLimits::default());
    assert_eq!(c.notion_mcp.listener, ListenerLimits::default());
    assert_eq!(c.gcal_mcp.limits, AuthLimits::default());
    let dir = tempfile::tempdir().unwrap();
    for name in ["id", "secret"] {
        std::fs::write(dir.path().join(name), "x").unwrap();
    }
    let c = Config::parse(
        "[http]\nheader_timeout_secs = 5\nidle_timeout_secs = 30\nmax_connections = 100\n\
         [gcal_mcp]\nclient_id_file = \"id\"\nclient_secret_file = \"secret\"\n\
         register_per_minute = 3\nmax_sessions_per_grant = 2\nallow_private_client_documents = true\n",
        &dir.path().join("gw.toml"),
    )
    .expect("valid limits");
    assert_eq!(c.http.limits.header_timeout, Duration::from_secs(5));
    assert_eq!(c.http.limits.max_connections, 100);
    assert_eq!(c.gcal_mcp.limits.register.per_minute, 3);
    assert_eq!(c.gcal_mcp.limits.sessions.per_grant, 2);
    assert!(c.gcal_mcp.limits.allow_private_client_documents);
    let err = parse(
        "[http]\nheader_timeout_secs = 30\nidle_timeout_secs = 10\n[notion_mcp]\nmax_pending = 0\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("[http].idle_timeout_secs: must be at least header_timeout_secs"),
        "{err}"
    );
    assert!(
        err.contains("[notion_mcp].max_pending: must be between 1 and"),
        "{err}"
    );
}

#[test]
fn mcp_servers_budget_their_upstream_requests() {
    let c = parse("").expect("defaults");
    // Notion allows a connection about three requests per second; Google gets no budget.
    assert_eq!(c.notion_mcp.requests_per_second, 3);
    assert_eq!(c.gcal_mcp.requests_per_second, 0);
    assert_eq!(c.notion_mcp.tool_timeout, Duration::from_secs(50));
    let dir = tempfile::tempdir().expect("temporary folder");
    for name in ["id", "secret"] {
        std::fs::write(dir.path().join(name), name).expect("write a secret file");
    }
    let section = "[notion_mcp]\nclient_id_file = \"id\"\nclient_secret_file = \"secret\"\n";
    let file = dir.path().join("gw.toml");
    let c = Config::parse(
        &format!("{section}requests_per_second = 0\ntool_timeout_secs = 20\n"),
        &file,
    )
    .expect("valid");
    assert_eq!(c.notion_mcp.requests_per_second, 0);
    assert_eq!(c.notion_mcp.tool_timeout, Duration::from_secs(20));
    let err = Config::parse(&format!("{section}requests_per_second = -1\n"), &file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[notion_mcp].requests_per_second"), "{err}");
}

#[test]
fn the_revocation_endpoint_sits_beside_the_token_endpoint_unless_named() {
    let c = parse("").expect("valid");
    assert_eq!(
        c.gcal_mcp.revoke_url.as_str(),
        "https://oauth2.googleapis.com/revoke"
    );
    assert_eq!(
        c.notion_mcp.revoke_url.as_str(),
        "https://api.notion.com/v1/oauth/revoke"
    );
    assert!(!c.gcal_mcp.configured && !c.notion_mcp.configured);
    let dir = tempfile::tempdir().expect("a folder");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "x").expect("a secret file");
    let files = format!(
        "client_id_file = {0:?}\nclient_secret_file = {0:?}\n",
        secret.display().to_string()
    );
    let c = parse(&format!(
        "[gcal_mcp]\ntoken_url = \"http://127.0.0.1:9/o/token\"\n{files}"
    ))
    .expect("valid");
    assert_eq!(
        c.gcal_mcp.revoke_url.as_str(),
        "http://127.0.0.1:9/o/revoke"
    );
    assert!(c.gcal_mcp.configured);
    let err = parse(&format!(
        "[notion_mcp]\ntoken_url = \"https://x.example/exchange\"\n{files}"
    ))
    .expect_err("no revocation endpoint can be worked out");
    assert!(err.to_string().contains("[notion_mcp].revoke_url"), "{err}");
    let c = parse(&format!(
        "[notion_mcp]\ntoken_url = \"https://x.example/exchange\"\nrevoke_url = \"https://x.example/end\"\n{files}"
    ))
    .expect("valid");
    assert_eq!(c.notion_mcp.revoke_url.as_str(), "https://x.example/end");
}

#[test]
fn admins_are_read_and_checked_per_channel() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tg", "app", "bot"] {
        std::fs::write(dir.path().join(name), "x-token\n").unwrap();
    }
    let config = |telegram: &str, slack: &str| {
        format!(
            "[channels.telegram]\ntoken_file = \"tg\"\n{telegram}\n[channels.slack]\napp_token_file = \"app\"\nbot_token_file = \"bot\"\n{slack}\n"
        )
    };
    let path = dir.path().join("gw.toml");
    let c = Config::parse(
        &config("admins = [42, 7]", "admins = [\"U0123ABCD\", \"W1\"]"),
        &path,
    )
    .unwrap();
    assert_eq!(c.channels.telegram.unwrap().admins, vec![42, 7]);
    assert_eq!(c.channels.slack.unwrap().admins, vec!["U0123ABCD", "W1"]);
    let c = Config::parse(&config("", ""), &path).unwrap();
    assert!(c.channels.telegram.unwrap().admins.is_empty());
    assert!(c.channels.slack.unwrap().admins.is_empty());

    let err = Config::parse(&config("admins = [-100123]", "admins = [\"C0123\"]"), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[channels.telegram].admins: `-100123` is not a Telegram user id"),
        "{err}"
    );
    assert!(
        err.contains("[channels.slack].admins: `C0123` is not a Slack user id"),
        "{err}"
    );
}

#[test]
fn alerting_is_on_when_its_section_is_present_and_its_token_file_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    assert!(Config::parse("", &path).unwrap().alerting.is_none());
    let err = Config::parse("[alerting]\n", &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[alerting].webhook_token_file: file ")
            && err.contains("secrets/alertmanager-token does not exist"),
        "{err}"
    );
    std::fs::write(dir.path().join("am-token"), "t0ken\n").unwrap();
    let c = Config::parse("[alerting]\nwebhook_token_file = \"am-token\"\n", &path).unwrap();
    assert_eq!(
        c.alerting.unwrap().webhook_token_file,
        dir.path().join("am-token")
    );
    let err = Config::parse("[alerting]\ntoken = \"x\"\n", &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[alerting].token"), "{err}");
}
