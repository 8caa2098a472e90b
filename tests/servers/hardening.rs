//! The authorization server under abuse: spoofed client names, floods of registrations and
//! authorization requests, client ID metadata documents pointing inwards, racing sessions, and
//! slow clients.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::deployment::{Deployment, OAuthClient, free_port, initialize};

/// Bytes of the database and its write-ahead log.
fn database_bytes(database: &std::path::Path) -> u64 {
    let size = |suffix: &str| {
        std::fs::metadata(format!("{}{suffix}", database.display()))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    size("") + size("-wal")
}

/// Rows in `table` of `server`.
fn rows(database: &std::path::Path, table: &str, server: &str) -> i64 {
    rusqlite::Connection::open(database)
        .unwrap()
        .query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE server = ?1"),
            [server],
            |r| r.get(0),
        )
        .unwrap()
}

/// An HTTP client whose requests come from `source` (a loopback address).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registration metadata of about `bytes` bytes.
fn registration(bytes: usize) -> Value {
    let pad = "a".repeat(bytes / 2);
    json!({
        "client_name": "Flood",
        "redirect_uris": [format!("https://flood.example/{pad}"), format!("https://flood.example/b{pad}")],
        "token_endpoint_auth_method": "none",
    })
}

/// A registered `client_name` with bidirectional controls shows on the consent page as the
/// characters it holds: "…elgooG yb deifireV" with U+202E cannot pass for "Verified by Google".
#[tokio::test]
async fn client_names_cannot_reorder_the_consent_page() {
    let d = Deployment::start().await;
    let http = reqwest::Client::new();
    let redirect = format!("http://127.0.0.1:{}/cb", free_port());
    let registered: Value = http
        .post(format!("{}/register", d.notion.base))
        .json(&json!({
            "client_name": "\u{202E}elgooG yb deifireV\u{2066}x\u{200F}",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(registered["client_name"], "elgooG yb deifireVx");
    let client_id = registered["client_id"].as_str().unwrap();
    let (_, challenge) = crate::deployment::pkce();
    let page = http
        .get(format!("{}/authorize", d.notion.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", &redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("elgooG yb deifireVx"), "{page}");
    for c in ['\u{202E}', '\u{2066}', '\u{200F}'] {
        assert!(!page.contains(c), "{c:?} reached the page");
    }
}

/// Clients that open connections and send a request head byte by byte, or nothing at all, are
/// dropped within the header timeout, and more of them than the connection cap cannot keep
/// `/healthz` from answering.
#[tokio::test]
async fn slow_clients_are_dropped_while_healthz_answers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = Deployment::start_with("header_timeout_secs = 2\nmax_connections = 64\n").await;
    let addr = d.notion.base.strip_prefix("http://").unwrap().to_owned();
    let started = std::time::Instant::now();
    let mut slow = Vec::new();
    for i in 0..200 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        slow.push(s);
    }
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let asked = std::time::Instant::now();
        let r = http
            .get(format!("{}/healthz", d.notion.base))
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers while slow clients hold connections");
        assert_eq!(r.status(), 200);
        assert!(asked.elapsed() < std::time::Duration::from_secs(1));
    }
    // Every slow connection is closed by the server within the header timeout (plus slack).
    for mut s in slow {
        let left = std::time::Duration::from_secs(6).saturating_sub(started.elapsed());
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(left, s.read(&mut buf)).await;
        // The read ends (end of file, a reset, or a last error response) instead of waiting.
        assert!(
            read.is_ok(),
            "a slow connection was still open after {:?}",
            started.elapsed()
        );
    }
}

/// 1,000 registrations from one address store at most a burst's worth of clients, with 429 and
/// `Retry-After` for the rest; a registration from another address is still accepted after it;
/// oversized metadata is refused without being stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_flood_is_bounded_in_rows_and_bytes() {
    let d = Deployment::start().await;
    let before = database_bytes(&d.database);
    let flood = client_from("127.0.0.1");
    let url = format!("{}/register", d.notion.base);
    let body = registration(3 * 1024);
    let started = std::time::Instant::now();
    let statuses: Vec<(u16, bool)> = futures::stream::iter(0..1000)
        .map(|_| {
            let request = flood.post(&url).json(&body);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.headers().contains_key("retry-after"))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let created = statuses.iter().filter(|(s, _)| *s == 201).count();
    let limited = statuses.iter().filter(|(s, _)| *s == 429).count();
    // A burst of 20, and one more per 3 s of the flood as the bucket refills.
    let allowed = 21 + usize::try_from(started.elapsed().as_secs() / 3).unwrap();
    assert!(
        (1..=allowed).contains(&created),
        "{created} registrations accepted"
    );
    assert_eq!(
        created + limited,
        1000,
        "every other attempt is rate limited"
    );
    assert!(
        statuses.iter().all(|(s, retry)| *s != 429 || *retry),
        "429 carries Retry-After"
    );
    assert_eq!(
        rows(&d.database, "as_clients", "notion"),
        i64::try_from(created).unwrap()
    );
    let grown = database_bytes(&d.database).saturating_sub(before);
    assert!(grown < 2 << 20, "the database grew by {grown} bytes");

    let other = client_from("127.0.0.2");
    let r = other
        .post(&url)
        .json(&json!({"client_name": "Legit", "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "another address registers after the flood");
    let uris: Vec<String> = (0..7)
        .map(|i| format!("https://flood.example/{i}{}", "a".repeat(1900)))
        .collect();
    let big = client_from("127.0.0.3")
        .post(&url)
        .json(&json!({"client_name": "Big", "redirect_uris": uris, "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 400);
    let error: Value = big.json().await.unwrap();
    assert_eq!(error["error"], "invalid_client_metadata");
    assert_eq!(
        rows(&d.database, "as_clients", "notion"),
        i64::try_from(created + 1).unwrap(),
        "the oversized client was not stored"
    );
    let metrics = reqwest::get(format!("{}/metrics", d.notion.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mcp_gateway_oauth_refusals_total{server=\"notion\",endpoint=\"register\",reason=\"rate_limited\"}"),
        "{metrics}"
    );
}

/// The cap on stored clients holds even when the rate allows more; at the cap a registration
/// gets 503 with `Retry-After`.
#[tokio::test]
async fn the_client_cap_holds() {
    let d = Deployment::start_with("register_per_minute = 1000\nmax_clients = 30\n").await;
    let http = reqwest::Client::new();
    let mut full = 0;
    for _ in 0..40 {
        let r = http
            .post(format!("{}/register", d.notion.base))
            .json(&registration(512))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            assert!(r.headers().contains_key("retry-after"));
            full += 1;
        } else {
            assert_eq!(r.status(), 201);
        }
    }
    assert_eq!(full, 10);
    assert_eq!(rows(&d.database, "as_clients", "notion"), 30);
}

/// `/authorize` calls with an oversized `state` store nothing, and a flood of well-formed ones
/// from one address stores at most a burst's worth of pending authorizations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_flood_is_bounded() {
    let d = Deployment::start().await;
    let client = OAuthClient::register(&d.notion.base).await;
    let (mut request, _) = client.request();
    request.state = "s".repeat(4096);
    let r = client.authorize(&request).await;
    assert_eq!(r.status(), 302);
    assert!(crate::deployment::location(&r).contains("error=invalid_request"));
    assert_eq!(rows(&d.database, "as_pending", "notion"), 0);
    let before = database_bytes(&d.database);
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(0..1000)
        .map(|_| {
            let (request, _) = client.request();
            let client = &client;
            async move { client.authorize(&request).await.status().as_u16() }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    // A burst of 60, and one more per second of the flood as the bucket refills.
    let allowed = 61 + usize::try_from(started.elapsed().as_secs()).unwrap();
    let shown = statuses.iter().filter(|s| **s == 200).count();
    assert!(shown <= allowed, "{shown} consent pages");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count() + shown, 1000);
    assert!(rows(&d.database, "as_pending", "notion") <= i64::try_from(allowed).unwrap());
    let grown = database_bytes(&d.database).saturating_sub(before);
    assert!(grown < 2 << 20, "the database grew by {grown} bytes");
}

/// A small server that serves a valid client metadata document and counts every request.
struct DocumentHost {
    base: String,
    hits: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl DocumentHost {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let doc_id = format!("{base}/client.json");
        let app = axum::Router::new()
            .route(
                "/client.json",
                axum::routing::get(move || {
                    let id = doc_id.clone();
                    async move {
                        axum::Json(json!({"client_id": id, "client_name": "Documented Client",
                            "redirect_uris": ["http://127.0.0.1:9/cb"]}))
                    }
                }),
            )
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            hits,
            _task: task,
        }
    }
}

async fn authorize_page(base: &str, client_id: &str) -> (u16, String) {
    let (_, challenge) = crate::deployment::pkce();
    let r = reqwest::Client::new()
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A client ID metadata document on a loopback address is not fetched, and the answer is the
/// same for a document that exists, a closed port and the server's own `/metrics`; with the
/// development option the document is used, but the server's own endpoints never are.
#[tokio::test]
async fn client_documents_cannot_reach_inwards() {
    let host = DocumentHost::start().await;
    let d = Deployment::start().await;
    let own = d.notion.base.clone();
    let closed = format!("http://127.0.0.1:{}/client.json", free_port());
    let pages = [
        authorize_page(&own, &format!("{}/client.json", host.base)).await,
        authorize_page(&own, &closed).await,
        authorize_page(&own, &format!("{own}/metrics")).await,
        authorize_page(&own, &format!("{}/missing.json", host.base)).await,
    ];
    assert_eq!(host.hits.load(Ordering::SeqCst), 0, "nothing was fetched");
    for (status, body) in &pages {
        assert_eq!(*status, 400);
        assert_eq!(body, &pages[0].1, "every refusal reads the same");
    }

    let dev = Deployment::start_with("allow_private_client_documents = true\n").await;
    let (status, body) =
        authorize_page(&dev.notion.base, &format!("{}/client.json", host.base)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Documented Client"));
    let nested = format!(
        "{}/authorize?client_id={}/authorize",
        dev.notion.base, dev.notion.base
    );
    let (status, body) = authorize_page(&dev.notion.base, &nested).await;
    assert_eq!(status, 400);
    let (_, closed_body) = authorize_page(&dev.notion.base, &closed).await;
    assert_eq!(body, closed_body, "its own endpoint reads like any refusal");
    let metrics = reqwest::get(format!("{}/metrics", dev.notion.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metrics.matches("route=\"/authorize\"").count(),
        0,
        "no request reached its own /authorize: {metrics}"
    );
}

/// 300 concurrent `initialize` with one token open at most the grant's share; one account's
/// grants together stay within the account's share; and with the whole table taken by one
/// person, a fresh person still opens a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_limits_hold_under_concurrency() {
    let d = Deployment::start_with(
        "max_sessions = 24\nmax_sessions_per_account = 24\nmax_sessions_per_grant = 8\n",
    )
    .await;
    let resource = d.notion.resource();
    let mallory = OAuthClient::register(&d.notion.base).await;
    let token = mallory.connect().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // One HTTP client for all (building one per request would starve the requests of CPU).
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let statuses: Vec<u16> = futures::stream::iter(0..300)
        .map(|_| {
            let request = http
                .post(&resource)
                .header("accept", "application/json, text/event-stream")
                .bearer_auth(&token)
                .json(&init);
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(300)
        .collect()
        .await;
    let opened = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(opened, 8, "exactly the grant's share opened: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 292);

    // Two more grants of Mallory's account fill the whole table.
    for _ in 0..2 {
        let other = OAuthClient::register(&d.notion.base).await;
        let token = other.connect().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..8 {
            assert_eq!(initialize(&resource, Some(&token)).await.0, 200);
        }
    }
    let extra = OAuthClient::register(&d.notion.base).await;
    let extra = extra.connect().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        initialize(&resource, Some(&extra)).await.0,
        429,
        "Mallory's account is at its share"
    );

    // Ann connects her own workspace and is not locked out.
    d.fake_notion.set_installation("ann-bot");
    let ann = OAuthClient::register(&d.notion.base).await;
    let ann = ann.connect().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(initialize(&resource, Some(&ann)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
