//! The redirect URIs an operator registers with Google and Notion, as `doctor` prints them, and
//! the rules those providers apply to them.
//!
//! Google and Notion send the person back to the MCP server that sent them (`[gcal_mcp]` /
//! `[notion_mcp]` `public_url` + `/oauth/callback`), never to the gateway: the gateway's own
//! callback (`[http].public_url` + `/oauth/callback`) is registered by the gateway itself with
//! each MCP server. A redirect URI the provider does not list, or refuses, leaves the person on
//! the provider's error page with no way back, so `doctor` checks what can be checked here:
//! Google accepts plain `http` only for localhost, no raw IP address other than loopback, and
//! only hosts under a public top-level domain; Notion wants `https` except for localhost.

use url::{Host, Url};

use crate::config::{Config, McpServerConfig, ServerAuth};
use crate::servers::ServerKind;

/// The path of the MCP servers' upstream callback, under their `public_url`.
pub const UPSTREAM_CALLBACK_PATH: &str = "/oauth/callback";

/// Top-level names that never reach the public suffix list, as home networks use them.
const PRIVATE_SUFFIXES: [&str; 6] = ["local", "lan", "home", "internal", "localdomain", "arpa"];

/// The redirect URI to register for an MCP server: its `public_url` + `/oauth/callback`.
#[must_use]
pub fn upstream_redirect_uri(server: &McpServerConfig) -> String {
    format!(
        "{}{UPSTREAM_CALLBACK_PATH}",
        server.public_url.as_str().trim_end_matches('/')
    )
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Why Google would refuse `uri` as a redirect URI of a "Web application" client, if it would.
#[must_use]
pub fn google_refuses(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let host = url.host()?;
    if is_loopback(&host) {
        return None;
    }
    match &host {
        Host::Ipv4(_) | Host::Ipv6(_) => {
            return Some(format!(
                "Google refuses raw IP addresses (such as {host}) in redirect URIs, except loopback; give the server a DNS name under a public domain that points at it, and use https"
            ));
        }
        Host::Domain(domain) => {
            let tld = domain
                .trim_end_matches('.')
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !domain.contains('.') || PRIVATE_SUFFIXES.contains(&tld.as_str()) {
                return Some(format!(
                    "Google accepts only hosts under a public top-level domain (such as example.org), not {domain}; give the server such a name, and use https"
                ));
            }
        }
    }
    (url.scheme() != "https").then(|| {
        "Google accepts plain http only for localhost; give the server an https address".to_owned()
    })
}

/// Why Notion would refuse `uri` as a redirect URI, if it would.
#[must_use]
pub fn notion_refuses(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let host = url.host()?;
    (url.scheme() != "https" && !is_loopback(&host)).then(|| {
        "Notion wants https redirect URIs (plain http only for localhost); give the server an https address".to_owned()
    })
}

/// One line per configured MCP server section: the redirect URI to register with its provider
/// (`Err` when the provider would refuse it), and one for the gateway's own callback.
#[must_use]
pub fn checks(config: &Config) -> Vec<Result<String, String>> {
    let mut out = Vec::new();
    for kind in [ServerKind::Gcal, ServerKind::Notion] {
        let server = kind.config(config);
        if !server.configured {
            continue;
        }
        let uri = upstream_redirect_uri(server);
        let (app, refusal, key) = match kind {
            ServerKind::Gcal => (
                "Google OAuth client (type \"Web application\")",
                google_refuses(&uri),
                "[gcal_mcp].public_url",
            ),
            ServerKind::Notion => (
                "Notion public connection",
                notion_refuses(&uri),
                "[notion_mcp].public_url",
            ),
        };
        out.push(match refusal {
            None => Ok(format!(
                "{app}: register the redirect URI {uri} (from {key}), exactly as written"
            )),
            Some(why) => Err(format!(
                "{app}: the redirect URI {uri} (from {key}) would be refused: {why}"
            )),
        });
    }
    if config.servers.iter().any(|s| s.auth == ServerAuth::OAuth) {
        out.push(Ok(format!(
            "gateway callback {}{UPSTREAM_CALLBACK_PATH} (from [http].public_url): the gateway registers it with each MCP server itself; nothing to register at Google or Notion",
            config.http.public_url.as_str().trim_end_matches('/')
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_refuses_lan_addresses_plain_http_and_private_names() {
        assert_eq!(
            google_refuses("https://gcal.example.org/oauth/callback"),
            None
        );
        assert_eq!(google_refuses("http://127.0.0.1:8001/oauth/callback"), None);
        assert_eq!(google_refuses("http://localhost:8001/oauth/callback"), None);
        assert!(
            google_refuses("https://192.168.1.20/oauth/callback")
                .unwrap()
                .contains("raw IP")
        );
        assert!(
            google_refuses("http://gcal.example.org/oauth/callback")
                .unwrap()
                .contains("plain http")
        );
        assert!(
            google_refuses("https://gcal.lan/oauth/callback")
                .unwrap()
                .contains("public top-level domain")
        );
        assert!(google_refuses("https://box/oauth/callback").is_some());
    }

    #[test]
    fn notion_wants_https_except_on_localhost() {
        assert_eq!(
            notion_refuses("https://notion.example.org/oauth/callback"),
            None
        );
        assert_eq!(notion_refuses("http://localhost:8000/oauth/callback"), None);
        assert!(notion_refuses("http://192.168.1.20:8000/oauth/callback").is_some());
    }
}
