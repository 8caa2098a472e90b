//! The gateway assembled from a configuration file exactly as `serve` assembles it, its HTTP
//! surface on a loopback port, a scripted model, a recording chat surface, and a headless
//! "browser" that follows an authorization link through consent pages and redirects; the
//! deployment of both MCP servers with such a gateway in front of one, and the passing of a
//! week for the Calendar server's upstream tokens.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mcp_gateway::Principal;
use mcp_gateway::agent::{Activity, ConfirmRequest, TurnInput, TurnOutcome, TurnSink};
use mcp_gateway::app::Gateway;
use mcp_gateway::config::Config;
use mcp_gateway::mcp::accounts::{ConnectListener, ConnectedNotice, ConnectionEnded};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::deployment::{Deployment, free_port, hidden_input, location};
use crate::fake_ollama::{FakeOllama, Reply};

/// The Notion page every deployment has.
pub const ROADMAP: &str = "Roadmap 2027";

/// What the scripted model calls on `server` (`gcal` or `notion`): the tool, the connect tool
/// and the tool's arguments.
pub fn tools_of(server: &str) -> (&'static str, &'static str, Value) {
    match server {
        "gcal" => ("gcal_list_events", "gcal_connect", json!({})),
        _ => (
            "notion_search",
            "notion_connect",
            json!({"query": "Roadmap"}),
        ),
    }
}

/// Both MCP servers (`notion_settings` added to `[notion_mcp]`, a page named [`ROADMAP`] in the
/// fake Notion), a model that uses `server`'s tool, and a gateway with `server` alone.
pub async fn deployed(server: &str, notion_settings: &str) -> (Deployment, FakeOllama, Gw) {
    let deployment = Deployment::start_with(notion_settings).await;
    deployment.fake_notion.seed_page(None, ROADMAP);
    let (tool, connect, args) = tools_of(server);
    let ollama = FakeOllama::start(model(tool, connect, args)).await;
    let resource = match server {
        "gcal" => deployment.gcal.resource(),
        _ => deployment.notion.resource(),
    };
    let gw = Gw::start(&ollama.url(), server, &resource).await;
    (deployment, ollama, gw)
}

/// Makes the Calendar server's live upstream tokens `secs` older in `database`: each refresh
/// token issued that much earlier, each access token expired (so the next call refreshes).
pub fn age_upstream_tokens(database: &std::path::Path, secs: i64) {
    rusqlite::Connection::open(database)
        .expect("open the servers' database")
        .execute(
            "UPDATE as_upstream_accounts SET refresh_issued_at = refresh_issued_at - ?1,
             access_expires_at = 0 WHERE server = 'gcal' AND revoked_at IS NULL",
            [secs],
        )
        .expect("age the tokens");
}

/// Lets a week and a minute pass for a Google app in Testing: the fake Google's clock, and the
/// age of the Calendar server's upstream tokens. Returns the seconds passed.
pub fn pass_a_week(deployment: &Deployment) -> i64 {
    let week = crate::fake_google::TESTING_REFRESH_LIFETIME_SECS + 60;
    deployment.fake_google.advance(week);
    age_upstream_tokens(&deployment.database, week);
    week
}

/// A scripted model: answers with the last tool result; else calls `tool` with `arguments`
/// when offered, else `connect` when offered, else says it cannot.
pub fn model(
    tool: &'static str,
    connect: &'static str,
    arguments: Value,
) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |body: &Value| {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        if let Some(last) = messages.last()
            && last["role"] == "tool"
        {
            return Reply::text(&format!(
                "Here is what I got: {}",
                last["content"].as_str().unwrap_or_default()
            ));
        }
        let offered: Vec<String> = body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if offered.iter().any(|n| n == tool) {
            Reply::tool_call(tool, arguments.clone())
        } else if offered.iter().any(|n| n == connect) {
            Reply::tool_call(connect, json!({}))
        } else {
            Reply::text("I cannot do that.")
        }
    }
}

/// The tools offered in a recorded chat request.
pub fn offered(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Passes finished connections to the test.
struct Forward(mpsc::UnboundedSender<ConnectedNotice>);

#[async_trait]
impl ConnectListener for Forward {
    async fn connected(&self, notice: ConnectedNotice) {
        let _ = self.0.send(notice);
    }
}

/// A running gateway.
pub struct Gw {
    pub gateway: Gateway,
    /// `http://127.0.0.1:PORT`, its public URL.
    pub base: String,
    _dir: tempfile::TempDir,
    notices: tokio::sync::Mutex<mpsc::UnboundedReceiver<ConnectedNotice>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gw {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one turn showed.
pub struct Turn {
    pub outcome: TurnOutcome,
    /// The connect links shown: (server, URL).
    pub links: Vec<(String, String)>,
    /// Why each connection behind a link ended, for links shown to connect again.
    pub ended: Vec<ConnectionEnded>,
}

impl Gw {
    /// Builds the gateway with one `auth = "oauth"` server `name` at `url`, the model at
    /// `ollama`, every tool offered each turn (`tool_selection = "all"`), and serves its HTTP
    /// surface. Finished connections of `telegram:` principals are passed to [`Gw::notice`].
    pub async fn start(ollama: &str, name: &str, url: &str) -> Self {
        Self::start_with(ollama, name, url, "tool_selection = \"all\"").await
    }

    /// The same with `agent` as the `[agent]` section (empty: the defaults, which select tools
    /// per turn).
    pub async fn start_with(ollama: &str, name: &str, url: &str, agent: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let port = free_port();
        let text = format!(
            r#"[model]
base_url = "{ollama}"
name = "qwen2.5:7b"

[store]
path = "gateway.db"
seal_key_file = "gateway.key"

[agent]
{agent}

[[servers]]
name = "{name}"
url = "{url}"
auth = "oauth"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
"#
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, text).expect("write the config");
        let config = Config::load(&path).expect("a valid config");
        let gateway = Gateway::build(config, true).expect("the gateway builds");
        let (tx, rx) = mpsc::unbounded_channel();
        gateway.oauth.listen("telegram", Arc::new(Forward(tx)));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the gateway port");
        let app = gateway.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            gateway,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
            notices: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    /// Runs one turn of `principal` saying `text`.
    pub async fn ask(&self, principal: &Principal, text: &str) -> Turn {
        let sink = Recorder::default();
        let outcome = self
            .gateway
            .agent
            .run_turn(
                TurnInput {
                    principal,
                    chat: "chat-1",
                    text,
                },
                &sink,
                &CancellationToken::new(),
            )
            .await
            .expect("the turn runs");
        Turn {
            outcome,
            links: sink.links.lock().clone(),
            ended: sink.ended.lock().clone(),
        }
    }

    /// The next finished connection.
    pub async fn notice(&self) -> ConnectedNotice {
        tokio::time::timeout(Duration::from_secs(10), self.notices.lock().await.recv())
            .await
            .expect("a connection notice within 10 s")
            .expect("the notice channel is open")
    }

    /// The value of the counter `name` (with any labels) in the gateway's metrics.
    pub fn counter(&self, name: &str) -> u64 {
        let text = mcp_gateway::telemetry::metrics::encode(&self.gateway.registry);
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum()
    }
}

/// Records what a turn showed.
#[derive(Default)]
pub struct Recorder {
    pub links: Mutex<Vec<(String, String)>>,
    pub ended: Mutex<Vec<ConnectionEnded>>,
}

#[async_trait]
impl TurnSink for Recorder {
    fn progress(&self, _text: &str) {}

    async fn activity(&self, _activity: Activity) {}

    async fn confirm(&self, _request: &ConfirmRequest) -> bool {
        true
    }

    async fn connect_link(&self, server: &str, url: &str) {
        self.links.lock().push((server.to_owned(), url.to_owned()));
    }

    async fn reconnect_link(&self, server: &str, url: &str, ended: &ConnectionEnded) {
        self.ended.lock().push(ended.clone());
        self.connect_link(server, url).await;
    }
}

/// Where a browser ended up.
pub struct Visit {
    pub status: u16,
    pub body: String,
    /// The last URL loaded (the gateway's callback, for a finished authorization).
    pub url: String,
}

/// Follows `link` as a browser would: redirects, approving consent pages, until a page that is
/// neither.
pub async fn browse(link: &str) -> Visit {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut url = link.to_owned();
    let mut cookie: Option<String> = None;
    for _ in 0..12 {
        let mut request = http.get(&url);
        if let Some(c) = &cookie {
            request = request.header(reqwest::header::COOKIE, c);
        }
        let response = request.send().await.expect("the browser loads a page");
        if let Some(set) = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
        {
            cookie = Some(set.to_owned());
        }
        if response.status().is_redirection() {
            url = absolute(&url, &location(&response));
            continue;
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status == 200 && body.contains("id=\"continue\"") {
            // The gateway's page in front of a connect link: read it, then continue.
            let href = body
                .split("id=\"continue\" href=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("the page's continue link")
                .replace("&amp;", "&");
            url = absolute(&url, &href);
            continue;
        }
        if status == 200 && body.contains("name=\"csrf\"") {
            let id = hidden_input(&body, "request").expect("the consent page's request id");
            let csrf = hidden_input(&body, "csrf").expect("the consent page's CSRF token");
            let consent = absolute(&url, "/consent");
            let mut post = http.post(&consent).form(&[
                ("request", id.as_str()),
                ("decision", "approve"),
                ("csrf", &csrf),
            ]);
            if let Some(c) = &cookie {
                post = post.header(reqwest::header::COOKIE, c);
            }
            let approved = post.send().await.expect("consent");
            assert_eq!(approved.status(), 303, "consent sends the browser on");
            url = absolute(&consent, &location(&approved));
            continue;
        }
        return Visit { status, body, url };
    }
    panic!("too many redirects from {link}");
}

fn absolute(base: &str, target: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(target))
        .map(String::from)
        .unwrap_or_else(|_| target.to_owned())
}

/// Asks until the gateway shows a connect link (a broken connection is noticed at the first
/// question after it broke, and the link offered at the latest at the one after); returns that
/// turn.
pub async fn link_within_three_questions(gw: &Gw, who: &Principal, question: &str) -> Turn {
    for _ in 0..3 {
        let turn = gw.ask(who, question).await;
        if !turn.links.is_empty() {
            return turn;
        }
    }
    panic!("no reconnect link within three questions");
}

/// Connects `principal` to `server` end to end: a question, the link, the browser, the notice.
pub async fn connect(gw: &Gw, principal: &Principal, question: &str) -> Visit {
    let turn = gw.ask(principal, question).await;
    assert_eq!(turn.links.len(), 1, "one link: {}", turn.outcome.reply);
    let visit = browse(&turn.links[0].1).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let notice = gw.notice().await;
    assert_eq!(&notice.principal, principal);
    visit
}
