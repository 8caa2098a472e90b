//! Per-address rate limits on the authorization server's unauthenticated endpoints.
//!
//! `/register` and `/authorize` need no credentials (as the MCP authorization specification
//! allows) and each call stores something, so one address may call each endpoint only so often:
//! a bucket of `per_minute` requests per address, refilled evenly over a minute. A refused
//! request gets 429 with `Retry-After` and is counted in
//! `mcp_gateway_oauth_refusals_total{reason="rate_limited"}`.
//!
//! IPv6 addresses count per /64, the block one subscriber usually holds. At most
//! [`MAX_ADDRESSES`] addresses are tracked per endpoint; beyond that, addresses whose bucket has
//! refilled are forgotten, and if none has, new addresses share one overflow bucket, so a flood
//! from many addresses cannot grow memory either. Behind a reverse proxy, the address is the last
//! entry of `X-Forwarded-For` when `trust_forwarded_for` is set.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AuthServer;
use super::errors::ErrorPage;
use crate::config::Rate;

/// The most addresses tracked per endpoint.
pub const MAX_ADDRESSES: usize = 10_000;

/// Which group of endpoints a limit guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/register`.
    Register,
    /// `/authorize` and `/consent`.
    Authorize,
    /// `/token` and `/revoke`.
    Token,
}

impl Endpoint {
    /// The metric label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authorize => "authorize",
            Self::Token => "token",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of one endpoint.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: parking_lot::Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    by_address: HashMap<IpAddr, Bucket>,
    overflow: Bucket,
}

impl RateLimiter {
    /// A limiter allowing `rate.per_minute` requests per address per minute.
    #[must_use]
    pub fn new(rate: Rate) -> Self {
        let capacity = f64::from(rate.per_minute.max(1));
        Self {
            capacity,
            per_second: capacity / 60.0,
            buckets: parking_lot::Mutex::new(Buckets {
                by_address: HashMap::new(),
                overflow: Bucket {
                    tokens: capacity,
                    updated: Instant::now(),
                },
            }),
        }
    }

    /// Takes one request from `address`'s bucket; `Err` says how long until one is available.
    ///
    /// # Errors
    /// The wait before the address may try again.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = block_of(address);
        let mut buckets = self.buckets.lock();
        let fresh = Bucket {
            tokens: self.capacity,
            updated: now,
        };
        if !buckets.by_address.contains_key(&key) && buckets.by_address.len() >= MAX_ADDRESSES {
            let (capacity, per_second) = (self.capacity, self.per_second);
            buckets.by_address.retain(|_, b| {
                refilled(b, now, capacity, per_second);
                b.tokens < capacity
            });
        }
        let tracked =
            buckets.by_address.contains_key(&key) || buckets.by_address.len() < MAX_ADDRESSES;
        let bucket = if tracked {
            buckets.by_address.entry(key).or_insert(fresh)
        } else {
            &mut buckets.overflow
        };
        refilled(bucket, now, self.capacity, self.per_second);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - bucket.tokens) / self.per_second).max(1.0).ceil(),
            ))
        }
    }
}

fn refilled(bucket: &mut Bucket, now: Instant, capacity: f64, per_second: f64) {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
    bucket.updated = now;
}

/// The address a limit counts: IPv4 as is (also when mapped into IPv6), IPv6 by its /64.
fn block_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client's address: the connection's peer, or, behind a trusted proxy, the last
/// `X-Forwarded-For` entry. `None` when neither is known.
#[must_use]
pub fn source_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(forwarded) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(forwarded);
    }
    peer.map(|p| p.ip())
}

/// Middleware limiting `/register`.
pub async fn register(State(auth): State<AuthServer>, request: Request, next: Next) -> Response {
    limit(auth, Endpoint::Register, request, next).await
}

/// Middleware limiting `/authorize` and `/consent`.
pub async fn authorize(State(auth): State<AuthServer>, request: Request, next: Next) -> Response {
    limit(auth, Endpoint::Authorize, request, next).await
}

/// Middleware limiting `/token` and `/revoke`.
pub async fn token(State(auth): State<AuthServer>, request: Request, next: Next) -> Response {
    limit(auth, Endpoint::Token, request, next).await
}

async fn limit(auth: AuthServer, endpoint: Endpoint, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let trust = auth.limits().trust_forwarded_for;
    let Some(address) = source_address(request.headers(), peer, trust) else {
        return next.run(request).await;
    };
    match auth.rate_limiter(endpoint).check(address, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            auth.metrics().refusal(endpoint.label(), "rate_limited");
            tracing::info!(server = %auth.kind(), endpoint = endpoint.label(), %address, "rate limited");
            too_many(endpoint, wait)
        }
    }
}

/// 429 with `Retry-After`: an OAuth JSON error for clients, a page for browsers.
fn too_many(endpoint: Endpoint, wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let description = format!("too many requests from this address; try again in {secs} s");
    let mut response = match endpoint {
        Endpoint::Authorize => ErrorPage::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!("{description}."),
        )
        .into_response(),
        Endpoint::Register | Endpoint::Token => (
            StatusCode::TOO_MANY_REQUESTS,
            super::errors::no_store(),
            axum::Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": description,
            })),
        )
            .into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refills() {
        let limiter = RateLimiter::new(Rate { per_minute: 6 });
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(limiter.check(a, t0), Ok(()));
        }
        let wait = limiter.check(a, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        assert!(limiter.check("203.0.113.8".parse().unwrap(), t0).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_secs(10)).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn ipv6_counts_per_64_and_memory_is_bounded() {
        let limiter = RateLimiter::new(Rate { per_minute: 1 });
        let t0 = Instant::now();
        assert!(
            limiter
                .check("2001:db8:1:2::1".parse().unwrap(), t0)
                .is_ok()
        );
        assert!(
            limiter
                .check("2001:db8:1:2::ffff".parse().unwrap(), t0)
                .is_err()
        );
        assert!(
            limiter
                .check("2001:db8:1:3::1".parse().unwrap(), t0)
                .is_ok()
        );
        assert!(
            limiter
                .check("::ffff:198.51.100.1".parse().unwrap(), t0)
                .is_ok()
        );
        assert!(limiter.check("198.51.100.1".parse().unwrap(), t0).is_err());
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            let _ = limiter.check(IpAddr::V4(std::net::Ipv4Addr::from(i)), t0);
        }
        assert!(limiter.buckets.lock().by_address.len() <= MAX_ADDRESSES);
    }

    #[test]
    fn the_forwarded_address_counts_only_when_trusted() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.9, 203.0.113.5"),
        );
        let peer: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        assert_eq!(
            source_address(&h, Some(peer), true),
            Some("203.0.113.5".parse().unwrap())
        );
        assert_eq!(
            source_address(&h, Some(peer), false),
            Some("10.0.0.2".parse().unwrap())
        );
        assert_eq!(source_address(&HeaderMap::new(), None, true), None);
    }
}
