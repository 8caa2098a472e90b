//! The pairing book: codes given to unknown senders under the `pairing` policy, and the senders
//! the operator approved with them.
//!
//! Codes use an alphabet without look-alike characters, expire after an hour, and each sender has
//! at most one pending code. Codes and approvals live in SQLite (`channel_*` tables), so several
//! processes and restarts agree on them: `mcp-gateway pairing approve CODE` writes the approval
//! that a running channel reads.

use std::time::Duration;

use rand::Rng;
use rusqlite::{OptionalExtension, params};

use crate::Principal;
use crate::store::{Store, StoreError, now_unix};

/// The characters of a pairing code: capital letters and digits without `0 O 1 I L`.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// The length of a pairing code.
const CODE_LEN: usize = 8;
/// How long a pairing code stays valid.
pub const CODE_TTL: Duration = Duration::from_secs(3600);
/// The most unexpired codes at once; beyond it unknown senders are refused quietly, so a flood of
/// strangers cannot grow the table without bound.
const MAX_PENDING: i64 = 1000;
/// The longest display name stored for a sender.
const MAX_DISPLAY_CHARS: usize = 64;
/// What went wrong deciding or changing access.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No pending code matches.
    #[error(
        "no sender is waiting with code `{0}`; run `mcp-gateway pairing list` to see the pending codes"
    )]
    UnknownCode(String),
    /// The code was found but has expired.
    #[error(
        "the code `{0}` has expired; ask the sender to write to the assistant again for a new code"
    )]
    ExpiredCode(String),
}

/// A sender waiting for approval, as `pairing list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSender {
    /// The code they were shown.
    pub code: String,
    /// Who they are.
    pub principal: Principal,
    /// Their name as the channel reported it.
    pub display: String,
    /// When the code expires (Unix seconds).
    pub expires_at: i64,
}

/// An approved sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedSender {
    /// Who they are.
    pub principal: Principal,
    /// Their name when they were approved.
    pub display: String,
    /// When they were approved (Unix seconds).
    pub approved_at: i64,
}

/// Pairing codes and approved senders, stored in SQLite.
#[derive(Debug, Clone)]
pub struct Pairing {
    store: Store,
}

impl Pairing {
    /// Pairing backed by `store`.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Whether `principal` was approved.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn is_approved(&self, principal: &Principal) -> Result<bool, AccessError> {
        let p = principal.as_str().to_owned();
        let found =
            self.store
                .call(move |c| {
                    Ok(c.prepare_cached(
                        "SELECT 1 FROM channel_approved_senders WHERE principal = ?1",
                    )?
                    .query_row(params![p], |_| Ok(()))
                    .optional()?)
                })
                .await?;
        Ok(found.is_some())
    }

    /// The code `principal` should be shown: their pending code, or a new one. `None` when too
    /// many strangers are already waiting.
    ///
    /// # Errors
    /// Fails when the database cannot be written.
    pub async fn code_for(
        &self,
        principal: &Principal,
        display: &str,
    ) -> Result<Option<(String, bool)>, AccessError> {
        self.code_for_at(principal, display, now_unix()).await
    }

    async fn code_for_at(
        &self,
        principal: &Principal,
        display: &str,
        now: i64,
    ) -> Result<Option<(String, bool)>, AccessError> {
        let p = principal.as_str().to_owned();
        let display = clean_display(display);
        let ttl = i64::try_from(CODE_TTL.as_secs()).unwrap_or(3600);
        let code = new_code();
        let result = self
            .store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                tx.execute("DELETE FROM channel_pairing_codes WHERE expires_at <= ?1", params![now])?;
                let existing: Option<String> = tx
                    .query_row("SELECT code FROM channel_pairing_codes WHERE principal = ?1", params![p], |r| r.get(0))
                    .optional()?;
                let result = if let Some(code) = existing {
                    Some((code, false))
                } else {
                    let pending: i64 = tx.query_row("SELECT COUNT(*) FROM channel_pairing_codes", [], |r| r.get(0))?;
                    if pending >= MAX_PENDING {
                        None
                    } else {
                        tx.execute(
                            "INSERT INTO channel_pairing_codes (code, principal, display, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![code, p, display, now, now.saturating_add(ttl)],
                        )?;
                        Some((code, true))
                    }
                };
                tx.commit()?;
                Ok(result)
            })
            .await?;
        Ok(result)
    }

    /// The senders waiting for approval whose codes have not expired, oldest first.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn pending(&self) -> Result<Vec<PendingSender>, AccessError> {
        let now = now_unix();
        let rows = self
            .store
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT code, principal, display, expires_at FROM channel_pairing_codes WHERE expires_at > ?1 ORDER BY created_at, code",
                )?;
                let rows = stmt
                    .query_map(params![now], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(code, p, display, expires_at)| {
                Principal::parse(&p).map(|principal| PendingSender {
                    code,
                    principal,
                    display,
                    expires_at,
                })
            })
            .collect())
    }

    /// The approved senders, by principal.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn approved(&self) -> Result<Vec<ApprovedSender>, AccessError> {
        let rows = self
            .store
            .call(|c| {
                let mut stmt = c.prepare_cached("SELECT principal, display, approved_at FROM channel_approved_senders ORDER BY principal")?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(p, display, approved_at)| {
                Principal::parse(&p).map(|principal| ApprovedSender {
                    principal,
                    display,
                    approved_at,
                })
            })
            .collect())
    }

    /// Approves the sender who was shown `code` (case, spaces and dashes ignored).
    ///
    /// # Errors
    /// Fails when no pending code matches, the code expired, or the database fails.
    pub async fn approve(&self, code: &str) -> Result<ApprovedSender, AccessError> {
        self.approve_at(code, now_unix()).await
    }

    async fn approve_at(&self, code: &str, now: i64) -> Result<ApprovedSender, AccessError> {
        let wanted = normalise_code(code);
        if wanted.is_empty() {
            return Err(AccessError::UnknownCode(
                code.trim().chars().take(16).collect(),
            ));
        }
        let key = wanted.clone();
        let found = self
            .store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let row: Option<(String, String, i64)> = tx
                    .query_row(
                        "SELECT principal, display, expires_at FROM channel_pairing_codes WHERE code = ?1",
                        params![key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                let Some((principal, display, expires_at)) = row else {
                    return Ok(None);
                };
                if expires_at <= now {
                    return Ok(Some(Err((principal, display))));
                }
                tx.execute("DELETE FROM channel_pairing_codes WHERE code = ?1", params![key])?;
                tx.execute(
                    "INSERT INTO channel_approved_senders (principal, display, approved_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (principal) DO UPDATE SET display = excluded.display, approved_at = excluded.approved_at",
                    params![principal, display, now],
                )?;
                tx.commit()?;
                Ok(Some(Ok((principal, display))))
            })
            .await?;
        match found {
            None => Err(AccessError::UnknownCode(wanted)),
            Some(Err(_)) => Err(AccessError::ExpiredCode(wanted)),
            Some(Ok((p, display))) => {
                let principal = Principal::parse(&p)
                    .ok_or_else(|| StoreError::Corrupt(format!("pairing principal `{p}`")))?;
                Ok(ApprovedSender {
                    principal,
                    display,
                    approved_at: now,
                })
            }
        }
    }

    /// Declines the request of the sender who was shown `code` (case, spaces and dashes
    /// ignored): the code is removed and nobody is approved. Returns who was waiting with it.
    ///
    /// # Errors
    /// Fails when no pending code matches, the code expired, or the database fails.
    pub async fn decline(&self, code: &str) -> Result<PendingSender, AccessError> {
        self.decline_at(code, now_unix()).await
    }

    async fn decline_at(&self, code: &str, now: i64) -> Result<PendingSender, AccessError> {
        let wanted = normalise_code(code);
        let key = wanted.clone();
        let found = self
            .store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let row: Option<(String, String, i64)> = tx
                    .query_row(
                        "SELECT principal, display, expires_at FROM channel_pairing_codes WHERE code = ?1",
                        params![key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                tx.execute("DELETE FROM channel_pairing_codes WHERE code = ?1", params![key])?;
                tx.commit()?;
                Ok(row)
            })
            .await?;
        match found {
            None => Err(AccessError::UnknownCode(wanted)),
            Some((_, _, expires_at)) if expires_at <= now => Err(AccessError::ExpiredCode(wanted)),
            Some((p, display, expires_at)) => Ok(PendingSender {
                principal: Principal::parse(&p)
                    .ok_or_else(|| StoreError::Corrupt(format!("pairing principal `{p}`")))?,
                code: wanted,
                display,
                expires_at,
            }),
        }
    }

    /// Removes `principal`'s approval and any pending code; `false` when there was neither.
    ///
    /// # Errors
    /// Fails when the database cannot be written.
    pub async fn revoke(&self, principal: &Principal) -> Result<bool, AccessError> {
        let p = principal.as_str().to_owned();
        let removed = self
            .store
            .call(move |c| {
                let a = c.execute(
                    "DELETE FROM channel_approved_senders WHERE principal = ?1",
                    params![p],
                )?;
                let b = c.execute(
                    "DELETE FROM channel_pairing_codes WHERE principal = ?1",
                    params![p],
                )?;
                Ok(a + b)
            })
            .await?;
        Ok(removed > 0)
    }
}

/// A fresh random code.
fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| {
            let i = rng.random_range(0..CODE_ALPHABET.len());
            char::from(CODE_ALPHABET.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// A code as typed by the operator, in canonical form: upper case, without spaces or dashes.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .take(32)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A display name safe to store and print: no control characters, bounded length.
fn clean_display(display: &str) -> String {
    display
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DISPLAY_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairing() -> Pairing {
        Pairing::new(Store::open_in_memory().unwrap())
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
        }
        assert_eq!(normalise_code(" abcd-efgh "), "ABCDEFGH");
    }

    #[tokio::test]
    async fn one_pending_code_per_sender_until_it_expires() {
        let p = pairing();
        let ann = Principal::telegram(1);
        let (first, fresh) = p.code_for_at(&ann, "Ann", 1000).await.unwrap().unwrap();
        assert!(fresh);
        let (again, fresh) = p.code_for_at(&ann, "Ann", 1500).await.unwrap().unwrap();
        assert_eq!((again.as_str(), fresh), (first.as_str(), false));
        let later = 1000 + i64::try_from(CODE_TTL.as_secs()).unwrap();
        let (new, fresh) = p.code_for_at(&ann, "Ann", later).await.unwrap().unwrap();
        assert!(fresh);
        assert_ne!(new, first);
    }

    #[tokio::test]
    async fn approve_remembers_the_sender_and_rejects_bad_codes() {
        let p = pairing();
        let ann = Principal::telegram(1);
        let (code, _) = p.code_for(&ann, "Ann\u{7}").await.unwrap().unwrap();
        assert!(matches!(
            p.approve("ZZZZZZZZ").await,
            Err(AccessError::UnknownCode(_))
        ));
        let approved = p.approve(&code.to_lowercase()).await.unwrap();
        assert_eq!(approved.principal, ann);
        assert_eq!(approved.display, "Ann");
        assert!(p.is_approved(&ann).await.unwrap());
        assert!(p.pending().await.unwrap().is_empty());
        assert!(matches!(
            p.approve(&code).await,
            Err(AccessError::UnknownCode(_))
        ));
        assert!(p.revoke(&ann).await.unwrap());
        assert!(!p.is_approved(&ann).await.unwrap());
        assert!(!p.revoke(&ann).await.unwrap());
    }

    #[tokio::test]
    async fn a_declined_code_is_gone_and_approves_nobody() {
        let p = pairing();
        let ann = Principal::telegram(1);
        let (code, _) = p.code_for(&ann, "Ann").await.unwrap().unwrap();
        let declined = p.decline(&code.to_lowercase()).await.unwrap();
        assert_eq!(
            (declined.principal, declined.code),
            (ann.clone(), code.clone())
        );
        assert!(p.pending().await.unwrap().is_empty());
        assert!(!p.is_approved(&ann).await.unwrap());
        assert!(matches!(
            p.approve(&code).await,
            Err(AccessError::UnknownCode(_))
        ));
        assert!(matches!(
            p.decline(&code).await,
            Err(AccessError::UnknownCode(_))
        ));
        let (old, _) = p.code_for_at(&ann, "Ann", 0).await.unwrap().unwrap();
        assert!(matches!(
            p.decline_at(&old, 3600).await,
            Err(AccessError::ExpiredCode(_))
        ));
    }

    #[tokio::test]
    async fn expired_codes_cannot_be_approved() {
        let p = pairing();
        let ann = Principal::telegram(1);
        let (code, _) = p.code_for_at(&ann, "Ann", 0).await.unwrap().unwrap();
        assert!(matches!(
            p.approve_at(&code, 3600).await,
            Err(AccessError::ExpiredCode(_))
        ));
        assert!(!p.is_approved(&ann).await.unwrap());
    }
}
