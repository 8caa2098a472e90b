//! Confirmations of destructive tool calls, answered with buttons.
//!
//! The turn asking for a confirmation opens a [`Ticket`] with a short random id, shows the person
//! Allow / Deny buttons carrying that id ([`callback_data`]), and waits. The button press arrives
//! as a separate update and is matched with [`Confirmations::resolve`]; only the person who was
//! asked can answer. A ticket expires after its time-to-live (the action is then not done), and a
//! late or repeated press is reported as expired.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::Principal;

/// How long a confirmation waits for an answer by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The prefix of confirmation callback data.
const PREFIX: &str = "cf";
/// The characters of ticket ids.
const ID_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// The length of ticket ids.
const ID_LEN: usize = 10;

/// How a confirmation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The person allowed the action.
    Allowed,
    /// The person declined it.
    Denied,
    /// Nobody answered in time.
    Expired,
    /// The turn was cancelled while waiting.
    Cancelled,
}

impl Answer {
    /// Whether the action may go ahead.
    #[must_use]
    pub fn allowed(self) -> bool {
        self == Self::Allowed
    }
}

/// What a button press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// It answered a waiting confirmation.
    Resolved {
        /// Whether it allowed the action.
        allow: bool,
    },
    /// No confirmation with that id is waiting (it expired or was answered).
    Expired,
    /// Someone other than the person asked pressed it.
    NotYours,
}

#[derive(Debug)]
struct Pending {
    principal: Principal,
    tx: oneshot::Sender<bool>,
}

/// The confirmations waiting for an answer, shared by a channel's turns and its button handler.
#[derive(Clone, Default)]
pub struct Confirmations {
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

impl std::fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmations")
            .field("pending", &self.pending.lock().len())
            .finish()
    }
}

/// One open confirmation; dropping it withdraws the question.
#[derive(Debug)]
pub struct Ticket {
    id: String,
    rx: oneshot::Receiver<bool>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

impl Confirmations {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a confirmation that only `principal` may answer.
    #[must_use]
    pub fn open(&self, principal: &Principal) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut pending = self.pending.lock();
        let id = loop {
            let id = new_id();
            if !pending.contains_key(&id) {
                break id;
            }
        };
        pending.insert(
            id.clone(),
            Pending {
                principal: principal.clone(),
                tx,
            },
        );
        Ticket {
            id,
            rx,
            pending: Arc::clone(&self.pending),
        }
    }

    /// Answers confirmation `id` on behalf of `who`.
    pub fn resolve(&self, id: &str, who: &Principal, allow: bool) -> Resolution {
        let mut pending = self.pending.lock();
        match pending.get(id) {
            None => Resolution::Expired,
            Some(p) if &p.principal != who => Resolution::NotYours,
            Some(_) => match pending.remove(id).map(|p| p.tx.send(allow)) {
                Some(Ok(())) => Resolution::Resolved { allow },
                _ => Resolution::Expired,
            },
        }
    }

    /// How many confirmations are waiting.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.pending.lock().len()
    }
}

impl Ticket {
    /// The id carried by the buttons.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for the answer, at most `ttl`, or until `cancel` fires.
    pub async fn wait(mut self, ttl: Duration, cancel: &CancellationToken) -> Answer {
        tokio::select! {
            answer = &mut self.rx => match answer {
                Ok(true) => Answer::Allowed,
                Ok(false) => Answer::Denied,
                Err(_) => Answer::Expired,
            },
            () = tokio::time::sleep(ttl) => Answer::Expired,
            () = cancel.cancelled() => Answer::Cancelled,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.id);
    }
}

/// The callback data of a button answering ticket `id` (at most 16 bytes, well under Telegram's 64).
#[must_use]
pub fn callback_data(id: &str, allow: bool) -> String {
    format!("{PREFIX}:{id}:{}", if allow { "y" } else { "n" })
}

/// Reads callback data made by [`callback_data`]; `None` for anything else.
#[must_use]
pub fn parse_callback(data: &str) -> Option<(&str, bool)> {
    let rest = data.strip_prefix(PREFIX)?.strip_prefix(':')?;
    let (id, answer) = rest.split_once(':')?;
    let valid_id = id.len() == ID_LEN && id.bytes().all(|b| ID_ALPHABET.contains(&b));
    let allow = match answer {
        "y" => true,
        "n" => false,
        _ => return None,
    };
    valid_id.then_some((id, allow))
}

fn new_id() -> String {
    let mut rng = rand::rng();
    (0..ID_LEN)
        .map(|_| {
            char::from(
                ID_ALPHABET
                    .get(rng.random_range(0..ID_ALPHABET.len()))
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_rejects_junk() {
        let c = Confirmations::new();
        let t = c.open(&Principal::telegram(1));
        let data = callback_data(t.id(), true);
        assert!(data.len() <= 64);
        assert_eq!(parse_callback(&data), Some((t.id(), true)));
        assert_eq!(
            parse_callback(&callback_data(t.id(), false)),
            Some((t.id(), false))
        );
        for junk in [
            "",
            "cf",
            "cf::y",
            "cf:abc:y",
            "cf:abcdefghij:maybe",
            "xx:abcdefghij:y",
            "cf:ABCDEFGHIJ:y",
        ] {
            assert_eq!(parse_callback(junk), None, "{junk}");
        }
    }

    #[tokio::test]
    async fn only_the_asked_person_answers_once() {
        let c = Confirmations::new();
        let ann = Principal::telegram(1);
        let t = c.open(&ann);
        let id = t.id().to_owned();
        assert_eq!(
            c.resolve(&id, &Principal::telegram(2), true),
            Resolution::NotYours
        );
        assert_eq!(
            c.resolve(&id, &ann, false),
            Resolution::Resolved { allow: false }
        );
        assert_eq!(c.resolve(&id, &ann, true), Resolution::Expired);
        assert_eq!(
            t.wait(DEFAULT_TTL, &CancellationToken::new()).await,
            Answer::Denied
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unanswered_tickets_expire_and_are_withdrawn() {
        let c = Confirmations::new();
        let ann = Principal::telegram(1);
        let t = c.open(&ann);
        let id = t.id().to_owned();
        assert_eq!(
            t.wait(Duration::from_secs(60), &CancellationToken::new())
                .await,
            Answer::Expired
        );
        assert_eq!(c.waiting(), 0);
        assert_eq!(c.resolve(&id, &ann, true), Resolution::Expired);
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(
            c.open(&ann).wait(Duration::from_secs(60), &cancel).await,
            Answer::Cancelled
        );
    }
}
