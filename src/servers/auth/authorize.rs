//! `GET /authorize`: checks an authorization request and shows the consent page.
//!
//! Until the client and its exact redirect URI are known, errors are shown as a page (the
//! redirect URI cannot be trusted yet); after that they go back to the client per RFC 6749
//! §4.1.2.1, with `state` and `iss`. PKCE with S256 is required (a missing method or `plain` is
//! refused) and `resource`, when given, must be this server's canonical URL.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::client_doc::is_document_url;
use super::consent::{self, browser_cookie};
use super::errors::ErrorPage;
use super::params::Params;
use super::redirect::with_params;
use super::secrets::{hash, is_s256_challenge, random_token};
use super::store::PendingRow;
use super::{AuthServer, PENDING_TTL_SECS};
use crate::store::now_unix;

/// A client known to this server, registered or described by a metadata document.
#[derive(Debug, Clone)]
pub struct KnownClient {
    /// Its client id.
    pub client_id: String,
    /// Its name, when it gave one.
    pub name: Option<String>,
    /// Where authorization answers may go.
    pub redirect_uris: Vec<String>,
    /// Whether the client id is a metadata document URL.
    pub is_document: bool,
}

/// Looks up a registered client, or fetches the metadata document a URL client id names.
///
/// # Errors
/// An error page naming what is wrong.
pub async fn known_client(auth: &AuthServer, client_id: &str) -> Result<KnownClient, ErrorPage> {
    if is_document_url(client_id) {
        let doc = auth.client_docs().get(client_id).await.map_err(|e| {
            tracing::info!(server = %auth.kind(), error = %e, "client metadata document refused");
            ErrorPage::bad_request(
                "Unknown application",
                format!("The application's client_id could not be used: {e}."),
            )
        })?;
        return Ok(KnownClient {
            client_id: client_id.to_owned(),
            name: doc.client_name,
            redirect_uris: doc.redirect_uris,
            is_document: true,
        });
    }
    match auth.store().client(client_id).await {
        Ok(Some(row)) => Ok(KnownClient {
            client_id: row.client_id,
            name: row.client_name,
            redirect_uris: row.redirect_uris,
            is_document: false,
        }),
        Ok(None) => Err(ErrorPage::bad_request(
            "Unknown application",
            "This application is not registered with this server. Remove the connection in the application and connect again, so it registers anew.",
        )),
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot read a client");
            Err(ErrorPage::server_error())
        }
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
    let fail = |code: &str, description: &str| {
        redirect_error(&auth, redirect_uri, state, code, description)
    };
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
    if let Err(e) = auth.store().insert_pending(row, now).await {
        tracing::error!(server = %auth.kind(), error = %e, "cannot record an authorization request");
        return ErrorPage::server_error().into_response();
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
