//! The pool against the FastMCP test server: bearer tokens, annotations, pagination, list
//! changes, errors, bounds and the call deadline.

use std::time::{Duration, Instant};

use mcp_gateway::config::ServerAuth;
use mcp_gateway::mcp::{McpPool, ToolError, ToolHost};
use serde_json::json;

use crate::common::{alice, args, catalog_until, names, options, pool, server, token_file};
use crate::mcp_peers::{FastMcpOptions, FastMcpServer};

const TOKEN: &str = "test-token-4f9a";

async fn protected() -> FastMcpServer {
    FastMcpServer::start(FastMcpOptions {
        token: Some(TOKEN.to_owned()),
        ..FastMcpOptions::default()
    })
    .await
}

#[tokio::test]
async fn the_right_bearer_token_works_and_annotations_become_hints() {
    let peer = protected().await;
    let (_dir, path) = token_file(TOKEN);
    let pool = pool(vec![server(
        "fast",
        &peer.url(),
        ServerAuth::Bearer { token_file: path },
    )]);

    let catalog = pool.catalog(&alice()).await;
    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
    assert_eq!(
        names(&catalog),
        [
            "fast_add",
            "fast_delete_note",
            "fast_whoami",
            "fast_slow",
            "fast_fail",
            "fast_structured",
            "fast_big",
            "fast_unlock_bonus"
        ]
    );
    let tool = |name: &str| {
        catalog
            .tools
            .iter()
            .find(|t| t.tool == name)
            .expect("tool listed")
    };
    let delete = tool("delete_note");
    assert!(delete.hints.destructive && !delete.hints.read_only);
    assert_eq!(delete.title.as_deref(), Some("Delete a note"));
    let add = tool("add");
    assert!(add.hints.read_only && add.hints.idempotent && !add.hints.destructive);
    assert_eq!(tool("whoami").hints, Default::default());

    let who = pool
        .call(&alice(), "fast", "whoami", args(json!({})))
        .await
        .expect("whoami");
    assert_eq!(who.text, "gateway-test-client");
    let sum = pool
        .call(&alice(), "fast", "add", args(json!({"a": 2, "b": 3})))
        .await
        .expect("add");
    assert_eq!(sum.text, "5");
    assert_eq!(sum.structured, Some(json!({"result": 5})));

    assert_eq!(pool.probe("fast").await.expect("probe"), 8);
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_naming_the_token_file() {
    let peer = protected().await;
    let (_dir, path) = token_file("not-the-token");
    let pool = pool(vec![server(
        "fast",
        &peer.url(),
        ServerAuth::Bearer {
            token_file: path.clone(),
        },
    )]);

    let catalog = pool.catalog(&alice()).await;
    assert!(catalog.tools.is_empty());
    let [(name, reason)] = catalog.unavailable.as_slice() else {
        panic!("{:?}", catalog.unavailable)
    };
    assert_eq!(name, "fast");
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains(&path.display().to_string()), "{reason}");
    assert!(
        !reason.contains("not-the-token"),
        "the token leaked: {reason}"
    );

    let error = pool.probe("fast").await.expect_err("refused");
    assert!(
        matches!(&error, ToolError::Unavailable { reason, .. } if reason.contains("HTTP 401")),
        "{error:?}"
    );
    let error = pool
        .call(&alice(), "fast", "whoami", args(json!({})))
        .await
        .expect_err("refused");
    assert!(matches!(error, ToolError::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn a_missing_token_says_how_to_configure_one() {
    let peer = protected().await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);

    let error = pool.probe("fast").await.expect_err("refused");
    let ToolError::Unavailable { reason, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains("auth = \"bearer\""), "{reason}");

    let (_dir, dir_path) = token_file(TOKEN);
    let missing = dir_path.with_file_name("absent");
    let pool = McpPool::new(
        &[server(
            "fast",
            &peer.url(),
            ServerAuth::Bearer {
                token_file: missing.clone(),
            },
        )],
        Duration::from_secs(20),
        options(),
    )
    .expect("pool");
    let catalog = pool.catalog(&alice()).await;
    let [(_, reason)] = catalog.unavailable.as_slice() else {
        panic!("{:?}", catalog.unavailable)
    };
    assert!(reason.contains(&missing.display().to_string()), "{reason}");
}

#[tokio::test]
async fn tool_errors_and_structured_results_are_kept() {
    let peer = FastMcpServer::start(FastMcpOptions::default()).await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);

    let failed = pool
        .call(
            &alice(),
            "fast",
            "fail",
            args(json!({"message": "the disk is full"})),
        )
        .await
        .expect("a tool error is a result");
    assert!(failed.is_error);
    assert!(failed.text.contains("the disk is full"), "{}", failed.text);

    let weather = pool
        .call(
            &alice(),
            "fast",
            "structured",
            args(json!({"city": "Oslo"})),
        )
        .await
        .expect("structured");
    assert!(!weather.is_error);
    assert_eq!(
        weather.structured,
        Some(json!({"city": "Oslo", "temperature_c": 21}))
    );

    let anonymous = pool
        .call(&alice(), "fast", "whoami", args(json!({})))
        .await
        .expect("whoami");
    assert_eq!(anonymous.text, "anonymous");
}

#[tokio::test]
async fn a_paginated_tool_list_is_read_to_the_end() {
    let peer = FastMcpServer::start(FastMcpOptions {
        page_size: Some(2),
        extra_tools: 5,
        ..FastMcpOptions::default()
    })
    .await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);

    let catalog = pool.catalog(&alice()).await;

    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
    assert_eq!(catalog.tools.len(), 13, "{:?}", names(&catalog));
    assert!(names(&catalog).contains(&"fast_extra_4".to_owned()));
}

#[tokio::test]
async fn the_tool_list_is_bounded_and_odd_tools_are_skipped() {
    let peer = FastMcpServer::start(FastMcpOptions {
        extra_tools: 600,
        odd_tools: true,
        ..FastMcpOptions::default()
    })
    .await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);

    let catalog = pool.catalog(&alice()).await;

    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
    assert_eq!(catalog.tools.len(), 512);
    assert!(
        catalog
            .tools
            .iter()
            .all(|t| mcp_gateway::mcp::valid_tool_name(&t.qualified)),
        "{:?}",
        names(&catalog)
    );

    let odd = FastMcpServer::start(FastMcpOptions {
        odd_tools: true,
        ..FastMcpOptions::default()
    })
    .await;
    let pool = crate::common::pool(vec![server("fast", &odd.url(), ServerAuth::None)]);
    let catalog = pool.catalog(&alice()).await;
    let listed = names(&catalog);
    assert_eq!(listed.len(), 8, "{listed:?}");
    assert!(
        !listed
            .iter()
            .any(|n| n.contains("dotted") || n.contains("huge") || n.len() > 64)
    );
    let error = pool
        .call(&alice(), "fast", "dotted.name", args(json!({})))
        .await
        .expect_err("skipped tools cannot be called");
    assert!(matches!(error, ToolError::UnknownTool { .. }), "{error:?}");
}

#[tokio::test]
async fn a_list_change_notification_refreshes_the_catalog() {
    let peer = FastMcpServer::start(FastMcpOptions::default()).await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);
    let before = pool.catalog(&alice()).await;
    assert!(!names(&before).contains(&"fast_bonus".to_owned()));

    let unlocked = pool
        .call(&alice(), "fast", "unlock_bonus", args(json!({})))
        .await
        .expect("unlock");
    assert_eq!(unlocked.text, "unlocked");

    let after = catalog_until(&pool, Duration::from_secs(5), |c| {
        names(c).contains(&"fast_bonus".to_owned())
    })
    .await;
    assert!(
        names(&after).contains(&"fast_bonus".to_owned()),
        "{:?}",
        names(&after)
    );
    let bonus = pool
        .call(&alice(), "fast", "bonus", args(json!({})))
        .await
        .expect("bonus");
    assert_eq!(bonus.text, "bonus!");
}

#[tokio::test]
async fn a_slow_tool_hits_the_per_call_deadline() {
    let peer = FastMcpServer::start(FastMcpOptions::default()).await;
    let mut entry = server("fast", &peer.url(), ServerAuth::None);
    entry.timeout = Some(Duration::from_secs(1));
    let pool = pool(vec![entry]);
    pool.catalog(&alice()).await;

    let started = Instant::now();
    let error = pool
        .call(&alice(), "fast", "slow", args(json!({"seconds": 10})))
        .await
        .expect_err("too slow");
    let waited = started.elapsed();

    assert!(
        matches!(&error, ToolError::Timeout { server, secs: 1 } if server == "fast"),
        "{error:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let quick = pool
        .call(&alice(), "fast", "slow", args(json!({"seconds": 0.01})))
        .await
        .expect("the session still works");
    assert_eq!(quick.text, "done");
}

#[tokio::test]
async fn the_agent_deadline_applies_without_a_server_timeout() {
    let peer = FastMcpServer::start(FastMcpOptions::default()).await;
    let pool = McpPool::new(
        &[server("fast", &peer.url(), ServerAuth::None)],
        Duration::from_secs(1),
        options(),
    )
    .expect("pool");

    let error = pool
        .call(&alice(), "fast", "slow", args(json!({"seconds": 10})))
        .await
        .expect_err("too slow");

    assert!(
        matches!(error, ToolError::Timeout { secs: 1, .. }),
        "{error:?}"
    );
}
