//! Calls to an upstream REST API (Notion, Google Calendar) on behalf of one [`Grant`]: the bearer
//! comes from the grant, a 401 refreshes the token and retries once, and a rate-limited answer
//! (429, or Google's 403 `rateLimitExceeded`/`userRateLimitExceeded`) is waited out and retried
//! for as long as the tool call's deadline allows: `Retry-After` when the upstream gives one,
//! else exponential backoff with jitter. An optional [`RequestBudget`] spaces the requests made
//! for one account. Response bodies are size-bounded and parsed without panics.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::request_budget::RequestBudget;
use super::{Grant, UpstreamAuthError};

/// Google's reasons for a 403 that means "slow down", retried like a 429.
const RATE_LIMIT_REASONS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];
/// The longest backoff between two retries when the upstream names no wait.
const MAX_BACKOFF: Duration = Duration::from_secs(32);

/// Bounds applied to every upstream call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest response body read, in bytes.
    pub max_body_bytes: usize,
    /// The deadline of one HTTP exchange.
    pub request_timeout: Duration,
    /// How long one tool call may work, waits for rate limits included, before it answers
    /// with what it has.
    pub call_deadline: Duration,
    /// The first backoff after a rate-limited answer without `Retry-After`; each retry doubles
    /// it (up to 32 s), plus up to as much again of random jitter.
    pub backoff_base: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            call_deadline: Duration::from_secs(50),
            backoff_base: Duration::from_secs(1),
        }
    }
}

/// Why an upstream call failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The person's upstream authorization is gone.
    #[error(
        "the connected account is no longer authorized (access was revoked or expired). Ask the person to \
         reconnect the account, then try again."
    )]
    Revoked,
    /// The token endpoint failed while refreshing.
    #[error("could not refresh the upstream sign-in ({0}). Try again in a minute.")]
    AuthUnavailable(String),
    /// The upstream rejected a freshly refreshed token too.
    #[error(
        "the upstream API rejected the account's token even after a refresh. Ask the person to reconnect \
         the account, then try again."
    )]
    StillUnauthorized,
    /// The upstream rate-limited the call (or the account's request budget was spent) beyond
    /// the call's deadline.
    #[error("the upstream API is rate limiting requests; wait {0} seconds and try again.")]
    RateLimited(u64),
    /// The upstream answered with an error status.
    #[error("the upstream API answered {status} {code}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The upstream's error code or reason (`object_not_found`, `notFound`, ...).
        code: String,
        /// The upstream's message.
        message: String,
    },
    /// The upstream could not be reached.
    #[error("could not reach the upstream API ({0}). Try again shortly.")]
    Transport(String),
    /// The response body was larger than allowed.
    #[error(
        "the upstream response was larger than {0} bytes; ask for fewer results (smaller page_size)."
    )]
    TooLarge(usize),
    /// The response body was not the JSON expected.
    #[error("the upstream API answered with a malformed response ({0}). Try again later.")]
    BadBody(String),
    /// The request could not be built (for example an id that cannot form a URL).
    #[error("the request could not be built: {0}")]
    BadRequest(String),
}

impl From<UpstreamAuthError> for UpstreamError {
    fn from(error: UpstreamAuthError) -> Self {
        match error {
            UpstreamAuthError::Revoked => UpstreamError::Revoked,
            UpstreamAuthError::Unavailable(why) => UpstreamError::AuthUnavailable(why),
        }
    }
}

/// One upstream request: method, path segments under the base URL (each percent-encoded),
/// query pairs and an optional JSON body.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl UpstreamRequest {
    /// A request with `method` to the path made of `segments`.
    pub fn new<S: Into<String>>(method: Method, segments: impl IntoIterator<Item = S>) -> Self {
        Self {
            method,
            segments: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
        }
    }

    /// A GET request.
    pub fn get<S: Into<String>>(segments: impl IntoIterator<Item = S>) -> Self {
        Self::new(Method::GET, segments)
    }

    /// Adds a query pair.
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a query pair when `value` is present.
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// An HTTP client for one upstream API.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    base: Url,
    http: reqwest::Client,
    headers: HeaderMap,
    limits: Limits,
    budget: Option<Arc<RequestBudget>>,
}

impl UpstreamClient {
    /// A client for the API at `base`, sending `headers` on every call.
    pub fn new(base: Url, http: reqwest::Client, headers: HeaderMap, limits: Limits) -> Self {
        Self {
            base,
            http,
            headers,
            limits,
            budget: None,
        }
    }

    /// The same client, spacing the requests of each account to `per_second` on average
    /// (none when 0).
    #[must_use]
    pub fn with_budget(mut self, per_second: u32) -> Self {
        self.budget = (per_second > 0).then(|| Arc::new(RequestBudget::per_second(per_second)));
        self
    }

    /// The deadline of a tool call starting now.
    pub fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.limits.call_deadline
    }

    /// The URL of `segments` under the base URL, each segment percent-encoded.
    pub fn url(&self, segments: &[String]) -> Result<Url, UpstreamError> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                UpstreamError::BadRequest("the configured API URL cannot have a path".into())
            })?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    /// Sends `request` with the grant's bearer before `deadline`, handling 401 (refresh, retry
    /// once) and rate limits (wait and retry while the deadline allows). Returns the parsed JSON
    /// body (`Null` for an empty body).
    ///
    /// # Errors
    /// [`UpstreamError::RateLimited`] when the wait for a rate limit or the account's budget
    /// would pass the deadline; the upstream's own error otherwise.
    pub async fn call(
        &self,
        grant: &Grant,
        request: &UpstreamRequest,
        deadline: tokio::time::Instant,
    ) -> Result<Value, UpstreamError> {
        let mut token = grant.tokens.access_token().await?;
        let mut refreshed = false;
        let mut retries = 0u32;
        loop {
            if let Some(budget) = &self.budget {
                budget
                    .acquire(&grant.account, deadline)
                    .await
                    .map_err(|over| UpstreamError::RateLimited(over.wait.as_secs().max(1)))?;
            }
            let response = self.send_once(&token, request, deadline).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                if refreshed {
                    return Err(UpstreamError::StillUnauthorized);
                }
                refreshed = true;
                tracing::debug!(grant = %grant.grant_id, "upstream answered 401; refreshing the token");
                token = grant.tokens.refresh_after_rejection(&token).await?;
                continue;
            }
            let asked_wait = retry_after(response.headers());
            let body = read_bounded(response, self.limits.max_body_bytes).await?;
            if status.is_success() {
                return parse_body(&body);
            }
            let error = status_error(status, &body);
            if !is_rate_limited(&error) {
                return Err(error);
            }
            let wait = asked_wait.unwrap_or_else(|| backoff(self.limits.backoff_base, retries));
            let resume = tokio::time::Instant::now() + wait;
            if let Some(budget) = &self.budget {
                budget.hold_off(&grant.account, resume);
            }
            if resume >= deadline {
                return Err(UpstreamError::RateLimited(wait.as_secs().max(1)));
            }
            retries += 1;
            tracing::debug!(
                status = status.as_u16(),
                wait_ms = wait.as_millis() as u64,
                "upstream is rate limiting; waiting"
            );
            tokio::time::sleep_until(resume).await;
        }
    }

    async fn send_once(
        &self,
        token: &SecretString,
        request: &UpstreamRequest,
        deadline: tokio::time::Instant,
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = self.url(&request.segments)?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(UpstreamError::Transport(
                "the tool call ran out of time before this request".into(),
            ));
        }
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| UpstreamError::AuthUnavailable("the stored token is malformed".into()))?;
        bearer.set_sensitive(true);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .timeout(self.limits.request_timeout.min(left))
            .headers(self.headers.clone())
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        } else if request.method == Method::POST
            || request.method == Method::PATCH
            || request.method == Method::PUT
        {
            builder = builder.header(header::CONTENT_LENGTH, "0");
        }
        builder.send().await.map_err(|e| {
            if e.is_timeout() {
                UpstreamError::Transport("the request timed out".into())
            } else if e.is_connect() {
                UpstreamError::Transport("connection failed".into())
            } else {
                UpstreamError::Transport(e.without_url().to_string())
            }
        })
    }
}

/// Whether `error` asks to slow down: a 429, or a 403 whose reason is one of Google's rate
/// limits (not its daily or usage quotas, which waiting a little does not lift).
fn is_rate_limited(error: &UpstreamError) -> bool {
    match error {
        UpstreamError::Status { status: 429, .. } => true,
        UpstreamError::Status {
            status: 403, code, ..
        } => RATE_LIMIT_REASONS.contains(&code.as_str()),
        _ => false,
    }
}

/// The backoff before retry number `retry` (from 0): `base` doubled each time up to 32 s, plus
/// a random jitter of up to as much again, so that calls waiting together do not return
/// together.
fn backoff(base: Duration, retry: u32) -> Duration {
    let step = base.saturating_mul(1u32 << retry.min(16)).min(MAX_BACKOFF);
    let jitter = step.mul_f64(rand::random::<f64>());
    step + jitter
}

/// The wait a rate-limited answer asks for: `Retry-After` in seconds (or an HTTP date's
/// distance); `None` when it names none.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(86_400)));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    if let Ok(date) = chrono::DateTime::parse_from_rfc2822(value) {
        let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
        return Some(delta.to_std().unwrap_or(Duration::ZERO));
    }
    None
}

/// Reads at most `limit` bytes of the body, failing when there is more.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, UpstreamError> {
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        return Err(UpstreamError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Transport(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(UpstreamError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse_body(body: &[u8]) -> Result<Value, UpstreamError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| UpstreamError::BadBody(format!("invalid JSON: {e}")))
}

/// The error for a non-success status, reading Notion's (`{code, message}`) and Google's
/// (`{error: {message, errors: [{reason}]}}`) error shapes.
fn status_error(status: StatusCode, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut code = String::new();
    let mut message = String::new();
    if let Some(v) = &parsed {
        if let Some(c) = v.get("code").and_then(Value::as_str) {
            code = c.to_owned();
        }
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            message = m.to_owned();
        }
        if let Some(e) = v.get("error") {
            if let Some(m) = e.get("message").and_then(Value::as_str) {
                message = m.to_owned();
            } else if let Some(m) = e.as_str() {
                code = m.to_owned();
            }
            if let Some(r) = e
                .get("errors")
                .and_then(|x| x.get(0))
                .and_then(|x| x.get("reason"))
                .and_then(Value::as_str)
            {
                code = r.to_owned();
            } else if let Some(s) = e.get("status").and_then(Value::as_str) {
                code = s.to_owned();
            }
        }
    }
    if code.is_empty() {
        code = status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
            .replace(' ', "_");
    }
    if message.is_empty() {
        message = "no details given".to_owned();
    }
    UpstreamError::Status {
        status: status.as_u16(),
        code: truncate(&code, 100),
        message: truncate(&message, 500),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_percent_encode_segments() {
        let client = UpstreamClient::new(
            "http://127.0.0.1:1/calendar/v3"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
            reqwest::Client::new(),
            HeaderMap::new(),
            Limits::default(),
        );
        let url = client
            .url(&["calendars".into(), "a b/c@x.com".into(), "events".into()])
            .map(|u| u.to_string())
            .unwrap_or_default();
        assert_eq!(
            url,
            "http://127.0.0.1:1/calendar/v3/calendars/a%20b%2Fc@x.com/events"
        );
    }

    #[test]
    fn error_shapes_are_read() {
        let notion = br#"{"object":"error","status":404,"code":"object_not_found","message":"Could not find page"}"#;
        match status_error(StatusCode::NOT_FOUND, notion) {
            UpstreamError::Status { code, message, .. } => {
                assert_eq!(code, "object_not_found");
                assert_eq!(message, "Could not find page");
            }
            other => panic!("{other:?}"),
        }
        let google = br#"{"error":{"code":410,"message":"Resource has been deleted","errors":[{"reason":"deleted"}]}}"#;
        match status_error(StatusCode::GONE, google) {
            UpstreamError::Status { code, .. } => assert_eq!(code, "deleted"),
            other => panic!("{other:?}"),
        }
        match status_error(StatusCode::BAD_GATEWAY, b"<html>") {
            UpstreamError::Status { code, .. } => assert_eq!(code, "bad_gateway"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("junk"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(1);
        for retry in 0..4 {
            let wait = backoff(base, retry);
            let step = Duration::from_secs(1 << retry);
            assert!(wait >= step && wait <= step * 2, "{retry}: {wait:?}");
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF * 2);
    }

    #[test]
    fn only_rate_limits_are_retried() {
        let status = |status: u16, code: &str| UpstreamError::Status {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(is_rate_limited(&status(429, "rate_limited")));
        assert!(is_rate_limited(&status(403, "rateLimitExceeded")));
        assert!(is_rate_limited(&status(403, "userRateLimitExceeded")));
        assert!(!is_rate_limited(&status(403, "dailyLimitExceeded")));
        assert!(!is_rate_limited(&status(403, "quotaExceeded")));
        assert!(!is_rate_limited(&status(403, "forbidden")));
    }
}
