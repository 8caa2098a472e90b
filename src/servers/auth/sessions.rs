//! Which grant opened each MCP session, so that a session stays with the token holder who
//! opened it, and how many sessions one grant may hold open.
//!
//! Every session is opened through the bearer check, so an id missing here is one that never
//! existed, was closed, or sat idle past [`SESSION_IDLE`] (when the MCP layer drops it too):
//! such an id is refused like an unknown session. Idle entries are pruned as new sessions
//! open; when the table is still full, new sessions are refused instead of forgetting live ones.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a session may sit idle before it is forgotten; the MCP session layer is given
/// the same keep-alive.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);
/// The most sessions open at once, over all grants.
const MAX_SESSIONS: usize = 10_000;
/// The most sessions one grant may hold open at once.
pub const MAX_SESSIONS_PER_GRANT: usize = 256;

/// Why a new session may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    /// The grant already holds [`MAX_SESSIONS_PER_GRANT`] open sessions.
    #[error(
        "this token already holds {MAX_SESSIONS_PER_GRANT} open MCP sessions; close some (DELETE /mcp) or reuse one"
    )]
    GrantFull,
    /// The server holds its maximum of open sessions.
    #[error("the server has too many open MCP sessions; try again in a few minutes")]
    ServerFull,
}

/// Whether a presented session id may be used by a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionUse {
    /// The grant opened it; its idle clock was restarted.
    Own,
    /// Unknown, closed, idle too long, or opened by another grant.
    Refused,
}

struct Entry {
    grant: String,
    last_seen: Instant,
}

/// The session table.
#[derive(Default)]
pub struct Sessions {
    entries: parking_lot::Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Checks that `grant` may use `session` now, and marks it used.
    pub fn use_session(&self, session: &str, grant: &str) -> SessionUse {
        self.use_at(session, grant, Instant::now())
    }

    fn use_at(&self, session: &str, grant: &str, now: Instant) -> SessionUse {
        let mut entries = self.entries.lock();
        match entries.get_mut(session) {
            Some(entry)
                if entry.grant == grant && now.duration_since(entry.last_seen) <= SESSION_IDLE =>
            {
                entry.last_seen = now;
                SessionUse::Own
            }
            _ => SessionUse::Refused,
        }
    }

    /// Whether `grant` may open one more session.
    ///
    /// # Errors
    /// Says which limit is reached.
    pub fn may_open(&self, grant: &str) -> Result<(), SessionRefusal> {
        self.may_open_at(grant, Instant::now())
    }

    fn may_open_at(&self, grant: &str, now: Instant) -> Result<(), SessionRefusal> {
        let mut entries = self.entries.lock();
        prune(&mut entries, now);
        if entries.len() >= MAX_SESSIONS {
            return Err(SessionRefusal::ServerFull);
        }
        if entries.values().filter(|e| e.grant == grant).count() >= MAX_SESSIONS_PER_GRANT {
            return Err(SessionRefusal::GrantFull);
        }
        Ok(())
    }

    /// Remembers that `grant` opened `session`.
    pub fn opened(&self, session: &str, grant: &str) {
        self.opened_at(session, grant, Instant::now());
    }

    fn opened_at(&self, session: &str, grant: &str, now: Instant) {
        self.entries.lock().insert(
            session.to_owned(),
            Entry {
                grant: grant.to_owned(),
                last_seen: now,
            },
        );
    }

    /// Forgets a closed session.
    pub fn closed(&self, session: &str) {
        self.entries.lock().remove(session);
    }
}

fn prune(entries: &mut HashMap<String, Entry>, now: Instant) {
    entries.retain(|_, e| now.duration_since(e.last_seen) <= SESSION_IDLE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_usable_only_by_its_grant_and_only_while_alive() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        sessions.opened_at("s1", "ann", t0);
        assert_eq!(sessions.use_at("s1", "ann", t0), SessionUse::Own);
        assert_eq!(sessions.use_at("s1", "bob", t0), SessionUse::Refused);
        assert_eq!(sessions.use_at("unknown", "ann", t0), SessionUse::Refused);
        let later = t0 + SESSION_IDLE - Duration::from_secs(1);
        assert_eq!(sessions.use_at("s1", "ann", later), SessionUse::Own);
        let idle = later + SESSION_IDLE + Duration::from_secs(1);
        assert_eq!(sessions.use_at("s1", "ann", idle), SessionUse::Refused);
        sessions.opened_at("s2", "ann", t0);
        sessions.closed("s2");
        assert_eq!(sessions.use_at("s2", "ann", t0), SessionUse::Refused);
    }

    #[test]
    fn one_grant_cannot_hold_unbounded_sessions() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        for i in 0..MAX_SESSIONS_PER_GRANT {
            assert_eq!(sessions.may_open_at("ann", t0), Ok(()));
            sessions.opened_at(&format!("s{i}"), "ann", t0);
        }
        assert_eq!(
            sessions.may_open_at("ann", t0),
            Err(SessionRefusal::GrantFull)
        );
        assert_eq!(sessions.may_open_at("bob", t0), Ok(()));
        sessions.closed("s0");
        assert_eq!(sessions.may_open_at("ann", t0), Ok(()));
        // Idle sessions stop counting.
        let idle = t0 + SESSION_IDLE + Duration::from_secs(1);
        sessions.opened_at("fresh", "ann", idle);
        assert_eq!(sessions.may_open_at("ann", idle), Ok(()));
        assert_eq!(sessions.entries.lock().len(), 1);
    }

    #[test]
    fn a_full_table_refuses_new_sessions_and_keeps_live_ones() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        for i in 0..MAX_SESSIONS {
            sessions.opened_at(&format!("s{i}"), &format!("g{}", i % 1000), t0);
        }
        assert_eq!(
            sessions.may_open_at("new", t0),
            Err(SessionRefusal::ServerFull)
        );
        assert_eq!(sessions.use_at("s7", "g7", t0), SessionUse::Own);
    }
}
