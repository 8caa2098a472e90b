//! `POST /alertmanager`: Alertmanager's webhook (payload version 4) on `serve`'s HTTP surface,
//! enabled by `[alerting]`. Each accepted payload becomes one short message to every admin of
//! every channel, saying `FIRING` or `RESOLVED` and naming each alert's `alertname` and its
//! `summary` annotation.
//!
//! The route can be reached by anyone who reaches the gateway, so it is guarded: a request
//! without the bearer token of `[alerting].webhook_token_file` gets 401 (compared in constant
//! time) and sends nothing; the body is read only after that, and at most [`MAX_BODY_BYTES`]
//! of it (413 beyond); a body that is not Alertmanager's payload gets 400. Refused and
//! accepted requests each have a budget a minute (429 with `Retry-After` beyond), so neither a
//! stranger guessing tokens nor a looping sender can flood the admins or the process. A
//! payload with many alerts lists the first [`MAX_LISTED`] and counts the rest.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use crate::channels::admin_line::AdminLine;
use crate::display::sanitize;

/// The largest body read; Alertmanager's payload for a group of 20 alerts is a few KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The most alerts named in one message; the rest are counted.
pub const MAX_LISTED: usize = 10;
/// The longest `summary` shown, in characters.
const MAX_SUMMARY_CHARS: usize = 200;
/// The longest `alertname` shown, in characters.
const MAX_NAME_CHARS: usize = 80;
/// Accepted payloads a minute.
const ACCEPTED_PER_MINUTE: u32 = 30;
/// Refused requests (no or a wrong bearer) a minute.
const REFUSED_PER_MINUTE: u32 = 30;

/// The route's state: the token, the line to the admins, and the budgets.
#[derive(Clone)]
pub struct AlertState {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    token: SecretString,
    line: AdminLine,
    accepted: Mutex<Budget>,
    refused: Mutex<Budget>,
}

impl AlertState {
    /// The webhook accepting `token`, telling the admins on `line`.
    #[must_use]
    pub fn new(token: SecretString, line: AdminLine) -> Self {
        Self {
            inner: std::sync::Arc::new(Inner {
                token,
                line,
                accepted: Mutex::new(Budget::per_minute(ACCEPTED_PER_MINUTE)),
                refused: Mutex::new(Budget::per_minute(REFUSED_PER_MINUTE)),
            }),
        }
    }
}

/// `POST /alertmanager` with `state`.
pub fn router(state: AlertState) -> Router {
    Router::new()
        .route("/alertmanager", post(receive))
        .with_state(state)
}

/// A budget of `capacity` requests refilled evenly over a minute.
#[derive(Debug)]
struct Budget {
    capacity: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Budget {
    fn per_minute(n: u32) -> Self {
        Self {
            capacity: f64::from(n),
            tokens: f64::from(n),
            last: None,
        }
    }

    /// Takes one request from the budget, or says how long until one is free.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(last) = self.last {
            let refill = now.duration_since(last).as_secs_f64() * self.capacity / 60.0;
            self.tokens = (self.tokens + refill).min(self.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) * 60.0 / self.capacity,
            ))
        }
    }
}

async fn receive(State(state): State<AlertState>, request: Request) -> Response {
    let inner = &state.inner;
    if !authorized(request.headers(), &inner.token) {
        if let Err(wait) = inner.refused.lock().take(Instant::now()) {
            return slow_down(wait);
        }
        tracing::warn!("refused an Alertmanager webhook request without the right bearer token");
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "a bearer token is required: Alertmanager's http_config.authorization.credentials_file must hold the token of [alerting].webhook_token_file\n",
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    if let Err(wait) = inner.accepted.lock().take(Instant::now()) {
        tracing::warn!(
            "Alertmanager sends more than {ACCEPTED_PER_MINUTE} payloads a minute; asked it to wait"
        );
        return slow_down(wait);
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the payload is larger than {MAX_BODY_BYTES} bytes; lower max_alerts in Alertmanager's webhook_config\n"),
            )
                .into_response();
        }
    };
    let text = match message(&body) {
        Ok(text) => text,
        Err(problem) => {
            tracing::warn!(%problem, "refused a malformed Alertmanager payload");
            return (
                StatusCode::BAD_REQUEST,
                format!("not an Alertmanager webhook payload (version 4): {problem}\n"),
            )
                .into_response();
        }
    };
    let told = inner.line.tell(&text);
    if told == 0 {
        tracing::warn!(
            "an alert reached no admin: set [channels.*].admins (and each admin must have written to the bot once)"
        );
    } else {
        tracing::info!(
            admins = told,
            "an Alertmanager payload was sent to the admins"
        );
    }
    (StatusCode::OK, format!("sent to {told} admins\n")).into_response()
}

/// A 429 asking to come back after `wait`.
fn slow_down(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many requests; retry in {secs} s\n"),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time (over
/// digests, so the length does not show either).
fn authorized(headers: &HeaderMap, token: &SecretString) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    let want = Sha256::digest(token.expose_secret().as_bytes());
    let got = Sha256::digest(presented.as_bytes());
    want.ct_eq(&got).into()
}

/// Alertmanager's webhook payload, version 4: the fields the message uses.
#[derive(Debug, Deserialize)]
struct Payload {
    version: String,
    status: String,
    alerts: Vec<Alert>,
    #[serde(default, rename = "truncatedAlerts")]
    truncated_alerts: u64,
}

/// One alert of a payload.
#[derive(Debug, Deserialize)]
struct Alert {
    status: String,
    #[serde(default)]
    labels: HashMap<String, String>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// `FIRING` or `RESOLVED` for an Alertmanager status.
fn word(status: &str) -> Result<&'static str, String> {
    match status {
        "firing" => Ok("FIRING"),
        "resolved" => Ok("RESOLVED"),
        other => Err(format!(
            "status `{}` is neither firing nor resolved",
            sanitize(other, 20)
        )),
    }
}

/// The message the admins get for the payload `body`, or what is wrong with it.
fn message(body: &[u8]) -> Result<String, String> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| {
        let mut said = e.to_string();
        said.truncate(200);
        said
    })?;
    if payload.version != "4" {
        return Err(format!(
            "version `{}` is not 4",
            sanitize(&payload.version, 10)
        ));
    }
    let overall = word(&payload.status)?;
    let total = u64::try_from(payload.alerts.len())
        .unwrap_or(u64::MAX)
        .saturating_add(payload.truncated_alerts);
    let plural = if total == 1 { "" } else { "s" };
    let mut text = format!("{overall}: {total} alert{plural}");
    for alert in payload.alerts.iter().take(MAX_LISTED) {
        let status = word(&alert.status)?;
        let name = alert
            .labels
            .get("alertname")
            .map(|n| sanitize(n, MAX_NAME_CHARS))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "(no alertname)".to_owned());
        let summary = alert
            .annotations
            .get("summary")
            .map(|s| sanitize(s, MAX_SUMMARY_CHARS))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "(no summary)".to_owned());
        text.push_str(&format!("\n- {status} {name}: {summary}"));
    }
    for alert in payload.alerts.iter().skip(MAX_LISTED) {
        word(&alert.status)?;
    }
    let listed = u64::try_from(payload.alerts.len().min(MAX_LISTED)).unwrap_or(0);
    if total > listed {
        text.push_str(&format!("\n… and {} more.", total - listed));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(status: &str, name: &str, summary: &str) -> serde_json::Value {
        json!({
            "status": status,
            "labels": {"alertname": name, "namespace": "mcp-gateway", "severity": "warning"},
            "annotations": {"summary": summary, "description": "longer"},
            "startsAt": "2026-12-03T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": "c0ffee"
        })
    }

    fn payload(status: &str, alerts: Vec<serde_json::Value>, truncated: u64) -> Vec<u8> {
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"GatewayDown\"}",
            "truncatedAlerts": truncated,
            "status": status,
            "receiver": "mcp-gateway",
            "groupLabels": {"alertname": "GatewayDown"},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_payload_names_each_alert_and_its_summary() {
        let text = message(&payload(
            "firing",
            vec![
                alert("firing", "GatewayDown", "The gateway is not answering."),
                alert("resolved", "ModelSlow", "Replies\nare slow."),
            ],
            0,
        ))
        .unwrap();
        assert_eq!(
            text,
            "FIRING: 2 alerts\n- FIRING GatewayDown: The gateway is not answering.\n- RESOLVED ModelSlow: Replies are slow."
        );
        let text = message(&payload(
            "resolved",
            vec![alert("resolved", "GatewayDown", "back")],
            0,
        ))
        .unwrap();
        assert_eq!(text, "RESOLVED: 1 alert\n- RESOLVED GatewayDown: back");
    }

    #[test]
    fn many_alerts_become_one_short_message() {
        let alerts = (0..40)
            .map(|i| alert("firing", &format!("Alert{i}"), &"x".repeat(5000)))
            .collect();
        let text = message(&payload("firing", alerts, 60)).unwrap();
        assert!(text.starts_with("FIRING: 100 alerts\n"), "{text}");
        assert_eq!(text.matches("\n- FIRING Alert").count(), MAX_LISTED);
        assert!(text.ends_with("… and 90 more."), "{text}");
        assert!(text.chars().count() < 3000, "{}", text.len());
    }

    #[test]
    fn what_is_not_the_payload_is_refused() {
        for body in [
            b"not json".to_vec(),
            b"[]".to_vec(),
            br#"{"version":"4","status":"firing"}"#.to_vec(),
            br#"{"version":"3","status":"firing","alerts":[]}"#.to_vec(),
            br#"{"version":"4","status":"burning","alerts":[]}"#.to_vec(),
            payload("firing", vec![alert("smouldering", "A", "b")], 0),
            br#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":5}}]}"#.to_vec(),
        ] {
            assert!(message(&body).is_err(), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn the_bearer_must_match_exactly() {
        let token = SecretString::from("s3cret-token".to_owned());
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            authorized(&headers, &token)
        };
        assert!(with("Bearer s3cret-token"));
        assert!(with("bearer s3cret-token"));
        assert!(!with("Bearer s3cret-toke"));
        assert!(!with("Bearer s3cret-token2"));
        assert!(!with("Basic s3cret-token"));
        assert!(!with("s3cret-token"));
        assert!(!authorized(&HeaderMap::new(), &token));
    }

    #[test]
    fn a_budget_refills_over_a_minute() {
        let mut budget = Budget::per_minute(2);
        let start = Instant::now();
        assert!(budget.take(start).is_ok());
        assert!(budget.take(start).is_ok());
        let wait = budget.take(start).unwrap_err();
        assert!(
            wait <= Duration::from_secs(30) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert!(budget.take(start + Duration::from_secs(31)).is_ok());
    }
}
