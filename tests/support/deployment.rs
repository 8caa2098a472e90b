//! The real `notion-mcp` and `gcal-mcp` processes sharing one database, pointed at the fake
//! Notion and Google, and a small OAuth client that walks the whole authorization flow the way a
//! browser and an MCP client would (registration, PKCE, consent page, upstream, callback, token).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use crate::fake_google::FakeGoogle;
use crate::fake_notion::FakeNotion;

pub const NOTION_CLIENT: (&str, &str) = ("notion-oauth-client", "notion-oauth-secret");
pub const GOOGLE_CLIENT: (&str, &str) = ("google-oauth-client", "google-oauth-secret");
const WAIT: Duration = Duration::from_secs(20);

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` different loopback ports that were free a moment ago: all are held at once while they
/// are picked, since a port let go can be handed out again by the next pick.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("a bound address").port())
}

/// One running server process; killed when dropped.
pub struct Server {
    _child: Child,
    /// Its public base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    /// Everything it wrote to stderr so far.
    pub logs: Arc<Mutex<String>>,
}

impl Server {
    /// The canonical resource URL.
    pub fn resource(&self) -> String {
        format!("{}/mcp", self.base)
    }
}

/// Both servers, their fakes and their shared database.
pub struct Deployment {
    pub notion: Server,
    pub gcal: Server,
    pub fake_notion: FakeNotion,
    pub fake_google: FakeGoogle,
    pub database: PathBuf,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// Starts fakes and both servers, and waits until both are ready.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Like [`Deployment::start`], with `notion_settings` (TOML lines) added to `[notion_mcp]`.
    pub async fn start_with(notion_settings: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let fake_notion = FakeNotion::start().await;
        fake_notion.add_client(NOTION_CLIENT.0, NOTION_CLIENT.1);
        let fake_google = FakeGoogle::start().await;
        fake_google.add_client(GOOGLE_CLIENT.0, GOOGLE_CLIENT.1);
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
        write("notion-id", NOTION_CLIENT.0);
        write("notion-secret", NOTION_CLIENT.1);
        write("google-id", GOOGLE_CLIENT.0);
        write("google-secret", GOOGLE_CLIENT.1);
        let [np, gp] = free_ports();
        let config = format!(
            r#"[store]
path = "shared.db"
seal_key_file = "seal.key"

[notion_mcp]
listen = "127.0.0.1:{np}"
public_url = "http://127.0.0.1:{np}"
client_id_file = "notion-id"
client_secret_file = "notion-secret"
api_url = "{notion_api}"
authorize_url = "{notion_authorize}"
token_url = "{notion_token}"
{notion_settings}

[gcal_mcp]
listen = "127.0.0.1:{gp}"
public_url = "http://127.0.0.1:{gp}"
client_id_file = "google-id"
client_secret_file = "google-secret"
api_url = "{google_api}"
authorize_url = "{google_authorize}"
token_url = "{google_token}"
"#,
            notion_api = fake_notion.api_url(),
            notion_authorize = fake_notion.authorize_url(),
            notion_token = fake_notion.token_url(),
            google_api = fake_google.api_url(),
            google_authorize = fake_google.authorize_url(),
            google_token = fake_google.token_url(),
        );
        let config_path = dir.path().join("servers.toml");
        std::fs::write(&config_path, config).expect("write the config");
        let notion = spawn("notion-mcp", &config_path, np).await;
        let gcal = spawn("gcal-mcp", &config_path, gp).await;
        Self {
            notion,
            gcal,
            fake_notion,
            fake_google,
            database: dir.path().join("shared.db"),
            _dir: dir,
        }
    }
}

async fn spawn(command: &str, config: &std::path::Path, port: u16) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg(command)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let logs = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr");
    let sink = Arc::clone(&logs);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut logs = sink.lock();
            logs.push_str(&line);
            logs.push('\n');
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let ready = format!("{base}/readyz");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = reqwest::get(&ready).await
            && r.status().is_success()
        {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{command} exited with {status}: {}", logs.lock());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{command} never became ready: {}",
            logs.lock()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        _child: child,
        base,
        logs,
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}-{}", free_port(), "x".repeat(40));
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    (verifier, challenge)
}

/// The value of `<input ... name="NAME" value="...">` in `html`.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `Location` of a redirect response.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// An OAuth client of one server, doing by hand what a browser and an MCP client do.
pub struct OAuthClient {
    pub http: reqwest::Client,
    pub base: String,
    pub client_id: String,
    pub redirect_uri: String,
}

/// What an authorization request asks for.
pub struct AuthorizeRequest {
    pub challenge: Option<String>,
    pub method: Option<&'static str>,
    pub redirect_uri: String,
    pub state: String,
    pub resource: Option<String>,
}

impl OAuthClient {
    /// Registers a public client with one loopback redirect URI.
    pub async fn register(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let redirect_uri = format!("http://127.0.0.1:{}/callback", free_port());
        let registered: Value = http
            .post(format!("{base}/register"))
            .json(&json!({
                "client_name": "Test Client",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            }))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("registration JSON");
        let client_id = registered["client_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no client_id: {registered}"))
            .to_owned();
        Self {
            http,
            base: base.to_owned(),
            client_id,
            redirect_uri,
        }
    }

    /// A well-formed request with a fresh PKCE pair; returns it with the verifier.
    pub fn request(&self) -> (AuthorizeRequest, String) {
        let (verifier, challenge) = pkce();
        (
            AuthorizeRequest {
                challenge: Some(challenge),
                method: Some("S256"),
                redirect_uri: self.redirect_uri.clone(),
                state: format!("state-{}", free_port()),
                resource: Some(format!("{}/mcp", self.base)),
            },
            verifier,
        )
    }

    /// `GET /authorize` as a browser with no cookie yet.
    pub async fn authorize(&self, request: &AuthorizeRequest) -> reqwest::Response {
        let mut url = url::Url::parse(&format!("{}/authorize", self.base)).expect("URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &self.client_id);
            q.append_pair("redirect_uri", &request.redirect_uri);
            q.append_pair("state", &request.state);
            if let Some(c) = &request.challenge {
                q.append_pair("code_challenge", c);
            }
            if let Some(m) = request.method {
                q.append_pair("code_challenge_method", m);
            }
            if let Some(r) = &request.resource {
                q.append_pair("resource", r);
            }
        }
        self.http.get(url).send().await.expect("authorize")
    }

    /// Loads the consent page and returns (request id, CSRF token, consent cookie).
    pub async fn consent_page(&self, request: &AuthorizeRequest) -> (String, String, String) {
        let page = self.authorize(request).await;
        assert_eq!(page.status(), 200, "consent page");
        let cookie = page
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("a consent cookie")
            .to_owned();
        let html = page.text().await.expect("page");
        assert!(html.contains("Test Client"), "the page names the client");
        (
            hidden_input(&html, "request").expect("request id"),
            hidden_input(&html, "csrf").expect("CSRF token"),
            cookie,
        )
    }

    /// Submits the consent form.
    pub async fn consent(
        &self,
        request_id: &str,
        csrf: Option<&str>,
        cookie: &str,
    ) -> reqwest::Response {
        let mut form = vec![("request", request_id), ("decision", "approve")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        self.http
            .post(format!("{}/consent", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .form(&form)
            .send()
            .await
            .expect("consent")
    }

    /// Walks the whole authorization and returns the client's redirect URL (with `code`).
    pub async fn authorize_through(&self, request: &AuthorizeRequest) -> String {
        let (id, csrf, cookie) = self.consent_page(request).await;
        let upstream = self.consent(&id, Some(&csrf), &cookie).await;
        assert_eq!(upstream.status(), 303, "consent sends the browser upstream");
        let back = self
            .http
            .get(location(&upstream))
            .send()
            .await
            .expect("upstream");
        assert!(
            back.status().is_redirection(),
            "the upstream sends the browser back"
        );
        let callback = location(&back);
        assert!(
            callback.starts_with(&format!("{}/oauth/callback", self.base)),
            "{callback}"
        );
        let done = self.http.get(&callback).send().await.expect("callback");
        assert!(
            done.status().is_redirection(),
            "callback: {}",
            done.status()
        );
        location(&done)
    }

    /// `POST /token` with `form` (client id added).
    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("client_id", &self.client_id));
        let response = self
            .http
            .post(format!("{}/token", self.base))
            .form(&form)
            .send()
            .await
            .expect("token");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Redeems `code` with `verifier`.
    pub async fn redeem(&self, code: &str, verifier: &str) -> (u16, Value) {
        let resource = format!("{}/mcp", self.base);
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", verifier),
            ("resource", &resource),
        ])
        .await
    }

    /// The whole flow: returns the token response.
    pub async fn connect(&self) -> Value {
        let (request, verifier) = self.request();
        let back = self.authorize_through(&request).await;
        assert_eq!(
            query_param(&back, "state").as_deref(),
            Some(request.state.as_str())
        );
        assert_eq!(
            query_param(&back, "iss").as_deref(),
            Some(self.base.as_str())
        );
        let code = query_param(&back, "code").expect("code");
        let (status, tokens) = self.redeem(&code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}

/// Posts an MCP `initialize` to `resource` with `bearer`; returns the status and the
/// `WWW-Authenticate` header.
pub async fn initialize(resource: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(resource)
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
        );
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("initialize");
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (response.status().as_u16(), challenge)
}
