//! The upstream tokens of one connected account, as tool handlers see them
//! ([`crate::servers::UpstreamTokens`]).
//!
//! Tokens are read from the store and opened on each use. A refresh, before expiry or after the
//! upstream rejected a token, is single-flight per account: callers queue on the account's lock
//! and, once they hold it, read the row again; when its version moved, another caller already
//! refreshed and its token is used. The new access token and a rotated refresh token replace the
//! old ones in one statement, guarded by the version (so a refresh in another process is not
//! overwritten). An `invalid_grant` from the upstream marks the account revoked, with why
//! ([`super::expiry::EndReason`]), which clients refreshing their tokens on it are then told.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::AuthServer;
use super::expiry::EndReason;
use super::secrets::same;
use super::store::AccountTokens;
use super::upstream::UpstreamError;
use crate::servers::{UpstreamAuthError, UpstreamTokens};
use crate::store::now_unix;

/// How long before its expiry an upstream access token is refreshed.
const REFRESH_MARGIN_SECS: i64 = 60;

/// The upstream tokens of one account of one server.
pub struct AccountTokenSource {
    auth: AuthServer,
    account: String,
}

impl std::fmt::Debug for AccountTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountTokenSource")
            .field("server", &self.auth.kind().name())
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> UpstreamAuthError {
    UpstreamAuthError::Unavailable(e.to_string())
}

impl AccountTokenSource {
    /// The tokens of `account` on `auth`'s server.
    #[must_use]
    pub fn new(auth: AuthServer, account: String) -> Self {
        Self { auth, account }
    }

    async fn load(&self) -> Result<AccountTokens, UpstreamAuthError> {
        match self.auth.store().account_tokens(&self.account).await {
            Ok(Some(row)) if !row.revoked => Ok(row),
            Ok(_) => Err(UpstreamAuthError::Revoked),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn open(
        &self,
        column: &str,
        sealed: Option<&Vec<u8>>,
    ) -> Result<SecretString, UpstreamAuthError> {
        let sealed = sealed.ok_or(UpstreamAuthError::Revoked)?;
        self.auth
            .sealer()
            .open_str(&self.auth.account_aad(&self.account, column), sealed)
            .map(SecretString::from)
            .map_err(unavailable)
    }

    fn access(&self, row: &AccountTokens) -> Result<SecretString, UpstreamAuthError> {
        self.open("access_token", row.access_token.as_ref())
    }

    async fn mark_revoked(&self, reason: Option<EndReason>) {
        if let Err(e) = self
            .auth
            .store()
            .revoke_account(&self.account, now_unix(), reason.map(EndReason::as_str))
            .await
        {
            tracing::error!(server = %self.auth.kind(), error = %e, "cannot mark an upstream account revoked");
        }
        tracing::warn!(server = %self.auth.kind(), account = %self.account, "the upstream no longer accepts this account's tokens; it must be connected again");
    }

    /// Refreshes unless another caller did since the row at `seen_version` was read.
    async fn refresh(
        &self,
        seen_version: i64,
        rejected: bool,
    ) -> Result<SecretString, UpstreamAuthError> {
        let lock = self.auth.account_lock(&self.account);
        let _guard = lock.lock().await;
        let row = self.load().await?;
        if row.version != seen_version {
            return self.access(&row);
        }
        let Some(sealed_refresh) = row.refresh_token.as_ref() else {
            let now = now_unix();
            if rejected || row.access_expires_at.is_some_and(|t| t <= now) {
                self.mark_revoked(None).await;
                return Err(UpstreamAuthError::Revoked);
            }
            return self.access(&row);
        };
        let refresh_token = self.open("refresh_token", Some(sealed_refresh))?;
        let metrics = self.auth.metrics().clone();
        let fresh = match self.auth.upstream().refresh(&refresh_token).await {
            Ok(fresh) => fresh,
            Err(UpstreamError::InvalidGrant) => {
                metrics.refresh_failure();
                // Another process may have rotated the refresh token meanwhile.
                let now_row = self.load().await?;
                if now_row.version != seen_version {
                    return self.access(&now_row);
                }
                let reason =
                    super::expiry::refused(&self.auth, &self.account, row.refresh_issued_at).await;
                self.mark_revoked(Some(reason)).await;
                return Err(UpstreamAuthError::Revoked);
            }
            Err(e) => {
                metrics.refresh_failure();
                tracing::warn!(server = %self.auth.kind(), account = %self.account, error = %e, "upstream token refresh failed");
                return Err(unavailable(e));
            }
        };
        let now = now_unix();
        let sealer = self.auth.sealer();
        let access_sealed = sealer.seal_str(
            &self.auth.account_aad(&self.account, "access_token"),
            fresh.access_token.expose_secret(),
        );
        let refresh_sealed = fresh.refresh_token.as_ref().map(|t| {
            sealer.seal_str(
                &self.auth.account_aad(&self.account, "refresh_token"),
                t.expose_secret(),
            )
        });
        let expires_at = fresh
            .expires_in
            .map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
        let stored = self
            .auth
            .store()
            .store_refreshed(
                &self.account,
                row.version,
                access_sealed,
                refresh_sealed,
                expires_at,
                now,
            )
            .await
            .map_err(unavailable)?;
        metrics.upstream_refresh();
        if !stored {
            // Another process refreshed at the same time; use what it stored.
            let row = self.load().await?;
            return self.access(&row);
        }
        tracing::info!(server = %self.auth.kind(), account = %self.account, rotated = fresh.refresh_token.is_some(), "upstream access token refreshed");
        Ok(fresh.access_token)
    }
}

#[async_trait]
impl UpstreamTokens for AccountTokenSource {
    async fn access_token(&self) -> Result<SecretString, UpstreamAuthError> {
        let row = self.load().await?;
        let expiring = row
            .access_expires_at
            .is_some_and(|t| t <= now_unix() + REFRESH_MARGIN_SECS);
        if !expiring {
            return self.access(&row);
        }
        self.refresh(row.version, false).await
    }

    async fn refresh_after_rejection(
        &self,
        rejected: &SecretString,
    ) -> Result<SecretString, UpstreamAuthError> {
        let row = self.load().await?;
        let current = self.access(&row)?;
        if !same(
            current.expose_secret().as_bytes(),
            rejected.expose_secret().as_bytes(),
        ) {
            return Ok(current);
        }
        self.refresh(row.version, true).await
    }
}
