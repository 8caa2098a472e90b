//! The configuration contract: `mcp-gateway.toml`, parsed strictly and validated into typed settings.
//!
//! [`Config::load`] reads the file, rejects unknown keys, resolves relative paths against the file's
//! folder, fills in defaults and checks every value, collecting all problems so that
//! `check-config` can report them at once. Secret values are never held here: keys ending in
//! `_file` become paths, read with [`read_secret`] by the component that needs them; validation
//! reads each once to report a missing, empty or unreadable file as a problem.

mod error;
pub(crate) mod keep_alive;
pub(crate) mod limits;
mod raw;
pub(crate) mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

pub use error::{ConfigError, Problem};
pub use keep_alive::KeepAlive;
pub use limits::{AuthLimits, ListenerLimits, Rate, SessionLimits};
pub use secret::{SecretError, read_secret};

use raw::RawConfig;

/// The environment variable that names the configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "MCP_GATEWAY_CONFIG";
/// The configuration file used when neither `--config` nor the environment names one.
pub const DEFAULT_CONFIG_FILE: &str = "mcp-gateway.toml";
/// Ollama's own variable for its address, read for the embedded defaults.
pub const OLLAMA_HOST_ENV: &str = "OLLAMA_HOST";

/// Which API the model server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Ollama's native `/api/chat`.
    Ollama,
    /// An OpenAI-compatible `/v1/chat/completions` (vLLM, llama.cpp).
    OpenAi,
}

/// `[model]`: the chat model and how to reach it.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// The API the server speaks.
    pub provider: Provider,
    /// The server's base URL, without a trailing slash.
    pub base_url: Url,
    /// The model's name.
    pub name: String,
    /// The context window in tokens, always sent to Ollama.
    pub num_ctx: u32,
    /// The bound on a whole request that is not streamed (`/api/show`, `/api/tags`, embeddings).
    pub request_timeout: Duration,
    /// The longest wait for a connection to the model server.
    pub connect_timeout: Duration,
    /// The longest wait from sending a chat request to its first output: the server's own
    /// queue, loading the model and evaluating the prompt (Ollama sends not even its headers
    /// before the first output).
    pub first_byte_timeout: Duration,
    /// The longest silence between two pieces of a streamed reply.
    pub idle_timeout: Duration,
    /// How many chat requests the model server runs at once (Ollama's `OLLAMA_NUM_PARALLEL`);
    /// the gateway queues the rest itself.
    pub parallel: u32,
    /// How long a person waits in the gateway's queue before being told their place.
    pub queue_notice: Duration,
    /// Whether thinking models (qwen3) reason before answering; sent as Ollama's `think`.
    pub think: bool,
    /// An Ollama embedding model for tool selection; lexical selection without it.
    pub embed_name: Option<String>,
    /// A file holding a bearer key for OpenAI-compatible servers that want one.
    pub api_key_file: Option<PathBuf>,
    /// How long Ollama keeps the model loaded after a request.
    pub keep_alive: Option<KeepAlive>,
    /// The sampling temperature, when set.
    pub temperature: Option<f64>,
}

/// `[store]`: the SQLite file and the seal key.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The SQLite database file.
    pub path: PathBuf,
    /// The file holding this component's 32-byte seal key.
    pub seal_key_file: PathBuf,
    /// Whether `serve`, `up`, `chat` and the MCP servers accept a seal key file that every user
    /// may read (`allow_readable_seal_key`); they refuse one by default.
    pub allow_readable_seal_key: bool,
    /// Whether they accept a seal key file its group may read, that group being this service's
    /// alone (`seal_key_group_readable`); they refuse one by default.
    pub seal_key_group_readable: bool,
}

/// How the agent picks the tools it offers each turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolSelection {
    /// Select per turn when the catalog is larger than `max_offered_tools`.
    Auto,
    /// Offer every tool every turn.
    All,
}

/// `[agent]`: the turn loop's limits.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// A file holding the system prompt; a built-in prompt when absent.
    pub system_prompt_file: Option<PathBuf>,
    /// The most tool rounds in one turn.
    pub max_tool_rounds: u32,
    /// How tools are chosen.
    pub tool_selection: ToolSelection,
    /// Catalog tools offered per turn under [`ToolSelection::Auto`].
    pub max_offered_tools: usize,
    /// The deadline for a whole turn, model and tools included.
    pub turn_timeout: Duration,
    /// The deadline for one tool call.
    pub tool_timeout: Duration,
    /// The most characters of one tool result given back to the model.
    pub max_tool_result_chars: usize,
    /// The share of `num_ctx` that history may fill before old turns are compacted.
    pub history_share: f64,
    /// The time zone in which the system prompt gives today's date, and scheduled entries are
    /// read in for a person who has not set their own.
    pub time_zone: chrono_tz::Tz,
    /// How late a scheduled task may still run; one due longer ago is reported as missed.
    pub task_grace: Duration,
    /// The most active scheduled entries one person may have.
    pub max_scheduled: usize,
}

/// The server name the gateway's own tools (reminders and scheduled tasks) are offered under;
/// no `[[servers]]` entry may take it.
pub const RESERVED_SERVER: &str = "assistant";

/// How the gateway authenticates to an MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAuth {
    /// No credentials.
    None,
    /// One static bearer token, read from the file.
    Bearer {
        /// The file holding the token.
        token_file: PathBuf,
    },
    /// Each principal connects their own account with OAuth.
    OAuth,
}

/// One `[[servers]]` entry: an MCP server the assistant can use.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The name, used as the tool prefix (`<name>_<tool>`).
    pub name: String,
    /// The streamable HTTP endpoint.
    pub url: Url,
    /// How to authenticate.
    pub auth: ServerAuth,
    /// When set, only these tools (server-side names) are offered.
    pub allow_tools: Option<Vec<String>>,
    /// Tools never offered.
    pub deny_tools: Vec<String>,
    /// Tools that come along whenever this server is selected.
    pub core_tools: Vec<String>,
    /// Extra words that point to this server during tool selection.
    pub keywords: Vec<String>,
    /// The deadline for one call to this server.
    pub timeout: Option<Duration>,
}

impl ServerConfig {
    /// Whether the configured allow and deny lists let `tool` through.
    #[must_use]
    pub fn permits(&self, tool: &str) -> bool {
        let allowed = self
            .allow_tools
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tool));
        allowed && !self.deny_tools.iter().any(|t| t == tool)
    }
}

/// `[http]`: the gateway's own HTTP surface.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The public base URL that OAuth redirects come back to.
    pub public_url: Url,
    /// Bounds on the listener's connections.
    pub limits: ListenerLimits,
}

/// Who may talk to the assistant on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Unknown senders get a code that the operator approves.
    Pairing,
    /// Only the listed senders.
    Allowlist,
    /// Anyone.
    Open,
}

/// `[channels.telegram]`.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// The file holding the bot token.
    pub token_file: PathBuf,
    /// The Bot API base URL.
    pub api_url: Url,
    /// The access policy.
    pub policy: Policy,
    /// Numeric Telegram user ids that may always talk.
    pub allow_from: Vec<i64>,
    /// Numeric Telegram user ids of the admins: they answer pairing requests with buttons and
    /// may always talk.
    pub admins: Vec<i64>,
    /// Messages per minute one sender may send before being asked to slow down.
    pub rate_limit_per_minute: u32,
}

/// `[channels.slack]`.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The file holding the app-level token (`xapp-…`) for Socket Mode.
    pub app_token_file: PathBuf,
    /// The file holding the bot token (`xoxb-…`) for the Web API.
    pub bot_token_file: PathBuf,
    /// The Web API base URL.
    pub api_url: Url,
    /// The access policy.
    pub policy: Policy,
    /// Slack user ids that may always talk.
    pub allow_from: Vec<String>,
    /// Slack user ids of the admins: they answer pairing requests with buttons and may always
    /// talk.
    pub admins: Vec<String>,
    /// Messages per minute one sender may send before being asked to slow down.
    pub rate_limit_per_minute: u32,
}

/// `[channels]`: each channel is enabled when its section is present.
#[derive(Debug, Clone, Default)]
pub struct ChannelsConfig {
    /// Telegram, when configured.
    pub telegram: Option<TelegramConfig>,
    /// Slack, when configured.
    pub slack: Option<SlackConfig>,
}

/// `[alerting]`: Alertmanager's webhook on the gateway's HTTP surface.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    /// The file holding the bearer token Alertmanager sends.
    pub webhook_token_file: PathBuf,
}

/// `[notion_mcp]` or `[gcal_mcp]`: one of our MCP servers and its upstream.
#[derive(Debug, Clone)]
pub struct McpServerConfig {
    /// Whether the section is in the configuration file (else it holds the defaults).
    pub configured: bool,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The public base URL; the canonical resource is `public_url + "/mcp"`.
    pub public_url: Url,
    /// The file holding the upstream OAuth client id.
    pub client_id_file: PathBuf,
    /// The file holding the upstream OAuth client secret.
    pub client_secret_file: PathBuf,
    /// The upstream REST API's base URL.
    pub api_url: Url,
    /// The upstream authorization endpoint.
    pub authorize_url: Url,
    /// The upstream token endpoint.
    pub token_url: Url,
    /// The upstream token revocation endpoint (`revoke_url`; by default `token_url` with its
    /// last path segment `token` replaced by `revoke`, which gives Google's and Notion's).
    pub revoke_url: Url,
    /// Extra `Host` values accepted on `/mcp` besides the public URL's host and loopback.
    pub allowed_hosts: Vec<String>,
    /// Lifetime of the access tokens this server issues.
    pub access_token_ttl: Duration,
    /// Lifetime of the refresh tokens this server issues.
    pub refresh_token_ttl: Duration,
    /// Bounds on the listener's connections.
    pub listener: ListenerLimits,
    /// What the authorization server keeps and lets one client or address do.
    pub limits: AuthLimits,
    /// The most upstream requests per second, on average, made for one connected account
    /// (`requests_per_second`; 0 for no budget of our own).
    pub requests_per_second: u32,
    /// How long one tool call may work, waiting out rate limits included, before it answers
    /// with what it has (`tool_timeout_secs`).
    pub tool_timeout: Duration,
}

impl McpServerConfig {
    /// The canonical URL of this server's MCP endpoint (the OAuth resource identifier).
    #[must_use]
    pub fn resource_url(&self) -> String {
        format!("{}/mcp", self.public_url.as_str().trim_end_matches('/'))
    }
}

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file, by its absolute path.
    File(PathBuf),
    /// No file: the embedded defaults, relative to this folder (absolute).
    Defaults(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Defaults(folder) => write!(
                f,
                "no configuration file ({DEFAULT_CONFIG_FILE} is not in {}): the embedded defaults",
                folder.display()
            ),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub origin: Origin,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[agent]`.
    pub agent: AgentConfig,
    /// `[[servers]]`, in file order.
    pub servers: Vec<ServerConfig>,
    /// `[http]`.
    pub http: HttpConfig,
    /// `[channels]`.
    pub channels: ChannelsConfig,
    /// `[notion_mcp]`, with defaults when absent.
    pub notion_mcp: McpServerConfig,
    /// `[gcal_mcp]`, with defaults when absent.
    pub gcal_mcp: McpServerConfig,
    /// `[alerting]`, when present: `serve` accepts Alertmanager's webhook.
    pub alerting: Option<AlertingConfig>,
}

/// Which configuration to use, as named on the command line or in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file named by `--config` or `$MCP_GATEWAY_CONFIG`: it must exist.
    Named(PathBuf),
    /// Nothing named: `./mcp-gateway.toml` when it exists, else the embedded defaults.
    Default,
}

/// Which configuration to use: `--config`, else `$MCP_GATEWAY_CONFIG`, else `./mcp-gateway.toml`
/// or, when that file does not exist, the embedded defaults.
#[must_use]
pub fn resolve_source(flag: Option<&Path>, env: Option<&str>) -> Source {
    match (flag, env) {
        (Some(path), _) => Source::Named(path.to_path_buf()),
        (None, Some(env)) if !env.is_empty() => Source::Named(PathBuf::from(env)),
        _ => Source::Default,
    }
}

/// The largest configuration file accepted.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl Config {
    /// Loads the configuration `source` names. Without a named file and without
    /// `./mcp-gateway.toml`, these are the embedded defaults relative to the current folder, with
    /// the model server at `ollama_host` (Ollama's `$OLLAMA_HOST`: `host:port` or a URL) when set.
    ///
    /// # Errors
    /// A named file that cannot be read, or every problem in the file or in `ollama_host`.
    pub fn load_source(source: &Source, ollama_host: Option<&str>) -> Result<Self, ConfigError> {
        match source {
            Source::Named(path) => Self::load(path),
            Source::Default => {
                let file = Path::new(DEFAULT_CONFIG_FILE);
                match std::fs::symlink_metadata(file) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let folder =
                            std::env::current_dir().map_err(|error| ConfigError::Read {
                                path: PathBuf::from("."),
                                error,
                            })?;
                        Self::defaults(&folder, ollama_host)
                    }
                    _ => Self::load(file),
                }
            }
        }
    }

    /// The embedded defaults, with relative paths under `folder` and the model server at
    /// `ollama_host` when it is set and not empty.
    ///
    /// # Errors
    /// Fails when `ollama_host` does not make an http(s) URL.
    pub fn defaults(folder: &Path, ollama_host: Option<&str>) -> Result<Self, ConfigError> {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        let origin = Origin::Defaults(folder.clone());
        let mut raw = RawConfig::default();
        let mut v = Validator {
            base: folder,
            problems: Vec::new(),
        };
        if let Some(host) = ollama_host.map(str::trim).filter(|h| !h.is_empty()) {
            let url = ollama_host_url(host);
            if Url::parse(&url)
                .is_ok_and(|u| u.host().is_some() && matches!(u.scheme(), "http" | "https"))
            {
                raw.model.base_url = Some(url);
            } else {
                v.problem(
                    format!("${OLLAMA_HOST_ENV}"),
                    format!("`{host}` is not an address like 127.0.0.1:11434 or http://host:11434"),
                );
            }
        }
        v.finish(raw, origin)
    }

    /// Reads and validates the file at `path`.
    ///
    /// # Errors
    /// Returns every problem found, each naming the key and what is wrong.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let read_err = |error| ConfigError::Read {
            path: file.clone(),
            error,
        };
        let meta = std::fs::metadata(&file).map_err(read_err)?;
        if !meta.is_file() {
            return Err(ConfigError::Read {
                path: file,
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Syntax {
                path: file,
                problem: Problem {
                    key: String::new(),
                    message: format!("the file is larger than {MAX_CONFIG_BYTES} bytes"),
                },
            });
        }
        let text = std::fs::read_to_string(&file).map_err(read_err)?;
        Self::parse(&text, &file)
    }

    /// Parses and validates configuration text as if read from `file`.
    ///
    /// # Errors
    /// Returns every problem found, each naming the key and what is wrong.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let raw = parse_raw(text).map_err(|problem| ConfigError::Syntax {
            path: file.to_path_buf(),
            problem,
        })?;
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let v = Validator {
            base,
            problems: Vec::new(),
        };
        v.finish(raw, Origin::File(file.to_path_buf()))
    }

    /// The configured server named `name`.
    #[must_use]
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name)
    }
}

/// The base URL Ollama's own tools derive from `$OLLAMA_HOST`: `host`, `host:port`, `:port` or a URL,
/// port 11434 unless a scheme without a port implies 80 or 443.
fn ollama_host_url(value: &str) -> String {
    let (scheme, rest, default_port) = match value.split_once("://") {
        None => ("http", value, "11434"),
        Some(("https", rest)) => ("https", rest, "443"),
        Some((scheme, rest)) => (scheme, rest, "80"),
    };
    let (hostport, path) = match rest.split_once('/') {
        Some((hostport, path)) => (hostport, path),
        None => (rest, ""),
    };
    let (host, port) = split_host_port(hostport).unwrap_or((hostport, default_port));
    let host = match host.trim_matches(['[', ']']) {
        "" => "127.0.0.1".to_owned(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_owned(),
    };
    let port = port
        .parse::<u16>()
        .map_or(default_port.to_owned(), |p| p.to_string());
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    format!("{scheme}://{host}:{port}{path}")
}

/// `host:port` or `[v6]:port` split in two; `None` without a port.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, port)),
        _ => None,
    }
}

/// Parses TOML into the raw shape, naming the key of the first problem.
fn parse_raw(text: &str) -> Result<RawConfig, Problem> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
    };
    let de = toml::Deserializer::parse(text).map_err(|e| Problem {
        key: String::new(),
        message: with_line(
            format!("not valid TOML: {}", e.message().trim()),
            line_of(e.span()),
        ),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = display_key(&e.path().to_string());
        let inner = e.into_inner();
        let message = inner
            .message()
            .trim()
            .replace("invalid type: ", "wrong type: ");
        Problem {
            key,
            message: with_line(message, line_of(inner.span())),
        }
    })
}

fn with_line(message: String, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{message} (line {line})"),
        None => message,
    }
}

/// Turns serde's path (`channels.telegram.polcy`) into the contract's notation
/// (`[channels.telegram].polcy`, `[[servers]][1].url`).
fn display_key(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    if let Some(rest) = path.strip_prefix("servers[") {
        return format!("[[servers]][{rest}");
    }
    match path.rsplit_once('.') {
        Some((section, key)) => format!("[{section}].{key}"),
        None => path.to_owned(),
    }
}

/// Collects problems while turning the raw file into [`Config`].
struct Validator {
    base: PathBuf,
    problems: Vec<Problem>,
}

impl Validator {
    /// Turns `raw` into the configuration, or every problem found on the way.
    fn finish(mut self, raw: RawConfig, origin: Origin) -> Result<Config, ConfigError> {
        let config = self.config(raw, origin.clone());
        if self.problems.is_empty() {
            return Ok(config);
        }
        let path = match origin {
            Origin::File(path) => path,
            Origin::Defaults(folder) => folder,
        };
        Err(ConfigError::Invalid {
            path,
            problems: self.problems,
        })
    }

    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    fn path(&self, value: &str) -> PathBuf {
        let p = Path::new(value);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// A `*_file` secret: resolved and required to be a readable regular file that holds a
    /// secret (the value read is dropped; the component that needs it reads it again).
    fn secret_file(&mut self, key: &str, value: Option<String>, default: &str) -> PathBuf {
        let path = self.path(value.as_deref().unwrap_or(default));
        if let Err(e) = read_secret(&path) {
            self.problem(key, e.to_string());
        }
        path
    }

    fn url(&mut self, key: &str, value: Option<String>, default: &str) -> Url {
        let text = value.unwrap_or_else(|| default.to_owned());
        match Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            Ok(_) => {
                self.problem(
                    key,
                    format!("`{text}` must be an http:// or https:// URL with a host"),
                );
                Url::parse(default).expect("default URLs are valid")
            }
            Err(e) => {
                self.problem(key, format!("`{text}` is not a URL: {e}"));
                Url::parse(default).expect("default URLs are valid")
            }
        }
    }

    fn addr(&mut self, key: &str, value: Option<String>, default: &str) -> SocketAddr {
        let text = value.unwrap_or_else(|| default.to_owned());
        text.parse().unwrap_or_else(|_| {
            self.problem(
                key,
                format!("`{text}` is not an address like 127.0.0.1:8000"),
            );
            default.parse().expect("default addresses are valid")
        })
    }

    fn int(&mut self, key: &str, value: Option<i64>, default: i64, min: i64, max: i64) -> i64 {
        let n = value.unwrap_or(default);
        if (min..=max).contains(&n) {
            n
        } else {
            self.problem(key, format!("must be between {min} and {max} (got {n})"));
            default
        }
    }

    fn secs(&mut self, key: &str, value: Option<i64>, default: i64, max: i64) -> Duration {
        Duration::from_secs(self.int(key, value, default, 1, max).unsigned_abs())
    }

    fn policy(&mut self, key: &str, value: Option<String>) -> Policy {
        match value.as_deref() {
            None | Some("pairing") => Policy::Pairing,
            Some("allowlist") => Policy::Allowlist,
            Some("open") => Policy::Open,
            Some(other) => {
                self.problem(
                    key,
                    format!("`{other}` is not one of \"pairing\", \"allowlist\", \"open\""),
                );
                Policy::Pairing
            }
        }
    }

    fn config(&mut self, raw: RawConfig, origin: Origin) -> Config {
        let model = self.model(raw.model);
        let store = StoreConfig {
            path: self.path(raw.store.path.as_deref().unwrap_or("data/mcp-gateway.db")),
            seal_key_file: self.path(
                raw.store
                    .seal_key_file
                    .as_deref()
                    .unwrap_or("secrets/seal.key"),
            ),
            allow_readable_seal_key: raw.store.allow_readable_seal_key.unwrap_or(false),
            seal_key_group_readable: raw.store.seal_key_group_readable.unwrap_or(false),
        };
        let agent = self.agent(raw.agent);
        let servers = self.servers(raw.servers);
        let listen = self.addr("[http].listen", raw.http.listen, "127.0.0.1:18789");
        let public_default = format!("http://{listen}");
        let http = HttpConfig {
            listen,
            public_url: self.url("[http].public_url", raw.http.public_url, &public_default),
            limits: self.listener(
                "[http]",
                raw.http.header_timeout_secs,
                raw.http.idle_timeout_secs,
                raw.http.max_connections,
            ),
        };
        let channels = ChannelsConfig {
            telegram: raw.channels.telegram.map(|t| self.telegram(t)),
            slack: raw.channels.slack.map(|s| self.slack(s)),
        };
        let notion_mcp = self.mcp_server("notion_mcp", raw.notion_mcp, &NOTION_DEFAULTS);
        let gcal_mcp = self.mcp_server("gcal_mcp", raw.gcal_mcp, &GCAL_DEFAULTS);
        let alerting = raw.alerting.map(|a| AlertingConfig {
            webhook_token_file: self.secret_file(
                "[alerting].webhook_token_file",
                a.webhook_token_file,
                "secrets/alertmanager-token",
            ),
        });
        Config {
            origin,
            model,
            store,
            agent,
            servers,
            http,
            channels,
            notion_mcp,
            gcal_mcp,
            alerting,
        }
    }

    fn model(&mut self, raw: raw::RawModel) -> ModelConfig {
        let provider = match raw.provider.as_deref() {
            None | Some("ollama") => Provider::Ollama,
            Some("openai") => Provider::OpenAi,
            Some(other) => {
                self.problem(
                    "[model].provider",
                    format!("`{other}` is not one of \"ollama\", \"openai\""),
                );
                Provider::Ollama
            }
        };
        let name = raw.name.unwrap_or_else(|| "qwen2.5:7b".to_owned());
        if name.trim().is_empty() || name.len() > 200 {
            self.problem(
                "[model].name",
                "must be a model name such as \"qwen2.5:7b\"",
            );
        }
        let embed_name = raw.embed_name.filter(|n| !n.trim().is_empty());
        let request_timeout = self.secs(
            "[model].request_timeout_secs",
            raw.request_timeout_secs,
            120,
            3600,
        );
        let idle_default = i64::try_from(request_timeout.as_secs()).unwrap_or(120);
        let keep_alive = raw.keep_alive.and_then(|value| {
            let parsed = match value {
                raw::RawKeepAlive::Number(seconds) => KeepAlive::seconds(seconds),
                raw::RawKeepAlive::Text(text) => KeepAlive::parse(&text),
            };
            parsed
                .map_err(|reason| {
                    self.problem(
                        "[model].keep_alive",
                        format!(
                            "Ollama would refuse every request with it ({reason}); write a number of seconds (-1 keeps the model loaded) or a duration in h, m or s, such as \"24h\" or \"30m\""
                        ),
                    );
                })
                .ok()
        });
        ModelConfig {
            provider,
            base_url: self.url("[model].base_url", raw.base_url, "http://127.0.0.1:11434"),
            name,
            num_ctx: u32::try_from(self.int("[model].num_ctx", raw.num_ctx, 16384, 512, 1 << 20))
                .unwrap_or(16384),
            request_timeout,
            connect_timeout: self.secs(
                "[model].connect_timeout_secs",
                raw.connect_timeout_secs,
                5,
                300,
            ),
            first_byte_timeout: self.secs(
                "[model].first_byte_timeout_secs",
                raw.first_byte_timeout_secs,
                300,
                3600,
            ),
            idle_timeout: self.secs(
                "[model].idle_timeout_secs",
                raw.idle_timeout_secs,
                idle_default,
                3600,
            ),
            parallel: u32::try_from(self.int("[model].parallel", raw.parallel, 1, 1, 64))
                .unwrap_or(1),
            queue_notice: self.secs("[model].queue_notice_secs", raw.queue_notice_secs, 4, 600),
            think: raw.think.unwrap_or(false),
            embed_name,
            api_key_file: raw.api_key_file.map(|f| {
                let value = Some(f);
                self.secret_file("[model].api_key_file", value, "")
            }),
            keep_alive,
            temperature: raw.temperature.filter(|t| {
                let ok = (0.0..=2.0).contains(t);
                if !ok {
                    self.problems.push(Problem {
                        key: "[model].temperature".into(),
                        message: format!("must be between 0 and 2 (got {t})"),
                    });
                }
                ok
            }),
        }
    }

    fn agent(&mut self, raw: raw::RawAgent) -> AgentConfig {
        let system_prompt_file = raw.system_prompt_file.map(|f| {
            let path = self.path(&f);
            if !path.is_file() {
                self.problem(
                    "[agent].system_prompt_file",
                    format!(
                        "file {} does not exist; remove the key to use the built-in prompt",
                        path.display()
                    ),
                );
            }
            path
        });
        let tool_selection = match raw.tool_selection.as_deref() {
            None | Some("auto") => ToolSelection::Auto,
            Some("all") => ToolSelection::All,
            Some(other) => {
                self.problem(
                    "[agent].tool_selection",
                    format!("`{other}` is not one of \"auto\", \"all\""),
                );
                ToolSelection::Auto
            }
        };
        let history_share = raw.history_share.unwrap_or(0.5);
        if !(0.1..=0.9).contains(&history_share) {
            self.problem(
                "[agent].history_share",
                format!("must be between 0.1 and 0.9 (got {history_share})"),
            );
        }
        let time_zone = match raw.time_zone.as_deref().map(str::trim) {
            None | Some("") => chrono_tz::Tz::UTC,
            Some(name) => name.parse().unwrap_or_else(|_| {
                self.problem(
                    "[agent].time_zone",
                    format!(
                        "`{name}` is not a time zone; use an IANA name such as Europe/Berlin or America/New_York"
                    ),
                );
                chrono_tz::Tz::UTC
            }),
        };
        AgentConfig {
            system_prompt_file,
            max_tool_rounds: u32::try_from(self.int(
                "[agent].max_tool_rounds",
                raw.max_tool_rounds,
                6,
                1,
                50,
            ))
            .unwrap_or(6),
            tool_selection,
            max_offered_tools: usize::try_from(self.int(
                "[agent].max_offered_tools",
                raw.max_offered_tools,
                12,
                1,
                500,
            ))
            .unwrap_or(12),
            turn_timeout: self.secs(
                "[agent].turn_timeout_secs",
                raw.turn_timeout_secs,
                300,
                86_400,
            ),
            tool_timeout: self.secs("[agent].tool_timeout_secs", raw.tool_timeout_secs, 60, 3600),
            max_tool_result_chars: usize::try_from(self.int(
                "[agent].max_tool_result_chars",
                raw.max_tool_result_chars,
                16_000,
                256,
                1_000_000,
            ))
            .unwrap_or(16_000),
            history_share: history_share.clamp(0.1, 0.9),
            time_zone,
            task_grace: self.secs(
                "[agent].task_grace_secs",
                raw.task_grace_secs,
                3600,
                7 * 86_400,
            ),
            max_scheduled: usize::try_from(self.int(
                "[agent].max_scheduled",
                raw.max_scheduled,
                50,
                1,
                10_000,
            ))
            .unwrap_or(50),
        }
    }

    fn servers(&mut self, raw: Vec<raw::RawServer>) -> Vec<ServerConfig> {
        let mut out: Vec<ServerConfig> = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            let key = |k: &str| format!("[[servers]][{i}].{k}");
            let name = s.name.unwrap_or_default();
            let name_ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && name.as_bytes()[0].is_ascii_lowercase();
            if !name_ok {
                self.problem(
                    key("name"),
                    format!("`{name}` must be 1-32 characters of a-z, 0-9 and '-', starting with a letter"),
                );
            } else if name == RESERVED_SERVER {
                self.problem(
                    key("name"),
                    "`assistant` is reserved for the gateway's own tools (reminders and scheduled tasks); choose another name",
                );
            } else if out.iter().any(|o| o.name == name) {
                self.problem(
                    key("name"),
                    format!("`{name}` is used by an earlier server; names must be unique"),
                );
            }
            let Some(url_text) = s.url else {
                self.problem(key("url"), "is required: the server's streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp");
                continue;
            };
            let url = self.url(&key("url"), Some(url_text), "http://127.0.0.1/mcp");
            if s.bearer_token_file.is_some() && s.auth.as_deref() != Some("bearer") {
                self.problem(
                    key("bearer_token_file"),
                    "is only used with auth = \"bearer\"",
                );
            }
            let auth = match s.auth.as_deref() {
                None | Some("none") => ServerAuth::None,
                Some("bearer") => match s.bearer_token_file {
                    Some(f) => ServerAuth::Bearer {
                        token_file: self.secret_file(&key("bearer_token_file"), Some(f), ""),
                    },
                    None => {
                        self.problem(
                            key("bearer_token_file"),
                            "is required when auth = \"bearer\"",
                        );
                        ServerAuth::None
                    }
                },
                Some("oauth") => ServerAuth::OAuth,
                Some(other) => {
                    self.problem(
                        key("auth"),
                        format!("`{other}` is not one of \"none\", \"bearer\", \"oauth\""),
                    );
                    ServerAuth::None
                }
            };
            let timeout = s
                .timeout_secs
                .map(|t| self.secs(&key("timeout_secs"), Some(t), 60, 3600));
            out.push(ServerConfig {
                name,
                url,
                auth,
                allow_tools: s.allow_tools,
                deny_tools: s.deny_tools.unwrap_or_default(),
                core_tools: s.core_tools.unwrap_or_default(),
                keywords: s.keywords.unwrap_or_default(),
                timeout,
            });
        }
        out
    }

    fn telegram(&mut self, raw: raw::RawTelegram) -> TelegramConfig {
        let k = "[channels.telegram]";
        let policy = self.policy(&format!("{k}.policy"), raw.policy);
        let allow_from = raw.allow_from.unwrap_or_default();
        if policy == Policy::Allowlist && allow_from.is_empty() {
            self.problem(format!("{k}.allow_from"), "is empty, so policy = \"allowlist\" would let nobody in; add numeric Telegram user ids");
        }
        let admins = raw.admins.unwrap_or_default();
        if let Some(bad) = admins.iter().find(|id| **id <= 0) {
            self.problem(
                format!("{k}.admins"),
                format!("`{bad}` is not a Telegram user id; admins are people's numeric user ids (a positive number), not group ids"),
            );
        }
        TelegramConfig {
            token_file: self.secret_file(
                &format!("{k}.token_file"),
                raw.token_file,
                "secrets/telegram-bot-token",
            ),
            api_url: self.url(
                &format!("{k}.api_url"),
                raw.api_url,
                "https://api.telegram.org",
            ),
            policy,
            allow_from,
            admins,
            rate_limit_per_minute: u32::try_from(self.int(
                &format!("{k}.rate_limit_per_minute"),
                raw.rate_limit_per_minute,
                20,
                1,
                10_000,
            ))
            .unwrap_or(20),
        }
    }

    fn slack(&mut self, raw: raw::RawSlack) -> SlackConfig {
        let k = "[channels.slack]";
        let policy = self.policy(&format!("{k}.policy"), raw.policy);
        let allow_from = raw.allow_from.unwrap_or_default();
        if policy == Policy::Allowlist && allow_from.is_empty() {
            self.problem(format!("{k}.allow_from"), "is empty, so policy = \"allowlist\" would let nobody in; add Slack user ids such as \"U0123ABCD\"");
        }
        let admins = raw.admins.unwrap_or_default();
        if let Some(bad) = admins.iter().find(|id| !is_slack_user_id(id)) {
            self.problem(
                format!("{k}.admins"),
                format!("`{}` is not a Slack user id; write ids such as \"U0123ABCD\" (in Slack: a person's profile, More, Copy member ID)", crate::display::sanitize(bad, 40)),
            );
        }
        SlackConfig {
            app_token_file: self.secret_file(
                &format!("{k}.app_token_file"),
                raw.app_token_file,
                "secrets/slack-app-token",
            ),
            bot_token_file: self.secret_file(
                &format!("{k}.bot_token_file"),
                raw.bot_token_file,
                "secrets/slack-bot-token",
            ),
            api_url: self.url(
                &format!("{k}.api_url"),
                raw.api_url,
                "https://slack.com/api",
            ),
            policy,
            allow_from,
            admins,
            rate_limit_per_minute: u32::try_from(self.int(
                &format!("{k}.rate_limit_per_minute"),
                raw.rate_limit_per_minute,
                20,
                1,
                10_000,
            ))
            .unwrap_or(20),
        }
    }

    /// An MCP server section. Its secret files are checked only when the section is present, since
    /// the gateway alone never reads them.
    fn mcp_server(
        &mut self,
        section: &str,
        raw: Option<raw::RawMcpServer>,
        d: &McpDefaults,
    ) -> McpServerConfig {
        let present = raw.is_some();
        let raw = raw.unwrap_or_default();
        let limits = self.auth_limits(section, &raw);
        let k = |key: &str| format!("[{section}].{key}");
        let listen = self.addr(&k("listen"), raw.listen, d.listen);
        let public_default = format!("http://{listen}");
        let (client_id_file, client_secret_file) = if present {
            (
                self.secret_file(&k("client_id_file"), raw.client_id_file, d.client_id_file),
                self.secret_file(
                    &k("client_secret_file"),
                    raw.client_secret_file,
                    d.client_secret_file,
                ),
            )
        } else {
            (self.path(d.client_id_file), self.path(d.client_secret_file))
        };
        let public_url = self.url(&k("public_url"), raw.public_url, &public_default);
        if public_url.query().is_some() || public_url.fragment().is_some() {
            self.problem(k("public_url"), "must not have a query or fragment");
        }
        let token_url = self.url(&k("token_url"), raw.token_url, d.token_url);
        let revoke_url = match raw.revoke_url {
            Some(text) => self.url(&k("revoke_url"), Some(text), d.revoke_url),
            None => revoke_url_beside(&token_url).unwrap_or_else(|| {
                self.problem(
                    k("revoke_url"),
                    format!(
                        "is needed: token_url `{token_url}` does not end in /token, so the revocation endpoint cannot be worked out from it"
                    ),
                );
                Url::parse(d.revoke_url).expect("default URLs are valid")
            }),
        };
        McpServerConfig {
            configured: present,
            listen,
            public_url,
            client_id_file,
            client_secret_file,
            api_url: self.url(&k("api_url"), raw.api_url, d.api_url),
            authorize_url: self.url(&k("authorize_url"), raw.authorize_url, d.authorize_url),
            revoke_url,
            token_url,
            allowed_hosts: raw.allowed_hosts.unwrap_or_default(),
            access_token_ttl: self.secs(
                &k("access_token_ttl_secs"),
                raw.access_token_ttl_secs,
                3600,
                86_400,
            ),
            refresh_token_ttl: self.secs(
                &k("refresh_token_ttl_secs"),
                raw.refresh_token_ttl_secs,
                30 * 86_400,
                365 * 86_400,
            ),
            listener: self.listener(
                &format!("[{section}]"),
                raw.header_timeout_secs,
                raw.idle_timeout_secs,
                raw.max_connections,
            ),
            limits,
            requests_per_second: u32::try_from(self.int(
                &k("requests_per_second"),
                raw.requests_per_second,
                d.requests_per_second,
                0,
                1000,
            ))
            .unwrap_or(0),
            tool_timeout: self.secs(&k("tool_timeout_secs"), raw.tool_timeout_secs, 50, 3600),
        }
    }

    /// A listener's bounds from its section's keys.
    fn listener(
        &mut self,
        section: &str,
        header_timeout: Option<i64>,
        idle_timeout: Option<i64>,
        max_connections: Option<i64>,
    ) -> ListenerLimits {
        let d = ListenerLimits::default();
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let limits = ListenerLimits {
            header_timeout: self.secs(
                &format!("{section}.header_timeout_secs"),
                header_timeout,
                secs(d.header_timeout),
                3600,
            ),
            idle_timeout: self.secs(
                &format!("{section}.idle_timeout_secs"),
                idle_timeout,
                secs(d.idle_timeout),
                86_400,
            ),
            max_connections: self.count(
                &format!("{section}.max_connections"),
                max_connections,
                d.max_connections,
                1_000_000,
            ),
        };
        if limits.idle_timeout < limits.header_timeout {
            self.problem(
                format!("{section}.idle_timeout_secs"),
                format!(
                    "must be at least header_timeout_secs ({}), or a slow request head would meet the idle timeout first",
                    limits.header_timeout.as_secs()
                ),
            );
        }
        limits
    }

    /// A positive count; `default` when absent.
    fn count(&mut self, key: &str, value: Option<i64>, default: usize, max: i64) -> usize {
        let default = i64::try_from(default).unwrap_or(max);
        usize::try_from(self.int(key, value, default, 1, max)).unwrap_or(1)
    }

    /// An authorization server's limits from its section's keys.
    fn auth_limits(&mut self, section: &str, raw: &raw::RawMcpServer) -> AuthLimits {
        let k = |key: &str| format!("[{section}].{key}");
        let d = AuthLimits::default();
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let rate = |v: &mut Self, key: &str, value: Option<i64>, default: Rate| Rate {
            per_minute: u32::try_from(v.int(
                &k(key),
                value,
                i64::from(default.per_minute),
                1,
                100_000,
            ))
            .unwrap_or(default.per_minute),
        };
        let register = rate(
            self,
            "register_per_minute",
            raw.register_per_minute,
            d.register,
        );
        let authorize = rate(
            self,
            "authorize_per_minute",
            raw.authorize_per_minute,
            d.authorize,
        );
        let token = rate(self, "token_per_minute", raw.token_per_minute, d.token);
        let sessions = SessionLimits {
            total: self.count(
                &k("max_sessions"),
                raw.max_sessions,
                d.sessions.total,
                1_000_000,
            ),
            per_account: self.count(
                &k("max_sessions_per_account"),
                raw.max_sessions_per_account,
                d.sessions.per_account,
                1_000_000,
            ),
            per_client: self.count(
                &k("max_sessions_per_client"),
                raw.max_sessions_per_client,
                d.sessions.per_client,
                1_000_000,
            ),
            per_grant: self.count(
                &k("max_sessions_per_grant"),
                raw.max_sessions_per_grant,
                d.sessions.per_grant,
                1_000_000,
            ),
        };
        AuthLimits {
            register,
            authorize,
            token,
            trust_forwarded_for: raw.trust_forwarded_for.unwrap_or(d.trust_forwarded_for),
            max_clients: self.count(
                &k("max_clients"),
                raw.max_clients,
                d.max_clients,
                10_000_000,
            ),
            unused_client_ttl: self.secs(
                &k("unused_client_ttl_secs"),
                raw.unused_client_ttl_secs,
                secs(d.unused_client_ttl),
                365 * 86_400,
            ),
            idle_client_ttl: self.secs(
                &k("idle_client_ttl_secs"),
                raw.idle_client_ttl_secs,
                secs(d.idle_client_ttl),
                10 * 365 * 86_400,
            ),
            max_pending: self.count(
                &k("max_pending"),
                raw.max_pending,
                d.max_pending,
                10_000_000,
            ),
            allow_private_client_documents: raw
                .allow_private_client_documents
                .unwrap_or(d.allow_private_client_documents),
            sessions,
        }
    }
}

/// The revocation endpoint beside a token endpoint whose path ends in `/token`: the same URL
/// ending in `/revoke` (Google: `…/token` → `…/revoke`; Notion: `/v1/oauth/token` →
/// `/v1/oauth/revoke`).
/// Whether `id` is shaped like a Slack user id: `U` or `W` (Enterprise Grid), then capital
/// letters and digits.
fn is_slack_user_id(id: &str) -> bool {
    id.len() >= 2
        && id.len() <= 32
        && id.starts_with(['U', 'W'])
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn revoke_url_beside(token_url: &Url) -> Option<Url> {
    let path = token_url.path().strip_suffix("/token")?;
    let mut url = token_url.clone();
    url.set_path(&format!("{path}/revoke"));
    Some(url)
}

struct McpDefaults {
    listen: &'static str,
    client_id_file: &'static str,
    client_secret_file: &'static str,
    api_url: &'static str,
    authorize_url: &'static str,
    token_url: &'static str,
    revoke_url: &'static str,
    /// Notion allows a connection about three requests per second; Google's per-user quotas
    /// are per minute and answered with errors that are retried, so it gets no budget.
    requests_per_second: i64,
}

const NOTION_DEFAULTS: McpDefaults = McpDefaults {
    listen: "127.0.0.1:8000",
    client_id_file: "secrets/notion-client-id",
    client_secret_file: "secrets/notion-client-secret",
    api_url: "https://api.notion.com",
    authorize_url: "https://api.notion.com/v1/oauth/authorize",
    token_url: "https://api.notion.com/v1/oauth/token",
    revoke_url: "https://api.notion.com/v1/oauth/revoke",
    requests_per_second: 3,
};

const GCAL_DEFAULTS: McpDefaults = McpDefaults {
    listen: "127.0.0.1:8001",
    client_id_file: "secrets/google-client-id",
    client_secret_file: "secrets/google-client-secret",
    api_url: "https://www.googleapis.com/calendar/v3",
    authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
    token_url: "https://oauth2.googleapis.com/token",
    revoke_url: "https://oauth2.googleapis.com/revoke",
    requests_per_second: 0,
};

#[cfg(test)]
mod tests;
