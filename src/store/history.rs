//! Per-principal, per-chat conversation history, with compaction into a running summary.
//!
//! Conversations used lately are also kept in memory (see [`super::recent`]), so a turn in a
//! running conversation reads neither the database nor JSON; the gateway process is the only
//! writer of these tables.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

pub use super::conversation::{Conversation, StoredMessage};
use super::recent::{self, Key};
use super::{Store, StoreError, now_unix};
use crate::Principal;
use crate::llm::{Message, Role};

/// The query loading a conversation's newest messages, newest first. At most 2,000 are loaded;
/// older ones are compacted long before that matters. The limit is written into the statement
/// rather than bound: SQLite plans a bound `LIMIT` with its value, so rebinding it (as every
/// execution does) would expire the cached statement and recompile it each time.
const LOAD_MESSAGES: &str = "SELECT id, turn, body, tokens FROM chat_messages
     WHERE principal = ?1 AND chat = ?2 ORDER BY id DESC LIMIT 2000";
/// The `LIMIT` of [`LOAD_MESSAGES`].
const MOST_LOADED: usize = 2000;

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
        let kept = self.recent.lock().get(principal.as_str(), chat);
        if let Some(kept) = kept {
            return Ok(Arc::unwrap_or_clone(kept));
        }
        let key: Key = (principal.as_str().to_owned(), chat.to_owned());
        let recent = Arc::clone(&self.recent);
        self.call(move |conn| {
            let (p, c) = &key;
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
            let mut body_bytes = 0;
            for row in rows {
                let (id, turn, body, tokens) = row?;
                body_bytes += body.len();
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
            let conversation = Conversation { summary, messages };
            let bytes = recent::size_of_text(
                conversation.summary.as_deref(),
                body_bytes,
                conversation.messages.len(),
            );
            recent.lock().put(key, conversation.clone(), bytes);
            Ok(conversation)
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
        // Encoded here rather than on the connection thread, which every caller shares.
        let mut rows = Vec::with_capacity(messages.len());
        for (message, tokens) in messages {
            let body =
                serde_json::to_string(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((message, tokens, body));
        }
        let key: Key = (principal.as_str().to_owned(), chat.to_owned());
        let recent = Arc::clone(&self.recent);
        self.write_then(
            move |conn| {
                let (p, c) = &key;
                // Turns only grow with the row id, so the newest row has the highest turn.
                let last: i64 = conn
                    .prepare_cached(
                        "SELECT turn FROM chat_messages WHERE principal = ?1 AND chat = ?2
                         ORDER BY id DESC LIMIT 1",
                    )?
                    .query_row(params![p, c], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                let turn = last + 1;
                let mut stmt = conn.prepare_cached(
                    "INSERT INTO chat_messages (principal, chat, turn, role, body, tokens, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                let now = now_unix();
                let mut added = Vec::with_capacity(rows.len());
                let mut body_bytes = 0;
                for (message, tokens, body) in rows {
                    stmt.execute(params![p, c, turn, role_name(message.role), body, tokens, now])?;
                    body_bytes += body.len();
                    added.push(StoredMessage {
                        id: conn.last_insert_rowid(),
                        turn,
                        message,
                        tokens,
                    });
                }
                let bytes = recent::size_of_text(None, body_bytes, added.len());
                Ok((key, added, bytes))
            },
            move |(key, added, bytes)| {
                recent.lock().extend(&key, added, bytes, MOST_LOADED);
            },
        )
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
        let key: Key = (principal.as_str().to_owned(), chat.to_owned());
        let recent = Arc::clone(&self.recent);
        self.call(move |conn| {
            // Forgotten whatever the outcome: the next load reads what the database holds.
            recent.lock().remove(&key);
            let (p, c) = &key;
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
        let key: Key = (principal.as_str().to_owned(), chat.to_owned());
        let recent = Arc::clone(&self.recent);
        self.call(move |conn| {
            recent.lock().remove(&key);
            let (p, c) = &key;
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
            // A conversation not loaded before is read from the database.
            let chat = format!("c{i}");
            store
                .append_turn(&a, &chat, vec![(Message::user(format!("m{i}")), 2)])
                .await
                .unwrap();
            let conv = store.load_conversation(&a, &chat).await.unwrap();
            assert_eq!(conv.messages.len(), 1);
            assert_eq!(conv.messages[0].message.content, format!("m{i}"));
        }
        assert_eq!(recompiled(&store, LOAD_MESSAGES).await, 0);
    }

    /// The rows of `principal`'s conversation in `chat` as the database holds them, oldest first.
    async fn stored_rows(store: &Store, principal: &Principal, chat: &str) -> Vec<(i64, String)> {
        let (p, c) = (principal.as_str().to_owned(), chat.to_owned());
        store
            .call(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT turn, body FROM chat_messages WHERE principal = ?1 AND chat = ?2 ORDER BY id",
                )?;
                let rows = stmt.query_map(params![p, c], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap()
    }

    /// What a load returns, as the rows it was made of.
    fn as_rows(conversation: &Conversation) -> Vec<(i64, String)> {
        conversation
            .messages
            .iter()
            .map(|m| (m.turn, serde_json::to_string(&m.message).unwrap()))
            .collect()
    }

    /// A conversation in use is read from memory, and what memory holds stays what the
    /// database holds through appends, compaction and a reset.
    #[tokio::test]
    async fn a_kept_conversation_agrees_with_the_database() {
        let store = Store::open_in_memory().unwrap();
        let a = Principal::telegram(1);
        let turn = |text: &str| vec![(Message::user(text), 2), (Message::assistant("ok"), 1)];
        store.append_turn(&a, "c", turn("one")).await.unwrap();
        let loaded = store.load_conversation(&a, "c").await.unwrap();
        store.append_turn(&a, "c", turn("two")).await.unwrap();
        let kept = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(kept.messages.len(), 4);
        assert_eq!(kept.messages[..2], loaded.messages[..]);
        assert_eq!(as_rows(&kept), stored_rows(&store, &a, "c").await);
        assert_eq!(kept.messages[2].turn, 2);
        assert!(kept.messages.windows(2).all(|w| w[0].id < w[1].id));

        // Read from memory: a row changed behind the store's back is not seen...
        store
            .call(|c| Ok(c.execute("UPDATE chat_messages SET body = '{\"role\":\"user\",\"content\":\"changed\"}' WHERE turn = 1 AND role = 'user'", [])?))
            .await
            .unwrap();
        let again = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(again.messages[0].message.content, "one");
        // ...until the conversation is compacted, which forgets what memory held.
        let through = again.messages[1].id;
        store
            .compact_conversation(&a, "c", through, "said one".into(), 2)
            .await
            .unwrap();
        let compacted = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(compacted.summary.as_deref(), Some("said one"));
        assert_eq!(as_rows(&compacted), stored_rows(&store, &a, "c").await);
        store.append_turn(&a, "c", turn("three")).await.unwrap();
        let after = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(as_rows(&after), stored_rows(&store, &a, "c").await);
        assert_eq!(after.messages.last().unwrap().turn, 3);

        store.reset_conversation(&a, "c").await.unwrap();
        assert_eq!(
            store.load_conversation(&a, "c").await.unwrap(),
            Conversation::default()
        );
        store.append_turn(&a, "c", turn("four")).await.unwrap();
        let fresh = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(as_rows(&fresh), stored_rows(&store, &a, "c").await);
        assert_eq!(fresh.messages[0].turn, 1);
    }

    /// An append that fails, alone or with the transaction it shared, leaves the kept
    /// conversation as the database holds it.
    #[tokio::test]
    async fn a_failed_append_is_not_kept() {
        let store = Store::open_in_memory().unwrap();
        let a = Principal::telegram(1);
        store
            .call(|c| {
                Ok(c.execute_batch(
                    "CREATE TEMP TRIGGER refuse BEFORE INSERT ON chat_messages
                       WHEN NEW.body LIKE '%refused%' BEGIN SELECT RAISE(ABORT, 'refused'); END;
                     CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
                )?)
            })
            .await
            .unwrap();
        store
            .append_turn(&a, "c", vec![(Message::user("kept"), 1)])
            .await
            .unwrap();
        assert_eq!(
            store
                .load_conversation(&a, "c")
                .await
                .unwrap()
                .messages
                .len(),
            1
        );

        // Its own statement fails: the first message of the turn is undone with it.
        let refused = store
            .append_turn(
                &a,
                "c",
                vec![
                    (Message::user("fine"), 1),
                    (Message::assistant("refused"), 1),
                ],
            )
            .await;
        assert!(matches!(refused, Err(StoreError::Sql(_))), "{refused:?}");
        let after = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(as_rows(&after), stored_rows(&store, &a, "c").await);
        assert_eq!(after.messages.len(), 1);

        // The transaction it shared cannot be committed.
        let release = crate::store::tests::hold(&store);
        let mut append = Box::pin(store.append_turn(&a, "c", vec![(Message::user("lost"), 1)]));
        // Polled once, so that it is queued now, ahead of the write it will share a commit with.
        assert!(futures::poll!(&mut append).is_pending());
        let orphan = store.write(|c| {
            c.execute("INSERT INTO child (pid) VALUES (999)", [])?;
            Ok(())
        });
        drop(release);
        let (append, _) = tokio::join!(append, orphan);
        assert!(
            matches!(append, Err(StoreError::NotCommitted(_))),
            "{append:?}"
        );
        let after = store.load_conversation(&a, "c").await.unwrap();
        assert_eq!(as_rows(&after), stored_rows(&store, &a, "c").await);
        assert_eq!(after.messages.len(), 1);
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
