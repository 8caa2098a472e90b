//! The authorization server of the real `notion-mcp`/`gcal-mcp` processes: the whole flow, and
//! every way a request must be refused (no bearer, the other server's token, PKCE missing or
//! `plain`, an unregistered redirect URI, a reused code, a reused rotated refresh token, a
//! tampered state, consent without its CSRF token), plus no upstream token in the database file
//! and no token in the logs.

use serde_json::Value;

use crate::deployment::{Deployment, OAuthClient, initialize, location, query_param};

/// Metadata at both well-known paths, PKCE S256 advertised, and the flow ends in a working bearer.
#[tokio::test]
async fn discovery_flow_and_bearer() {
    let d = Deployment::start().await;
    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let prm: Value = http
            .get(format!("{}{path}", d.notion.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(prm["resource"], d.notion.resource());
        assert_eq!(prm["authorization_servers"][0], d.notion.base);
    }
    let asm: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            d.notion.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asm["issuer"], d.notion.base);
    assert_eq!(
        asm["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(asm["registration_endpoint"].is_string());

    let (status, challenge) = initialize(&d.notion.resource(), None).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            d.notion.base
        )),
        "{challenge}"
    );

    let client = OAuthClient::register(&d.notion.base).await;
    let tokens = client.connect().await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        tokens["token_type"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
    assert!(
        tokens["expires_in"].as_u64().is_some_and(|s| s <= 3600),
        "{tokens}"
    );
    assert!(tokens["refresh_token"].is_string());
    let (status, _) = initialize(&d.notion.resource(), Some(access)).await;
    assert_eq!(status, 200);
    let (status, challenge) = initialize(&d.notion.resource(), Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

/// A token issued by the Calendar server is refused by the Notion server (audience), and the
/// other way round, though both share one database.
#[tokio::test]
async fn tokens_are_bound_to_their_server() {
    let d = Deployment::start().await;
    let notion = OAuthClient::register(&d.notion.base).await;
    let gcal = OAuthClient::register(&d.gcal.base).await;
    let n = notion.connect().await;
    let g = gcal.connect().await;
    let (n, g) = (
        n["access_token"].as_str().unwrap(),
        g["access_token"].as_str().unwrap(),
    );
    assert_eq!(initialize(&d.notion.resource(), Some(n)).await.0, 200);
    assert_eq!(initialize(&d.gcal.resource(), Some(g)).await.0, 200);
    assert_eq!(initialize(&d.notion.resource(), Some(g)).await.0, 401);
    assert_eq!(initialize(&d.gcal.resource(), Some(n)).await.0, 401);
}

/// PKCE is required and must be S256; `resource` must be this server's.
#[tokio::test]
async fn pkce_and_resource_are_enforced() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;

    let (mut missing, _) = client.request();
    missing.challenge = None;
    missing.method = None;
    let r = client.authorize(&missing).await;
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );

    let (mut plain, verifier) = client.request();
    plain.challenge = Some(verifier);
    plain.method = Some("plain");
    let r = client.authorize(&plain).await;
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );

    let (mut foreign, _) = client.request();
    foreign.resource = Some(d.gcal.resource());
    let r = client.authorize(&foreign).await;
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_target")
    );

    // A wrong verifier at the token endpoint.
    let (request, _verifier) = client.request();
    let back = client.authorize_through(&request).await;
    let code = query_param(&back, "code").unwrap();
    let (status, body) = client
        .redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier-00")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

/// An unregistered redirect URI gets an error page, never a redirect to it.
#[tokio::test]
async fn unregistered_redirect_uri_is_refused_without_redirect() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let (mut request, _) = client.request();
    request.redirect_uri = "http://127.0.0.1:9/evil".to_owned();
    let r = client.authorize(&request).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get(reqwest::header::LOCATION).is_none());
}

/// A reused authorization code is refused and revokes what the first redemption issued.
#[tokio::test]
async fn reused_code_revokes_its_tokens() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let (request, verifier) = client.request();
    let back = client.authorize_through(&request).await;
    let code = query_param(&back, "code").unwrap();
    let (status, first) = client.redeem(&code, &verifier).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(initialize(&d.notion.resource(), Some(&access)).await.0, 200);
    let (status, again) = client.redeem(&code, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(initialize(&d.notion.resource(), Some(&access)).await.0, 401);
}

/// Refresh tokens rotate; presenting a rotated one again revokes the whole family.
#[tokio::test]
async fn reused_refresh_token_revokes_the_family() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let tokens = client.connect().await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = client
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ])
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, first_refresh);
    assert_eq!(
        initialize(&d.notion.resource(), Some(&new_access)).await.0,
        200
    );

    let (status, reused) = client
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ])
        .await;
    assert_eq!(status, 400);
    assert_eq!(reused["error"], "invalid_grant");
    assert_eq!(
        initialize(&d.notion.resource(), Some(&new_access)).await.0,
        401
    );
    let (status, _) = client
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ])
        .await;
    assert_eq!(status, 400, "the family is revoked");
}

/// A callback whose state was tampered with is refused with a page and stores nothing.
#[tokio::test]
async fn tampered_state_is_refused() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let (request, _) = client.request();
    let (id, csrf, cookie) = client.consent_page(&request).await;
    let upstream = client.consent(&id, Some(&csrf), &cookie).await;
    let back = client.http.get(location(&upstream)).send().await.unwrap();
    let callback = location(&back);
    let state = query_param(&callback, "state").unwrap();
    let tampered = callback.replace(&state, &format!("{state}x"));
    let r = client.http.get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get(reqwest::header::LOCATION).is_none());
    let page = r.text().await.unwrap();
    assert!(page.contains("not recognised"), "{page}");
    let accounts: i64 = rusqlite::Connection::open(&d.database)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM as_upstream_accounts", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(accounts, 0, "nothing was stored");
}

/// Consent without the CSRF token, or from another browser (no cookie), is refused.
#[tokio::test]
async fn consent_needs_csrf_and_the_same_browser() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let (request, _) = client.request();
    let (id, csrf, cookie) = client.consent_page(&request).await;
    assert_eq!(client.consent(&id, None, &cookie).await.status(), 403);
    assert_eq!(
        client.consent(&id, Some("forged"), &cookie).await.status(),
        403
    );
    assert_eq!(
        client
            .consent(&id, Some(&csrf), "mcp_consent=other-browser")
            .await
            .status(),
        403
    );
    let page = client.authorize(&request).await;
    let headers = page.headers().clone();
    assert_eq!(
        headers.get("x-frame-options").and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    assert!(
        headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("frame-ancestors 'none'"))
    );
}

/// After a connection and a tool call, neither the database file nor the logs hold any
/// upstream or issued token in plaintext.
#[tokio::test]
async fn no_token_in_the_database_or_the_logs() {
    let d = Deployment::start().await;
    let notion = OAuthClient::register(&d.notion.base).await;
    let gcal = OAuthClient::register(&d.gcal.base).await;
    let n = notion.connect().await;
    let g = gcal.connect().await;
    let mut secrets: Vec<String> = Vec::new();
    for t in [&n, &g] {
        secrets.push(t["access_token"].as_str().unwrap().to_owned());
        secrets.push(t["refresh_token"].as_str().unwrap().to_owned());
    }
    // The upstream tokens the fakes issued.
    for header in d
        .fake_notion
        .authorizations()
        .into_iter()
        .chain(d.fake_google.authorizations())
    {
        secrets.push(header.trim_start_matches("Bearer ").to_owned());
    }
    assert_eq!(
        initialize(&d.notion.resource(), Some(&secrets[0])).await.0,
        200
    );
    let mut file = std::fs::read(&d.database).unwrap();
    let wal = d.database.with_extension("db-wal");
    if let Ok(more) = std::fs::read(&wal) {
        file.extend(more);
    }
    let text = String::from_utf8_lossy(&file);
    for needle in ["secret_access_", "nrt_refresh_", "ya29.", "1//"] {
        assert!(!text.contains(needle), "the database holds {needle}…");
    }
    let logs = format!("{}{}", d.notion.logs.lock(), d.gcal.logs.lock());
    assert!(
        logs.contains("upstream account connected"),
        "debug logs were captured"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a token is in the database"
        );
        assert!(!logs.contains(secret.as_str()), "a token is in the logs");
    }
    for needle in ["secret_access_", "nrt_refresh_", NOTION_SECRET_PREFIX] {
        assert!(!logs.contains(needle), "the logs hold {needle}…");
    }
}

/// The fake Notion's client secret, which must never be logged.
const NOTION_SECRET_PREFIX: &str = crate::deployment::NOTION_CLIENT.1;

/// `/mcp` refuses a foreign `Origin` and a foreign `Host` (DNS rebinding) even with a valid
/// bearer, an MCP session opened with one grant cannot be used with another (nor a made-up
/// one), and one grant cannot hold unbounded sessions.
#[tokio::test]
async fn origin_host_and_session_are_checked() {
    let d = Deployment::start().await;
    let a = OAuthClient::register(&d.notion.base).await;
    let b = OAuthClient::register(&d.notion.base).await;
    let ta = a.connect().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tb = b.connect().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |token: &str| {
        http.post(d.notion.resource())
            .header("accept", "application/json, text/event-stream")
            .bearer_auth(token)
            .json(&init)
    };
    let evil_origin = post(&ta)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil_origin.status(), 403);
    let own_origin = post(&ta)
        .header("origin", d.notion.base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(own_origin.status(), 200);
    let evil_host = post(&ta)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil_host.status(), 403);

    let opened = post(&ta).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened
        .headers()
        .get("mcp-session-id")
        .cloned()
        .expect("a session for a 2025-06-18 client");
    {
        let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        let stolen = http
            .post(d.notion.resource())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", session.clone())
            .bearer_auth(&tb)
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(stolen.status(), 404, "another grant cannot use the session");
        let own = http
            .post(d.notion.resource())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", session.clone())
            .header("mcp-protocol-version", "2025-06-18")
            .bearer_auth(&ta)
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_ne!(own.status(), 404, "the grant that opened it can");
        let made_up = http
            .post(d.notion.resource())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", "00000000-0000-0000-0000-000000000000")
            .bearer_auth(&ta)
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(made_up.status(), 404, "an unknown session is refused");
    }

    // One grant holds a bounded number of sessions; closing one makes room.
    let limit = mcp_gateway::config::SessionLimits::default().per_grant;
    let mut sessions = vec![session];
    let mut refused = None;
    for _ in 0..limit + 1 {
        let r = post(&ta).send().await.unwrap();
        if r.status() == 429 {
            refused = Some(r.text().await.unwrap());
            break;
        }
        assert_eq!(r.status(), 200);
        sessions.push(
            r.headers()
                .get("mcp-session-id")
                .cloned()
                .expect("a session"),
        );
    }
    // The session opened with the page's own Origin above counts too.
    assert_eq!(
        sessions.len() + 1,
        limit,
        "sessions opened before the refusal"
    );
    let refused = refused.expect("a refusal past the limit");
    assert!(refused.contains("DELETE"), "{refused}");
    assert_eq!(
        post(&tb).send().await.unwrap().status(),
        200,
        "other grants are not affected"
    );
    let closed = http
        .delete(d.notion.resource())
        .header("mcp-session-id", sessions[0].clone())
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    assert_eq!(
        post(&ta).send().await.unwrap().status(),
        200,
        "room again after a close"
    );
}

/// An rmcp client of `resource` with `bearer`.
async fn mcp_client(
    resource: &str,
    bearer: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config = StreamableHttpClientTransportConfig::with_uri(resource).auth_header(bearer);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("MCP client connects")
}

/// When the upstream rejects the stored access token, the server refreshes it once (even for
/// concurrent calls), stores the rotated refresh token, and the calls succeed; when the upstream
/// refuses the refresh too, the tool says to reconnect.
#[tokio::test]
async fn upstream_tokens_refresh_once_and_revocation_says_reconnect() {
    use crate::fake_notion::TokenState;
    let d = Deployment::start().await;
    let page = d.fake_notion.seed_page(None, "Refresh me");
    let client = OAuthClient::register(&d.notion.base).await;
    let tokens = client.connect().await;
    let bearer = tokens["access_token"].as_str().unwrap().to_owned();
    let mcp = mcp_client(&d.notion.resource(), &bearer).await;
    let search = |q: &str| {
        let mut args = serde_json::Map::new();
        args.insert("query".into(), Value::String(q.into()));
        rmcp::model::CallToolRequestParams::new("search").with_arguments(args)
    };
    let first = mcp.peer().call_tool(search("Refresh")).await.unwrap();
    assert_ne!(first.is_error, Some(true));
    let upstream = d.fake_notion.authorizations().last().cloned().unwrap();
    let upstream = upstream.trim_start_matches("Bearer ").to_owned();
    d.fake_notion.set_token(&upstream, TokenState::Expired);
    let token_calls = d.fake_notion.token_calls();

    let (a, b) = tokio::join!(
        mcp.peer().call_tool(search("Refresh")),
        mcp.peer().call_tool(search("Refresh"))
    );
    for result in [a.unwrap(), b.unwrap()] {
        assert_ne!(result.is_error, Some(true), "{result:?}");
        assert!(format!("{result:?}").contains(&page));
    }
    assert_eq!(
        d.fake_notion.token_calls(),
        token_calls + 1,
        "one refresh for both calls"
    );
    let newest = d.fake_notion.authorizations().last().cloned().unwrap();
    assert_ne!(
        newest.trim_start_matches("Bearer "),
        upstream,
        "the new token was used"
    );

    // The upstream revokes everything: the refresh fails for good.
    let current = newest.trim_start_matches("Bearer ").to_owned();
    d.fake_notion.set_token(&current, TokenState::Revoked);
    d.fake_notion.revoke_refresh_tokens();
    let revoked = mcp.peer().call_tool(search("Refresh")).await.unwrap();
    assert_eq!(revoked.is_error, Some(true));
    let text = format!("{revoked:?}").to_lowercase();
    assert!(
        text.contains("reconnect") || text.contains("connect again"),
        "{text}"
    );
}

/// `/revoke` (RFC 7009) ends a refresh token's family: its access tokens stop working and the
/// refresh token can no longer be used; an unknown token is answered 200 too.
#[tokio::test]
async fn revoke_ends_the_grant() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let tokens = client.connect().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(initialize(&d.notion.resource(), Some(&access)).await.0, 200);
    let revoke = |token: String| {
        client
            .http
            .post(format!("{}/revoke", d.notion.base))
            .form(&[
                ("token", token.as_str()),
                ("client_id", client.client_id.as_str()),
            ])
            .send()
    };
    assert_eq!(revoke("unknown-token".into()).await.unwrap().status(), 200);
    assert_eq!(revoke(refresh.clone()).await.unwrap().status(), 200);
    assert_eq!(initialize(&d.notion.resource(), Some(&access)).await.0, 401);
    let (status, body) = client
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

/// A Google account that did not grant Calendar access is not connected: the client gets
/// `access_denied` with a description saying what to do, and nothing is stored.
#[tokio::test]
async fn google_without_the_calendar_scope_is_refused() {
    let d = Deployment::start().await;
    d.fake_google.grant_only("openid email");
    let client = OAuthClient::register(&d.gcal.base).await;
    let (request, _) = client.request();
    let back = client.authorize_through(&request).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    let description = query_param(&back, "error_description").unwrap_or_default();
    assert!(description.contains("Calendar"), "{description}");
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(request.state.as_str())
    );
    let accounts: i64 = rusqlite::Connection::open(&d.database)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM as_upstream_accounts", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(accounts, 0);
}
