//! A platform's admins (`[channels.*].admins`): the people who answer pairing requests from the
//! chat. Every new request under `pairing` reaches each admin in their direct chat with Approve
//! and Deny buttons; a tap has the same effect as `mcp-gateway pairing approve CODE` (or
//! declines the code), the requester is told, and every admin's question is replaced by the
//! outcome. The questions sent are remembered here (bounded, for as long as a code lives) so
//! that they can be settled; a tap on a question this process no longer remembers (after a
//! restart) still works, and a tap on a question already answered, by another admin or the
//! CLI, changes nothing.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::platform::{Platform, SentId};
use crate::channels::pairing::CODE_TTL;

/// The prefix of a pairing button's data (`pr:<code>:y` approves, `pr:<code>:n` declines).
const PREFIX: &str = "pr";
/// The most requests whose questions are remembered (the pairing book's bound on waiting codes).
const MAX_REMEMBERED: usize = 1000;
/// The longest code read from a button's data.
const MAX_CODE_CHARS: usize = 16;

/// The data of the button that approves (`approve`) or declines the request with `code`.
#[must_use]
pub fn callback_data(code: &str, approve: bool) -> String {
    format!("{PREFIX}:{code}:{}", if approve { 'y' } else { 'n' })
}

/// The code and the answer a pairing button's data carries; `None` for any other data.
#[must_use]
pub fn parse_callback(data: &str) -> Option<(String, bool)> {
    let mut parts = data.splitn(3, ':');
    if parts.next()? != PREFIX {
        return None;
    }
    let code = parts.next()?;
    let approve = match parts.next()? {
        "y" => true,
        "n" => false,
        _ => return None,
    };
    (!code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then(|| (code.to_owned(), approve))
}

/// One request as its admins were asked about it.
pub(super) struct Request<P: Platform> {
    /// Where the requester was given the code.
    pub(super) chat: P::Chat,
    /// The question the admins were sent.
    pub(super) question: String,
    /// Each admin's copy of the question.
    pub(super) asked: Vec<(P::Chat, SentId<P>)>,
    /// When the code was given.
    at: Instant,
}

/// The requests this engine asked its admins about, by code.
pub(super) struct Requests<P: Platform> {
    by_code: Mutex<HashMap<String, Request<P>>>,
}

impl<P: Platform> Default for Requests<P> {
    fn default() -> Self {
        Self {
            by_code: Mutex::new(HashMap::new()),
        }
    }
}

impl<P: Platform> Requests<P> {
    /// Remembers a new request with `code`, given in `chat`, before its admins are asked.
    pub(super) fn open(&self, code: &str, chat: P::Chat, question: String) {
        let now = Instant::now();
        let mut by_code = self.by_code.lock();
        if by_code.len() >= MAX_REMEMBERED {
            by_code.retain(|_, r| now.duration_since(r.at) < CODE_TTL);
        }
        if by_code.len() >= MAX_REMEMBERED
            && let Some(oldest) = by_code
                .iter()
                .min_by_key(|(_, r)| r.at)
                .map(|(code, _)| code.clone())
        {
            by_code.remove(&oldest);
        }
        by_code.insert(
            code.to_owned(),
            Request {
                chat,
                question,
                asked: Vec::new(),
                at: now,
            },
        );
    }

    /// Remembers the copy of the question with `code` sent to an admin in `chat`; `false` when
    /// the request was answered meanwhile (the copy should then be settled at once).
    pub(super) fn asked(&self, code: &str, chat: P::Chat, message: SentId<P>) -> bool {
        match self.by_code.lock().get_mut(code) {
            Some(request) => {
                request.asked.push((chat, message));
                true
            }
            None => false,
        }
    }

    /// Takes the request with `code` out, once it is answered.
    pub(super) fn take(&self, code: &str) -> Option<Request<P>> {
        self.by_code.lock().remove(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_reads_back_and_nothing_else_does() {
        assert_eq!(
            parse_callback(&callback_data("ABCD2345", true)),
            Some(("ABCD2345".into(), true))
        );
        assert_eq!(
            parse_callback(&callback_data("ABCD2345", false)),
            Some(("ABCD2345".into(), false))
        );
        assert!(callback_data("ABCD2345", true).len() <= 64);
        for data in [
            "cf:abcdefghij:y",
            "pr::y",
            "pr:ABCD:x",
            "pr:AB CD:y",
            "pr:ABCD",
            "pr:ABCDEFGHIJKLMNOPQ:y",
        ] {
            assert_eq!(parse_callback(data), None, "{data}");
        }
    }
}
