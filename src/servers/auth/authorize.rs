//! `GET /authorize`: checks an authorization request and shows the consent page.
//!
//! Until the client and its exact redirect URI are known, errors are shown as a page (the
//! redirect URI cannot be trusted yet); after that they go back to the client per RFC 6749
//! §4.1.2.1, with `state` and `iss`. PKCE with S256 is required (a missing method or `plain` is
//! refused) and `resource`, when given, must be this server's canonical URL.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::client::known_client;
use super::consent::{self, browser_cookie};
use super::errors::ErrorPage;
use super::params::Params;
use super::redirect::redirect_error;
use super::secrets::{hash, is_s256_challenge, random_token};
use super::store::{Admission, PendingRow};
use super::{AuthServer, PENDING_TTL_SECS};
use crate::store::now_unix;

/// The longest `state` kept for a client, in bytes.
pub const MAX_STATE_BYTES: usize = 1024;
/// The longest `scope` kept, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// `GET /authorize`.
pub async fn authorize(
    State(auth): State<AuthServer>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            return ErrorPage::bad_request("Invalid authorization request", format!("{e}."))
                .into_response();
        }
    };
    let Some(client_id) = params.get("client_id") else {
        return ErrorPage::bad_request(
            "Invalid authorization request",
            "The request has no client_id. Start again from your application.",
        )
        .into_response();
    };
    let client = match known_client(&auth, client_id).await {
        Ok(c) => c,
        Err(page) => return page.into_response(),
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return ErrorPage::bad_request(
            "Invalid authorization request",
            "The request has no redirect_uri. Start again from your application.",
        )
        .into_response();
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return ErrorPage::bad_request(
            "Invalid authorization request",
            "The redirect_uri is not one this application registered, so the answer cannot be sent to it.",
        )
        .into_response();
    }
    let state = params.get("state");
    if state.is_some_and(|s| s.len() > MAX_STATE_BYTES) {
        auth.metrics().refusal("authorize", "too_large");
        return redirect_error(
            &auth,
            redirect_uri,
            None,
            "invalid_request",
            &format!("state is longer than {MAX_STATE_BYTES} bytes"),
        );
    }
    let fail = |code: &str, description: &str| {
        redirect_error(&auth, redirect_uri, state, code, description)
    };
    if params
        .get("scope")
        .is_some_and(|s| s.len() > MAX_SCOPE_BYTES)
    {
        auth.metrics().refusal("authorize", "too_large");
        return fail(
            "invalid_scope",
            &format!("scope is longer than {MAX_SCOPE_BYTES} bytes"),
        );
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is required"),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only the response type \"code\" is supported",
            );
        }
    }
    let Some(challenge) = params.get("code_challenge") else {
        return fail(
            "invalid_request",
            "code_challenge is required: this server requires PKCE with S256",
        );
    };
    if params.get("code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain and a missing method are refused)",
        );
    }
    if !is_s256_challenge(challenge) {
        return fail(
            "invalid_request",
            "code_challenge must be 43 base64url characters (an S256 challenge)",
        );
    }
    if let Some(resource) = params.get("resource")
        && resource != auth.resource()
    {
        return fail(
            "invalid_target",
            &format!(
                "resource must be this server's MCP endpoint, {}",
                auth.resource()
            ),
        );
    }

    let request_id = random_token();
    let csrf = random_token();
    let (browser, new_cookie) = match browser_cookie(&auth, &headers) {
        Some(existing) => (existing, false),
        None => (random_token(), true),
    };
    let now = now_unix();
    let row = PendingRow {
        id_hash: hash(&request_id),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        client_state: state.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        resource: auth.resource().to_owned(),
        scope: params.get("scope").map(str::to_owned),
        csrf_hash: hash(&csrf),
        browser_hash: hash(&browser),
        upstream_verifier: None,
        expires_at: now + PENDING_TTL_SECS,
    };
    match auth
        .store()
        .insert_pending(row, now, auth.limits().max_pending)
        .await
    {
        Ok(Admission::Admitted) => {}
        Ok(Admission::Full) => {
            auth.metrics().refusal("authorize", "pending_full");
            tracing::warn!(server = %auth.kind(), max = auth.limits().max_pending, "refused an authorization request: too many are in progress");
            return ErrorPage::unavailable(
                "Too many authorizations in progress",
                "This server has too many authorizations in progress right now. Try again in a few minutes.",
                std::time::Duration::from_secs(60),
            )
            .into_response();
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot record an authorization request");
            return ErrorPage::server_error().into_response();
        }
    }
    tracing::info!(server = %auth.kind(), client_id = %client.client_id, "consent page shown");
    consent::page(
        &auth,
        &client,
        redirect_uri,
        &request_id,
        &csrf,
        new_cookie.then_some(browser.as_str()),
    )
}
