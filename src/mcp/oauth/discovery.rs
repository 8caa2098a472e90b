//! Finding a server's protected resource before rmcp takes over discovery.
//!
//! The gateway sends the server an unauthenticated `initialize`; a server that implements MCP
//! authorization answers 401 with `WWW-Authenticate: Bearer resource_metadata="…"`. The
//! protected-resource metadata (RFC 9728) named there, or found at the well-known locations, says
//! which `resource` the server is: that URL is what the gateway sends as RFC 8707 `resource` and
//! what rmcp's authorization manager is built for. rmcp then resolves the authorization server's
//! metadata from the same challenge (with its issuer checks).

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

/// The largest metadata document read.
const MAX_METADATA_BYTES: usize = 64 * 1024;
/// The deadline of each discovery request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server said about itself.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The `WWW-Authenticate` challenge of the unauthenticated request, if any.
    pub challenge: Option<String>,
    /// The protected resource's identifier.
    pub resource: Url,
}

/// Why a server's resource could not be found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryError {
    /// The server could not be reached.
    #[error("the server could not be reached ({0})")]
    Unreachable(String),
    /// The server accepted a request without credentials.
    #[error("the server does not ask for authorization (it answered HTTP {0} without a token)")]
    NoAuthorization(u16),
    /// The metadata names a resource on another origin.
    #[error("the server's metadata names a resource on another site ({0})")]
    ForeignResource(String),
}

/// Probes `server_url` and reads its protected-resource metadata.
pub(crate) async fn find_resource(
    http: &reqwest::Client,
    server_url: &Url,
) -> Result<Resource, DiscoveryError> {
    let probe = http
        .post(server_url.as_str())
        .timeout(REQUEST_TIMEOUT)
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")}}}),
        )
        .send()
        .await
        .map_err(|e| DiscoveryError::Unreachable(describe(&e)))?;
    let status = probe.status().as_u16();
    if status != 401 && status != 403 {
        return Err(DiscoveryError::NoAuthorization(status));
    }
    let challenge = probe
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.trim_start().to_ascii_lowercase().starts_with("bearer"))
        .map(|v| v.chars().take(4096).collect::<String>());
    let mut candidates = Vec::new();
    if let Some(url) = challenge
        .as_deref()
        .and_then(|c| resource_metadata_param(c, server_url))
    {
        candidates.push(url);
    }
    candidates.extend(well_known(server_url));
    for candidate in candidates {
        if let Some(resource) = fetch_resource(http, &candidate).await {
            if resource.origin() != server_url.origin() {
                return Err(DiscoveryError::ForeignResource(resource.to_string()));
            }
            return Ok(Resource {
                challenge,
                resource,
            });
        }
    }
    // Without metadata the configured URL is the resource (the 2025-03-26 fallback).
    Ok(Resource {
        challenge,
        resource: server_url.clone(),
    })
}

/// The `resource_metadata` parameter of a Bearer challenge, resolved against `base`.
fn resource_metadata_param(challenge: &str, base: &Url) -> Option<Url> {
    let lower = challenge.to_ascii_lowercase();
    let key = "resource_metadata=";
    let start = lower.find(key)? + key.len();
    let rest = challenge.get(start..)?;
    let value = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        rest.split([',', ' ']).next()?
    };
    base.join(value).ok()
}

/// The well-known metadata locations of `server_url`: path-inserted first, then the root.
fn well_known(server_url: &Url) -> Vec<Url> {
    let path = server_url.path().trim_end_matches('/');
    let mut out = Vec::new();
    for suffix in [path, ""] {
        let mut url = server_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.set_path(&format!("/.well-known/oauth-protected-resource{suffix}"));
        if !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

/// The `resource` of the metadata document at `url`, when it is one.
async fn fetch_resource(http: &reqwest::Client, url: &Url) -> Option<Url> {
    let response = http
        .get(url.as_str())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = read_bounded(response).await?;
    let document: Value = serde_json::from_slice(&body).ok()?;
    let resource = document.get("resource")?.as_str()?;
    Url::parse(resource).ok()
}

/// The body of `response`, when it is at most [`MAX_METADATA_BYTES`].
pub(crate) async fn read_bounded(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_METADATA_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// A request error without its URL.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_resource_metadata_parameter() {
        let base = Url::parse("http://127.0.0.1:8000/mcp").unwrap();
        let c = r#"Bearer error="invalid_token", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#;
        assert_eq!(
            resource_metadata_param(c, &base).unwrap().as_str(),
            "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
        );
        assert!(resource_metadata_param("Bearer realm=\"x\"", &base).is_none());
        let relative = "Bearer resource_metadata=/meta";
        assert_eq!(
            resource_metadata_param(relative, &base).unwrap().as_str(),
            "http://127.0.0.1:8000/meta"
        );
    }

    #[test]
    fn well_known_locations_insert_the_path_first() {
        let urls = well_known(&Url::parse("https://a.example/mcp/").unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            [
                "https://a.example/.well-known/oauth-protected-resource/mcp",
                "https://a.example/.well-known/oauth-protected-resource"
            ]
        );
    }
}
