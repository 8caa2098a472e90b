//! The schedule's tables: each person's reminders and tasks (`schedule_entries`) and their time
//! zone (`schedule_zones`).
//!
//! An entry is `active` while it has a next due time; a one-off that fired, or a rule that
//! ended, is `done`; one a person or the operator cancelled is `cancelled`; one whose person
//! lost access is `stopped`. What fired is recorded by [`Store::schedule_fired`] only if the
//! entry is still active and still due at the time that fired, so a cancel made meanwhile (by
//! another process too) wins.

use chrono::NaiveDateTime;
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, now_unix};
use crate::Principal;

/// The format wall-clock times are stored in.
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// The most entries one listing returns.
const MAX_LISTED: i64 = 10_000;

/// What an entry does when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Delivers its text.
    Reminder,
    /// Runs an agent turn as its person with its text as the message, and delivers the answer.
    Task,
}

impl EntryKind {
    /// The kind as stored and as the tools name it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Task => "task",
        }
    }

    /// The kind named `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reminder" => Some(Self::Reminder),
            "task" => Some(Self::Task),
            _ => None,
        }
    }
}

/// An entry's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// It has a next due time.
    Active,
    /// It fired for the last time.
    Done,
    /// Its person or the operator cancelled it.
    Cancelled,
    /// Its person lost access to the assistant.
    Stopped,
}

impl EntryState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Stopped => "stopped",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "done" => Some(Self::Done),
            "cancelled" => Some(Self::Cancelled),
            "stopped" => Some(Self::Stopped),
            _ => None,
        }
    }
}

/// A new entry, as the schedule checked it.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Whose it is.
    pub principal: Principal,
    /// The chat it was made in (the channel's chat key), where it is delivered.
    pub chat: String,
    /// What it does.
    pub kind: EntryKind,
    /// Its text.
    pub text: String,
    /// The IANA zone its wall-clock times are read in.
    pub zone: String,
    /// The wall-clock time of its first occurrence.
    pub first: NaiveDateTime,
    /// Its recurrence rule, when it repeats.
    pub rule: Option<String>,
    /// When it is first due, Unix seconds.
    pub next_due: i64,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its id.
    pub id: i64,
    /// Whose it is.
    pub principal: Principal,
    /// The chat it is delivered in.
    pub chat: String,
    /// What it does.
    pub kind: EntryKind,
    /// Its text.
    pub text: String,
    /// The IANA zone its wall-clock times are read in.
    pub zone: String,
    /// The wall-clock time of its first occurrence.
    pub first: NaiveDateTime,
    /// Its recurrence rule, when it repeats.
    pub rule: Option<String>,
    /// When it is next due, Unix seconds; `None` once it is not active.
    pub next_due: Option<i64>,
    /// Its state.
    pub state: EntryState,
    /// How often it fired.
    pub fired: i64,
}

/// Why an entry could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddRefused {
    /// The person has this many active entries already, the most allowed.
    Full(usize),
}

const COLUMNS: &str =
    "id, principal, chat, kind, text, zone, first_local, rule, next_due, state, fired";

fn entry(row: &Row<'_>) -> rusqlite::Result<Result<StoredEntry, String>> {
    let principal: String = row.get(1)?;
    let kind: String = row.get(3)?;
    let first: String = row.get(6)?;
    let state: String = row.get(9)?;
    let id: i64 = row.get(0)?;
    let parsed = (|| {
        Ok(StoredEntry {
            id,
            principal: Principal::parse(&principal).ok_or("principal")?,
            chat: row.get(2).map_err(|_| "chat")?,
            kind: EntryKind::parse(&kind).ok_or("kind")?,
            text: row.get(4).map_err(|_| "text")?,
            zone: row.get(5).map_err(|_| "zone")?,
            first: NaiveDateTime::parse_from_str(&first, LOCAL_FORMAT)
                .map_err(|_| "first_local")?,
            rule: row.get(7).map_err(|_| "rule")?,
            next_due: row.get(8).map_err(|_| "next_due")?,
            state: EntryState::parse(&state).ok_or("state")?,
            fired: row.get(10).map_err(|_| "fired")?,
        })
    })();
    Ok(parsed.map_err(|field: &str| format!("schedule entry {id} has a bad {field}")))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<StoredEntry, String>>>,
) -> Result<Vec<StoredEntry>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        match row? {
            Ok(e) => out.push(e),
            // One bad row must not hide every other entry.
            Err(e) => tracing::warn!(error = %e, "skipping a schedule entry that cannot be read"),
        }
    }
    Ok(out)
}

impl Store {
    /// Adds `new` unless its person already has `limit` active entries.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_add(
        &self,
        new: NewEntry,
        limit: usize,
    ) -> Result<Result<StoredEntry, AddRefused>, StoreError> {
        self.write(move |conn| {
            let active: i64 = conn.query_row(
                "SELECT COUNT(*) FROM schedule_entries WHERE principal = ?1 AND state = 'active'",
                [new.principal.as_str()],
                |r| r.get(0),
            )?;
            if usize::try_from(active).unwrap_or(usize::MAX) >= limit {
                return Ok(Err(AddRefused::Full(limit)));
            }
            conn.prepare_cached(
                "INSERT INTO schedule_entries
                 (principal, chat, kind, text, zone, first_local, rule, next_due, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9)",
            )?
            .execute(params![
                new.principal.as_str(),
                new.chat,
                new.kind.as_str(),
                new.text,
                new.zone,
                new.first.format(LOCAL_FORMAT).to_string(),
                new.rule,
                new.next_due,
                now_unix()
            ])?;
            Ok(Ok(StoredEntry {
                id: conn.last_insert_rowid(),
                principal: new.principal,
                chat: new.chat,
                kind: new.kind,
                text: new.text,
                zone: new.zone,
                first: new.first,
                rule: new.rule,
                next_due: Some(new.next_due),
                state: EntryState::Active,
                fired: 0,
            }))
        })
        .await
    }

    /// The active entries of `principal` (of everyone when `None`), soonest first.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_active(
        &self,
        principal: Option<&Principal>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let principal = principal.map(|p| p.as_str().to_owned());
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM schedule_entries
                 WHERE state = 'active' AND (?1 IS NULL OR principal = ?1)
                 ORDER BY next_due, id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![principal, MAX_LISTED], entry)?;
            collect(rows)
        })
        .await
    }

    /// The entry `id`, in whatever state.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_entry(&self, id: i64) -> Result<Option<StoredEntry>, StoreError> {
        self.call(move |conn| {
            let found = conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM schedule_entries WHERE id = ?1"),
                    [id],
                    entry,
                )
                .optional()?;
            found.transpose().map_err(StoreError::Corrupt)
        })
        .await
    }

    /// Cancels the active entry `id` (only when it belongs to `principal`, when given); the
    /// entry as it was, or `None` when there is no such active entry.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_cancel(
        &self,
        id: i64,
        principal: Option<&Principal>,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let principal = principal.map(|p| p.as_str().to_owned());
        self.write(move |conn| {
            let found = conn
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM schedule_entries
                         WHERE id = ?1 AND state = 'active' AND (?2 IS NULL OR principal = ?2)"
                    ),
                    params![id, principal],
                    entry,
                )
                .optional()?
                .transpose()
                .map_err(StoreError::Corrupt)?;
            if found.is_some() {
                conn.execute(
                    "UPDATE schedule_entries SET state = 'cancelled', next_due = NULL WHERE id = ?1",
                    [id],
                )?;
            }
            Ok(found)
        })
        .await
    }

    /// The soonest due time of any active entry, Unix seconds.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_next_due(&self) -> Result<Option<i64>, StoreError> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT MIN(next_due) FROM schedule_entries WHERE state = 'active'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Up to `limit` active entries due at or before `now` (Unix seconds), soonest first.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_due(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(MAX_LISTED);
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM schedule_entries
                 WHERE state = 'active' AND next_due <= ?1 ORDER BY next_due, id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![now, limit], entry)?;
            collect(rows)
        })
        .await
    }

    /// Records that entry `id`, due at `due`, fired with `outcome`: it is next due at `next`, or
    /// done when `None`. Nothing changes (and `false` is returned) when the entry was cancelled
    /// or moved meanwhile.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_fired(
        &self,
        id: i64,
        due: i64,
        next: Option<i64>,
        outcome: &'static str,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE schedule_entries
                     SET next_due = ?3, state = CASE WHEN ?3 IS NULL THEN 'done' ELSE 'active' END,
                         fired = fired + 1, last_fired_at = ?4, last_outcome = ?5
                     WHERE id = ?1 AND state = 'active' AND next_due = ?2",
                )?
                .execute(params![id, due, next, now_unix(), outcome])?;
            Ok(changed == 1)
        })
        .await
    }

    /// Moves entry `id`, due at `due`, to `at` without counting it as fired (its delivery
    /// failed and is tried again).
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_retry(&self, id: i64, due: i64, at: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE schedule_entries SET next_due = ?3, last_outcome = 'failed'
                 WHERE id = ?1 AND state = 'active' AND next_due = ?2",
                params![id, due, at],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// Stops entry `id` (its person lost access) or marks it done (`state`), whatever its due
    /// time.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_end(&self, id: i64, state: EntryState) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE schedule_entries SET state = ?2, next_due = NULL WHERE id = ?1 AND state = 'active'",
                params![id, state.as_str()],
            )?;
            Ok(())
        })
        .await
    }

    /// Moves the active entry `id` to `zone` and due time `next` (after a person changed zone).
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_rezone(
        &self,
        id: i64,
        zone: String,
        next: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE schedule_entries SET zone = ?2, next_due = ?3 WHERE id = ?1 AND state = 'active'",
                params![id, zone, next],
            )?;
            Ok(())
        })
        .await
    }

    /// How many entries are active.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_count_active(&self) -> Result<i64, StoreError> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM schedule_entries WHERE state = 'active'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// The time zone `principal` set, when they set one.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn schedule_zone(&self, principal: &Principal) -> Result<Option<String>, StoreError> {
        let p = principal.as_str().to_owned();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT zone FROM schedule_zones WHERE principal = ?1",
                    [p],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    /// Sets the time zone of `principal`.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn set_schedule_zone(
        &self,
        principal: &Principal,
        zone: String,
    ) -> Result<(), StoreError> {
        let p = principal.as_str().to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO schedule_zones (principal, zone, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (principal) DO UPDATE SET zone = excluded.zone, updated_at = excluded.updated_at",
                params![p, zone, now_unix()],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(principal: &str, due: i64) -> NewEntry {
        NewEntry {
            principal: Principal::parse(principal).unwrap(),
            chat: "42".into(),
            kind: EntryKind::Reminder,
            text: "call the plumber".into(),
            zone: "Europe/Berlin".into(),
            first: NaiveDateTime::parse_from_str("2026-03-30T08:00:00", LOCAL_FORMAT).unwrap(),
            rule: None,
            next_due: due,
        }
    }

    #[tokio::test]
    async fn entries_are_added_up_to_the_limit_listed_fired_and_cancelled() {
        let store = Store::open_in_memory().unwrap();
        let a = store
            .schedule_add(new("telegram:1", 200), 2)
            .await
            .unwrap()
            .unwrap();
        let b = store
            .schedule_add(new("telegram:1", 100), 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.schedule_add(new("telegram:1", 300), 2).await.unwrap(),
            Err(AddRefused::Full(2))
        );
        store
            .schedule_add(new("telegram:2", 300), 2)
            .await
            .unwrap()
            .unwrap();
        let mine = store
            .schedule_active(Some(&Principal::telegram(1)))
            .await
            .unwrap();
        assert_eq!(
            mine.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![b.id, a.id]
        );
        assert_eq!(store.schedule_next_due().await.unwrap(), Some(100));
        assert_eq!(store.schedule_due(150, 10).await.unwrap().len(), 1);

        // Someone else cannot cancel it; its person can.
        assert_eq!(
            store
                .schedule_cancel(b.id, Some(&Principal::telegram(2)))
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .schedule_cancel(b.id, Some(&Principal::telegram(1)))
                .await
                .unwrap()
                .is_some()
        );
        // A cancelled entry does not fire.
        assert!(
            !store
                .schedule_fired(b.id, 100, None, "delivered")
                .await
                .unwrap()
        );
        // A repeating one moves on; a one-off is done.
        assert!(
            store
                .schedule_fired(a.id, 200, Some(400), "delivered")
                .await
                .unwrap()
        );
        assert!(
            !store
                .schedule_fired(a.id, 200, Some(400), "delivered")
                .await
                .unwrap()
        );
        assert!(
            store
                .schedule_fired(a.id, 400, None, "delivered")
                .await
                .unwrap()
        );
        let done = store.schedule_entry(a.id).await.unwrap().unwrap();
        assert_eq!(
            (done.state, done.fired, done.next_due),
            (EntryState::Done, 2, None)
        );
        assert_eq!(store.schedule_count_active().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn zones_are_set_and_replaced() {
        let store = Store::open_in_memory().unwrap();
        let p = Principal::telegram(1);
        assert_eq!(store.schedule_zone(&p).await.unwrap(), None);
        store
            .set_schedule_zone(&p, "Europe/Berlin".into())
            .await
            .unwrap();
        store
            .set_schedule_zone(&p, "Asia/Tokyo".into())
            .await
            .unwrap();
        assert_eq!(
            store.schedule_zone(&p).await.unwrap().as_deref(),
            Some("Asia/Tokyo")
        );
    }
}
