//! `POST /revoke`: token revocation (RFC 7009), on both sides.
//!
//! Revoking a refresh token revokes its whole family (every access and refresh token descending
//! from the same authorization code) and the grant; revoking an access token revokes that token.
//! Unknown tokens, and tokens of other clients, are answered with 200 as the RFC requires, and
//! left alone.
//!
//! When the revoked grant was the last live one on its upstream account (a person disconnecting
//! their only connection), the account is disconnected upstream too: its authorization is
//! revoked at Google's or Notion's revocation endpoint, then its sealed tokens are deleted. When
//! the upstream does not confirm, the tokens are deleted all the same (nothing here will use them
//! again), and the answer is HTTP 503 `temporarily_unavailable` whose description says what
//! happened and where the person can remove the access themselves, so the client can tell them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use super::AuthServer;
use super::client_auth::authenticate;
use super::errors::{OAuthError, no_store};
use super::params::Params;
use super::secrets::hash;
use super::store::RevokeOutcome;
use crate::servers::ServerKind;
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
    let outcome = auth
        .store()
        .revoke_token(hash(token), client_id.clone(), now_unix())
        .await
        .map_err(|e| {
            tracing::error!(server = %auth.kind(), error = %e, "cannot revoke a token");
            OAuthError::server_error()
        })?;
    tracing::info!(server = %auth.kind(), client_id = %client_id, outcome = ?outcome, "revocation request handled");
    match outcome {
        RevokeOutcome::AccountUnused(account) => disconnect_upstream(auth, &account).await,
        RevokeOutcome::AccountStillUsed(account) => {
            tracing::info!(server = %auth.kind(), account = %account, "the upstream account stays connected: another connection still uses it");
            Ok(())
        }
        RevokeOutcome::Token | RevokeOutcome::Unknown => Ok(()),
    }
}

/// Where a person removes the app's access themselves when the upstream did not confirm.
fn remove_access_yourself(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::Gcal => {
            "remove the app's access at https://myaccount.google.com/permissions to be sure"
        }
        ServerKind::Notion => "remove the connection in Notion (Settings, Connections) to be sure",
    }
}

/// Revokes `account`'s authorization at the upstream, then deletes its sealed tokens.
async fn disconnect_upstream(auth: &AuthServer, account: &str) -> Result<(), OAuthError> {
    let lock = auth.account_lock(account);
    let _guard = lock.lock().await;
    let row = match auth.store().account_tokens(account).await {
        Ok(Some(row)) if !row.revoked => row,
        Ok(_) => return Ok(()),
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot read an upstream account to disconnect");
            return Err(OAuthError::server_error());
        }
    };
    let open = |column: &str, sealed: Option<&Vec<u8>>| -> Option<SecretString> {
        let sealed = sealed?;
        match auth
            .sealer()
            .open_str(&auth.account_aad(account, column), sealed)
        {
            Ok(token) => Some(SecretString::from(token)),
            Err(e) => {
                tracing::error!(server = %auth.kind(), account, column, error = %e, "cannot open a sealed upstream token to revoke it");
                None
            }
        }
    };
    let access = open("access_token", row.access_token.as_ref());
    let refresh = open("refresh_token", row.refresh_token.as_ref());
    let upstream_title = auth.kind().upstream_title();
    let revoked = if access.is_none() && refresh.is_none() {
        Err(format!("no {upstream_title} token could be read to revoke"))
    } else {
        auth.upstream()
            .revoke(access.as_ref(), refresh.as_ref())
            .await
            .map_err(|e| e.to_string())
    };
    match auth
        .store()
        .forget_account(account, row.version, now_unix())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(server = %auth.kind(), account, "the upstream account was connected again while it was being disconnected; its new tokens are kept");
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), account, error = %e, "cannot delete a disconnected account's sealed tokens");
            return Err(OAuthError::server_error());
        }
    }
    match revoked {
        Ok(()) => {
            auth.metrics().upstream_revocation("revoked");
            tracing::info!(server = %auth.kind(), account, "upstream authorization revoked and its tokens deleted");
            Ok(())
        }
        Err(reason) => {
            auth.metrics().upstream_revocation("failed");
            tracing::warn!(server = %auth.kind(), account, %reason, "the upstream did not confirm the revocation; the tokens are deleted here");
            Err(OAuthError::unconfirmed(format!(
                "the connection is removed and its tokens deleted here, but {upstream_title} did not confirm that it revoked the access ({reason}); {}",
                remove_access_yourself(auth.kind())
            )))
        }
    }
}
