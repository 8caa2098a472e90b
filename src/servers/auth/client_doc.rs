//! Client ID metadata documents: a `client_id` that is a URL names a JSON document describing
//! the client, which we fetch.
//!
//! Fetching a URL chosen by whoever calls `/authorize` is a server-side request forgery risk, so
//! the fetch is guarded: `https` only, every address the name resolves to must be public, the
//! connection goes to the vetted addresses, redirects are not followed, time and size are
//! bounded, and only a few fetches run at once. This server's own endpoints are never fetched
//! (which also stops a document URL that names `/authorize` with another document URL inside).
//! Whatever goes wrong with a fetch, the person and the caller see one and the same answer, so
//! the fetch cannot be used to tell a closed port from a running service; the log says what it
//! was. For development, `allow_private_client_documents` admits plain `http` and loopback and
//! private addresses (never link-local, metadata or other reserved ones). Documents are cached,
//! honouring `Cache-Control: max-age` within bounds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Deserialize;
use url::{Host, Url};

use super::redirect::{check_redirect_uri, is_loopback_host, is_loopback_ip};

/// The largest document accepted.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The longest a fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a document is cached without `Cache-Control: max-age`.
const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Bounds on the cache lifetime a document may ask for.
const MIN_TTL: Duration = Duration::from_secs(60);
const MAX_TTL: Duration = Duration::from_secs(86_400);
/// The most documents kept in the cache.
const MAX_CACHED: usize = 1000;
/// The longest `client_id` URL accepted.
const MAX_URL_CHARS: usize = 2000;
/// The most documents fetched at once; beyond it, requests wait their turn.
const MAX_FETCHES: usize = 8;

/// Why a client ID metadata document was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ClientDocError {
    /// The `client_id` is not an acceptable URL.
    #[error("the client_id URL is not acceptable: {0}")]
    BadUrl(String),
    /// The host resolves to an address we do not fetch from.
    #[error("the client_id host {0} resolves to a private or reserved address")]
    Forbidden(String),
    /// The URL names this server itself.
    #[error("the client_id URL names this server itself")]
    OwnEndpoint,
    /// The host could not be resolved or the document could not be fetched.
    #[error("the client metadata document could not be fetched: {0}")]
    Fetch(String),
    /// The document is not valid client metadata.
    #[error("the client metadata document is not valid: {0}")]
    Invalid(String),
}

/// The parts of a client ID metadata document we use.
#[derive(Debug, Clone)]
pub struct ClientDoc {
    /// The client's name, when given.
    pub client_name: Option<String>,
    /// The redirect URIs the client may use.
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawDoc {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Cached {
    doc: ClientDoc,
    until: Instant,
}

impl ClientDocError {
    /// What the person and the caller are told: the same for every failure to fetch or read the
    /// document, so that the answer says nothing about what lies at the URL.
    #[must_use]
    pub fn public_message(&self) -> String {
        match self {
            Self::BadUrl(why) => format!("the client_id URL is not acceptable: {why}"),
            _ => "the client metadata document at the client_id URL could not be used".to_owned(),
        }
    }
}

/// Where this server itself listens and is reached, never fetched from.
#[derive(Debug, Clone)]
pub struct OwnAddress {
    /// The public URL's origin.
    pub origin: url::Origin,
    /// The listening address.
    pub listen: SocketAddr,
}

/// Fetches and caches client ID metadata documents.
#[derive(Debug)]
pub struct ClientDocs {
    cache: parking_lot::Mutex<HashMap<String, Cached>>,
    own: OwnAddress,
    allow_private: bool,
    fetches: tokio::sync::Semaphore,
}

/// Whether a `client_id` is a metadata document URL rather than an id we issued.
#[must_use]
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

impl ClientDocs {
    /// Documents fetched by the server at `own`; `allow_private` admits plain `http` and
    /// loopback and private addresses, for development.
    #[must_use]
    pub fn new(own: OwnAddress, allow_private: bool) -> Self {
        Self {
            cache: parking_lot::Mutex::new(HashMap::new()),
            own,
            allow_private,
            fetches: tokio::sync::Semaphore::new(MAX_FETCHES),
        }
    }

    /// The metadata of the client `client_id`, from the cache or fetched.
    ///
    /// # Errors
    /// Fails when the URL, its addresses, the fetch or the document is not acceptable.
    pub async fn get(&self, client_id: &str) -> Result<ClientDoc, ClientDocError> {
        let now = Instant::now();
        if let Some(hit) = self.cache.lock().get(client_id).filter(|c| c.until > now) {
            return Ok(hit.doc.clone());
        }
        let (url, _) = check_url(client_id, self.allow_private)?;
        if url.origin() == self.own.origin {
            return Err(ClientDocError::OwnEndpoint);
        }
        let addrs = vetted_addresses(&url, self.allow_private).await?;
        if addrs.iter().any(|a| self.is_own(*a)) {
            return Err(ClientDocError::OwnEndpoint);
        }
        let _turn = self
            .fetches
            .acquire()
            .await
            .map_err(|_| ClientDocError::Fetch("shutting down".into()))?;
        let (doc, ttl) = fetch(client_id, &url, &addrs).await?;
        if let Some(ttl) = ttl {
            let mut cache = self.cache.lock();
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, c| c.until > now);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(
                client_id.to_owned(),
                Cached {
                    doc: doc.clone(),
                    until: now + ttl,
                },
            );
        }
        Ok(doc)
    }
}

impl ClientDocs {
    /// Whether `addr` reaches this server's own listener.
    fn is_own(&self, addr: SocketAddr) -> bool {
        let listen = self.own.listen;
        addr.port() == listen.port()
            && (addr.ip() == listen.ip()
                || listen.ip().is_unspecified()
                || (is_loopback_ip(addr.ip()) && is_loopback_ip(listen.ip())))
    }
}

/// Checks the `client_id` URL itself; plain `http` only when `allow_private`.
fn check_url(client_id: &str, allow_private: bool) -> Result<(Url, bool), ClientDocError> {
    let bad = |why: &str| ClientDocError::BadUrl(why.to_owned());
    if client_id.len() > MAX_URL_CHARS {
        return Err(bad("it is longer than 2000 characters"));
    }
    let url = Url::parse(client_id).map_err(|_| bad("it is not a URL"))?;
    if url.as_str() != client_id {
        return Err(bad("it is not in normalised form"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not have a fragment or user info"));
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(bad("it must have a path"));
    }
    let host = url.host().ok_or_else(|| bad("it has no host"))?;
    let loopback = is_loopback_host(&host);
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(bad("it must use https")),
    }
    Ok((url, loopback))
}

/// Whether we may connect to `ip` for a document: public addresses, and with `allow_private`
/// also loopback and private ones (never link-local, unspecified or otherwise reserved).
fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if allow_private
        && match ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
            IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        }
    {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || s[..6].iter().all(|&x| x == 0))
}

/// Resolves the URL's host to the addresses we will connect to, refusing any disallowed one.
async fn vetted_addresses(
    url: &Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ClientDocError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = url
        .host()
        .ok_or_else(|| ClientDocError::BadUrl("it has no host".into()))?;
    let addrs: Vec<SocketAddr> = match host {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Host::Domain(name) => {
            let lookup = tokio::net::lookup_host((name, port));
            tokio::time::timeout(FETCH_TIMEOUT, lookup)
                .await
                .map_err(|_| ClientDocError::Fetch(format!("resolving {name} timed out")))?
                .map_err(|e| ClientDocError::Fetch(format!("cannot resolve {name}: {e}")))?
                .collect()
        }
    };
    let host_text = url.host_str().unwrap_or_default().to_owned();
    if addrs.is_empty() {
        return Err(ClientDocError::Fetch(format!("{host_text} has no address")));
    }
    if addrs.iter().any(|a| !allowed(a.ip(), allow_private)) {
        return Err(ClientDocError::Forbidden(host_text));
    }
    Ok(addrs)
}

/// Fetches `url` from the vetted `addrs` and validates the document; also returns how long it
/// may be cached (`None`: not at all).
async fn fetch(
    client_id: &str,
    url: &Url,
    addrs: &[SocketAddr],
) -> Result<(ClientDoc, Option<Duration>), ClientDocError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .no_proxy();
    if let Some(Host::Domain(name)) = url.host() {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    let http = builder
        .build()
        .map_err(|e| ClientDocError::Fetch(e.to_string()))?;
    let fetch_err = |e: reqwest::Error| {
        ClientDocError::Fetch(if e.is_timeout() {
            "timed out".to_owned()
        } else {
            e.without_url().to_string()
        })
    };
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(fetch_err)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(ClientDocError::Fetch(format!(
            "it answered with a redirect ({status}), which is not followed"
        )));
    }
    if status != reqwest::StatusCode::OK {
        return Err(ClientDocError::Fetch(format!("it answered {status}")));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(ClientDocError::Invalid("it is larger than 64 KiB".into()));
    }
    let ttl = cache_lifetime(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_err)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(ClientDocError::Invalid("it is larger than 64 KiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((validate(client_id, &body)?, ttl))
}

/// Checks the document's content against the `client_id` it was fetched for.
fn validate(client_id: &str, body: &[u8]) -> Result<ClientDoc, ClientDocError> {
    let invalid = |why: String| ClientDocError::Invalid(why);
    let raw: RawDoc =
        serde_json::from_slice(body).map_err(|e| invalid(format!("not the expected JSON: {e}")))?;
    if raw.client_id != client_id {
        return Err(invalid(
            "its client_id is not the URL it was fetched from".into(),
        ));
    }
    if raw.redirect_uris.is_empty() || raw.redirect_uris.len() > 20 {
        return Err(invalid(
            "it must list between 1 and 20 redirect_uris".into(),
        ));
    }
    for uri in &raw.redirect_uris {
        check_redirect_uri(uri).map_err(invalid)?;
    }
    match raw.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(invalid(format!(
                "token_endpoint_auth_method {other:?} is not supported for metadata documents; use \"none\""
            )));
        }
    }
    if let Some(grants) = &raw.grant_types
        && !grants.iter().any(|g| g == "authorization_code")
    {
        return Err(invalid(
            "grant_types must include authorization_code".into(),
        ));
    }
    if let Some(types) = &raw.response_types
        && !types.iter().any(|t| t == "code")
    {
        return Err(invalid("response_types must include code".into()));
    }
    let client_name = raw
        .client_name
        .map(|n| crate::display::sanitize(&n, 200))
        .filter(|n| !n.is_empty());
    Ok(ClientDoc {
        client_name,
        redirect_uris: raw.redirect_uris,
    })
}

/// How long a response may be cached, from its `Cache-Control` header.
fn cache_lifetime(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let Some(value) = headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(DEFAULT_TTL);
    };
    let mut ttl = DEFAULT_TTL;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(secs) = lower.strip_prefix("max-age=")
            && let Ok(secs) = secs.trim_matches('"').parse::<u64>()
        {
            ttl = Duration::from_secs(secs);
        }
    }
    Some(ttl.clamp(MIN_TTL, MAX_TTL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_with_a_path() {
        assert!(check_url("https://client.example/meta.json", false).is_ok());
        assert!(check_url("http://127.0.0.1:9/meta.json", false).is_err());
        assert!(check_url("http://127.0.0.1:9/meta.json", true).unwrap().1);
        assert!(check_url("http://client.example/meta.json", false).is_err());
        assert!(check_url("https://client.example/", false).is_err());
        assert!(check_url("https://client.example/m#x", false).is_err());
        assert!(
            check_url("https://CLIENT.example/m", false).is_err(),
            "not normalised"
        );
    }

    #[test]
    fn address_rules() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!allowed(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(allowed(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fd00::1"] {
            assert!(allowed(ip.parse().unwrap(), true), "{ip} for development");
        }
        for ip in ["169.254.169.254", "0.0.0.0", "fe80::1", "100.64.0.1"] {
            assert!(!allowed(ip.parse().unwrap(), true), "{ip} never");
        }
        assert!(allowed("93.184.216.34".parse().unwrap(), true));
    }

    #[test]
    fn document_must_name_itself() {
        let id = "https://c.example/m.json";
        let ok = serde_json::json!({"client_id": id, "client_name": "C", "redirect_uris": ["https://c.example/cb"]});
        let doc = validate(id, ok.to_string().as_bytes()).unwrap();
        assert_eq!(doc.client_name.as_deref(), Some("C"));
        let other = serde_json::json!({"client_id": "https://evil.example/m.json", "redirect_uris": ["https://c.example/cb"]});
        assert!(validate(id, other.to_string().as_bytes()).is_err());
        let bad_uri =
            serde_json::json!({"client_id": id, "redirect_uris": ["http://c.example/cb"]});
        assert!(validate(id, bad_uri.to_string().as_bytes()).is_err());
        let secret = serde_json::json!({"client_id": id, "redirect_uris": ["https://c.example/cb"], "token_endpoint_auth_method": "client_secret_basic"});
        assert!(validate(id, secret.to_string().as_bytes()).is_err());
    }

    #[test]
    fn cache_lifetime_is_bounded() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(cache_lifetime(&h), Some(DEFAULT_TTL));
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "public, max-age=5".parse().unwrap(),
        );
        assert_eq!(cache_lifetime(&h), Some(MIN_TTL));
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "max-age=999999".parse().unwrap(),
        );
        assert_eq!(cache_lifetime(&h), Some(MAX_TTL));
        h.insert(reqwest::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(cache_lifetime(&h), None);
    }
}
