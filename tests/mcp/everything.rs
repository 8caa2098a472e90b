//! The pool against `@modelcontextprotocol/server-everything` as server `everything`, auth none.

use mcp_gateway::config::ServerAuth;
use mcp_gateway::mcp::{ToolError, ToolHost};
use serde_json::json;

use crate::common::{alice, args, names, pool, server};
use crate::mcp_peers::EverythingServer;

#[tokio::test]
async fn catalog_offers_echo_with_its_schema_and_hints() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);

    let catalog = pool.catalog(&alice()).await;

    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
    assert!(catalog.needs_connection.is_empty());
    let echo = catalog
        .tools
        .iter()
        .find(|t| t.qualified == "everything_echo")
        .unwrap_or_else(|| panic!("no everything_echo in {:?}", names(&catalog)));
    assert_eq!(echo.server, "everything");
    assert_eq!(echo.tool, "echo");
    assert_eq!(echo.title.as_deref(), Some("Echo Tool"));
    assert_eq!(echo.description, "Echoes back the input string");
    assert_eq!(echo.input_schema["type"], "object");
    assert_eq!(echo.input_schema["properties"]["message"]["type"], "string");
    assert_eq!(echo.input_schema["required"], json!(["message"]));
    assert!(echo.hints.read_only && echo.hints.idempotent && !echo.hints.destructive);
    assert!(
        catalog
            .tools
            .iter()
            .all(|t| t.qualified.starts_with("everything_")),
        "{:?}",
        names(&catalog)
    );
    assert!(names(&catalog).contains(&"everything_get-tiny-image".to_owned()));
    assert_eq!(echo.spec().name, "everything_echo");
}

#[tokio::test]
async fn echo_returns_the_text() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);

    let output = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "hello from the gateway"})),
        )
        .await
        .expect("echo");

    assert_eq!(output.text, "Echo: hello from the gateway");
    assert!(!output.is_error);
    assert_eq!(output.structured, None);
}

#[tokio::test]
async fn images_are_described_and_resources_included() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);

    let image = pool
        .call(&alice(), "everything", "get-tiny-image", args(json!({})))
        .await
        .expect("tiny image");
    let image_line = image
        .text
        .lines()
        .find(|l| l.starts_with("[image: "))
        .unwrap_or_else(|| panic!("no image description in {:?}", image.text));
    assert!(
        image_line.starts_with("[image: image/png, ") && image_line.ends_with(" KB]"),
        "{image_line}"
    );
    assert!(!image.text.contains("iVBOR"), "raw image data leaked");

    let resource = pool
        .call(
            &alice(),
            "everything",
            "get-resource-reference",
            args(json!({"resourceType": "Text", "resourceId": 1})),
        )
        .await
        .expect("resource reference");
    assert!(
        resource.text.contains(
            "[resource: demo://resource/dynamic/text/1]\nResource 1: This is a plaintext resource"
        ),
        "{}",
        resource.text
    );

    let structured = pool
        .call(
            &alice(),
            "everything",
            "get-structured-content",
            args(json!({"location": "Chicago"})),
        )
        .await
        .expect("structured content");
    let value = structured.structured.expect("structured content kept");
    assert!(value["temperature"].is_number(), "{value}");
    assert!(value["conditions"].is_string(), "{value}");
}

#[tokio::test]
async fn allow_and_deny_lists_filter_the_catalog_and_calls() {
    let peer = EverythingServer::start().await;
    let mut entry = server("everything", &peer.url(), ServerAuth::None);
    entry.allow_tools = Some(vec!["echo".into(), "get-sum".into()]);
    entry.deny_tools = vec!["get-sum".into()];
    let pool = pool(vec![entry]);

    let catalog = pool.catalog(&alice()).await;
    assert_eq!(names(&catalog), ["everything_echo"]);

    for (tool, arguments) in [
        ("get-sum", json!({"a": 1, "b": 2})),
        ("get-env", json!({})),
        ("no-such-tool", json!({})),
    ] {
        let error = pool
            .call(&alice(), "everything", tool, args(arguments))
            .await
            .expect_err(tool);
        assert!(
            matches!(&error, ToolError::UnknownTool { server, tool: t } if server == "everything" && t == tool),
            "{tool}: {error:?}"
        );
    }
    let echo = pool
        .call(
            &alice(),
            "everything",
            "echo",
            args(json!({"message": "ok"})),
        )
        .await
        .expect("echo is allowed");
    assert_eq!(echo.text, "Echo: ok");
}

#[tokio::test]
async fn invalid_arguments_come_back_as_an_error_the_model_can_read() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);

    let result = pool
        .call(&alice(), "everything", "echo", args(json!({"msg": 3})))
        .await;

    match result {
        Ok(output) => {
            assert!(output.is_error, "{output:?}");
            assert!(output.text.contains("message"), "{}", output.text);
        }
        Err(ToolError::Protocol { server, message }) => {
            assert_eq!(server, "everything");
            assert!(message.contains("message"), "{message}");
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn oauth_and_unknown_servers_are_reported_not_called() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![
        server("everything", &peer.url(), ServerAuth::None),
        server("notion", "http://127.0.0.1:9/mcp", ServerAuth::OAuth),
    ]);

    let catalog = pool.catalog(&alice()).await;
    assert_eq!(catalog.needs_connection, ["notion"]);
    assert!(catalog.unavailable.is_empty(), "{:?}", catalog.unavailable);
    assert!(catalog.tools.iter().all(|t| t.server == "everything"));

    let error = pool
        .call(&alice(), "notion", "search", args(json!({})))
        .await
        .expect_err("not connected");
    assert!(
        matches!(&error, ToolError::NotConnected(s) if s == "notion"),
        "{error:?}"
    );

    let error = pool
        .call(&alice(), "github", "search", args(json!({})))
        .await
        .expect_err("unknown server");
    assert!(
        matches!(&error, ToolError::UnknownServer(s) if s == "github"),
        "{error:?}"
    );

    assert!(matches!(
        pool.probe("notion").await,
        Err(ToolError::NotConnected(_))
    ));
    let count = pool.probe("everything").await.expect("probe");
    assert_eq!(count, catalog.tools.len());
}

#[tokio::test]
async fn many_principals_share_one_session_concurrently() {
    let peer = EverythingServer::start().await;
    let pool = pool(vec![server("everything", &peer.url(), ServerAuth::None)]);

    let calls = (0..48).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let who = mcp_gateway::Principal::telegram(i);
            let message = format!("message {i}");
            let output = pool
                .call(
                    &who,
                    "everything",
                    "echo",
                    args(json!({"message": message})),
                )
                .await
                .expect("echo");
            (i, output.text)
        })
    });
    for call in futures::future::join_all(calls).await {
        let (i, text) = call.expect("task");
        assert_eq!(text, format!("Echo: message {i}"));
    }
}
