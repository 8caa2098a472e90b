//! The consent page and `POST /consent`.
//!
//! Our server reaches the upstream with one static client id for everyone, so each client must be
//! approved by the person before we send them upstream (the MCP specification's confused-deputy
//! rule). The page names the client, shows where the answer will go and what the upstream will be
//! asked for. The form is bound to its pending request twice: a CSRF token in the form whose hash
//! is stored with the request, and a cookie of the browser that loaded the page, so a form
//! submitted from elsewhere, or replayed, does nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

use super::client::KnownClient;
use super::errors::ErrorPage;
use super::params::Params;
use super::redirect::{display_host, is_loopback_redirect, redirect_error};
use super::secrets::{hash, random_token, same};
use super::{AuthServer, PENDING_TTL_SECS};
use crate::http::page::{escape, page_response};
use crate::store::now_unix;

/// The consent cookie's name: with the `__Host-` prefix (which requires `Secure`) on https.
fn cookie_name(auth: &AuthServer) -> &'static str {
    if auth.secure_cookies() {
        "__Host-mcp_consent"
    } else {
        "mcp_consent"
    }
}

/// The browser's consent cookie value, when it sent a well-formed one.
#[must_use]
pub fn browser_cookie(auth: &AuthServer, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(auth);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The consent page for an authorization request.
#[must_use]
pub fn page(
    auth: &AuthServer,
    client: &KnownClient,
    redirect_uri: &str,
    request_id: &str,
    csrf: &str,
    set_cookie: Option<&str>,
) -> Response {
    let upstream = auth.kind().upstream_title();
    let name = client
        .name
        .clone()
        .unwrap_or_else(|| "An application that gave no name".to_owned());
    let mut body = format!(
        "<p><strong>{name}</strong> wants to use your {upstream} account through this server.</p>\
         <p>Application: <code>{client_id}</code>{published}</p>\
         <p>If you approve, you will continue to {upstream} to sign in, and then be sent back to \
         <strong>{host}</strong> (<code>{redirect}</code>).</p>",
        name = escape(&name),
        upstream = escape(upstream),
        client_id = escape(&client.client_id),
        published = if client.is_document {
            " (described by the document at this address)"
        } else {
            ""
        },
        host = escape(&display_host(redirect_uri)),
        redirect = escape(redirect_uri),
    );
    if is_loopback_redirect(redirect_uri) {
        body.push_str(
            "<p class=\"warn\">The answer goes to an application on this computer (localhost). \
             Approve only if you started this connection from an application running here.</p>",
        );
    }
    body.push_str(&format!(
        "<p>{upstream} will be asked for:</p><ul>",
        upstream = escape(upstream)
    ));
    for scope in auth.upstream().scope_descriptions() {
        body.push_str(&format!("<li>{}</li>", escape(scope)));
    }
    body.push_str("</ul>");
    if let Some(note) = auth.upstream().consent_note() {
        body.push_str(&format!("<p>{}</p>", escape(note)));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"consent\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        request = escape(request_id),
        csrf = escape(csrf),
    ));
    let mut response = page_response(StatusCode::OK, &format!("Connect {upstream}?"), &body);
    if let Some(value) = set_cookie {
        let secure = if auth.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={PENDING_TTL_SECS}{secure}",
            cookie_name(auth)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    response
}

fn refused() -> Response {
    ErrorPage::new(
        StatusCode::FORBIDDEN,
        "Consent not accepted",
        "This consent form was not submitted from the page this server showed in this browser. \
         Start again from your application.",
    )
    .into_response()
}

/// `POST /consent`: the person approved or denied.
pub async fn consent(State(auth): State<AuthServer>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(params) = Params::parse(&body) else {
        return refused();
    };
    let (Some(request_id), Some(csrf)) = (params.get("request"), params.get("csrf")) else {
        return refused();
    };
    let id_hash = hash(request_id);
    let now = now_unix();
    let pending = match auth.store().pending_for_consent(id_hash.clone(), now).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ErrorPage::bad_request(
                "Authorization expired",
                "This authorization request is unknown, was already answered, or has expired. \
                 Start again from your application.",
            )
            .into_response();
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot read an authorization request");
            return ErrorPage::server_error().into_response();
        }
    };
    let cookie_ok =
        browser_cookie(&auth, &headers).is_some_and(|c| same(&hash(&c), &pending.browser_hash));
    let csrf_ok = same(&hash(csrf), &pending.csrf_hash);
    if !(cookie_ok && csrf_ok) {
        tracing::warn!(server = %auth.kind(), client_id = %pending.client_id, cookie_ok, csrf_ok, "consent form refused");
        return refused();
    }
    match params.get("decision") {
        Some("approve") => {}
        Some("deny") => {
            if let Err(e) = auth.store().delete_pending(id_hash).await {
                tracing::error!(server = %auth.kind(), error = %e, "cannot forget an authorization request");
            }
            tracing::info!(server = %auth.kind(), client_id = %pending.client_id, "consent denied");
            return redirect_error(
                &auth,
                &pending.redirect_uri,
                pending.client_state.as_deref(),
                "access_denied",
                "the person denied the request",
            );
        }
        _ => return refused(),
    }
    let upstream_state = random_token();
    let (url, verifier) = auth.upstream().authorize_url(&upstream_state);
    let sealed = verifier.map(|v| {
        auth.sealer()
            .seal_str(&verifier_aad(&auth, &id_hash), v.expose_secret())
    });
    match auth
        .store()
        .approve_pending(
            id_hash,
            hash(&upstream_state),
            sealed,
            now + PENDING_TTL_SECS,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return ErrorPage::bad_request(
                "Authorization already answered",
                "This authorization request was already answered. Start again from your application.",
            )
            .into_response();
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot record consent");
            return ErrorPage::server_error().into_response();
        }
    }
    tracing::info!(server = %auth.kind(), client_id = %pending.client_id, "consent given; sending the person upstream");
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => ErrorPage::server_error().into_response(),
    }
}

/// The associated data of the sealed upstream PKCE verifier of a pending request.
pub(crate) fn verifier_aad(auth: &AuthServer, id_hash: &[u8]) -> String {
    format!(
        "as_pending|{}|{}|upstream_verifier",
        auth.kind().name(),
        hex::encode(id_hash)
    )
}
