//! `POST /token`: the `authorization_code` and `refresh_token` grants.
//!
//! Codes are single use: a second redemption is refused and revokes every token issued from the
//! code. Refresh tokens rotate: each use returns a new one, and presenting one that was already
//! rotated revokes its whole family. Access tokens are short-lived and bound to this server's
//! canonical resource. Only hashes of what we issue are stored. The answer to a code also names
//! the connected upstream account (`account_label`: the Google account's email address, the
//! Notion workspace's name), so that a client can show the person which account they connected.
//! A refresh refused because the upstream ended the account's authorization says why in its
//! `error_description` (RFC 6749 §5.2), still as `invalid_grant`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AuthServer;
use super::client_auth::authenticate;
use super::errors::{OAuthError, no_store};
use super::expiry::{EndReason, description};
use super::params::Params;
use super::secrets::{hash, pkce_matches, random_id, random_token, same};
use super::store::{CodeOutcome, RefreshOutcome, TokenPair};
use crate::mcp::oauth::ACCOUNT_LABEL_FIELD;
use crate::store::now_unix;

/// `POST /token`.
pub async fn token(State(auth): State<AuthServer>, headers: HeaderMap, body: Bytes) -> Response {
    match grant(&auth, &headers, &body).await {
        Ok(answer) => (StatusCode::OK, no_store(), Json(answer)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn store_failed(auth: &AuthServer, e: &crate::store::StoreError) -> OAuthError {
    tracing::error!(server = %auth.kind(), error = %e, "the token endpoint cannot use the database");
    OAuthError::server_error()
}

async fn grant(auth: &AuthServer, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let grant_type = params.get("grant_type").map(str::to_owned);
    let client_id = authenticate(auth, headers, &params).await?;
    if let Some(resource) = params.get("resource")
        && !same(resource.as_bytes(), auth.resource().as_bytes())
    {
        return Err(OAuthError::new(
            "invalid_target",
            format!(
                "resource must be this server's MCP endpoint, {}",
                auth.resource()
            ),
        ));
    }
    match grant_type.as_deref() {
        Some("authorization_code") => code_grant(auth, &client_id, &params).await,
        Some("refresh_token") => refresh_grant(auth, &client_id, &params).await,
        Some(other) => Err(OAuthError::new(
            "unsupported_grant_type",
            format!(
                "grant type {:?} is not supported; use authorization_code or refresh_token",
                other.chars().take(64).collect::<String>()
            ),
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

/// A fresh token pair and its answer body.
fn new_pair(auth: &AuthServer, now: i64) -> (TokenPair, Value) {
    let access = random_token();
    let refresh = random_token();
    let ttl = auth.access_ttl_secs();
    let pair = TokenPair {
        access_hash: hash(&access),
        access_expires_at: now.saturating_add(ttl),
        refresh_hash: hash(&refresh),
        refresh_expires_at: now.saturating_add(auth.refresh_ttl_secs()),
    };
    let answer = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh,
    });
    (pair, answer)
}

async fn code_grant(
    auth: &AuthServer,
    client_id: &str,
    params: &Params,
) -> Result<Value, OAuthError> {
    let missing = |e: super::params::ParamError| OAuthError::invalid_request(e.to_string());
    let code = params.required("code").map_err(missing)?;
    let redirect_uri = params.required("redirect_uri").map_err(missing)?;
    let verifier = params.get("code_verifier").ok_or_else(|| {
        OAuthError::invalid_request("code_verifier is required: this server requires PKCE")
    })?;
    let now = now_unix();
    let row = match auth
        .store()
        .redeem_code(hash(code), now)
        .await
        .map_err(|e| store_failed(auth, &e))?
    {
        CodeOutcome::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is not valid; authorize again",
            ));
        }
        CodeOutcome::Reused => {
            tracing::warn!(server = %auth.kind(), client_id, "an authorization code was presented twice; its tokens are revoked");
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; every token issued from it is revoked",
            ));
        }
        CodeOutcome::Fresh(row) => row,
    };
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired; authorize again",
        ));
    }
    if !same(row.client_id.as_bytes(), client_id.as_bytes()) {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if !same(row.redirect_uri.as_bytes(), redirect_uri.as_bytes()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    if !same(row.resource.as_bytes(), auth.resource().as_bytes()) {
        return Err(OAuthError::invalid_grant(
            "the authorization code is for another resource",
        ));
    }
    if !pkce_matches(verifier, &row.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let (pair, mut answer) = new_pair(auth, now);
    if let Some(label) = &row.account_label {
        answer[ACCOUNT_LABEL_FIELD] = Value::from(label.clone());
    }
    let issued = auth
        .store()
        .issue_tokens(
            row.grant_id,
            client_id.to_owned(),
            row.resource,
            random_id(),
            pair,
            now,
        )
        .await
        .map_err(|e| store_failed(auth, &e))?;
    if !issued {
        return Err(OAuthError::invalid_grant(
            "the authorization was revoked; authorize again",
        ));
    }
    auth.metrics().token_issued("authorization_code");
    tracing::info!(server = %auth.kind(), client_id, "tokens issued for an authorization code");
    Ok(answer)
}

async fn refresh_grant(
    auth: &AuthServer,
    client_id: &str,
    params: &Params,
) -> Result<Value, OAuthError> {
    let refresh = params
        .required("refresh_token")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let now = now_unix();
    let (pair, answer) = new_pair(auth, now);
    let outcome = auth
        .store()
        .rotate_refresh(
            hash(refresh),
            client_id.to_owned(),
            params.get("resource").map(str::to_owned),
            pair,
            now,
        )
        .await
        .map_err(|e| store_failed(auth, &e))?;
    match outcome {
        RefreshOutcome::Rotated => {
            auth.metrics().token_issued("refresh_token");
            Ok(answer)
        }
        RefreshOutcome::Ended(reason) => {
            let reason = reason.as_deref().and_then(EndReason::parse);
            Err(OAuthError::invalid_grant(description(auth.kind(), reason)))
        }
        RefreshOutcome::Invalid => Err(OAuthError::invalid_grant(
            "the refresh token is not valid, has expired or was revoked; authorize again",
        )),
        RefreshOutcome::Mismatch => Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client or for another resource",
        )),
        RefreshOutcome::Reused => {
            tracing::warn!(server = %auth.kind(), client_id, "a rotated refresh token was presented again; its family is revoked");
            Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this authorization is revoked; authorize again",
            ))
        }
    }
}
