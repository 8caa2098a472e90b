//! Discovery documents: OAuth 2.0 Protected Resource Metadata (RFC 9728) for `/mcp`, and
//! Authorization Server Metadata (RFC 8414).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AuthServer;

fn public_json(value: serde_json::Value) -> Response {
    let mut response = Json(value).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`: names this server's resource and its
/// authorization server (itself).
pub async fn protected_resource(State(auth): State<AuthServer>) -> Response {
    public_json(json!({
        "resource": auth.resource(),
        "authorization_servers": [auth.issuer()],
        "bearer_methods_supported": ["header"],
        "resource_name": format!("{} MCP server", auth.kind().upstream_title()),
    }))
}

/// `GET /.well-known/oauth-authorization-server`: the endpoints and what they support.
pub async fn authorization_server(State(auth): State<AuthServer>) -> Response {
    let issuer = auth.issuer();
    public_json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    }))
}
