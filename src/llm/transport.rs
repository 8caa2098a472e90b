//! HTTP plumbing shared by the model clients: the client, timeouts, bounded bodies and the mapping
//! of transport failures and error statuses onto [`ModelError`].
//!
//! Streamed replies have no overall deadline but three separate limits: connecting
//! (`connect_timeout`, brief, so that a server that is down is reported at once), the first
//! output (`first_byte_timeout`: the server's queue, loading the model and evaluating the prompt;
//! Ollama sends not even its headers before the first output) and the silence between two lines
//! after that (`idle_timeout`), so a long answer from a slow model is fine as long as it keeps
//! coming. Every other request is bounded as a whole by `request_timeout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::ModelError;
use super::lines::{LineStream, innermost};
use super::wire::{error_text, truncate};
use crate::config::ModelConfig;

/// The longest line accepted in a streamed reply.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;
/// The most bytes of an error body read to find its message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The most characters of a server's error message kept.
pub(crate) const MAX_ERROR_CHARS: usize = 400;

/// An HTTP client bound to one model server.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    shown: String,
    down_hint: &'static str,
    timeout: Duration,
    /// Set by the first answer of any kind, shared by every clone of this client.
    reached: Arc<AtomicBool>,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
}

impl Http {
    /// A client for the server at `config.base_url`, sending `headers` with every request.
    ///
    /// `down_hint` is appended to the message when the server cannot be reached, telling the
    /// operator what to check.
    ///
    /// # Errors
    /// Fails when the HTTP client cannot be built.
    pub(crate) fn new(
        config: &ModelConfig,
        headers: HeaderMap,
        down_hint: &'static str,
    ) -> Result<Self, ModelError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("mcp-gateway/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ModelError::Client(innermost(&e)))?;
        Ok(Self {
            client,
            base: config.base_url.clone(),
            shown: shown_url(&config.base_url),
            down_hint,
            timeout: config.request_timeout,
            reached: Arc::new(AtomicBool::new(false)),
            connect_timeout: config.connect_timeout,
            first_byte_timeout: config.first_byte_timeout,
            idle_timeout: config.idle_timeout,
        })
    }

    /// The base path of the configured URL (`/` or `/prefix`), without a trailing slash.
    pub(crate) fn base_path(&self) -> &str {
        self.base.path().trim_end_matches('/')
    }

    /// The URL of `path` (starting with `/`) under the base URL, keeping any path prefix.
    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base_path()));
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// Posts `body` as JSON and returns the reply's lines once the status says success.
    ///
    /// The headers and the first line must come within the first-byte timeout of sending (the
    /// server's queue, loading the model and evaluating the prompt); every later line within
    /// the idle timeout of the one before. Lines are bounded by [`MAX_LINE_BYTES`].
    ///
    /// # Errors
    /// Transport failures, [`ModelError::NoFirstOutput`], or [`ModelError::Server`] for an
    /// error status.
    pub(crate) async fn post_stream<B: Serialize + ?Sized>(
        &self,
        url: Url,
        body: &B,
    ) -> Result<LineStream, ModelError> {
        let first_by = tokio::time::Instant::now() + self.first_byte_timeout;
        let send = self.client.post(url).json(body).send();
        let response = match tokio::time::timeout_at(first_by, send).await {
            Err(_) => return Err(ModelError::NoFirstOutput(self.first_byte_timeout)),
            Ok(result) => result.map_err(|e| self.transport(&e))?,
        };
        let response = self.check(response).await?;
        Ok(
            LineStream::from_response(response, MAX_LINE_BYTES, self.idle_timeout)
                .first_line_by(first_by, self.first_byte_timeout),
        )
    }

    /// Gets `url` and reads a JSON body of at most `max_bytes`.
    ///
    /// # Errors
    /// As [`Http::post_stream`], plus [`ModelError::Decode`] for an oversized or unexpected body.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        max_bytes: usize,
    ) -> Result<T, ModelError> {
        self.json(self.client.get(url), max_bytes).await
    }

    /// Posts `body` as JSON and reads a JSON body of at most `max_bytes`.
    ///
    /// # Errors
    /// As [`Http::get_json`].
    pub(crate) async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: Url,
        body: &B,
        max_bytes: usize,
    ) -> Result<T, ModelError> {
        self.json(self.client.post(url).json(body), max_bytes).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        max_bytes: usize,
    ) -> Result<T, ModelError> {
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let path = response.url().path().to_owned();
        let response = self.check(response).await?;
        let body = self
            .read_limited(response, max_bytes)
            .await?
            .ok_or_else(|| {
                ModelError::Decode(format!(
                    "the answer to {path} was larger than {max_bytes} bytes"
                ))
            })?;
        serde_json::from_slice(&body).map_err(|e| {
            ModelError::Decode(format!("the answer to {path} has an unexpected shape: {e}"))
        })
    }

    /// Passes a success response through; turns any other status into [`ModelError::Server`]
    /// carrying the body's error message, truncated.
    async fn check(&self, response: reqwest::Response) -> Result<reqwest::Response, ModelError> {
        self.reached.store(true, Ordering::Relaxed);
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = self
            .read_limited(response, MAX_ERROR_BODY_BYTES)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let message = serde_json::from_slice(&body)
            .ok()
            .and_then(|value| error_text(&value))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        let message = if message.is_empty() {
            status.canonical_reason().unwrap_or("no message").to_owned()
        } else {
            truncate(&message, MAX_ERROR_CHARS)
        };
        Err(ModelError::Server {
            status: status.as_u16(),
            message,
        })
    }

    /// The whole body, or `None` when it is longer than `max_bytes`.
    async fn read_limited(
        &self,
        mut response: reqwest::Response,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, ModelError> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > max_bytes {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// Maps a transport failure, naming the server but never the request's headers.
    fn transport(&self, error: &reqwest::Error) -> ModelError {
        if error.is_connect() {
            let reason = if error.is_timeout() {
                format!(
                    "no connection within {:?} ([model].connect_timeout_secs)",
                    self.connect_timeout
                )
            } else {
                innermost(error)
            };
            ModelError::Unreachable {
                url: self.shown.clone(),
                reason: format!("{reason}; {}", self.down_hint),
                ever_reached: self.reached.load(Ordering::Relaxed),
            }
        } else if error.is_timeout() {
            ModelError::Timeout(self.timeout)
        } else if error.is_body() || error.is_decode() {
            ModelError::Decode(format!("the reply broke off: {}", innermost(error)))
        } else if error.is_builder() {
            ModelError::Client(innermost(error))
        } else {
            ModelError::Unreachable {
                url: self.shown.clone(),
                reason: innermost(error),
                ever_reached: self.reached.load(Ordering::Relaxed),
            }
        }
    }
}

/// `url` without credentials, query, fragment or trailing slash, for messages and logs.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both calls fail only for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Provider;

    fn config(base: &str) -> ModelConfig {
        ModelConfig {
            provider: Provider::Ollama,
            base_url: Url::parse(base).unwrap_or_else(|e| panic!("{base}: {e}")),
            name: "m".into(),
            num_ctx: 2048,
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            first_byte_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(3),
            parallel: 1,
            queue_notice: Duration::from_secs(4),
            think: false,
            embed_name: None,
            api_key_file: None,
            keep_alive: None,
            temperature: None,
        }
    }

    /// Paths join under any prefix, and the shown URL hides credentials and queries.
    #[test]
    fn urls() {
        let http = Http::new(
            &config("http://u:secret@host:11434/ollama/?x=1"),
            HeaderMap::new(),
            "",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            http.url("/api/chat").as_str(),
            "http://u:secret@host:11434/ollama/api/chat"
        );
        assert_eq!(http.shown, "http://host:11434/ollama");
        let plain = Http::new(&config("http://127.0.0.1:11434"), HeaderMap::new(), "")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plain.url("/api/tags").as_str(),
            "http://127.0.0.1:11434/api/tags"
        );
        assert_eq!(plain.shown, "http://127.0.0.1:11434");
        assert_eq!(plain.base_path(), "");
    }
}
