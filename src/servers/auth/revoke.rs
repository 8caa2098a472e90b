//! `POST /revoke`: token revocation (RFC 7009).
//!
//! Revoking a refresh token revokes its whole family (every access and refresh token descending
//! from the same authorization code); revoking an access token revokes that token. Unknown tokens,
//! and tokens of other clients, are answered with 200 as the RFC requires, and left alone.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AuthServer;
use super::client_auth::authenticate;
use super::errors::{OAuthError, no_store};
use super::params::Params;
use super::secrets::hash;
use crate::store::now_unix;

/// `POST /revoke`.
pub async fn revoke(State(auth): State<AuthServer>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke_token(&auth, &headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke_token(
    auth: &AuthServer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let params = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client_id = authenticate(auth, headers, &params).await?;
    let token = params
        .required("token")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    auth.store()
        .revoke_token(hash(token), client_id.clone(), now_unix())
        .await
        .map_err(|e| {
            tracing::error!(server = %auth.kind(), error = %e, "cannot revoke a token");
            OAuthError::server_error()
        })?;
    tracing::info!(server = %auth.kind(), client_id = %client_id, "revocation request handled");
    Ok(())
}
