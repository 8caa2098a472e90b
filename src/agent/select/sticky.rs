//! Per-conversation tool sets that change as little as possible between turns.
//!
//! The model server renders the tool list at the top of the prompt, so a set that changes makes
//! it re-read the whole conversation. A conversation's set therefore only grows by appending (new
//! tools go at the end, earlier ones keep their places), and a tool leaves it only after it has
//! gone unused and unselected for several turns, or when room is needed for a new one (one not
//! relevant lately, nearest the end of the list first). Tools that a pending confirmation or
//! connect flow waits on are held and never dropped. The sets live in memory, bounded by a number
//! of conversations (the least recently active are forgotten first), together with the
//! conversation's last few messages.

use std::cmp::Reverse;
use std::collections::HashMap;

/// The most recent user messages remembered per conversation.
const RECENT_MESSAGES: usize = 2;
/// The most characters of a remembered message.
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    /// The turn in which it was last selected, found or called.
    last_relevant: u64,
    /// How many pending flows hold it.
    holds: u32,
}

#[derive(Debug, Clone, Default)]
struct Conversation {
    tools: Vec<Entry>,
    turn: u64,
    last_active: u64,
    recent: Vec<String>,
}

/// Every conversation's set.
#[derive(Debug)]
pub struct StickySets {
    conversations: HashMap<String, Conversation>,
    max_conversations: usize,
    clock: u64,
}

impl StickySets {
    /// Sets for at most `max_conversations` conversations.
    #[must_use]
    pub fn new(max_conversations: usize) -> Self {
        Self {
            conversations: HashMap::new(),
            max_conversations: max_conversations.max(1),
            clock: 0,
        }
    }

    fn conversation(&mut self, key: &str) -> &mut Conversation {
        self.clock += 1;
        if !self.conversations.contains_key(key)
            && self.conversations.len() >= self.max_conversations
        {
            let oldest = self
                .conversations
                .iter()
                .min_by_key(|(_, c)| c.last_active)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.conversations.remove(&oldest);
            }
        }
        let clock = self.clock;
        let conversation = self.conversations.entry(key.to_owned()).or_default();
        conversation.last_active = clock;
        conversation
    }

    /// The last user messages of `key`, oldest first.
    #[must_use]
    pub fn recent_messages(&self, key: &str) -> Vec<String> {
        self.conversations
            .get(key)
            .map(|c| c.recent.clone())
            .unwrap_or_default()
    }

    /// Starts a turn of `key` for `message`: `fresh` (best first) are the tools selected for it,
    /// `exists` says whether a tool is still in the catalog. Returns the set to offer, in its
    /// stable order, at most `cap` long (held tools may exceed it).
    pub fn start_turn(
        &mut self,
        key: &str,
        message: &str,
        fresh: &[String],
        exists: impl Fn(&str) -> bool,
        cap: usize,
        keep_turns: u64,
    ) -> Vec<String> {
        let conversation = self.conversation(key);
        conversation.turn += 1;
        let turn = conversation.turn;
        conversation
            .recent
            .push(message.chars().take(MAX_MESSAGE_CHARS).collect());
        if conversation.recent.len() > RECENT_MESSAGES {
            conversation.recent.remove(0);
        }
        conversation
            .tools
            .retain(|e| e.holds > 0 || (exists(&e.name) && turn - e.last_relevant <= keep_turns));
        let mut added: Vec<&String> = Vec::new();
        for name in fresh {
            match conversation.tools.iter_mut().find(|e| &e.name == name) {
                Some(entry) => entry.last_relevant = turn,
                None => added.push(name),
            }
        }
        for name in added {
            if conversation.tools.iter().filter(|e| e.holds == 0).count() >= cap {
                // Make room by dropping a tool not needed now: one not relevant in the last
                // turn either when there is one, and of those the one nearest the end, since
                // dropping a tool changes the prompt only from its place on.
                let victim = conversation
                    .tools
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.holds == 0 && e.last_relevant < turn)
                    .min_by_key(|(i, e)| (e.last_relevant + 1 >= turn, Reverse(*i)))
                    .map(|(i, _)| i);
                match victim {
                    Some(i) => {
                        conversation.tools.remove(i);
                    }
                    None => break,
                }
            }
            conversation.tools.push(Entry {
                name: name.clone(),
                last_relevant: turn,
                holds: 0,
            });
        }
        conversation.tools.iter().map(|e| e.name.clone()).collect()
    }

    /// Marks `name` as relevant in the current turn of `key` (it was called or found), adding
    /// it at the end when it is not in the set. Returns whether it was added.
    pub fn touch(&mut self, key: &str, name: &str) -> bool {
        let conversation = self.conversation(key);
        let turn = conversation.turn;
        match conversation.tools.iter_mut().find(|e| e.name == name) {
            Some(entry) => {
                entry.last_relevant = turn;
                false
            }
            None => {
                conversation.tools.push(Entry {
                    name: name.to_owned(),
                    last_relevant: turn,
                    holds: 0,
                });
                true
            }
        }
    }

    /// Holds `name` in `key`'s set until [`StickySets::release`] is called as often.
    pub fn hold(&mut self, key: &str, name: &str) {
        self.touch(key, name);
        let conversation = self.conversation(key);
        if let Some(entry) = conversation.tools.iter_mut().find(|e| e.name == name) {
            entry.holds = entry.holds.saturating_add(1);
        }
    }

    /// Ends one hold on `name`.
    pub fn release(&mut self, key: &str, name: &str) {
        if let Some(entry) = self
            .conversations
            .get_mut(key)
            .and_then(|c| c.tools.iter_mut().find(|e| e.name == name))
        {
            entry.holds = entry.holds.saturating_sub(1);
        }
    }

    /// The current set of `key`, in order.
    #[must_use]
    pub fn current(&self, key: &str) -> Vec<String> {
        self.conversations
            .get(key)
            .map(|c| c.tools.iter().map(|e| e.name.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn sets_grow_by_appending_and_drop_after_unused_turns() {
        let mut sets = StickySets::new(10);
        let all = |_: &str| true;
        let first = sets.start_turn("c", "m1", &names(&["b", "a"]), all, 4, 2);
        assert_eq!(first, ["b", "a"]);
        let second = sets.start_turn("c", "m2", &names(&["c", "a"]), all, 4, 2);
        assert_eq!(
            second,
            ["b", "a", "c"],
            "new tools are appended, old ones keep places"
        );
        let third = sets.start_turn("c", "m3", &[], all, 4, 2);
        assert_eq!(third, ["b", "a", "c"], "two unused turns are tolerated");
        let fourth = sets.start_turn("c", "m4", &[], all, 4, 2);
        assert_eq!(fourth, ["a", "c"], "`b` was unused for three turns");
        assert_eq!(sets.recent_messages("c"), ["m3", "m4"]);
    }

    #[test]
    fn room_is_made_from_the_least_recently_relevant() {
        let mut sets = StickySets::new(10);
        let all = |_: &str| true;
        sets.start_turn("c", "", &names(&["a", "b"]), all, 2, 5);
        sets.start_turn("c", "", &names(&["b"]), all, 2, 5);
        let set = sets.start_turn("c", "", &names(&["c"]), all, 2, 5);
        assert_eq!(set, ["b", "c"]);
    }

    #[test]
    fn room_is_made_at_the_end_among_equally_stale_tools() {
        let mut sets = StickySets::new(10);
        let all = |_: &str| true;
        sets.start_turn("c", "", &names(&["a", "b", "c"]), all, 3, 5);
        sets.start_turn("c", "", &[], all, 3, 5);
        let set = sets.start_turn("c", "", &names(&["d"]), all, 3, 5);
        assert_eq!(set, ["a", "b", "d"], "the prompt keeps its longest prefix");
    }

    #[test]
    fn held_tools_stay_and_conversations_are_bounded() {
        let mut sets = StickySets::new(2);
        let all = |_: &str| true;
        sets.start_turn("c", "", &names(&["a"]), all, 1, 1);
        sets.hold("c", "a");
        for _ in 0..5 {
            sets.start_turn("c", "", &names(&["b"]), all, 1, 1);
        }
        assert!(sets.current("c").contains(&"a".to_owned()));
        sets.release("c", "a");
        sets.start_turn("c", "", &[], all, 1, 1);
        sets.start_turn("c", "", &[], all, 1, 1);
        assert!(!sets.current("c").contains(&"a".to_owned()));
        sets.start_turn("d", "", &[], all, 1, 1);
        sets.start_turn("e", "", &[], all, 1, 1);
        assert!(
            sets.current("c").is_empty(),
            "the oldest conversation is forgotten"
        );
    }
}
