//! Redirect URIs: which ones a client may register, how answers are added to them, and the
//! redirects that carry them.

use std::net::IpAddr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::{Host, Url};

use super::AuthServer;
use super::errors::ErrorPage;

/// The longest redirect URI accepted.
const MAX_REDIRECT_URI_CHARS: usize = 2000;

/// Whether `host` is this machine: `localhost`, `127.0.0.0/8` or `::1`.
#[must_use]
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether an IP address is this machine.
#[must_use]
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Checks a redirect URI a client wants to register: an absolute `https` URI, or `http` on a
/// loopback host; no fragment, no user info.
///
/// # Errors
/// Says what is wrong with it.
pub fn check_redirect_uri(uri: &str) -> Result<Url, String> {
    if uri.len() > MAX_REDIRECT_URI_CHARS {
        return Err("a redirect URI is longer than 2000 characters".to_owned());
    }
    let url = Url::parse(uri).map_err(|e| format!("the redirect URI {uri:?} is not a URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("the redirect URI {uri:?} must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("the redirect URI {uri:?} must not carry user info"));
    }
    let Some(host) = url.host() else {
        return Err(format!("the redirect URI {uri:?} has no host"));
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&host) => Ok(url),
        "http" => Err(format!(
            "the redirect URI {uri:?} must use https (http is allowed only for localhost, 127.0.0.1 or [::1])"
        )),
        other => Err(format!(
            "the redirect URI {uri:?} has the scheme {other:?}; use https, or http on a loopback host"
        )),
    }
}

/// Whether a redirect URI leads back to this machine (shown as a warning on the consent page).
#[must_use]
pub fn is_loopback_redirect(uri: &str) -> bool {
    Url::parse(uri)
        .ok()
        .and_then(|u| u.host().map(|h| is_loopback_host(&h)))
        .unwrap_or(false)
}

/// The host (and port, when not the default) of a redirect URI, as shown to people.
#[must_use]
pub fn display_host(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => uri.to_owned(),
        },
        Err(_) => uri.to_owned(),
    }
}

/// `redirect_uri` with `params` added to its query (keeping any query it has).
#[must_use]
pub fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
            }
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

/// A redirect to the client's redirect URI carrying an RFC 6749 error, `state` and `iss`.
#[must_use]
pub fn redirect_error(
    auth: &AuthServer,
    redirect_uri: &str,
    state: Option<&str>,
    code: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", code), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", auth.issuer()));
    found(&with_params(redirect_uri, &params))
}

/// A `302 Found` to `location`, never cached.
#[must_use]
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => ErrorPage::server_error().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:3000/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("http://[::1]:9/cb").is_ok());
        assert!(check_redirect_uri("http://app.example.com/cb").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#x").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("https://u:p@app.example.com/cb").is_err());
        assert!(check_redirect_uri("relative/cb").is_err());
    }

    #[test]
    fn answers_are_appended_to_the_query() {
        assert_eq!(
            with_params(
                "https://a.example/cb?x=1",
                &[("code", "c d"), ("state", "s")]
            ),
            "https://a.example/cb?x=1&code=c+d&state=s"
        );
        assert_eq!(display_host("http://127.0.0.1:33/cb"), "127.0.0.1:33");
        assert!(is_loopback_redirect("http://localhost:1/cb"));
        assert!(!is_loopback_redirect("https://a.example/cb"));
    }
}
