//! The Slack Web API calls the channel needs: `auth.test`, `apps.connections.open`,
//! `chat.postMessage` and `chat.update`, with Slack's rate limits honoured.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

/// The largest Web API response read.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// The longest `Retry-After` honoured before giving up on a call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a Web API call failed.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack asked to slow down for this long.
    #[error("Slack rate limit: retry after {0:?}")]
    RateLimited(Duration),
    /// Slack answered `ok: false`.
    #[error("Slack refused `{method}`: {error}")]
    Api {
        /// The method called.
        method: &'static str,
        /// Slack's error code (`invalid_auth`, `channel_not_found`, ...).
        error: String,
    },
    /// The call could not be made or its answer could not be read.
    #[error("Slack `{method}` failed: {reason}")]
    Transport {
        /// The method called.
        method: &'static str,
        /// What failed.
        reason: String,
    },
}

impl SlackError {
    /// Whether a later retry may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited(_) | Self::Transport { .. } => true,
            Self::Api { error, .. } => matches!(
                error.as_str(),
                "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout"
            ),
        }
    }
}

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    /// The bot's own user id, to ignore its own messages and strip its mentions.
    pub user_id: String,
    /// The workspace id.
    pub team_id: String,
}

/// A posted message's address, for later updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    /// The channel it is in.
    pub channel: String,
    /// Its timestamp id.
    pub ts: String,
}

/// A Slack Web API client for one app.
#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base: Url,
    bot_token: SecretString,
    app_token: SecretString,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl SlackApi {
    /// A client for the Web API at `base` (`https://slack.com/api`).
    ///
    /// # Errors
    /// Fails when the HTTP client cannot be built.
    pub fn new(
        base: Url,
        bot_token: SecretString,
        app_token: SecretString,
    ) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SlackError::Transport {
                method: "client",
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            base,
            bot_token,
            app_token,
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base.as_str().trim_end_matches('/'))
    }

    async fn call(
        &self,
        method: &'static str,
        token: &SecretString,
        body: Value,
    ) -> Result<serde_json::Map<String, Value>, SlackError> {
        let transport = |e: &dyn std::fmt::Display| SlackError::Transport {
            method,
            reason: e.to_string(),
        };
        let response = self
            .http
            .post(self.url(method))
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(&e.without_url()))?;
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let secs = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(SlackError::RateLimited(
                Duration::from_secs(secs).min(MAX_RETRY_AFTER),
            ));
        }
        if !response.status().is_success() {
            return Err(transport(&format!("HTTP {}", response.status())));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport(&e.without_url()))?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(transport(&"response too large"));
        }
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| transport(&e))?;
        if envelope.ok {
            Ok(envelope.rest)
        } else {
            Err(SlackError::Api {
                method,
                error: envelope.error.unwrap_or_else(|| "unknown_error".into()),
            })
        }
    }

    /// Calls `method`, waiting out rate limits (up to `attempts` tries) and retrying transient
    /// failures with a short backoff.
    async fn call_patiently(
        &self,
        method: &'static str,
        body: Value,
        attempts: u32,
    ) -> Result<serde_json::Map<String, Value>, SlackError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.call(method, &self.bot_token, body.clone()).await {
                Err(SlackError::RateLimited(wait)) if tries < attempts => {
                    tracing::warn!(
                        method,
                        wait_secs = wait.as_secs(),
                        "Slack rate limit; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) if e.is_transient() && tries < attempts => {
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(tries))).await;
                }
                other => return other,
            }
        }
    }

    /// Who the bot is.
    ///
    /// # Errors
    /// Fails when the bot token is invalid or Slack cannot be reached.
    pub async fn auth_test(&self) -> Result<BotIdentity, SlackError> {
        let r = self.call_patiently("auth.test", json!({}), 3).await?;
        let field = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(BotIdentity {
            user_id: field("user_id"),
            team_id: field("team_id"),
        })
    }

    /// Opens a Socket Mode connection with the app-level token and returns its WebSocket URL.
    ///
    /// # Errors
    /// Fails when the app token is invalid or Socket Mode is not enabled for the app.
    pub async fn open_connection(&self) -> Result<Url, SlackError> {
        let r = self
            .call("apps.connections.open", &self.app_token, json!({}))
            .await?;
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        Url::parse(url).map_err(|e| SlackError::Transport {
            method: "apps.connections.open",
            reason: format!("bad socket URL: {e}"),
        })
    }

    /// Posts a message (in a thread when `thread_ts` is set).
    ///
    /// # Errors
    /// Fails when Slack refuses it or stays unreachable.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Value>,
    ) -> Result<PostedMessage, SlackError> {
        let mut body = json!({"channel": channel, "text": text, "unfurl_links": false});
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        if let Some(blocks) = blocks {
            body["blocks"] = blocks;
        }
        let r = self.call_patiently("chat.postMessage", body, 4).await?;
        let channel = r
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or(channel)
            .to_owned();
        let ts = r
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(PostedMessage { channel, ts })
    }

    /// Replaces a message's text (and blocks).
    ///
    /// A rate limit is returned to the caller rather than waited out, so a streaming editor can
    /// coalesce and send only the latest text.
    ///
    /// # Errors
    /// Fails when Slack refuses it, asks to slow down, or cannot be reached.
    pub async fn update_message(
        &self,
        message: &PostedMessage,
        text: &str,
        blocks: Option<Value>,
    ) -> Result<(), SlackError> {
        let mut body = json!({"channel": message.channel, "ts": message.ts, "text": text});
        body["blocks"] = blocks.unwrap_or_else(|| json!([]));
        self.call("chat.update", &self.bot_token, body)
            .await
            .map(|_| ())
    }
}
