//! Client authentication at `/token` and `/revoke` (RFC 6749 §2.3).
//!
//! Confidential clients authenticate with `client_secret_basic` or `client_secret_post`; public
//! clients (registered with `none`, and every client whose id is a metadata document URL) send
//! only `client_id`. Secrets are compared by hash in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AuthServer;
use super::client_doc::is_document_url;
use super::errors::OAuthError;
use super::params::Params;
use super::secrets::{hash, same};

/// Credentials taken from the `Authorization: Basic` header, form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad =
        || OAuthError::invalid_client("the Authorization header is not valid HTTP Basic", true);
    let text = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = text.trim().split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let form_decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// Authenticates the client of a token or revocation request; returns its client id.
///
/// # Errors
/// `invalid_client` when the client is unknown or its credentials are wrong or missing,
/// `invalid_request` when credentials come in two ways at once.
pub async fn authenticate(
    auth: &AuthServer,
    headers: &HeaderMap,
    params: &Params,
) -> Result<String, OAuthError> {
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "send the client secret either in the Authorization header or in the body, not both",
                ));
            }
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "the client_id in the body differs from the one in the Authorization header",
                ));
            }
            (id, Some(secret))
        }
        None => {
            let id = params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_id is required", false))?;
            (
                id.to_owned(),
                params.get("client_secret").map(str::to_owned),
            )
        }
    };
    if is_document_url(&client_id) {
        if secret.is_some() {
            return Err(OAuthError::invalid_client(
                "clients identified by a metadata document are public and must not send a secret",
                used_basic,
            ));
        }
        return Ok(client_id);
    }
    let row = auth.store().client(&client_id).await.map_err(|e| {
        tracing::error!(server = %auth.kind(), error = %e, "cannot read a client");
        OAuthError::server_error()
    })?;
    let Some(row) = row else {
        return Err(OAuthError::invalid_client(
            "unknown client; register again",
            used_basic,
        ));
    };
    match (&row.secret_hash, secret) {
        (None, None) => Ok(client_id),
        (Some(stored), Some(given)) if same(stored, &hash(&given)) => Ok(client_id),
        (Some(_), None) => Err(OAuthError::invalid_client(
            "this client must authenticate with its client secret",
            used_basic,
        )),
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "this client is public and has no secret",
            used_basic,
        )),
        (Some(_), Some(_)) => Err(OAuthError::invalid_client(
            "the client secret is wrong",
            used_basic,
        )),
    }
}
