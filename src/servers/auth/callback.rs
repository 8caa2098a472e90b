//! `GET /oauth/callback`: the upstream sends the person back here.
//!
//! The upstream `state` must name a request that got consent (each works once). The upstream code
//! is exchanged, the account identified, its tokens sealed and stored, and the person is sent to
//! the client's redirect URI with our own authorization code, the client's `state` and `iss`.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

use super::consent::verifier_aad;
use super::errors::ErrorPage;
use super::params::Params;
use super::redirect::with_params;
use super::redirect::{found, redirect_error};
use super::secrets::{hash, random_id, random_token};
use super::store::{AccountWrite, GrantWrite, PendingRow};
use super::upstream::UpstreamError;
use super::{AuthServer, CODE_TTL_SECS};
use crate::servers::ServerKind;
use crate::store::now_unix;

/// What the person reads when Google's consent screen came back without Calendar access.
pub const SCOPE_UNTICKED: &str = "Google Calendar access was not granted: the box for Calendar access on Google's consent screen was unticked. Connect again and leave Calendar access ticked";

/// What the person reads when the upstream answered `access_denied`: the Cancel button, or (for
/// Google) an app in Testing that the person is not a test user of.
fn declined(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::Notion => {
            "the Notion authorization was declined (Cancel was pressed on Notion's page). Connect again and choose Allow access"
        }
        ServerKind::Gcal => {
            "the Google authorization was declined. If you pressed Cancel, connect again and choose Continue. If Google said \"Access blocked\" or that the app is being tested, ask the operator of this assistant to add your Google account as a test user of the Google app, or to publish the app"
        }
    }
}

/// An upstream error code, reduced to characters safe to repeat.
fn safe_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// `GET /oauth/callback`.
pub async fn callback(State(auth): State<AuthServer>, RawQuery(query): RawQuery) -> Response {
    let expired = || {
        ErrorPage::bad_request(
            "Authorization not recognised",
            "This answer does not belong to an authorization in progress (it is unknown, was \
             already used, or expired). Start again from your application.",
        )
        .into_response()
    };
    let Ok(params) = Params::parse(query.unwrap_or_default().as_bytes()) else {
        return expired();
    };
    let Some(state) = params.get("state") else {
        return expired();
    };
    let now = now_unix();
    let pending = match auth
        .store()
        .take_pending_by_upstream_state(hash(state), now)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::warn!(server = %auth.kind(), "upstream callback with an unknown or expired state");
            return expired();
        }
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot read an authorization request");
            return ErrorPage::server_error().into_response();
        }
    };
    let upstream_title = auth.kind().upstream_title();
    if let Some(error) = params.get("error") {
        let error = safe_code(error);
        tracing::info!(server = %auth.kind(), client_id = %pending.client_id, error = %error, "the upstream declined");
        return if error == "access_denied" {
            fail(&auth, &pending, "access_denied", declined(auth.kind()))
        } else {
            fail(
                &auth,
                &pending,
                "server_error",
                &format!("{upstream_title} answered with the error {error}"),
            )
        };
    }
    let Some(code) = params.get("code") else {
        return fail(
            &auth,
            &pending,
            "server_error",
            &format!("{upstream_title} answered without an authorization code"),
        );
    };
    let verifier = match &pending.upstream_verifier {
        None => None,
        Some(sealed) => match auth
            .sealer()
            .open_str(&verifier_aad(&auth, &pending.id_hash), sealed)
        {
            Ok(v) => Some(SecretString::from(v)),
            Err(e) => {
                tracing::error!(server = %auth.kind(), error = %e, "cannot open the upstream PKCE verifier");
                return fail(
                    &auth,
                    &pending,
                    "server_error",
                    "the authorization server failed; try again",
                );
            }
        },
    };
    let connected = match auth.upstream().exchange(code, verifier).await {
        Ok(c) => c,
        Err(UpstreamError::ScopeNotGranted) => {
            tracing::info!(server = %auth.kind(), client_id = %pending.client_id, "the upstream account did not grant the needed scope");
            return fail(&auth, &pending, "access_denied", SCOPE_UNTICKED);
        }
        Err(e) => {
            tracing::warn!(server = %auth.kind(), client_id = %pending.client_id, error = %e, "the upstream code exchange failed");
            return fail(
                &auth,
                &pending,
                "server_error",
                &format!("the {upstream_title} authorization could not be completed; try again"),
            );
        }
    };
    let account = connected.account.clone();
    let sealer = auth.sealer();
    let write = AccountWrite {
        access_token: sealer.seal_str(
            &auth.account_aad(&account, "access_token"),
            connected.tokens.access_token.expose_secret(),
        ),
        refresh_token: connected.tokens.refresh_token.as_ref().map(|t| {
            sealer.seal_str(
                &auth.account_aad(&account, "refresh_token"),
                t.expose_secret(),
            )
        }),
        access_expires_at: connected
            .tokens
            .expires_in
            .map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
        account: connected.account,
        workspace_id: connected.workspace_id,
        owner_id: connected.owner_id,
        label: connected.label,
        scope: connected.scope,
    };
    let our_code = random_token();
    let grant = GrantWrite {
        grant_id: random_id(),
        client_id: pending.client_id.clone(),
        resource: pending.resource.clone(),
        scope: pending.scope.clone(),
        code_hash: hash(&our_code),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        code_expires_at: now + CODE_TTL_SECS,
    };
    if let Err(e) = auth.store().complete_authorization(write, grant, now).await {
        tracing::error!(server = %auth.kind(), error = %e, "cannot record the connected account");
        return fail(
            &auth,
            &pending,
            "server_error",
            "the authorization server failed; try again",
        );
    }
    auth.metrics().upstream_connect();
    tracing::info!(server = %auth.kind(), client_id = %pending.client_id, account = %account, "upstream account connected");
    let mut answer = vec![("code", our_code.as_str())];
    if let Some(state) = pending.client_state.as_deref() {
        answer.push(("state", state));
    }
    answer.push(("iss", auth.issuer()));
    found(&with_params(&pending.redirect_uri, &answer))
}

/// Sends the client back to its redirect URI with an OAuth error.
fn fail(auth: &AuthServer, pending: &PendingRow, code: &str, description: &str) -> Response {
    redirect_error(
        auth,
        &pending.redirect_uri,
        pending.client_state.as_deref(),
        code,
        description,
    )
}
