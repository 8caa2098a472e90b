//! Which grant opened each MCP session, so that a session stays with the token holder who
//! opened it, and how many sessions may be open at once: over the whole server, per upstream
//! account, per client and per grant ([`SessionLimits`]).
//!
//! Every session is opened through the bearer check, so an id missing here is one that never
//! existed, was closed, or sat idle past [`SESSION_IDLE`] (when the MCP layer drops it too):
//! such an id is refused like an unknown session.
//!
//! A request that may open a session first takes a [`Reservation`], which counts against every
//! limit at once and under one lock, so concurrent requests cannot together pass a limit that
//! each checked alone; the reservation becomes the session when the answer names one, and is
//! released otherwise. When the whole table is full, the account holding the most sessions gives
//! up its least recently used one to a newcomer from another account, so one person cannot lock
//! everyone else out; the session dropped here is closed in the MCP layer too, so the table bounds
//! the memory sessions take.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::config::SessionLimits;

/// How long a session may sit idle before it is forgotten; the MCP session layer is given
/// the same keep-alive.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);

/// Why a new session may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[allow(clippy::enum_variant_names)] // each variant names what is full
pub enum SessionRefusal {
    /// The grant holds its maximum of open sessions.
    #[error(
        "this token already holds {0} open MCP sessions; close some (DELETE /mcp) or reuse one"
    )]
    GrantFull(usize),
    /// The upstream account holds its maximum, over all grants and clients.
    #[error(
        "this account already holds {0} open MCP sessions over all its applications; close some (DELETE /mcp) or reuse one"
    )]
    AccountFull(usize),
    /// The client holds its maximum, over all the people it serves.
    #[error(
        "this application already holds {0} open MCP sessions; close some (DELETE /mcp) or reuse one"
    )]
    ClientFull(usize),
    /// The server holds its maximum of open sessions, and the requester holds the most.
    #[error("the server has too many open MCP sessions; try again in a few minutes")]
    ServerFull,
}

impl SessionRefusal {
    /// The metric label of the refusal.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::GrantFull(_) => "sessions_grant",
            Self::AccountFull(_) => "sessions_account",
            Self::ClientFull(_) => "sessions_client",
            Self::ServerFull => "sessions_total",
        }
    }
}

/// Whether a presented session id may be used by a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionUse {
    /// The grant opened it; its idle clock was restarted.
    Own,
    /// Unknown, closed, idle too long, or opened by another grant.
    Refused,
}

/// Who holds a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The grant whose token opened it.
    pub grant: String,
    /// The grant's upstream account.
    pub account: String,
    /// The grant's client.
    pub client: String,
}

#[derive(Debug)]
struct Entry {
    holder: Holder,
    last_seen: Instant,
}

#[derive(Debug, Default)]
struct Table {
    /// Open sessions by id.
    open: HashMap<String, Entry>,
    /// Reservations not yet turned into sessions, by reservation number.
    reserved: HashMap<u64, Holder>,
    next: u64,
}

impl Table {
    fn holders(&self) -> impl Iterator<Item = &Holder> {
        self.open
            .values()
            .map(|e| &e.holder)
            .chain(self.reserved.values())
    }

    fn len(&self) -> usize {
        self.open.len() + self.reserved.len()
    }
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    limits: SessionLimits,
    table: parking_lot::Mutex<Table>,
    /// The MCP layer's sessions, closed when this table drops one.
    mcp: parking_lot::Mutex<Option<Arc<LocalSessionManager>>>,
}

/// A place in the table held while a request that may open a session runs; released when
/// dropped unless [`Reservation::commit`] turned it into a session.
#[derive(Debug)]
pub struct Reservation<'a> {
    sessions: &'a Sessions,
    number: u64,
}

impl Reservation<'_> {
    /// Turns the reservation into the open session `session`.
    pub fn commit(self, session: &str) {
        self.commit_at(session, Instant::now());
    }

    fn commit_at(self, session: &str, now: Instant) {
        let mut table = self.sessions.table.lock();
        if let Some(holder) = table.reserved.remove(&self.number) {
            table.open.insert(
                session.to_owned(),
                Entry {
                    holder,
                    last_seen: now,
                },
            );
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.sessions.table.lock().reserved.remove(&self.number);
    }
}

impl Sessions {
    /// An empty table holding at most `limits`.
    #[must_use]
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            table: parking_lot::Mutex::new(Table::default()),
            mcp: parking_lot::Mutex::new(None),
        }
    }

    /// The MCP layer's session manager, whose sessions are closed when this table drops them.
    pub fn attach(&self, mcp: Arc<LocalSessionManager>) {
        *self.mcp.lock() = Some(mcp);
    }

    /// Checks that `grant` may use `session` now, and marks it used.
    pub fn use_session(&self, session: &str, grant: &str) -> SessionUse {
        self.use_at(session, grant, Instant::now())
    }

    fn use_at(&self, session: &str, grant: &str, now: Instant) -> SessionUse {
        let mut table = self.table.lock();
        match table.open.get_mut(session) {
            Some(entry)
                if entry.holder.grant == grant
                    && now.duration_since(entry.last_seen) <= SESSION_IDLE =>
            {
                entry.last_seen = now;
                SessionUse::Own
            }
            _ => SessionUse::Refused,
        }
    }

    /// Reserves a place for one more session of `holder`.
    ///
    /// # Errors
    /// Says which limit is reached.
    pub fn reserve(&self, holder: Holder) -> Result<Reservation<'_>, SessionRefusal> {
        self.reserve_at(holder, Instant::now())
    }

    fn reserve_at(&self, holder: Holder, now: Instant) -> Result<Reservation<'_>, SessionRefusal> {
        let mut dropped = Vec::new();
        let result = {
            let mut table = self.table.lock();
            table.open.retain(|id, e| {
                let live = now.duration_since(e.last_seen) <= SESSION_IDLE;
                if !live {
                    dropped.push(id.clone());
                }
                live
            });
            self.admit(&mut table, holder, &mut dropped)
        };
        self.close_in_mcp(dropped);
        result.map(|number| Reservation {
            sessions: self,
            number,
        })
    }

    /// Checks every limit for `holder` and records the reservation; sessions given up to make
    /// room are added to `dropped`.
    fn admit(
        &self,
        table: &mut Table,
        holder: Holder,
        dropped: &mut Vec<String>,
    ) -> Result<u64, SessionRefusal> {
        let limits = self.limits;
        let (mut grant, mut account, mut client) = (0, 0, 0);
        for h in table.holders() {
            grant += usize::from(h.grant == holder.grant);
            account += usize::from(h.account == holder.account);
            client += usize::from(h.client == holder.client);
        }
        if grant >= limits.per_grant {
            return Err(SessionRefusal::GrantFull(limits.per_grant));
        }
        if account >= limits.per_account {
            return Err(SessionRefusal::AccountFull(limits.per_account));
        }
        if client >= limits.per_client {
            return Err(SessionRefusal::ClientFull(limits.per_client));
        }
        if table.len() >= limits.total {
            // The account with the most open sessions gives up its least recently used one,
            // unless that account is the requester's.
            let mut per_account: HashMap<&str, usize> = HashMap::new();
            for e in table.open.values() {
                *per_account.entry(e.holder.account.as_str()).or_default() += 1;
            }
            let Some((biggest, held)) = per_account
                .into_iter()
                .max_by_key(|(name, n)| (*n, std::cmp::Reverse(*name)))
                .map(|(name, n)| (name.to_owned(), n))
            else {
                return Err(SessionRefusal::ServerFull);
            };
            if biggest == holder.account || held <= account {
                return Err(SessionRefusal::ServerFull);
            }
            let oldest = table
                .open
                .iter()
                .filter(|(_, e)| e.holder.account == biggest)
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                table.open.remove(&id);
                dropped.push(id);
            }
        }
        let number = table.next;
        table.next += 1;
        table.reserved.insert(number, holder);
        Ok(number)
    }

    /// Forgets a closed session.
    pub fn closed(&self, session: &str) {
        self.table.lock().open.remove(session);
    }

    /// Closes `ids` in the MCP layer, off the caller's path.
    fn close_in_mcp(&self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let Some(mcp) = self.mcp.lock().clone() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for id in ids {
                    let _ = mcp.close_session(&Arc::from(id.as_str())).await;
                }
            });
        }
    }

    /// How many sessions are open or reserved.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(grant: &str, account: &str, client: &str) -> Holder {
        Holder {
            grant: grant.into(),
            account: account.into(),
            client: client.into(),
        }
    }

    fn limits(total: usize, per_account: usize, per_client: usize, per_grant: usize) -> Sessions {
        Sessions::new(SessionLimits {
            total,
            per_account,
            per_client,
            per_grant,
        })
    }

    fn open(s: &Sessions, id: &str, h: Holder, now: Instant) -> Result<(), SessionRefusal> {
        s.reserve_at(h, now).map(|r| r.commit_at(id, now))
    }

    #[test]
    fn a_session_is_usable_only_by_its_grant_and_only_while_alive() {
        let sessions = limits(100, 100, 100, 100);
        let t0 = Instant::now();
        open(&sessions, "s1", holder("ann", "a", "c"), t0).unwrap();
        assert_eq!(sessions.use_at("s1", "ann", t0), SessionUse::Own);
        assert_eq!(sessions.use_at("s1", "bob", t0), SessionUse::Refused);
        assert_eq!(sessions.use_at("unknown", "ann", t0), SessionUse::Refused);
        let later = t0 + SESSION_IDLE - Duration::from_secs(1);
        assert_eq!(sessions.use_at("s1", "ann", later), SessionUse::Own);
        let idle = later + SESSION_IDLE + Duration::from_secs(1);
        assert_eq!(sessions.use_at("s1", "ann", idle), SessionUse::Refused);
        open(&sessions, "s2", holder("ann", "a", "c"), t0).unwrap();
        sessions.closed("s2");
        assert_eq!(sessions.use_at("s2", "ann", t0), SessionUse::Refused);
    }

    #[test]
    fn reservations_count_until_released() {
        let sessions = limits(100, 100, 100, 2);
        let t0 = Instant::now();
        let a = sessions.reserve_at(holder("g", "a", "c"), t0).unwrap();
        let b = sessions.reserve_at(holder("g", "a", "c"), t0).unwrap();
        assert_eq!(
            sessions.reserve_at(holder("g", "a", "c"), t0).unwrap_err(),
            SessionRefusal::GrantFull(2),
            "two reservations in flight hold both places"
        );
        drop(a);
        b.commit_at("s1", t0);
        assert!(sessions.reserve_at(holder("g", "a", "c"), t0).is_ok());
        assert_eq!(sessions.len(), 1, "the dropped reservation was released");
    }

    #[test]
    fn each_limit_holds() {
        let sessions = limits(100, 3, 5, 2);
        let t0 = Instant::now();
        open(&sessions, "1", holder("g1", "acct", "c1"), t0).unwrap();
        open(&sessions, "2", holder("g1", "acct", "c1"), t0).unwrap();
        assert_eq!(
            open(&sessions, "3", holder("g1", "acct", "c1"), t0),
            Err(SessionRefusal::GrantFull(2))
        );
        open(&sessions, "3", holder("g2", "acct", "c1"), t0).unwrap();
        assert_eq!(
            open(&sessions, "4", holder("g3", "acct", "c2"), t0),
            Err(SessionRefusal::AccountFull(3)),
            "another grant on the same account"
        );
        open(&sessions, "4", holder("g4", "bob", "c1"), t0).unwrap();
        open(&sessions, "5", holder("g5", "cy", "c1"), t0).unwrap();
        assert_eq!(
            open(&sessions, "6", holder("g6", "dee", "c1"), t0),
            Err(SessionRefusal::ClientFull(5))
        );
        // Idle sessions stop counting.
        let idle = t0 + SESSION_IDLE + Duration::from_secs(1);
        open(&sessions, "7", holder("g1", "acct", "c1"), idle).unwrap();
        assert_eq!(sessions.len(), 1);
    }

    #[test]
    fn a_full_table_makes_room_from_the_biggest_holder_only() {
        let sessions = limits(10, 8, 100, 100);
        let t0 = Instant::now();
        for i in 0..8 {
            let at = t0 + Duration::from_millis(i);
            open(
                &sessions,
                &format!("m{i}"),
                holder(&format!("g{i}"), "mallory", "c"),
                at,
            )
            .unwrap();
        }
        open(&sessions, "a1", holder("ga", "ann", "c"), t0).unwrap();
        open(&sessions, "b1", holder("gb", "bob", "c"), t0).unwrap();
        // Full: a newcomer takes the place of Mallory's least recently used session.
        open(&sessions, "c1", holder("gc", "cy", "c"), t0).unwrap();
        assert_eq!(sessions.use_at("m0", "g0", t0), SessionUse::Refused);
        assert_eq!(sessions.use_at("m1", "g1", t0), SessionUse::Own);
        assert_eq!(sessions.use_at("a1", "ga", t0), SessionUse::Own);
        // Mallory herself cannot grow by displacing others.
        assert_eq!(
            open(&sessions, "m9", holder("g9", "mallory", "c"), t0),
            Err(SessionRefusal::ServerFull)
        );
        assert_eq!(sessions.len(), 10);
    }
}
