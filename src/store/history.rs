//! Per-principal, per-chat conversation history, with compaction into a running summary.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_unix};
use crate::Principal;
use crate::llm::{Message, Role};

/// A message as stored, with its estimated size.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The row id, increasing in conversation order.
    pub id: i64,
    /// The turn it belongs to (a user message and everything answering it).
    pub turn: i64,
    /// The message.
    pub message: Message,
    /// Its estimated size in tokens.
    pub tokens: u32,
}

/// A conversation as loaded: the summary of compacted turns, then the messages kept verbatim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// The summary of turns compacted away, when there is one.
    pub summary: Option<String>,
    /// The messages, oldest first.
    pub messages: Vec<StoredMessage>,
}

/// The query loading a conversation's newest messages, newest first. At most 2,000 are loaded;
/// older ones are compacted long before that matters. The limit is written into the statement
/// rather than bound: SQLite plans a bound `LIMIT` with its value, so rebinding it (as every
/// execution does) would expire the cached statement and recompile it each time.
const LOAD_MESSAGES: &str = "SELECT id, turn, body, tokens FROM chat_messages
     WHERE principal = ?1 AND chat = ?2 ORDER BY id DESC LIMIT 2000";

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

impl Store {
    /// Loads the conversation of `principal` in `chat`.
    ///
    /// # Errors
    /// Fails on database errors or a corrupt row.
    pub async fn load_conversation(
        &self,
        principal: &Principal,
        chat: &str,
    ) -> Result<Conversation, StoreError> {
        let (p, c) = (principal.as_str().to_owned(), chat.to_owned());
        self.call(move |conn| {
            let summary = conn
                .prepare_cached(
                    "SELECT summary FROM chat_summaries WHERE principal = ?1 AND chat = ?2",
                )?
                .query_row(params![p, c], |r| r.get::<_, String>(0))
                .optional()?;
            let mut stmt = conn.prepare_cached(LOAD_MESSAGES)?;
            let rows = stmt.query_map(params![p, c], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut messages = Vec::new();
            for row in rows {
                let (id, turn, body, tokens) = row?;
                let message: Message = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("chat message {id}: {e}")))?;
                messages.push(StoredMessage {
                    id,
                    turn,
                    message,
                    tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
                });
            }
            messages.reverse();
            Ok(Conversation { summary, messages })
        })
        .await
    }

    /// Appends the messages of one turn, atomically.
    ///
    /// # Errors
    /// Fails on database errors; then nothing of the turn is stored.
    pub async fn append_turn(
        &self,
        principal: &Principal,
        chat: &str,
        messages: Vec<(Message, u32)>,
    ) -> Result<(), StoreError> {
        let (p, c) = (principal.as_str().to_owned(), chat.to_owned());
        self.write(move |conn| {
            let turn: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(MAX(turn), 0) + 1 FROM chat_messages WHERE principal = ?1 AND chat = ?2",
                )?
                .query_row(params![p, c], |r| r.get(0))?;
            let mut stmt = conn.prepare_cached(
                "INSERT INTO chat_messages (principal, chat, turn, role, body, tokens, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let now = now_unix();
            for (message, tokens) in &messages {
                let body = serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                stmt.execute(params![p, c, turn, role_name(message.role), body, tokens, now])?;
            }
            Ok(())
        })
        .await
    }

    /// Replaces every message up to and including `through_id` by `summary`, atomically.
    ///
    /// # Errors
    /// Fails on database errors; then nothing changes.
    pub async fn compact_conversation(
        &self,
        principal: &Principal,
        chat: &str,
        through_id: i64,
        summary: String,
        summary_tokens: u32,
    ) -> Result<(), StoreError> {
        let (p, c) = (principal.as_str().to_owned(), chat.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM chat_messages WHERE principal = ?1 AND chat = ?2 AND id <= ?3",
                params![p, c, through_id],
            )?;
            tx.execute(
                "INSERT INTO chat_summaries (principal, chat, summary, tokens, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (principal, chat) DO UPDATE SET summary = excluded.summary,
                     tokens = excluded.tokens, updated_at = excluded.updated_at",
                params![p, c, summary, summary_tokens, now_unix()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Forgets the conversation of `principal` in `chat` (the `/reset` command).
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn reset_conversation(
        &self,
        principal: &Principal,
        chat: &str,
    ) -> Result<(), StoreError> {
        let (p, c) = (principal.as_str().to_owned(), chat.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM chat_messages WHERE principal = ?1 AND chat = ?2",
                params![p, c],
            )?;
            tx.execute(
                "DELETE FROM chat_summaries WHERE principal = ?1 AND chat = ?2",
                params![p, c],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statements SQLite recompiled after their first preparation.
    async fn recompiled(store: &Store, sql: &'static str) -> i32 {
        store
            .call(move |c| {
                let stmt = c.prepare_cached(sql)?;
                Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn loading_a_conversation_reuses_its_compiled_statement() {
        let store = Store::open_in_memory().unwrap();
        let a = Principal::telegram(1);
        for i in 0..3 {
            store
                .append_turn(&a, "c", vec![(Message::user(format!("m{i}")), 2)])
                .await
                .unwrap();
            let conv = store.load_conversation(&a, "c").await.unwrap();
            assert_eq!(conv.messages.len(), i + 1);
            assert_eq!(conv.messages[i].message.content, format!("m{i}"));
        }
        assert_eq!(recompiled(&store, LOAD_MESSAGES).await, 0);
    }

    #[tokio::test]
    async fn conversations_are_isolated_and_compactable() {
        let store = Store::open_in_memory().unwrap();
        let (a, b) = (Principal::telegram(1), Principal::telegram(2));
        store
            .append_turn(
                &a,
                "c",
                vec![
                    (Message::user("hi a"), 3),
                    (Message::assistant("hello a"), 3),
                ],
            )
            .await
            .unwrap();
        store
            .append_turn(&b, "c", vec![(Message::user("hi b"), 3)])
            .await
            .unwrap();
        store
            .append_turn(&a, "c", vec![(Message::user("again"), 2)])
            .await
            .unwrap();
        let conv = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(conv.messages.len(), 3);
        assert_eq!(conv.messages[2].turn, 2);
        assert!(
            conv.messages
                .iter()
                .all(|m| !m.message.content.contains(" b"))
        );
        let through = conv.messages[1].id;
        store
            .compact_conversation(&a, "c", through, "greetings".into(), 2)
            .await
            .unwrap();
        let conv = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(conv.summary.as_deref(), Some("greetings"));
        assert_eq!(conv.messages.len(), 1);
        store.reset_conversation(&a, "c").await.unwrap();
        assert_eq!(
            store.load_conversation(&a, "c").await.unwrap(),
            Conversation::default()
        );
        assert_eq!(
            store
                .load_conversation(&b, "c")
                .await
                .unwrap()
                .messages
                .len(),
            1
        );
    }
}
