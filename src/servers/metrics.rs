//! The MCP servers' Prometheus metrics, in a registry of their own served at `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `notion` or `gcal`.
    pub server: String,
    /// The route's path pattern (`/mcp`, `/token`, ...), or `other`.
    pub route: String,
    /// The HTTP status code.
    pub status: String,
}

/// Labels of the token counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantTypeLabels {
    /// `notion` or `gcal`.
    pub server: String,
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
}

/// Labels of the refusal counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `notion` or `gcal`.
    pub server: String,
    /// What was refused: `register`, `authorize`, `token`, `client_document` or `session`.
    pub endpoint: String,
    /// Why: `rate_limited`, `clients_full`, `pending_full`, `too_large`, `sessions_total`,
    /// `sessions_account`, `sessions_client`, `sessions_grant`, ...
    pub reason: String,
}

/// Labels of the upstream revocation counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `notion` or `gcal`.
    pub server: String,
    /// `revoked` or `failed`.
    pub outcome: String,
}

/// Labels naming the server.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    /// `notion` or `gcal`.
    pub server: String,
}

/// Every metric of one MCP server, and the registry they live in.
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    server: &'static str,
    registry: Arc<Registry>,
    /// `mcp_gateway_server_requests_total{server,route,status}`.
    requests: Family<RequestLabels, Counter>,
    /// `mcp_gateway_oauth_tokens_issued_total{server,grant_type}`.
    tokens_issued: Family<GrantTypeLabels, Counter>,
    /// `mcp_gateway_oauth_upstream_connects_total{server}`.
    upstream_connects: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_upstream_refreshes_total{server}`.
    upstream_refreshes: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_refresh_failures_total{server}`.
    refresh_failures: Family<ServerLabels, Counter>,
    /// `mcp_gateway_oauth_refusals_total{server,endpoint,reason}`.
    refusals: Family<RefusalLabels, Counter>,
    /// `mcp_gateway_oauth_upstream_revocations_total{server,outcome}`.
    upstream_revocations: Family<OutcomeLabels, Counter>,
    /// `mcp_gateway_oauth_testing_expiries_total{server}`.
    testing_expiries: Family<ServerLabels, Counter>,
}

impl ServerMetrics {
    /// Creates the metrics of `server` (`notion`, `gcal`) in a fresh registry.
    #[must_use]
    pub fn new(server: &'static str) -> Self {
        let mut registry = Registry::default();
        crate::telemetry::process::register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        let tokens_issued = Family::<GrantTypeLabels, Counter>::default();
        let upstream_connects = Family::<ServerLabels, Counter>::default();
        let upstream_refreshes = Family::<ServerLabels, Counter>::default();
        let refresh_failures = Family::<ServerLabels, Counter>::default();
        let refusals = Family::<RefusalLabels, Counter>::default();
        let upstream_revocations = Family::<OutcomeLabels, Counter>::default();
        let testing_expiries = Family::<ServerLabels, Counter>::default();
        let r = registry.sub_registry_with_prefix("mcp_gateway");
        r.register(
            "server_requests",
            "HTTP requests answered by the MCP server",
            requests.clone(),
        );
        r.register(
            "oauth_tokens_issued",
            "Access tokens issued by the authorization server",
            tokens_issued.clone(),
        );
        r.register(
            "oauth_upstream_connects",
            "Upstream accounts connected through the authorization server",
            upstream_connects.clone(),
        );
        r.register(
            "oauth_upstream_refreshes",
            "Upstream access tokens refreshed",
            upstream_refreshes.clone(),
        );
        r.register(
            "oauth_refresh_failures",
            "Upstream token refreshes that failed",
            refresh_failures.clone(),
        );
        r.register(
            "oauth_refusals",
            "Requests the authorization server refused to protect its limits",
            refusals.clone(),
        );
        r.register(
            "oauth_upstream_revocations",
            "Upstream authorizations revoked when a person disconnected, by outcome",
            upstream_revocations.clone(),
        );
        r.register(
            "oauth_testing_expiries",
            "Upstream refresh tokens refused about 7 days after they were issued, as Google does for an app in Testing",
            testing_expiries.clone(),
        );
        // The series the dashboard and the alert rules read exist from the first scrape.
        let labels = ServerLabels {
            server: server.to_owned(),
        };
        for grant_type in ["authorization_code", "refresh_token"] {
            let _ = tokens_issued.get_or_create(&GrantTypeLabels {
                server: server.to_owned(),
                grant_type: grant_type.to_owned(),
            });
        }
        let _ = upstream_connects.get_or_create(&labels);
        let _ = upstream_refreshes.get_or_create(&labels);
        let _ = refresh_failures.get_or_create(&labels);
        let _ = testing_expiries.get_or_create(&labels);
        Self {
            server,
            registry: Arc::new(registry),
            requests,
            tokens_issued,
            upstream_connects,
            upstream_refreshes,
            refresh_failures,
            refusals,
            upstream_revocations,
            testing_expiries,
        }
    }

    fn server_labels(&self) -> ServerLabels {
        ServerLabels {
            server: self.server.to_owned(),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                server: self.server.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
    }

    /// Counts one issued access token.
    pub fn token_issued(&self, grant_type: &str) {
        self.tokens_issued
            .get_or_create(&GrantTypeLabels {
                server: self.server.to_owned(),
                grant_type: grant_type.to_owned(),
            })
            .inc();
    }

    /// Counts one connected upstream account.
    pub fn upstream_connect(&self) {
        self.upstream_connects
            .get_or_create(&self.server_labels())
            .inc();
    }

    /// Counts one successful upstream refresh.
    pub fn upstream_refresh(&self) {
        self.upstream_refreshes
            .get_or_create(&self.server_labels())
            .inc();
    }

    /// Counts one failed upstream refresh.
    pub fn refresh_failure(&self) {
        self.refresh_failures
            .get_or_create(&self.server_labels())
            .inc();
    }

    /// Counts one upstream revocation, `revoked` or `failed`.
    pub fn upstream_revocation(&self, outcome: &str) {
        self.upstream_revocations
            .get_or_create(&OutcomeLabels {
                server: self.server.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts one refresh token refused at the age Google's Testing status gives them.
    pub fn testing_expiry(&self) {
        self.testing_expiries
            .get_or_create(&self.server_labels())
            .inc();
    }

    /// Counts one request refused at `endpoint` for `reason`.
    pub fn refusal(&self, endpoint: &str, reason: &str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                server: self.server.to_owned(),
                endpoint: endpoint.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format.
    #[must_use]
    pub fn encode(&self) -> String {
        crate::telemetry::metrics::encode(&self.registry)
    }
}
