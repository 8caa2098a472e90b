//! Proactive messages: each person's reminders and scheduled tasks, in their own time zone.
//!
//! A person (through the model's built-in tools under the reserved server name [`ASSISTANT`],
//! see [`tools`]) schedules a *reminder*, which delivers its text, or a *task*, which runs an
//! agent turn as that person with its text as the message and delivers the answer. An entry is
//! due at a wall-clock time in the person's zone (`/timezone`, else `[agent].time_zone`), once
//! or by an RFC 5545 recurrence rule ([`rule`]). Entries live in the store
//! ([`crate::store::schedule`]), so nothing is lost to a restart; [`Schedule`] checks what a
//! person asks for (times, rules, per-person limits) and the [`scheduler`] delivers what falls
//! due through the chat channel it was made in.

pub mod clock;
pub mod rule;
pub mod scheduler;
pub mod tools;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub use clock::{Clock, ManualClock, SystemClock};
pub use rule::{RuleError, Timing};
pub use scheduler::{Delivered, Delivery, Outlet, Scheduler};

use crate::Principal;
use crate::store::schedule::{AddRefused, EntryKind, NewEntry, StoredEntry};
use crate::store::{Store, StoreError};

/// The reserved server name of the gateway's own tools; no `[[servers]]` entry may take it.
pub const ASSISTANT: &str = crate::config::RESERVED_SERVER;
/// The longest text an entry may hold, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// How far in the past a one-off time may be and still be taken as "now" (a model that
/// computed "in a few seconds" a little late).
const PAST_SLACK: TimeDelta = TimeDelta::seconds(60);

/// Why a schedule request was refused; the text says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The time or rule is not usable.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A one-off time that has passed.
    #[error("`at` {0} has already passed; give a time in the future")]
    Past(String),
    /// An entry without text.
    #[error("`text` is empty; say what to remind of or what to do")]
    EmptyText,
    /// An entry with too long a text.
    #[error("`text` is longer than {MAX_TEXT_CHARS} characters; shorten it")]
    TextTooLong,
    /// `kind` is not one of the kinds.
    #[error("`kind` `{0}` is not one of \"reminder\", \"task\"")]
    BadKind(String),
    /// The person has the most active entries allowed.
    #[error(
        "you already have {0} scheduled reminders and tasks, the most allowed; cancel one first (see /reminders)"
    )]
    Full(usize),
    /// No active entry of that id (for that person).
    #[error("there is no active scheduled entry with id `{0}`; list them with /reminders")]
    NotFound(String),
    /// An unknown time zone.
    #[error("{0}")]
    Zone(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An entry as a person sees it: with its next time in its zone.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The stored entry.
    pub entry: StoredEntry,
    /// Its zone.
    pub zone: Tz,
    /// When it is next due.
    pub next: Option<DateTime<Utc>>,
}

impl Listed {
    fn of(entry: StoredEntry, fallback: Tz) -> Self {
        let zone = entry.zone.parse().unwrap_or(fallback);
        let next = entry
            .next_due
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
        Self { entry, zone, next }
    }

    /// The entry as the tools and `schedule list --json` give it: `id`, `kind`, `text`, `next`
    /// (RFC 3339 in its zone), `repeat` (the rule, or null), `zone`.
    #[must_use]
    pub fn json(&self) -> Value {
        json!({
            "id": self.entry.id.to_string(),
            "kind": self.entry.kind.as_str(),
            "text": self.entry.text,
            "next": self.next.map(|n| rule::in_zone(n, self.zone)),
            "repeat": self.entry.rule,
            "zone": self.zone.name(),
        })
    }

    /// One line for a person: `Mon 30 Mar 08:00 · reminder · call the plumber (every …)`.
    #[must_use]
    pub fn line(&self, now: DateTime<Utc>) -> String {
        let when = self
            .next
            .map_or_else(|| "—".to_owned(), |n| rule::readable(n, self.zone, now));
        let text: String = self.entry.text.chars().take(80).collect();
        let repeat = self
            .entry
            .rule
            .as_deref()
            .map(|r| format!(" (repeats: {r})"))
            .unwrap_or_default();
        format!("{when} · {} · {text}{repeat}", self.entry.kind.as_str())
    }
}

/// What a person asks to schedule.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Whose entry it is.
    pub principal: &'a Principal,
    /// The chat it was asked in (the channel's chat key).
    pub chat: &'a str,
    /// `reminder` or `task`.
    pub kind: &'a str,
    /// What to remind of, or the message of the task.
    pub text: &'a str,
    /// RFC 3339; without an offset, the person's wall-clock time.
    pub at: &'a str,
    /// An RFC 5545 recurrence rule, when it repeats.
    pub repeat: Option<&'a str>,
}

struct Inner {
    store: Store,
    default_zone: Tz,
    max_active: usize,
    clock: Arc<dyn Clock>,
    /// Wakes the scheduler when an entry was added or moved.
    changed: Notify,
    /// The chat channels entries are delivered through, by name.
    outlets: parking_lot::Mutex<HashMap<String, Arc<dyn Outlet>>>,
    /// Wakes whoever waits for outlets when one is attached.
    attached: Notify,
}

/// Each person's schedule: adds, lists and cancels entries and keeps their zones; cheap to
/// clone.
#[derive(Clone)]
pub struct Schedule {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("default_zone", &self.inner.default_zone)
            .field("max_active", &self.inner.max_active)
            .finish_non_exhaustive()
    }
}

impl Schedule {
    /// The schedule kept in `store`, reading times in `default_zone` for people who set none,
    /// with at most `max_active` active entries per person, telling time by `clock`.
    #[must_use]
    pub fn new(store: Store, default_zone: Tz, max_active: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                default_zone,
                max_active,
                clock,
                changed: Notify::new(),
                outlets: parking_lot::Mutex::new(HashMap::new()),
                attached: Notify::new(),
            }),
        }
    }

    /// The store the entries live in.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The clock the schedule tells time by.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Now, by the schedule's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Delivers the entries of people on `channel` (`telegram`) through `outlet` from now on.
    pub fn attach(&self, channel: &str, outlet: Arc<dyn Outlet>) {
        self.inner.outlets.lock().insert(channel.to_owned(), outlet);
        self.inner.attached.notify_waiters();
    }

    /// Resolves once every channel in `channels` has an outlet attached.
    pub async fn attached(&self, channels: &[&str]) {
        loop {
            let waiting = self.inner.attached.notified();
            if channels
                .iter()
                .all(|c| self.inner.outlets.lock().contains_key(*c))
            {
                return;
            }
            waiting.await;
        }
    }

    /// The outlet of `channel`, when one is attached.
    #[must_use]
    pub fn outlet(&self, channel: &str) -> Option<Arc<dyn Outlet>> {
        self.inner.outlets.lock().get(channel).cloned()
    }

    /// Resolves once an entry was added or moved since the last call returned.
    pub(crate) async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    fn wake(&self) {
        self.inner.changed.notify_one();
    }

    /// The zone `principal`'s times are read in: theirs, else the configured one.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn zone_of(&self, principal: &Principal) -> Result<Tz, StoreError> {
        Ok(self
            .inner
            .store
            .schedule_zone(principal)
            .await?
            .and_then(|z| z.parse().ok())
            .unwrap_or(self.inner.default_zone))
    }

    /// Whether `principal` set a zone of their own.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn own_zone(&self, principal: &Principal) -> Result<Option<Tz>, StoreError> {
        Ok(self
            .inner
            .store
            .schedule_zone(principal)
            .await?
            .and_then(|z| z.parse().ok()))
    }

    /// Sets `principal`'s zone to `name`; their repeating entries keep their wall-clock times
    /// in the new zone.
    ///
    /// # Errors
    /// [`ScheduleError::Zone`] for a name that is not an IANA zone.
    pub async fn set_zone(&self, principal: &Principal, name: &str) -> Result<Tz, ScheduleError> {
        let zone = rule::zone(name).map_err(ScheduleError::Zone)?;
        let store = &self.inner.store;
        store
            .set_schedule_zone(principal, zone.name().to_owned())
            .await?;
        let now = self.now();
        for entry in store.schedule_active(Some(principal)).await? {
            let Some(rule) = entry.rule.as_deref() else {
                continue;
            };
            let Ok(timing) = Timing::new(entry.first, zone, Some(rule)) else {
                continue;
            };
            if let Some(next) = timing.next_after(now) {
                store
                    .schedule_rezone(entry.id, zone.name().to_owned(), next.timestamp())
                    .await?;
            }
        }
        self.wake();
        Ok(zone)
    }

    /// Adds what `request` asks for.
    ///
    /// # Errors
    /// A [`ScheduleError`] that says what to change.
    pub async fn add(&self, request: Request<'_>) -> Result<Listed, ScheduleError> {
        let kind = EntryKind::parse(request.kind.trim())
            .ok_or_else(|| ScheduleError::BadKind(request.kind.chars().take(20).collect()))?;
        let text = request.text.trim();
        if text.is_empty() {
            return Err(ScheduleError::EmptyText);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ScheduleError::TextTooLong);
        }
        let zone = self.zone_of(request.principal).await?;
        let (first, instant) = rule::parse_at(request.at, zone)?;
        let timing = Timing::new(first, zone, request.repeat)?;
        let now = self.now();
        let next = if timing.repeats() {
            timing
                .first_at_or_after(now - PAST_SLACK)
                .ok_or_else(|| RuleError::NoOccurrence(timing.rule.clone().unwrap_or_default()))?
        } else if instant < now - PAST_SLACK {
            return Err(ScheduleError::Past(rule::in_zone(instant, zone)));
        } else {
            instant
        };
        let new = NewEntry {
            principal: request.principal.clone(),
            chat: request.chat.to_owned(),
            kind,
            text: text.to_owned(),
            zone: zone.name().to_owned(),
            first,
            rule: timing.rule.clone(),
            next_due: next.timestamp(),
        };
        let entry = match self
            .inner
            .store
            .schedule_add(new, self.inner.max_active)
            .await?
        {
            Ok(entry) => entry,
            Err(AddRefused::Full(n)) => return Err(ScheduleError::Full(n)),
        };
        self.wake();
        Ok(Listed::of(entry, zone))
    }

    /// The active entries of `principal` (of everyone when `None`), soonest first.
    ///
    /// # Errors
    /// Fails on database errors.
    pub async fn list(&self, principal: Option<&Principal>) -> Result<Vec<Listed>, StoreError> {
        let fallback = self.inner.default_zone;
        Ok(self
            .inner
            .store
            .schedule_active(principal)
            .await?
            .into_iter()
            .map(|e| Listed::of(e, fallback))
            .collect())
    }

    /// Cancels the active entry `id` of `principal` (of anyone when `None`).
    ///
    /// # Errors
    /// [`ScheduleError::NotFound`] when there is no such active entry.
    pub async fn cancel(
        &self,
        principal: Option<&Principal>,
        id: &str,
    ) -> Result<Listed, ScheduleError> {
        let not_found = || ScheduleError::NotFound(id.chars().take(24).collect());
        let number: i64 = id.trim().parse().map_err(|_| not_found())?;
        let entry = self
            .inner
            .store
            .schedule_cancel(number, principal)
            .await?
            .ok_or_else(not_found)?;
        Ok(Listed::of(entry, self.inner.default_zone))
    }
}

#[cfg(test)]
mod tests;
