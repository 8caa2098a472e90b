//! The bearer check in front of `/mcp`: every request (GET, `initialize` and `tools/list`
//! included) needs a live access token that this server issued for its own resource. A request
//! without one gets 401 with `WWW-Authenticate: Bearer resource_metadata="…"`, which is how MCP
//! clients discover where to authorize.
//!
//! A valid request carries its [`Grant`] into the request extensions, where tool handlers find
//! it. An MCP session stays with the grant that opened it: another token presenting that
//! session's id is refused as if the session did not exist, and a request that may open a
//! session reserves its place first, within the limits of [`super::sessions`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AuthServer;
use super::account::AccountTokenSource;
use super::secrets::hash;
use super::sessions::{Holder, Reservation, SessionUse};
use crate::servers::Grant;
use crate::store::now_unix;

/// The MCP session header.
const SESSION_HEADER: &str = "mcp-session-id";
/// The longest bearer token looked up.
const MAX_TOKEN_CHARS: usize = 512;

/// The token in an `Authorization: Bearer …` header, if well formed.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= MAX_TOKEN_CHARS
        && token.bytes().all(|b| b.is_ascii_graphic()))
    .then_some(token)
}

/// A 401 telling the client where this resource's metadata is; `error` is set when a token was
/// presented but is not valid here.
fn unauthorized(auth: &AuthServer, error: Option<&str>) -> Response {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{}\"",
        auth.resource_metadata_url()
    );
    if let Some(error) = error {
        challenge.push_str(&format!(
            ", error=\"{error}\", error_description=\"the access token is not valid for {}\"",
            auth.resource()
        ));
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "authorization required: obtain an access token for this server\n",
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The middleware guarding `/mcp`.
pub async fn require_bearer(
    State(auth): State<AuthServer>,
    mut request: Request,
    next: Next,
) -> Response {
    let response = match check(&auth, &mut request).await {
        Ok(reservation) => {
            let session = request
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let closing = request.method() == Method::DELETE;
            let response = next.run(request).await;
            match session {
                Some(id) if closing && response.status().is_success() => {
                    auth.sessions().closed(&id);
                }
                Some(_) => {}
                None => {
                    if let (Some(reservation), Some(id)) = (
                        reservation,
                        response
                            .headers()
                            .get(SESSION_HEADER)
                            .and_then(|v| v.to_str().ok()),
                    ) {
                        reservation.commit(id);
                    }
                }
            }
            response
        }
        Err(response) => response,
    };
    auth.metrics().request("/mcp", response.status().as_u16());
    response
}

/// Validates the request's token and session; on success puts the [`Grant`] into the request
/// and, for a request that may open a session, returns the place reserved for it.
async fn check<'a>(
    auth: &'a AuthServer,
    request: &mut Request,
) -> Result<Option<Reservation<'a>>, Response> {
    if request.headers().get(header::AUTHORIZATION).is_none() {
        return Err(unauthorized(auth, None));
    }
    let Some(token) = bearer_token(request.headers()) else {
        return Err(unauthorized(auth, Some("invalid_request")));
    };
    let row = match auth.store().bearer(hash(token), now_unix()).await {
        Ok(Some(row)) if row.resource == auth.resource() => row,
        Ok(_) => {
            tracing::info!(server = %auth.kind(), "refused an unknown, expired or foreign access token");
            return Err(unauthorized(auth, Some("invalid_token")));
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot check an access token");
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the authorization database is unavailable; try again shortly\n",
            )
                .into_response());
        }
    };
    let mut reservation = None;
    match request.headers().get(SESSION_HEADER) {
        Some(session)
            if !session.to_str().is_ok_and(|s| {
                auth.sessions().use_session(s, &row.grant_id) == SessionUse::Own
            }) =>
        {
            tracing::info!(server = %auth.kind(), "refused an unknown, expired or foreign MCP session");
            return Err((
                StatusCode::NOT_FOUND,
                "unknown session: initialize a new one\n",
            )
                .into_response());
        }
        // A POST without a session opens one.
        None if request.method() == Method::POST => {
            let holder = Holder {
                grant: row.grant_id.clone(),
                account: row.account.clone(),
                client: row.client_id.clone(),
            };
            match auth.sessions().reserve(holder) {
                Ok(r) => reservation = Some(r),
                Err(refusal) => {
                    tracing::warn!(server = %auth.kind(), %refusal, "refused a new MCP session");
                    auth.metrics().refusal("session", refusal.reason());
                    let mut response =
                        (StatusCode::TOO_MANY_REQUESTS, format!("{refusal}\n")).into_response();
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
                    return Err(response);
                }
            }
        }
        _ => {}
    }
    let grant = Grant {
        grant_id: row.grant_id.clone(),
        account: row.account.clone(),
        tokens: Arc::new(AccountTokenSource::new(auth.clone(), row.account)),
    };
    request.extensions_mut().insert(grant);
    Ok(reservation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.DEF-1"),
        );
        assert_eq!(bearer_token(&h), Some("abc.DEF-1"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer xyz"),
        );
        assert_eq!(bearer_token(&h), Some("xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
        let long = format!("Bearer {}", "a".repeat(600));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&long).unwrap());
        assert_eq!(bearer_token(&h), None);
    }
}
