//! Who may talk to the assistant on a channel: the `pairing`, `allowlist` and `open` policies.
//!
//! Under `pairing` (the default) an unknown sender is given a short code and nothing else; the
//! operator approves it with `mcp-gateway pairing approve CODE` and the sender is remembered (see
//! [`super::pairing`]). Each [`Access`] keeps the approved senders in memory and reads them again
//! every few seconds (see [`super::approved`]). Every channel uses the same [`Access`].

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::approved::ApprovedSenders;
use super::pairing::{AccessError, Pairing};
use crate::Principal;
use crate::config::Policy;
use crate::store::Store;

/// How often a refused sender is told that the assistant is private.
const DENIED_NOTICE_EVERY: Duration = Duration::from_secs(3600);
/// The most refused senders remembered for [`DENIED_NOTICE_EVERY`].
const MAX_DENIED_REMEMBERED: usize = 10_000;
/// How long a sender whose request an admin declined gets no new pairing code (as long as the
/// declined code would have lived), so that declining ends the requests for a while.
const DECLINED_FOR: Duration = super::pairing::CODE_TTL;

/// What to do with a message from a sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The sender may talk to the assistant.
    Allowed,
    /// The sender is unknown under `pairing`: show them this code and nothing else.
    Pair {
        /// The code to show.
        code: String,
        /// Whether the code was issued just now (as opposed to repeated).
        fresh: bool,
    },
    /// The sender may not talk to the assistant.
    Denied {
        /// Whether to tell them so this time (at most once an hour per sender).
        notify: bool,
    },
}

/// A channel's access policy: decides, per message, whether its sender may talk.
#[derive(Debug)]
pub struct Access {
    policy: Policy,
    allow: HashSet<Principal>,
    pairing: Pairing,
    approved: ApprovedSenders,
    /// When each refused sender was last told that the assistant is private.
    denied_told: Mutex<HashMap<Principal, Instant>>,
    /// Senders whose pairing request an admin declined, and when: they get no new code for
    /// [`DECLINED_FOR`].
    declined: Mutex<HashMap<Principal, Instant>>,
}

impl Access {
    /// The policy `policy`, with `allow_from` always allowed (under `pairing` and `allowlist`).
    #[must_use]
    pub fn new(
        policy: Policy,
        allow_from: impl IntoIterator<Item = Principal>,
        store: Store,
    ) -> Self {
        let pairing = Pairing::new(store);
        Self {
            policy,
            allow: allow_from.into_iter().collect(),
            approved: ApprovedSenders::new(pairing.clone()),
            pairing,
            denied_told: Mutex::new(HashMap::new()),
            declined: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers that an admin declined `principal`'s request: for [`DECLINED_FOR`] they are
    /// refused without a word and without a new code.
    pub fn declined(&self, principal: &Principal) {
        let now = Instant::now();
        let mut declined = self.declined.lock();
        if declined.len() >= MAX_DENIED_REMEMBERED {
            declined.retain(|_, at| now.duration_since(*at) < DECLINED_FOR);
        }
        if declined.len() < MAX_DENIED_REMEMBERED {
            declined.insert(principal.clone(), now);
        }
    }

    /// Whether an admin declined `principal` less than [`DECLINED_FOR`] ago.
    fn recently_declined(&self, principal: &Principal) -> bool {
        self.declined
            .lock()
            .get(principal)
            .is_some_and(|at| at.elapsed() < DECLINED_FOR)
    }

    /// The pairing book this policy reads.
    pub fn pairing(&self) -> &Pairing {
        &self.pairing
    }

    /// Decides whether `principal` (shown as `display`) may talk.
    ///
    /// # Errors
    /// Fails when the database cannot be read or written; the sender should then be refused.
    pub async fn decide(
        &self,
        principal: &Principal,
        display: &str,
    ) -> Result<Decision, AccessError> {
        match self.policy {
            Policy::Open => Ok(Decision::Allowed),
            _ if self.allow.contains(principal) => Ok(Decision::Allowed),
            Policy::Allowlist => Ok(Decision::Denied {
                notify: self.tell_denied(principal),
            }),
            Policy::Pairing => {
                if self.approved.contains(principal).await? {
                    return Ok(Decision::Allowed);
                }
                if self.recently_declined(principal) {
                    return Ok(Decision::Denied { notify: false });
                }
                Ok(match self.pairing.code_for(principal, display).await? {
                    Some((code, fresh)) => Decision::Pair { code, fresh },
                    None => Decision::Denied { notify: false },
                })
            }
        }
    }

    /// Whether `principal` may talk to the assistant now, without giving them a pairing code:
    /// what a message the gateway sends first (a scheduled one) is checked against, so that a
    /// person who was revoked gets nothing.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn allows(&self, principal: &Principal) -> Result<bool, AccessError> {
        match self.policy {
            Policy::Open => Ok(true),
            _ if self.allow.contains(principal) => Ok(true),
            Policy::Allowlist => Ok(false),
            Policy::Pairing => self.approved.contains(principal).await,
        }
    }

    fn tell_denied(&self, principal: &Principal) -> bool {
        let now = Instant::now();
        let mut told = self.denied_told.lock();
        if told.len() >= MAX_DENIED_REMEMBERED {
            told.retain(|_, at| now.duration_since(*at) < DENIED_NOTICE_EVERY);
            if told.len() >= MAX_DENIED_REMEMBERED {
                return false;
            }
        }
        match told.get(principal) {
            Some(at) if now.duration_since(*at) < DENIED_NOTICE_EVERY => false,
            _ => {
                told.insert(principal.clone(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policies_decide() {
        let store = Store::open_in_memory().unwrap();
        let ann = Principal::telegram(1);
        let bob = Principal::telegram(2);
        let open = Access::new(Policy::Open, [], store.clone());
        assert_eq!(open.decide(&bob, "Bob").await.unwrap(), Decision::Allowed);

        let list = Access::new(Policy::Allowlist, [ann.clone()], store.clone());
        assert_eq!(list.decide(&ann, "Ann").await.unwrap(), Decision::Allowed);
        assert_eq!(
            list.decide(&bob, "Bob").await.unwrap(),
            Decision::Denied { notify: true }
        );
        assert_eq!(
            list.decide(&bob, "Bob").await.unwrap(),
            Decision::Denied { notify: false }
        );

        let pairing = Access::new(Policy::Pairing, [ann.clone()], store);
        assert_eq!(
            pairing.decide(&ann, "Ann").await.unwrap(),
            Decision::Allowed
        );
        let Decision::Pair { code, fresh: true } = pairing.decide(&bob, "Bob").await.unwrap()
        else {
            panic!("expected a code")
        };
        pairing.pairing().approve(&code).await.unwrap();
        assert_eq!(
            pairing.decide(&bob, "Bob").await.unwrap(),
            Decision::Allowed
        );
    }
}
