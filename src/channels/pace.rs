//! How often the gateway changes what a chat shows: one budget per chat, shared by every reply
//! and message in it, within the platform's limits.
//!
//! A platform gives a [`Pace`] for each chat: the least time between two streamed edits there
//! (whoever's reply they belong to) and, where the platform caps a chat (Telegram: about 20
//! messages and edits a minute in a group), that cap. Streamed (interim) edits keep room under
//! the cap for the messages a reply's final text needs, so the final text goes out at once when
//! the model is done; fewer and larger edits follow from the longer interval a group gets.
//! Final text and other messages wait only for the cap itself.
//!
//! [`Pacer`] keeps one [`ChatPace`] per chat for as long as something uses it or the chat's
//! recent changes still count against its cap.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// A platform's limits for one chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The least time between two streamed edits in the chat.
    pub interim: Duration,
    /// At most this many messages and edits within this time, where the platform caps the chat.
    pub cap: Option<(usize, Duration)>,
}

impl Pace {
    /// No limit at all (a terminal, or a test surface).
    pub const FREE: Self = Self {
        interim: Duration::ZERO,
        cap: None,
    };
}

#[derive(Debug, Default)]
struct State {
    /// When the last streamed edit went out.
    last_interim: Option<Instant>,
    /// When the changes still counting against the cap were made, oldest first.
    recent: VecDeque<Instant>,
}

/// The budget of one chat.
#[derive(Debug)]
pub struct ChatPace {
    pace: Pace,
    state: Mutex<State>,
}

impl ChatPace {
    /// A budget of its own, not shared with anything.
    #[must_use]
    pub fn new(pace: Pace) -> Arc<Self> {
        Arc::new(Self {
            pace,
            state: Mutex::new(State::default()),
        })
    }

    /// The chat's limits.
    #[must_use]
    pub fn pace(&self) -> Pace {
        self.pace
    }

    fn forget_old(&self, state: &mut State, now: Instant) {
        if let Some((_, per)) = self.pace.cap {
            while state
                .recent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= per)
            {
                state.recent.pop_front();
            }
        }
    }

    /// When `count` more changes fit under the cap, after `now`; `None` when they never can.
    fn room_at(&self, state: &State, now: Instant, count: usize) -> Option<Instant> {
        let Some((cap, per)) = self.pace.cap else {
            return Some(now);
        };
        if count > cap {
            return None;
        }
        let over = (state.recent.len() + count).saturating_sub(cap);
        if over == 0 {
            return Some(now);
        }
        state.recent.get(over - 1).map(|t| *t + per)
    }

    /// When, from `now` on, a streamed edit of `changes` calls may go, keeping room under the
    /// cap for `reserve` more; `now` itself when nothing holds it back, `None` when the cap
    /// leaves no room for streamed edits at all.
    #[must_use]
    pub fn interim_at(&self, now: Instant, changes: usize, reserve: usize) -> Option<Instant> {
        let mut state = self.state.lock();
        self.forget_old(&mut state, now);
        let spaced = state
            .last_interim
            .map_or(now, |t| (t + self.pace.interim).max(now));
        let room = self.room_at(&state, now, changes + reserve)?;
        Some(spaced.max(room))
    }

    /// When one change that must be made (final text, a message of its own) may go.
    #[must_use]
    pub fn final_at(&self) -> Instant {
        let now = Instant::now();
        let mut state = self.state.lock();
        self.forget_old(&mut state, now);
        self.room_at(&state, now, 1).unwrap_or(now)
    }

    /// Waits until one change that must be made may go, and counts it.
    pub async fn take_final(&self) {
        tokio::time::sleep_until(self.final_at()).await;
        self.record(false);
    }

    /// Counts a change made now; `interim` when it was a streamed edit.
    pub fn record(&self, interim: bool) {
        let now = Instant::now();
        let mut state = self.state.lock();
        if interim {
            state.last_interim = Some(now);
        }
        if self.pace.cap.is_some() {
            state.recent.push_back(now);
        }
    }

    /// Whether nothing the chat did still counts.
    fn idle(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock();
        self.forget_old(&mut state, now);
        state.recent.is_empty()
            && state
                .last_interim
                .is_none_or(|t| now.saturating_duration_since(t) >= self.pace.interim)
    }
}

/// Every chat's budget on one platform.
#[derive(Debug, Default)]
pub struct Pacer {
    chats: Mutex<Chats>,
}

#[derive(Debug, Default)]
struct Chats {
    by_scope: HashMap<String, Arc<ChatPace>>,
    /// How many chats are kept before idle ones are dropped: at least [`KEPT`], and twice what
    /// was left the last time, so dropping costs little however many chats are busy.
    prune_at: usize,
}

/// How many chats are kept at least before idle ones are dropped.
const KEPT: usize = 256;

impl Pacer {
    /// The budget of the chat (or the scope a platform's limits apply to) named `scope`.
    pub fn chat(&self, scope: &str, pace: Pace) -> Arc<ChatPace> {
        let mut chats = self.chats.lock();
        if let Some(chat) = chats.by_scope.get(scope) {
            return Arc::clone(chat);
        }
        if chats.by_scope.len() >= chats.prune_at.max(KEPT) {
            chats
                .by_scope
                .retain(|_, chat| Arc::strong_count(chat) > 1 || !chat.idle());
            chats.prune_at = chats.by_scope.len() * 2;
        }
        let chat = ChatPace::new(pace);
        chats.by_scope.insert(scope.to_owned(), Arc::clone(&chat));
        chat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: Pace = Pace {
        interim: Duration::from_secs(3),
        cap: Some((20, Duration::from_secs(60))),
    };

    #[tokio::test(start_paused = true)]
    async fn streamed_edits_are_spaced_and_leave_room_for_the_final_text() {
        let chat = ChatPace::new(GROUP);
        let start = Instant::now();
        assert_eq!(chat.interim_at(Instant::now(), 1, 2), Some(start));
        chat.record(true);
        assert_eq!(
            chat.interim_at(Instant::now(), 1, 2),
            Some(start + Duration::from_secs(3))
        );
        // 18 changes in all: two more streamed ones would eat the room for two final ones.
        for _ in 0..17 {
            chat.record(false);
        }
        assert_eq!(
            chat.interim_at(Instant::now(), 1, 2),
            Some(start + Duration::from_secs(60)),
            "no streamed edit may eat the room kept for the final text"
        );
        assert_eq!(chat.final_at(), start, "the final text goes at once");
        chat.record(false);
        chat.record(false);
        assert_eq!(chat.final_at(), start + Duration::from_secs(60));
        assert_eq!(
            chat.interim_at(Instant::now(), 1, 25),
            None,
            "more than the cap never fits"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn replies_in_one_chat_share_its_budget() {
        let pacer = Pacer::default();
        let a = pacer.chat("-100", GROUP);
        let b = pacer.chat("-100", GROUP);
        let other = pacer.chat("-200", GROUP);
        a.record(true);
        assert!(b.interim_at(Instant::now(), 1, 1) > Some(Instant::now()));
        assert_eq!(other.interim_at(Instant::now(), 1, 1), Some(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_free_pace_never_waits() {
        let chat = ChatPace::new(Pace::FREE);
        for _ in 0..100 {
            chat.record(true);
        }
        assert_eq!(chat.interim_at(Instant::now(), 5, 5), Some(Instant::now()));
        assert_eq!(chat.final_at(), Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_chats_are_dropped_and_busy_ones_kept() {
        let pacer = Pacer::default();
        let busy = pacer.chat("busy", GROUP);
        busy.record(false);
        for i in 0..KEPT {
            let _ = pacer.chat(&format!("idle-{i}"), Pace::FREE);
        }
        let _ = pacer.chat("one more", Pace::FREE);
        let kept = pacer.chats.lock().by_scope.len();
        assert!(kept < 10, "{kept} chats kept");
        drop(busy);
        let again = pacer.chat("busy", GROUP);
        assert!(
            again
                .interim_at(Instant::now(), 1, 19)
                .is_some_and(|t| t > Instant::now()),
            "the busy chat kept its budget"
        );
    }
}
