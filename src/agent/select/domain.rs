//! Which of the configured services a message asks for, decided before and apart from which of
//! their tools.
//!
//! A server is asked for when the message names it (its name, a misspelling of it, or one of its
//! configured keywords), or when the things the message speaks of belong to its tools. That
//! evidence is summed over the server's own vocabulary ([`super::index::ServerVocabulary`]), not
//! weighed against its other tools: "calendar" is evidence for a calendar server even when every
//! one of its tools says "calendar", so a deployment with one server is decided the same way as
//! one with many. A word that several servers share counts for each in proportion.
//!
//! When nothing names a service or its things, a message that asks to find or add something by a
//! name the catalog cannot know ("search for Bars Probe", "open Bramblewood") is a request for
//! every server that has a tool for that. Names and titles never count against a request; what
//! does is naming what other services do (the weather, a flight) as often as the catalog's own
//! things, or asking a general question ("how do I ...", "explain ..."), unless a server is named.
//!
//! The built-in assistant tools are chosen only by the words people use for them (reminders,
//! "every morning") or as a conversation about them goes on, never by the time words their
//! descriptions share with a calendar.

use super::index::{Index, Query};
use super::lexicon::{Intent, Kind};
use super::rank::Tuning;
use super::text::stem;
use crate::schedule::ASSISTANT;

/// The catalog words a server's tool names must hold for it to serve an intent.
fn intent_words(intent: Intent) -> &'static [&'static str] {
    match intent {
        Intent::Find => &["search", "find", "query"],
        Intent::Add => &["create", "add", "append"],
    }
}

/// Why a server was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The message names it.
    Named,
    /// The message speaks of its things.
    Things,
    /// The message asks to find or add something by a name, and the server can.
    Intent,
    /// The message asks for an action and speaks of nothing new: it goes on with what the
    /// conversation's tools are about ("cancel it").
    Continues,
}

/// One server the message asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The server's name.
    pub server: String,
    /// How much the message speaks of its things (naming it adds [`Tuning::name_evidence`]).
    pub evidence: f32,
    /// Why it was chosen.
    pub reason: Reason,
}

/// How much `query` speaks of each server's things, in the index's server order.
#[must_use]
pub fn evidence(query: &Query, index: &Index) -> Vec<f32> {
    let servers = index.servers();
    let mut out = vec![0.0_f32; servers.len()];
    for term in query.terms.iter().filter(|t| t.kind == Kind::Object) {
        let strengths: Vec<f32> = servers
            .iter()
            .map(|v| v.terms.get(&term.term).copied().unwrap_or(0.0))
            .collect();
        let total: f32 = strengths.iter().sum();
        if total <= 0.0 {
            continue;
        }
        for (slot, strength) in out.iter_mut().zip(&strengths) {
            *slot += term.evidence * strength * (strength / total);
        }
    }
    out
}

/// The servers `query` asks for, best first; empty for small talk and for what the catalog's
/// services do not do. `embedded` is further evidence per server, from embedding similarity;
/// `present` are the servers whose tools the conversation already has.
#[must_use]
pub fn decide(
    query: &Query,
    index: &Index,
    embedded: &[(String, f32)],
    present: &[String],
    tuning: &Tuning,
) -> Vec<Choice> {
    let servers = index.servers();
    let mut things = evidence(query, index);
    for (slot, v) in things.iter_mut().zip(servers) {
        *slot += embedded
            .iter()
            .filter(|(s, _)| *s == v.server)
            .map(|(_, e)| *e)
            .sum::<f32>();
    }
    let named = |server: &str| {
        query
            .named
            .iter()
            .find(|(s, _)| s == server)
            .map_or(0.0, |(_, w)| *w)
    };
    let scores: Vec<f32> = servers
        .iter()
        .zip(&things)
        .map(|(v, e)| e + tuning.name_evidence * named(&v.server))
        .collect();
    // A general question gets no service, even one it names ("how do I share my google
    // calendar"); what other services do gets none unless a server is named as well.
    if query.general {
        return Vec::new();
    }
    let any_named = servers.iter().any(|v| named(&v.server) >= 1.0);
    if !any_named && query.elsewhere() {
        return Vec::new();
    }
    // A server named outright is chosen; of the others, those whose things the message speaks
    // of nearly as much as the most spoken of.
    let best = things.iter().copied().fold(0.0_f32, f32::max);
    let mut chosen: Vec<Choice> = servers
        .iter()
        .zip(&scores)
        .zip(&things)
        .filter(|&((v, &score), &own)| {
            score >= tuning.server_floor
                && (named(&v.server) >= 1.0
                    || (own >= tuning.server_ratio * best && v.server != ASSISTANT))
        })
        .map(|((v, &score), _)| Choice {
            server: v.server.clone(),
            evidence: score,
            reason: if named(&v.server) > 0.0 {
                Reason::Named
            } else {
                Reason::Things
            },
        })
        .collect();
    let has_object = query.unknown_words > 0 || query.payload_words > 0;
    if chosen.is_empty() && has_object && !query.intents.is_empty() {
        chosen = servers
            .iter()
            .filter(|v| {
                v.server != ASSISTANT
                    && query.intents.iter().any(|&intent| {
                        intent_words(intent)
                            .iter()
                            .any(|w| v.terms.get(&stem(w)).copied().unwrap_or(0.0) >= 1.0)
                    })
            })
            .map(|v| Choice {
                server: v.server.clone(),
                evidence: 0.0,
                reason: Reason::Intent,
            })
            .collect();
    }
    if chosen.is_empty() && query.action_words > 0 {
        chosen = servers
            .iter()
            .zip(&scores)
            .filter(|(v, _)| present.contains(&v.server))
            .map(|(v, &score)| Choice {
                server: v.server.clone(),
                evidence: score,
                reason: Reason::Continues,
            })
            .collect();
    }
    chosen.sort_by(|a, b| b.evidence.total_cmp(&a.evidence));
    chosen
}
