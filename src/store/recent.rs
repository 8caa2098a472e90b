//! The conversations used lately, kept in memory so that a turn does not read and parse its
//! whole history from the database again.
//!
//! Only the connection thread changes the entries, in the order of its operations: a load that
//! missed fills an entry, a committed append extends it, and compaction or a reset drops it.
//! Any thread may read an entry. What it reads is what the database holds after the operations
//! the connection thread has finished, so a caller sees every write it has waited for, just as
//! a query queued behind those writes would. Past a budget of bytes the least recently used
//! conversations are dropped; a dropped conversation is simply loaded again.

use std::collections::HashMap;
use std::sync::Arc;

use super::conversation::{Conversation, StoredMessage};

/// How many bytes of conversations are kept in all, counted as in [`size_of_text`].
pub(super) const BUDGET: usize = 8 << 20;
/// The largest conversation kept; a larger one is loaded from the database every time.
const LARGEST: usize = BUDGET / 16;
/// What one message costs beyond its stored text (its structure and the map's bookkeeping).
const PER_MESSAGE: usize = 160;

/// A conversation's identity: its principal and chat.
pub(super) type Key = (String, String);

/// The size a conversation counts for: its stored text plus a fixed cost per message.
pub(super) fn size_of_text(summary: Option<&str>, body_bytes: usize, messages: usize) -> usize {
    summary.map_or(0, str::len) + body_bytes + messages * PER_MESSAGE
}

#[derive(Debug)]
struct Kept {
    conversation: Arc<Conversation>,
    bytes: usize,
    used: u64,
}

/// The kept conversations; see the module documentation.
#[derive(Debug, Default)]
pub(super) struct Recent {
    entries: HashMap<Key, Kept>,
    bytes: usize,
    clock: u64,
}

impl Recent {
    /// The kept conversation of `key`, marked as used.
    pub(super) fn get(&mut self, principal: &str, chat: &str) -> Option<Arc<Conversation>> {
        self.clock += 1;
        let key = (principal.to_owned(), chat.to_owned());
        let kept = self.entries.get_mut(&key)?;
        kept.used = self.clock;
        Some(Arc::clone(&kept.conversation))
    }

    /// Keeps `conversation` as `key`'s, as just loaded from the database.
    pub(super) fn put(&mut self, key: Key, conversation: Conversation, bytes: usize) {
        self.remove(&key);
        if bytes > LARGEST {
            return;
        }
        self.clock += 1;
        self.bytes += bytes;
        self.entries.insert(
            key,
            Kept {
                conversation: Arc::new(conversation),
                bytes,
                used: self.clock,
            },
        );
        self.shrink();
    }

    /// Adds messages that were just committed to `key`'s kept conversation, if there is one.
    /// `most` is how many messages a load returns: past it the entry is dropped, since the
    /// database would not return the oldest ones any more.
    pub(super) fn extend(
        &mut self,
        key: &Key,
        added: Vec<StoredMessage>,
        bytes: usize,
        most: usize,
    ) {
        let Some(kept) = self.entries.get_mut(key) else {
            return;
        };
        if kept.conversation.messages.len() + added.len() > most || kept.bytes + bytes > LARGEST {
            self.remove(key);
            return;
        }
        Arc::make_mut(&mut kept.conversation).messages.extend(added);
        kept.bytes += bytes;
        self.bytes += bytes;
        self.shrink();
    }

    /// Forgets `key`'s conversation.
    pub(super) fn remove(&mut self, key: &Key) {
        if let Some(kept) = self.entries.remove(key) {
            self.bytes -= kept.bytes;
        }
    }

    /// How many bytes are kept now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Past the budget, drops the least recently used conversations until a quarter of it is
    /// free again, so that the sort is paid once for many later additions.
    fn shrink(&mut self) {
        if self.bytes <= BUDGET {
            return;
        }
        let mut by_age: Vec<(u64, Key)> = self
            .entries
            .iter()
            .map(|(key, kept)| (kept.used, key.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.bytes <= BUDGET / 4 * 3 {
                break;
            }
            self.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    fn key(n: usize) -> Key {
        (format!("telegram:{n}"), "c".to_owned())
    }

    fn stored(id: i64, text: &str) -> StoredMessage {
        StoredMessage {
            id,
            turn: id,
            message: Message::user(text),
            tokens: 1,
        }
    }

    #[test]
    fn extending_keeps_the_messages_in_order_and_counts_their_bytes() {
        let mut recent = Recent::default();
        recent.put(key(1), Conversation::default(), 0);
        recent.extend(&key(1), vec![stored(1, "a"), stored(2, "b")], 300, 2000);
        let kept = recent.get("telegram:1", "c").unwrap();
        let ids: Vec<i64> = kept.messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(recent.bytes(), 300);
        // A conversation that is not kept is not made up from an append alone.
        recent.extend(&key(2), vec![stored(3, "c")], 100, 2000);
        assert!(recent.get("telegram:2", "c").is_none());
        recent.remove(&key(1));
        assert_eq!(recent.bytes(), 0);
    }

    #[test]
    fn a_conversation_past_the_load_limit_is_dropped() {
        let mut recent = Recent::default();
        recent.put(key(1), Conversation::default(), 0);
        recent.extend(&key(1), vec![stored(1, "a"), stored(2, "b")], 10, 2);
        recent.extend(&key(1), vec![stored(3, "c")], 10, 2);
        assert!(recent.get("telegram:1", "c").is_none());
        assert_eq!(recent.bytes(), 0);
    }

    #[test]
    fn the_least_recently_used_go_first_past_the_budget() {
        let mut recent = Recent::default();
        let each = LARGEST;
        let fit = BUDGET / each;
        for n in 0..fit {
            recent.put(key(n), Conversation::default(), each);
        }
        assert_eq!(recent.bytes(), BUDGET);
        // Conversation 0 is used again, so 1 is now the oldest.
        assert!(recent.get("telegram:0", "c").is_some());
        recent.put(key(fit), Conversation::default(), each);
        assert!(recent.bytes() <= BUDGET / 4 * 3);
        assert!(recent.get("telegram:0", "c").is_some());
        assert!(recent.get(&format!("telegram:{fit}"), "c").is_some());
        assert!(recent.get("telegram:1", "c").is_none());
        assert!(recent.get("telegram:2", "c").is_none());
    }

    #[test]
    fn a_conversation_larger_than_its_share_is_not_kept() {
        let mut recent = Recent::default();
        recent.put(key(1), Conversation::default(), LARGEST + 1);
        assert!(recent.get("telegram:1", "c").is_none());
        assert_eq!(recent.bytes(), 0);
    }
}
