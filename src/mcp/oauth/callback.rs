//! The gateway's `/oauth/callback`: where the person's browser comes back from a server's
//! authorization, and the small page that says what happened; and `/connect/<id>`, the page in
//! front of each connect link (see [`super::link_page`]).
//!
//! Every parameter is bounded. A `state` that is unknown, expired or already used gets a page
//! saying so and changes nothing. An authorization server's `error` consumes the state and stores
//! nothing. Pages are plain HTML with no scripts, never cached and never framed.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::link_page::PAGE_PATH;
use super::{CALLBACK_PATH, OAuthClient};
use crate::http::page::{page_response, paragraph};

/// The longest `code`, `state` or `iss` accepted.
const MAX_PARAM_CHARS: usize = 2048;
/// The most characters of an authorization server's `error_description` shown to the person.
const MAX_DESCRIPTION_CHARS: usize = 400;

/// Why a callback did not connect an account; the page shows it.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The `state` is unknown, expired or was already used.
    #[error("this link is unknown, has expired or was already used")]
    UnknownState,
    /// The authorization server's answer could not be redeemed.
    #[error("the server did not accept the authorization: {0}")]
    Exchange(String),
    /// The gateway failed.
    #[error("the gateway could not finish: {0}")]
    Internal(String),
}

/// The callback's query parameters.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The routes `/oauth/callback` and `/connect/<id>` served by `client`.
pub fn router(client: OAuthClient) -> Router {
    Router::new()
        .route(CALLBACK_PATH, get(callback))
        .route(&format!("{PAGE_PATH}/{{id}}"), get(link_page))
        .with_state(client)
}

/// `GET /connect/<id>`: the page in front of a connect link.
async fn link_page(State(client): State<OAuthClient>, Path(id): Path<String>) -> Response {
    client.inner.pages.render(&id)
}

fn bounded(value: Option<&String>) -> Option<&str> {
    value
        .map(String::as_str)
        .filter(|v| !v.is_empty() && v.len() <= MAX_PARAM_CHARS)
}

async fn callback(
    State(client): State<OAuthClient>,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This address was opened without the parameters an authorization sends back. Nothing was connected. Ask for a new link in the chat.",
        );
    };
    let Some(state) = bounded(params.state.as_ref()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This link has no valid state. Nothing was connected. Ask for a new link in the chat.",
        );
    };
    if let Some(error) = params.error.as_deref() {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        // Consume the state so the link cannot be used again; nothing is stored.
        let _ = client.inner.store.claim_state(state).await;
        let _ = client.inner.store.delete_state(state).await;
        let said = params.error_description.as_deref().and_then(description);
        tracing::info!(error = %error, described = said.is_some(), "an authorization came back refused");
        let text = match said {
            Some(said) => format!(
                "The authorization was not granted: {said}. Nothing was connected. You can ask for a new link in the chat."
            ),
            None => format!(
                "The authorization was not granted ({error}). Nothing was connected. You can ask for a new link in the chat."
            ),
        };
        return page(StatusCode::BAD_REQUEST, "Not connected", &text);
    }
    let Some(code) = bounded(params.code.as_ref()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "The authorization sent back no code. Nothing was connected. Ask for a new link in the chat.",
        );
    };
    let issuer = bounded(params.iss.as_ref());
    match client.finish(state, code, issuer).await {
        Ok(notice) => {
            let who = notice
                .account
                .as_deref()
                .map(|a| format!(" as {a}"))
                .unwrap_or_default();
            page(
                StatusCode::OK,
                "Connected",
                &format!(
                    "Your {} account is connected{who}. You can close this page and go back to the chat.",
                    notice.server
                ),
            )
        }
        Err(CallbackError::UnknownState) => page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This link is unknown, has expired or was already used. Nothing was connected. Ask for a new link in the chat.",
        ),
        Err(e @ CallbackError::Exchange(_)) => page(
            StatusCode::BAD_GATEWAY,
            "Not connected",
            &format!("{e}. Nothing was connected. Ask for a new link in the chat and try again."),
        ),
        Err(e @ CallbackError::Internal(_)) => {
            tracing::error!(error = %e, "the OAuth callback failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not connected",
                "The gateway could not finish connecting your account. Nothing was connected. Please try again.",
            )
        }
    }
}

/// An authorization server's `error_description` (RFC 6749 §4.1.2.1: printable ASCII) fit to
/// show: control characters dropped, whitespace collapsed, cut at [`MAX_DESCRIPTION_CHARS`]
/// characters, without a trailing period; `None` when nothing is left.
pub(crate) fn description(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let cut: String = joined.chars().take(MAX_DESCRIPTION_CHARS).collect();
    let cut = cut.trim_end_matches(['.', ' ']).to_owned();
    (!cut.is_empty()).then_some(cut)
}

/// A small HTML page.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    page_response(status, title, &paragraph(message)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded_and_tidied() {
        assert_eq!(
            description("Calendar access was not granted;\n leave it ticked.").as_deref(),
            Some("Calendar access was not granted; leave it ticked")
        );
        assert_eq!(description(" \u{7} "), None);
        let long = "x".repeat(5000);
        assert_eq!(
            description(&long).map(|d| d.chars().count()),
            Some(MAX_DESCRIPTION_CHARS)
        );
    }
}
