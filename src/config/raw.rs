//! The configuration file exactly as written: every section and key of the contract, unknown keys
//! rejected. [`super::Config::from_raw`] turns it into validated settings.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub model: RawModel,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub agent: RawAgent,
    #[serde(default)]
    pub servers: Vec<RawServer>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub channels: RawChannels,
    pub notion_mcp: Option<RawMcpServer>,
    pub gcal_mcp: Option<RawMcpServer>,
    pub alerting: Option<RawAlerting>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerting {
    pub webhook_token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub provider: Option<String>,
    pub base_url: Option<String>,
    pub name: Option<String>,
    pub num_ctx: Option<i64>,
    pub request_timeout_secs: Option<i64>,
    pub connect_timeout_secs: Option<i64>,
    pub first_byte_timeout_secs: Option<i64>,
    pub idle_timeout_secs: Option<i64>,
    pub parallel: Option<i64>,
    pub queue_notice_secs: Option<i64>,
    pub think: Option<bool>,
    pub embed_name: Option<String>,
    pub api_key_file: Option<String>,
    pub keep_alive: Option<RawKeepAlive>,
    pub temperature: Option<f64>,
}

/// `keep_alive` as written: a number of seconds or a text.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a number of seconds or a duration such as \"30m\""
)]
pub(crate) enum RawKeepAlive {
    Number(f64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub path: Option<String>,
    pub seal_key_file: Option<String>,
    pub allow_readable_seal_key: Option<bool>,
    pub seal_key_group_readable: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgent {
    pub system_prompt_file: Option<String>,
    pub max_tool_rounds: Option<i64>,
    pub tool_selection: Option<String>,
    pub max_offered_tools: Option<i64>,
    pub turn_timeout_secs: Option<i64>,
    pub tool_timeout_secs: Option<i64>,
    pub max_tool_result_chars: Option<i64>,
    pub history_share: Option<f64>,
    pub time_zone: Option<String>,
    pub task_grace_secs: Option<i64>,
    pub max_scheduled: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub name: Option<String>,
    pub url: Option<String>,
    pub auth: Option<String>,
    pub bearer_token_file: Option<String>,
    pub allow_tools: Option<Vec<String>>,
    pub deny_tools: Option<Vec<String>>,
    pub core_tools: Option<Vec<String>>,
    pub keywords: Option<Vec<String>>,
    pub timeout_secs: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub header_timeout_secs: Option<i64>,
    pub idle_timeout_secs: Option<i64>,
    pub max_connections: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChannels {
    pub telegram: Option<RawTelegram>,
    pub slack: Option<RawSlack>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelegram {
    pub token_file: Option<String>,
    pub api_url: Option<String>,
    pub policy: Option<String>,
    pub allow_from: Option<Vec<i64>>,
    pub admins: Option<Vec<i64>>,
    pub rate_limit_per_minute: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlack {
    pub app_token_file: Option<String>,
    pub bot_token_file: Option<String>,
    pub api_url: Option<String>,
    pub policy: Option<String>,
    pub allow_from: Option<Vec<String>>,
    pub admins: Option<Vec<String>>,
    pub rate_limit_per_minute: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcpServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub client_id_file: Option<String>,
    pub client_secret_file: Option<String>,
    pub api_url: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub access_token_ttl_secs: Option<i64>,
    pub refresh_token_ttl_secs: Option<i64>,
    pub header_timeout_secs: Option<i64>,
    pub idle_timeout_secs: Option<i64>,
    pub max_connections: Option<i64>,
    pub register_per_minute: Option<i64>,
    pub authorize_per_minute: Option<i64>,
    pub token_per_minute: Option<i64>,
    pub trust_forwarded_for: Option<bool>,
    pub max_clients: Option<i64>,
    pub unused_client_ttl_secs: Option<i64>,
    pub idle_client_ttl_secs: Option<i64>,
    pub max_pending: Option<i64>,
    pub allow_private_client_documents: Option<bool>,
    pub max_sessions: Option<i64>,
    pub max_sessions_per_account: Option<i64>,
    pub max_sessions_per_client: Option<i64>,
    pub max_sessions_per_grant: Option<i64>,
    pub requests_per_second: Option<i64>,
    pub tool_timeout_secs: Option<i64>,
}
