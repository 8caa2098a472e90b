//! `POST /register`: OAuth 2.0 Dynamic Client Registration (RFC 7591).
//!
//! Redirect URIs must be `https`, or `http` on a loopback host. Public clients
//! (`token_endpoint_auth_method: "none"`) get no secret; confidential clients get one, stored only
//! as its hash. What is stored of one client is at most [`MAX_STORED_BYTES`], and the server
//! keeps at most `max_clients` of them (see [`super::store::AsStore::insert_client`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AuthServer;
use super::errors::{OAuthError, no_store};
use super::redirect::check_redirect_uri;
use super::secrets::{hash, random_token};
use super::store::{Admission, ClientRow};
use crate::store::now_unix;

/// The most redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 20;
/// The longest client name kept.
const MAX_NAME_CHARS: usize = 200;
/// The longest optional text field kept (`client_uri`, `logo_uri`, `scope`, ...).
const MAX_FIELD_CHARS: usize = 512;
/// The most bytes of metadata stored for one client.
pub const MAX_STORED_BYTES: usize = 8 * 1024;
/// How long a refused registration is asked to wait: unused registrations are forgotten after
/// this long at the cap.
const CLIENTS_FULL_RETRY: std::time::Duration =
    std::time::Duration::from_secs(super::PENDING_TTL_SECS.unsigned_abs());

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client_metadata", description)
}

fn string_list(meta: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match meta.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid_metadata(format!("`{key}` must be a list of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid_metadata(format!(
            "`{key}` must be a list of strings"
        ))),
    }
}

fn optional_string(meta: &Map<String, Value>, key: &str) -> Result<Option<String>, OAuthError> {
    match meta.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_metadata(format!("`{key}` must be a string"))),
    }
}

/// `POST /register`.
pub async fn register(State(auth): State<AuthServer>, body: Bytes) -> Response {
    match register_client(&auth, &body).await {
        Ok(answer) => (StatusCode::CREATED, no_store(), Json(answer)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn register_client(auth: &AuthServer, body: &[u8]) -> Result<Value, OAuthError> {
    let meta: Map<String, Value> = serde_json::from_slice(body).map_err(|_| {
        invalid_metadata("the body must be a JSON object of client metadata (RFC 7591)")
    })?;
    let redirect_uris = string_list(&meta, "redirect_uris")?
        .filter(|uris| !uris.is_empty())
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_redirect_uri",
                "`redirect_uris` is required: list the URIs the authorization answer may go to",
            )
        })?;
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::new(
            "invalid_redirect_uri",
            format!("at most {MAX_REDIRECT_URIS} redirect URIs may be registered"),
        ));
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|why| OAuthError::new("invalid_redirect_uri", why))?;
    }
    let auth_method = optional_string(&meta, "token_endpoint_auth_method")?
        .unwrap_or_else(|| "client_secret_basic".to_owned());
    if !matches!(
        auth_method.as_str(),
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return Err(invalid_metadata(format!(
            "token_endpoint_auth_method {auth_method:?} is not supported; use none, client_secret_basic or client_secret_post"
        )));
    }
    let grant_types =
        string_list(&meta, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if let Some(other) = grant_types
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(invalid_metadata(format!(
            "grant type {other:?} is not supported; use authorization_code and refresh_token"
        )));
    }
    let response_types =
        string_list(&meta, "response_types")?.unwrap_or_else(|| vec!["code".to_owned()]);
    if response_types.iter().any(|t| t != "code") {
        return Err(invalid_metadata(
            "only the response type \"code\" is supported",
        ));
    }
    let client_name = optional_string(&meta, "client_name")?
        .map(|n| crate::display::sanitize(&n, MAX_NAME_CHARS))
        .filter(|n| !n.is_empty());

    let client_id = random_token();
    let secret = (auth_method != "none").then(random_token);
    let issued_at = now_unix();
    let mut answer = Map::new();
    answer.insert("client_id".into(), json!(client_id));
    answer.insert("client_id_issued_at".into(), json!(issued_at));
    answer.insert("redirect_uris".into(), json!(redirect_uris));
    answer.insert("token_endpoint_auth_method".into(), json!(auth_method));
    answer.insert("grant_types".into(), json!(grant_types));
    answer.insert("response_types".into(), json!(response_types));
    if let Some(name) = &client_name {
        answer.insert("client_name".into(), json!(name));
    }
    for key in [
        "client_uri",
        "logo_uri",
        "scope",
        "software_id",
        "software_version",
        "application_type",
    ] {
        if let Some(value) = optional_string(&meta, key)? {
            answer.insert(
                key.into(),
                json!(value.chars().take(MAX_FIELD_CHARS).collect::<String>()),
            );
        }
    }
    let stored = Value::Object(answer.clone()).to_string();
    if stored.len() > MAX_STORED_BYTES {
        auth.metrics().refusal("register", "too_large");
        return Err(invalid_metadata(format!(
            "the client metadata is larger than {} KiB; register fewer or shorter redirect URIs",
            MAX_STORED_BYTES / 1024
        )));
    }
    if let Some(secret) = &secret {
        answer.insert("client_secret".into(), json!(secret));
        answer.insert("client_secret_expires_at".into(), json!(0));
    }
    let admission = auth
        .store()
        .insert_client(
            ClientRow {
                client_id,
                secret_hash: secret.as_deref().map(hash),
                auth_method,
                client_name,
                redirect_uris,
                metadata: stored,
                created_at: issued_at,
            },
            auth.limits().max_clients,
        )
        .await
        .map_err(|e| {
            tracing::error!(server = %auth.kind(), error = %e, "cannot record a registered client");
            OAuthError::server_error()
        })?;
    if admission == Admission::Full {
        auth.metrics().refusal("register", "clients_full");
        tracing::warn!(server = %auth.kind(), max = auth.limits().max_clients, "refused a registration: the server holds its maximum of clients");
        return Err(OAuthError::unavailable(
            "the server holds as many registered applications as it may; try again later",
            CLIENTS_FULL_RETRY,
        ));
    }
    Ok(Value::Object(answer))
}
