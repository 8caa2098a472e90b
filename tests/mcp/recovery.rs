//! Servers that stop and restart mid-conversation.

use std::time::Duration;

use mcp_gateway::config::ServerAuth;
use mcp_gateway::mcp::{McpPool, PoolOptions, ToolError, ToolHost};
use serde_json::json;

use crate::common::{alice, args, catalog_until, names, options, pool, server};
use crate::mcp_peers::{EverythingServer, FastMcpOptions, FastMcpServer};

#[tokio::test]
async fn a_restarted_everything_server_is_reinitialised_and_the_call_retried() {
    let mut peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);
    let first = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "one"})),
        )
        .await
        .expect("first call");
    assert_eq!(first.text, "Echo: one");

    // The new process does not know the session (it answers HTTP 400, "No valid session ID").
    peer.restart().await;

    let second = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "two"})),
        )
        .await
        .expect("the call after the restart");
    assert_eq!(second.text, "Echo: two");
    let catalog = pool.catalog(&alice()).await;
    assert!(names(&catalog).contains(&"everything_echo".to_owned()));
    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
}

#[tokio::test]
async fn a_restarted_fastmcp_server_is_reinitialised_and_the_call_retried() {
    let mut peer = FastMcpServer::start(FastMcpOptions::default()).await;
    let pool = pool(vec![server("fast", &peer.url(), ServerAuth::None)]);
    let first = pool
        .call(&alice(), "fast", "add", args(json!({"a": 1, "b": 1})))
        .await
        .expect("first call");
    assert_eq!(first.text, "2");

    // The new process answers the old session id with HTTP 404.
    peer.restart().await;

    let second = pool
        .call(&alice(), "fast", "add", args(json!({"a": 2, "b": 2})))
        .await
        .expect("the call after the restart");
    assert_eq!(second.text, "4");
}

#[tokio::test]
async fn a_stopped_server_is_listed_unavailable_until_it_is_back() {
    let mut peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);
    let catalog = pool.catalog(&alice()).await;
    assert!(names(&catalog).contains(&"everything_echo".to_owned()));

    peer.stop();

    // Without any call, the broken event stream makes the next catalog check the session.
    let down = catalog_until(&pool, Duration::from_secs(10), |c| {
        !c.unavailable.is_empty()
    })
    .await;
    let [(name, reason)] = down.unavailable.as_slice() else {
        panic!("still listed as available: {:?}", names(&down))
    };
    assert_eq!(name, "everything");
    assert!(!reason.is_empty() && reason.len() < 300, "{reason}");
    assert!(down.tools.is_empty(), "{:?}", names(&down));

    let error = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "x"})),
        )
        .await
        .expect_err("the server is down");
    assert!(
        matches!(&error, ToolError::Unavailable { server, .. } if server == "everything"),
        "{error:?}"
    );

    peer.start_again().await;

    let up = catalog_until(&pool, Duration::from_secs(10), |c| c.unavailable.is_empty()).await;
    assert!(up.unavailable.is_empty(), "{:?}", up.unavailable);
    assert!(names(&up).contains(&"everything_echo".to_owned()));
    let back = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "back"})),
        )
        .await
        .expect("the call after the server is back");
    assert_eq!(back.text, "Echo: back");
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_reported_with_a_reason() {
    let pool = pool(vec![server(
        "ghost",
        "http://127.0.0.1:9/mcp",
        ServerAuth::None,
    )]);

    let first = pool.catalog(&alice()).await;
    let [(name, reason)] = first.unavailable.as_slice() else {
        panic!("{:?}", first.unavailable)
    };
    assert_eq!(name, "ghost");
    assert!(reason.contains("refused"), "{reason}");

    let again = pool.catalog(&alice()).await;
    assert_eq!(again.unavailable, first.unavailable);
    let error = pool.probe("ghost").await.expect_err("down");
    assert!(matches!(error, ToolError::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn a_server_that_accepts_but_never_answers_is_cut_off() {
    // A listener that accepts connections and never writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let pool = McpPool::new(
        &[server("mute", &url, ServerAuth::None)],
        Duration::from_secs(3),
        PoolOptions {
            connect_timeout: Duration::from_secs(1),
            ..options()
        },
    )
    .expect("pool");

    let catalog = pool.catalog(&alice()).await;
    let [(name, reason)] = catalog.unavailable.as_slice() else {
        panic!("{:?}", catalog.unavailable)
    };
    assert_eq!(name, "mute");
    assert!(reason.contains("1 s"), "{reason}");

    let error = pool
        .call(&alice(), "mute", "anything", args(json!({})))
        .await
        .expect_err("no answer");
    assert!(
        matches!(&error, ToolError::Unavailable { server, .. } if server == "mute"),
        "{error:?}"
    );
    silent.abort();
}
