//! A BM25 index over the catalog's tools, and queries built from chat text.
//!
//! Each tool is one document whose fields weigh differently: the words of its name most, then
//! its title, description, the server's name and configured keywords, and least its parameter
//! names and descriptions. A query is the message's words (stemmed, stop words dropped, times and
//! dates recognised, misspellings corrected against the index's own words and the chat lexicon)
//! plus the catalog words the lexicon maps them to. Object words and action words are scored
//! apart, so that a verb alone ("book a flight") never makes a server win. Each word of a tool's
//! name is also indexed as written (`=calendars`), so that a plural asks for the tool that lists.
//!
//! Apart from the tools, the index keeps each server's own vocabulary (how strongly each term
//! belongs to its tools, whatever the other tools of the server say) and its names (the server's
//! name and keywords), which [`super::domain`] uses to decide which servers a message is for. A
//! query records what the message's words are: things the catalog knows, names it cannot know,
//! things other services do, and the verbs that ask to find or add something.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::general;
use super::lexicon::{self, Intent, Kind};
use super::text::{self, allowed_edits, edit_distance, stem};
use crate::mcp::CatalogTool;

const NAME_WEIGHT: f32 = 3.0;
const TITLE_WEIGHT: f32 = 2.0;
const DESCRIPTION_WEIGHT: f32 = 1.0;
const SERVER_WEIGHT: f32 = 1.0;
const KEYWORD_WEIGHT: f32 = 2.0;
const PARAM_NAME_WEIGHT: f32 = 0.5;
const PARAM_TEXT_WEIGHT: f32 = 0.25;
/// The weight of a tool-name word indexed as written, in the tool and in the query.
const EXACT_DOC_WEIGHT: f32 = 1.0;
const EXACT_QUERY_WEIGHT: f32 = 0.5;
/// How strongly a term of a tool's name, title, server name or keywords belongs to its server,
/// and one found only in descriptions.
const SERVER_NAMED_STRENGTH: f32 = 1.0;
const SERVER_DESCRIBED_STRENGTH: f32 = 0.5;
/// The prefix of a tool-name word indexed as written.
const EXACT: char = '=';
/// Things a person names by their title ("the Family calendar", "my Work cal"), with the
/// tool-name word of the tool that lists them, where the title is found.
const TITLED: &[(&[&str], &str)] = &[(&["calendar", "calender", "cal"], "calendars")];
/// Words for events that a person names by their title ("the Board meeting", "the bday
/// dinner"): with no date or time and nothing to add, such an event is found by searching.
const TITLED_EVENTS: &[&str] = &[
    "meeting",
    "mtg",
    "event",
    "dinner",
    "lunch",
    "party",
    "appointment",
    "appt",
    "sync",
    "standup",
    "offsite",
    "interview",
    "call",
    "review",
    "retro",
    "kickoff",
    "workshop",
];
/// Words before a thing's word that are not its title ("my calendar", "google calendar").
const NOT_TITLES: &[&str] = &[
    "my",
    "the",
    "your",
    "our",
    "a",
    "an",
    "this",
    "that",
    "their",
    "his",
    "her",
    "google",
    "primary",
    "main",
    "default",
    "new",
    "shared",
    "whole",
    "entire",
    "own",
    "same",
    "other",
    "another",
    "which",
    "what",
    "each",
    "every",
    "all",
    "any",
    "to",
    "in",
    "on",
    "from",
    "into",
    "of",
    "for",
    "whose",
    "secondary",
    "separate",
];
/// Words after a thing's word that make it part of another thing's title ("the content
/// calendar db", "a calendar invite").
const NOT_TITLED_AFTER: &[&str] = &[
    "db",
    "database",
    "databases",
    "page",
    "pages",
    "table",
    "view",
    "template",
    "templates",
    "invite",
    "invites",
    "invitation",
    "event",
    "events",
    "entry",
    "blurb",
    "status",
    "app",
    "sharing",
    "settings",
    "link",
    "item",
    "items",
];
/// The least items of a pasted list, each with a date or time, that make it a list of events.
const EVENT_LIST_ITEMS: usize = 2;
/// Words after which "list" is a thing rather than a verb ("my reading list").
const DETERMINERS: &[&str] = &["my", "our", "the", "a", "your", "this", "that", "their"];
/// What a list that is a thing stands for in the catalog.
const LIST_THINGS: &[&str] = &["page", "database"];
/// Words for one block of a page.
const BLOCK_WORDS: &[&str] = &[
    "paragraph",
    "heading",
    "bullet",
    "todo",
    "checkbox",
    "line",
    "item",
    "callout",
    "toggle",
    "quote",
    "block",
];
/// Words that place a thing in time without a date ("my next meeting", "today's standup").
const NOW_WORDS: &[&str] = &[
    "today",
    "todays",
    "tonight",
    "tomorrow",
    "tmrw",
    "tmr",
    "yesterday",
    "next",
    "last",
    "upcoming",
    "week",
    "weekend",
    "morning",
    "afternoon",
    "evening",
    "weekly",
    "daily",
];
/// Words that say a name follows ("a calendar called Side projects").
const NAMING: &[&str] = &["called", "named", "titled", "entitled"];
/// Verbs that move a thing somewhere; followed by "to" and a time ("move the 2pm to 4", "push
/// standup to tomorrow") they mean a new time, not a new place.
const MOVE_VERBS: &[&str] = &["move", "moving", "moved", "shift", "push", "bump"];
/// Words after "to" that name a time rather than a place.
const TIME_WORDS: &[&str] = &[
    "today",
    "tonight",
    "tomorrow",
    "tmrw",
    "tmr",
    "tom",
    "next",
    "later",
    "earlier",
    "noon",
    "midday",
    "midnight",
    "morning",
    "afternoon",
    "evening",
    "lunch",
    "lunchtime",
    "week",
    "weekend",
];
/// The weight of a catalog word that the lexicon adds for a chat word.
const OBJECT_EXPANSION: f32 = 0.6;
const ACTION_EXPANSION: f32 = 0.5;
/// The share of that weight left, in ranking tools, to the related catalog words of a group.
const RELATED_EXPANSION: f32 = 0.5;
/// The weight of words in quoted or dictated text.
const PAYLOAD_WEIGHT: f32 = 0.4;
/// The weight left to a word after spelling correction.
const CORRECTED: f32 = 0.8;
/// BM25 parameters.
const K1: f32 = 1.2;
const B: f32 = 0.5;
/// The most parameters read from one schema.
const MAX_PARAMS: usize = 64;

/// One tool's weighted terms.
#[derive(Debug, Clone, Default)]
struct Doc {
    tf: HashMap<String, f32>,
    len: f32,
    /// Terms from the name, title, description, server name or keywords (not only parameters).
    prominent: HashSet<String>,
    /// Terms from the name, title, server name or keywords.
    named: HashSet<String>,
}

impl Doc {
    fn add_text(&mut self, text: &str, weight: f32) {
        self.add_field(text, weight, false);
    }

    fn add_field(&mut self, text: &str, weight: f32, named_field: bool) {
        for word in text::words(text) {
            if text::is_stop_word(&word) {
                continue;
            }
            let term = text::marker(&word).map_or_else(|| stem(&word), str::to_owned);
            if weight >= DESCRIPTION_WEIGHT {
                self.prominent.insert(term.clone());
            }
            if weight > DESCRIPTION_WEIGHT || weight == SERVER_WEIGHT && named_field {
                self.named.insert(term.clone());
            }
            *self.tf.entry(term).or_insert(0.0) += weight;
            self.len += weight;
        }
    }
}

/// What the index knows of one server.
#[derive(Debug, Clone, Default)]
pub struct ServerVocabulary {
    /// The server's name.
    pub server: String,
    /// The phrases that name it: its name and each keyword, as words.
    pub names: Vec<Vec<String>>,
    /// How strongly each stemmed term belongs to its tools.
    pub terms: HashMap<String, f32>,
}

/// Extra words configured for a server.
#[derive(Debug, Clone, Default)]
pub struct ServerWords {
    /// The server's name.
    pub name: String,
    /// Its `keywords`.
    pub keywords: Vec<String>,
}

/// The index over one catalog.
#[derive(Debug, Clone)]
pub struct Index {
    docs: Vec<Doc>,
    df: HashMap<String, f32>,
    prominent: HashSet<String>,
    named: HashSet<String>,
    avg_len: f32,
    /// Raw words of the catalog, for spelling correction.
    vocabulary: Vec<String>,
    /// Each server's vocabulary and names, in catalog order.
    servers: Vec<ServerVocabulary>,
}

/// One term of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    /// The stemmed term.
    pub term: String,
    /// How much it counts in ranking tools.
    pub weight: f32,
    /// How much it counts as evidence for a server (see [`super::domain`]).
    pub evidence: f32,
    /// Whether it names a thing or an action.
    pub kind: Kind,
}

/// A scored query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The terms, each once.
    pub terms: Vec<QueryTerm>,
    /// Words of the message that name things (not actions, stop words, numbers or identifiers)
    /// and that the catalog or the lexicon knows as things (a word that names tools or a server
    /// outright counts twice).
    pub explained_words: usize,
    /// Such words that neither the catalog nor the lexicon knows: names and titles, which say
    /// nothing for or against a request.
    pub unknown_words: usize,
    /// Such words that name what other services do (the weather, a flight).
    pub elsewhere_words: usize,
    /// Such words that name other apps and services (a music app, an issue tracker).
    pub other_apps: usize,
    /// Words of text the message quotes or dictates (the payload).
    pub payload_words: usize,
    /// Words of the message that name actions ("cancel", "move", "show").
    pub action_words: usize,
    /// The servers the message names, each with how much that counts (1 for this message,
    /// less for earlier ones).
    pub named: Vec<(String, f32)>,
    /// What the message's verbs ask for: to find or to add something.
    pub intents: Vec<Intent>,
    /// The catalog actions the message's own verbs mean, each its group's first catalog word
    /// ("reschedule" and "edit" mean `update`).
    pub actions: Vec<&'static str>,
    /// Whether the message is a general question rather than a request ([`general`]: how-to,
    /// what something is, advice, arithmetic on dates, writing help, the assistant itself).
    pub general: bool,
    /// Tool-name words as written (`=calendars`) whose tools the message needs to look
    /// something up first, such as a calendar named by its title: each chosen server offers
    /// its tools holding one.
    pub lookups: Vec<String>,
}

impl Query {
    /// Adds `other`'s terms and named servers scaled by `factor`, keeping the larger weight of a
    /// repeated one; the word counts, intents and the general-question flag stay this query's own.
    pub fn merge(&mut self, other: &Self, factor: f32) {
        for t in &other.terms {
            self.push(&t.term, t.weight * factor, t.evidence * factor, t.kind);
        }
        for (server, weight) in &other.named {
            self.name(server, weight * factor);
        }
    }

    fn name(&mut self, server: &str, weight: f32) {
        match self.named.iter_mut().find(|(s, _)| s == server) {
            Some((_, w)) => *w = w.max(weight),
            None => self.named.push((server.to_owned(), weight)),
        }
    }

    fn push(&mut self, term: &str, weight: f32, evidence: f32, kind: Kind) {
        if let Some(existing) = self.terms.iter_mut().find(|t| t.term == term) {
            existing.weight = existing.weight.max(weight);
            existing.evidence = existing.evidence.max(evidence);
            if kind == Kind::Object {
                existing.kind = Kind::Object;
            }
        } else {
            self.terms.push(QueryTerm {
                term: term.to_owned(),
                weight,
                evidence,
                kind,
            });
        }
    }

    /// Whether the message is about something the catalog's services do not do: it names other
    /// services' things (the weather, a flight) at least as often as things the catalog knows,
    /// or it is a general question. Names the catalog cannot know do not count either way.
    #[must_use]
    pub fn elsewhere(&self) -> bool {
        self.general
            || self.other_apps > 0
            || (self.elsewhere_words > 0 && self.elsewhere_words >= self.explained_words)
    }
}

/// A tool's score split into what the things and the actions of the query contributed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// From object terms.
    pub object: f32,
    /// From action terms.
    pub action: f32,
}

impl Score {
    /// Both parts together.
    #[must_use]
    pub fn total(self) -> f32 {
        self.object + self.action
    }
}

impl Index {
    /// Indexes `tools`, adding each server's name and keywords to its tools.
    #[must_use]
    pub fn build(tools: &[CatalogTool], servers: &[ServerWords]) -> Self {
        let mut vocabulary: HashSet<String> = HashSet::new();
        let mut docs = Vec::with_capacity(tools.len());
        let mut server_vocabularies: Vec<ServerVocabulary> = Vec::new();
        for tool in tools {
            let mut doc = Doc::default();
            doc.add_text(&tool.tool, NAME_WEIGHT);
            for word in text::words(&tool.tool) {
                if !text::is_stop_word(&word) {
                    *doc.tf.entry(format!("{EXACT}{word}")).or_insert(0.0) += EXACT_DOC_WEIGHT;
                    doc.len += EXACT_DOC_WEIGHT;
                }
            }
            if let Some(title) = &tool.title {
                doc.add_text(title, TITLE_WEIGHT);
            }
            // Quoted text in a description is an example of input ("Dentist Friday 3pm"), not
            // what the tool does.
            let (described, _) = text::split_quoted(&tool.description);
            doc.add_text(&described, DESCRIPTION_WEIGHT);
            doc.add_field(&tool.server, SERVER_WEIGHT, true);
            if let Some(words) = servers.iter().find(|s| s.name == tool.server) {
                for keyword in &words.keywords {
                    doc.add_text(keyword, KEYWORD_WEIGHT);
                    vocabulary.extend(text::words(keyword));
                }
            }
            let mut params = 0;
            if let Some(props) = tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object)
            {
                for (name, schema) in props {
                    params += 1;
                    if params > MAX_PARAMS {
                        break;
                    }
                    doc.add_text(name, PARAM_NAME_WEIGHT);
                    if let Some(d) = schema.get("description").and_then(Value::as_str) {
                        doc.add_text(&text::split_quoted(d).0, PARAM_TEXT_WEIGHT);
                    }
                    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                        for v in values.iter().take(MAX_PARAMS).filter_map(Value::as_str) {
                            doc.add_text(v, PARAM_TEXT_WEIGHT);
                        }
                    }
                }
            }
            for text in [
                tool.tool.as_str(),
                tool.title.as_deref().unwrap_or_default(),
                tool.description.as_str(),
                tool.server.as_str(),
            ] {
                vocabulary.extend(text::words(text).into_iter().filter(|w| w.len() > 3));
            }
            let position = match server_vocabularies
                .iter()
                .position(|v| v.server == tool.server)
            {
                Some(i) => i,
                None => {
                    let mut names = vec![text::words(&tool.server)];
                    if let Some(words) = servers.iter().find(|s| s.name == tool.server) {
                        names.extend(words.keywords.iter().map(|k| text::words(k)));
                    }
                    names.retain(|n| !n.is_empty());
                    server_vocabularies.push(ServerVocabulary {
                        server: tool.server.clone(),
                        names,
                        terms: HashMap::new(),
                    });
                    server_vocabularies.len() - 1
                }
            };
            if let Some(own) = server_vocabularies.get_mut(position) {
                // The server's name is evidence of its own kind (see `named_servers`).
                let name_terms: Vec<String> =
                    text::words(&tool.server).iter().map(|w| stem(w)).collect();
                for term in doc.prominent.iter().filter(|t| !name_terms.contains(t)) {
                    let strength = if doc.named.contains(term) {
                        SERVER_NAMED_STRENGTH
                    } else {
                        SERVER_DESCRIBED_STRENGTH
                    };
                    let entry = own.terms.entry(term.clone()).or_insert(0.0);
                    *entry = entry.max(strength);
                }
            }
            docs.push(doc);
        }
        let mut df: HashMap<String, f32> = HashMap::new();
        let prominent: HashSet<String> = docs
            .iter()
            .flat_map(|d| d.prominent.iter().cloned())
            .collect();
        let named: HashSet<String> = docs.iter().flat_map(|d| d.named.iter().cloned()).collect();
        for doc in &docs {
            for term in doc.tf.keys() {
                *df.entry(term.clone()).or_insert(0.0) += 1.0;
            }
        }
        let total: f32 = docs.iter().map(|d| d.len).sum();
        let avg_len = if docs.is_empty() {
            1.0
        } else {
            (total / docs.len() as f32).max(1.0)
        };
        let mut vocabulary: Vec<String> = vocabulary.into_iter().collect();
        vocabulary.sort_unstable();
        Self {
            docs,
            df,
            prominent,
            named,
            avg_len,
            vocabulary,
            servers: server_vocabularies,
        }
    }

    /// Each server's vocabulary and names, in catalog order.
    #[must_use]
    pub fn servers(&self) -> &[ServerVocabulary] {
        &self.servers
    }

    /// The servers that `words` (lower case, as written) name: all words of the server's name or
    /// of one of its keywords appear, each exactly, by its stem, or (from five letters on) with
    /// one typing mistake. A one-word keyword that also names what other services do ("alarm")
    /// counts only when no other word of the message does ("an alarm on my phone" is the
    /// phone's).
    fn named_servers(&self, words: &[String]) -> Vec<String> {
        let elsewhere = words.iter().filter(|w| lexicon::is_elsewhere(w)).count();
        let matches = |wanted: &str| {
            let stemmed = stem(wanted);
            words.iter().any(|w| {
                w == wanted
                    || stem(w) == stemmed
                    || (wanted.chars().count() >= 5
                        && w.chars().all(char::is_alphabetic)
                        && edit_distance(w, wanted, 1).is_some())
            })
        };
        self.servers
            .iter()
            .filter(|v| {
                v.names.iter().any(|phrase| {
                    let claimed = matches!(phrase.as_slice(), [one] if lexicon::is_elsewhere(one));
                    phrase.iter().all(|word| matches(word)) && !(claimed && elsewhere > 1)
                })
            })
            .map(|v| v.server.clone())
            .collect()
    }

    /// Whether `word` (lower case) is a configured server's name or a word of one of its keywords.
    fn names_server(&self, word: &str) -> bool {
        self.servers.iter().any(|v| {
            v.names
                .iter()
                .any(|phrase| phrase.iter().any(|w| w == word))
        })
    }

    /// Whether the tool at `position` holds `term`.
    #[must_use]
    pub fn holds(&self, position: usize, term: &str) -> bool {
        self.docs
            .get(position)
            .is_some_and(|doc| doc.tf.contains_key(term))
    }

    fn knows(&self, term: &str) -> bool {
        self.df.contains_key(term)
    }

    fn idf(&self, term: &str) -> f32 {
        let n = self.docs.len() as f32;
        let df = self.df.get(term).copied().unwrap_or(0.0);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Builds the query for `message`: its frame counts fully, text it quotes or dictates (the
    /// payload) at [`PAYLOAD_WEIGHT`] and not towards the explained share.
    #[must_use]
    pub fn query(&self, message: &str) -> Query {
        // A link's id after `#` names a block of the page.
        let message = title_slugs(&anchor_blocks(&text::join_uuids(message)));
        // An email address points at someone; its words (a mail provider) name nothing.
        let addresses = message
            .split_whitespace()
            .any(|w| w.contains('@') && w.contains('.'));
        let message: String = message
            .split_inclusive(char::is_whitespace)
            .filter(|w| !(w.contains('@') && w.contains('.')))
            .collect();
        let message = message.as_str();
        let (frame, payload) = text::frame_and_payload(message);
        let mut query = Query::default();
        let signs = general::Signs {
            payload: !text::words(&payload).is_empty(),
            pointer: addresses
                || message.contains("http")
                || message.contains("www.")
                || text::words(message).iter().any(|w| text::is_identifier(w)),
        };
        query.general = general::general(&frame, signs, |w| self.names_server(w)).is_some();
        self.add_text(&mut query, &frame, 1.0, true);
        self.add_text(&mut query, &payload, PAYLOAD_WEIGHT, false);
        // "12/14 noon: renew passport. remind me": a request to be reminded after the text.
        let payload_words = text::words(&payload);
        if payload_words
            .windows(2)
            .any(|w| w[0] == "remind" && w[1] == "me")
        {
            for server in self.named_servers(&payload_words) {
                if server == crate::schedule::ASSISTANT {
                    query.name(&server, 1.0);
                }
            }
        }
        query.payload_words = text::words(&payload)
            .iter()
            .filter(|w| !text::is_stop_word(w))
            .count();
        self.add_titled(&mut query, &frame, message);
        self.add_titled_event(&mut query, &frame);
        self.add_block_lookup(&mut query, &frame);
        self.add_event_list(&mut query, message);
        query
    }

    /// Adds a lookup for a thing named by its title: "the Family calendar", "my Work cal",
    /// "the 'Old Uni Timetable' calendar" ask for the tool that lists such things, to find its
    /// id.
    fn add_titled(&self, query: &mut Query, frame: &str, message: &str) {
        let words = text::words(frame);
        let lower = message.to_lowercase();
        for (things, listed) in TITLED {
            let exact = format!("{EXACT}{listed}");
            if !self.knows(&exact) || query.lookups.contains(&exact) {
                continue;
            }
            let titled = words.iter().enumerate().any(|(i, word)| {
                let thing = things.contains(&word.as_str());
                let before = |back: usize| i.checked_sub(back).and_then(|j| words.get(j));
                // "the Soccer 2023 calendar": a title may end in a number after a word of it.
                let title = before(1).is_some_and(|w| self.is_title(w))
                    || (before(1).is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
                        && before(2).is_some_and(|w| self.is_title(w)));
                let after = words.get(i + 1).map_or("", String::as_str);
                thing && title && !NOT_TITLED_AFTER.contains(&after)
            }) || things.iter().any(|thing| {
                ["' ", "\" ", "’ ", "” "]
                    .iter()
                    .any(|quote| lower.contains(&format!("{quote}{thing}")))
            });
            // A lookup brings its tool along without raising its score, so that a tool that
            // acts on the thing ("delete the Old project calendar") still stands out.
            if titled {
                query.lookups.push(exact);
            }
        }
    }

    /// Adds a lookup by search for an event named by its title ("who's coming to the Q3
    /// planning meeting", "did everyone say yes to the bday dinner") when the message gives no
    /// date or time and adds nothing: the event has to be found by its words.
    fn add_titled_event(&self, query: &mut Query, frame: &str) {
        let exact = format!("{EXACT}search");
        let words = text::words(frame);
        if query.general
            || !self.knows(&exact)
            || query.lookups.contains(&exact)
            || query.intents.contains(&Intent::Add)
            || words
                .iter()
                .any(|w| is_date_or_time(w) || NOW_WORDS.contains(&w.as_str()))
        {
            return;
        }
        let titled = words.iter().enumerate().any(|(i, word)| {
            TITLED_EVENTS.contains(&word.as_str())
                && i.checked_sub(1)
                    .and_then(|j| words.get(j))
                    .is_some_and(|w| self.is_title(w) && !TITLED_EVENTS.contains(&w.as_str()))
        });
        if titled {
            query.lookups.push(exact);
        }
    }

    /// Adds a lookup of a page's blocks when the message changes or removes one block of a page
    /// it points at ("uncheck the first todo on <link>", "delete the paragraph that starts with
    /// ..."): the block's id has to be read from the page first.
    fn add_block_lookup(&self, query: &mut Query, frame: &str) {
        let exact = format!("{EXACT}children");
        let words = text::words(frame);
        let pointer = words.iter().any(|w| text::is_object_id(w));
        let block = words.iter().any(|w| BLOCK_WORDS.contains(&w.as_str()));
        if pointer
            && block
            && !query.general
            && !query.intents.contains(&Intent::Add)
            && self.knows(&exact)
            && !query.lookups.contains(&exact)
        {
            query.lookups.push(exact);
        }
    }

    /// Whether `word` (lower case) can be (the end of) a title: not a determiner, a generic
    /// qualifier, a server's or another app's name, a number or a time.
    fn is_title(&self, word: &str) -> bool {
        !NOT_TITLES.contains(&word)
            && !text::is_stop_word(word)
            && !self.names_server(word)
            && !lexicon::is_other_app(word)
            && !text::is_number(word)
            && text::marker(word).is_none()
            && word.chars().all(char::is_alphanumeric)
    }

    /// Reads a pasted list of several items that each hold a date or a time ("add these: mon
    /// 9am standup, tue 2pm dentist, ...") as a list of events to add or look at.
    fn add_event_list(&self, query: &mut Query, message: &str) {
        if query.general {
            return;
        }
        let dated = message
            .split([',', ';', '\n'])
            .filter(|item| text::words(item).iter().any(|w| is_date_or_time(w)))
            .count();
        if dated < EVENT_LIST_ITEMS {
            return;
        }
        let exact = format!("{EXACT}events");
        if self.knows(&exact) {
            query.push(&exact, 1.0, 0.0, Kind::Action);
        }
        let event = stem("event");
        if self.knows(&event) {
            query.push(&event, 1.0, dated as f32, Kind::Object);
            query.explained_words += dated;
        }
    }

    fn add_text(&self, query: &mut Query, message: &str, weight: f32, count: bool) {
        let words = reschedules(text::words(message));
        if count {
            for server in self.named_servers(&words) {
                query.name(&server, 1.0);
            }
        }
        let mut previous_number = false;
        // The two words before this one, to tell "my reading list" (a thing) from "list" (a verb).
        let mut before: [String; 2] = Default::default();
        for word in words {
            let number = !word.is_empty() && word.chars().all(|c| c.is_ascii_digit());
            let after_number = previous_number;
            previous_number = number;
            let word = match text::marker(&word) {
                Some(marker) => marker.to_owned(),
                None if text::is_object_id(&word) => text::ID_TERM.to_owned(),
                None if after_number && (word == "am" || word == "pm") => {
                    text::TIME_TERM.to_owned()
                }
                // "17 times 23" is arithmetic, not a time.
                None if after_number && word == "times" => continue,
                // "a new one called side projects": a name follows, not a phone call.
                None if NAMING.contains(&word.as_str()) => continue,
                None => lexicon::spelling(&word).map_or(word, str::to_owned),
            };
            let list_noun = (word == "list" || word == "lists")
                && before.iter().any(|w| DETERMINERS.contains(&w.as_str()));
            before = [before[1].clone(), word.clone()];
            if list_noun {
                // "my reading list", "the grocery list": a page or a database.
                for target in LIST_THINGS {
                    let w = weight * OBJECT_EXPANSION;
                    query.push(&stem(target), w, w, Kind::Object);
                }
                if count {
                    query.explained_words += 1;
                }
                continue;
            }
            let action =
                lexicon::is_action(&word) || lexicon::catalog_action_words().any(|a| a == word);
            if count
                && let Some(intent) = lexicon::intent(&word)
                && !query.intents.contains(&intent)
            {
                query.intents.push(intent);
            }
            let exact = format!("{EXACT}{word}");
            if self.knows(&exact) {
                query.push(&exact, weight * EXACT_QUERY_WEIGHT, 0.0, Kind::Action);
            }
            if count && action {
                query.action_words += 1;
                for (target, kind, main) in lexicon::expand(&word) {
                    if main && kind == Kind::Action && !query.actions.contains(&target) {
                        query.actions.push(target);
                    }
                }
            }
            let content = count
                && !action
                && !text::is_stop_word(&word)
                && word.chars().count() >= 2
                && !text::is_identifier(&word)
                && !text::is_number(&word);
            let known = match self.add_word(query, &word, weight) {
                Some(object) => Some(object),
                None if text::is_stop_word(&word)
                    || word.starts_with('@')
                    || lexicon::is_elsewhere(&word)
                    || lexicon::is_other_app(&word) =>
                {
                    None
                }
                None => self
                    .correct(&word)
                    .and_then(|fixed| self.add_word(query, &fixed, weight * CORRECTED)),
            };
            if !content {
                continue;
            }
            match known {
                // A word that names tools or a server outright is strong evidence.
                Some(true) if self.named.contains(&stem(&word)) => query.explained_words += 2,
                Some(true) => query.explained_words += 1,
                Some(false) => {}
                None if lexicon::is_other_app(&word) => query.other_apps += 1,
                None if lexicon::is_elsewhere(&word) => query.elsewhere_words += 1,
                None => query.unknown_words += 1,
            }
        }
    }

    /// Adds a known word's terms; `None` when neither the catalog nor the lexicon knows it, else
    /// whether it was known as a thing.
    fn add_word(&self, query: &mut Query, word: &str, weight: f32) -> Option<bool> {
        let mut known = None;
        let stemmed = if word.starts_with('@') {
            word.to_owned()
        } else {
            stem(word)
        };
        if !text::is_stop_word(word) && self.knows(&stemmed) {
            let action = lexicon::is_action(word)
                || lexicon::catalog_action_words().any(|a| stem(a) == stemmed);
            // A word found only in parameter texts ranks tools but is no evidence of a server.
            let prominent = self.prominent.contains(&stemmed);
            let kind = if action || !prominent {
                Kind::Action
            } else {
                Kind::Object
            };
            let w = if prominent { weight } else { weight * 0.5 };
            query.push(&stemmed, w, w, kind);
            known = Some(kind == Kind::Object);
        }
        for (target, kind, main) in lexicon::expand(word) {
            let w = weight
                * match kind {
                    Kind::Object => OBJECT_EXPANSION,
                    Kind::Action => ACTION_EXPANSION,
                };
            // A group's first catalog word is what the chat word means; the others are related
            // things, evidence for their server but weaker in ranking its tools.
            let rank = if main { w } else { w * RELATED_EXPANSION };
            query.push(&stem(target), rank, w, kind);
            known = Some(known.unwrap_or(false) || kind == Kind::Object);
        }
        known
    }

    /// The known word closest to a misspelt one, within the edits its length allows.
    fn correct(&self, word: &str) -> Option<String> {
        let max = allowed_edits(word);
        if max == 0 || !word.chars().all(char::is_alphabetic) {
            return None;
        }
        let mut best: Option<(usize, &str)> = None;
        let mut candidates: Vec<&str> = self.vocabulary.iter().map(String::as_str).collect();
        for w in lexicon::chat_words() {
            candidates.push(w);
        }
        let first = word.chars().next();
        for candidate in candidates {
            // A typing mistake rarely changes the first letter.
            if candidate.len() < 4 || candidate == word || candidate.chars().next() != first {
                continue;
            }
            if let Some(d) = edit_distance(word, candidate, max)
                && best.is_none_or(|(bd, _)| d < bd)
            {
                best = Some((d, candidate));
            }
        }
        best.map(|(_, w)| w.to_owned())
    }

    /// The score of every tool, in catalog order.
    #[must_use]
    pub fn score(&self, query: &Query) -> Vec<Score> {
        let weights: Vec<(f32, &QueryTerm)> = query
            .terms
            .iter()
            .map(|t| (self.idf(&t.term) * t.weight, t))
            .collect();
        self.docs
            .iter()
            .map(|doc| {
                let mut score = Score::default();
                for (w, term) in &weights {
                    let Some(&tf) = doc.tf.get(&term.term) else {
                        continue;
                    };
                    let norm = K1 * (1.0 - B + B * doc.len / self.avg_len);
                    let s = w * tf * (K1 + 1.0) / (tf + norm);
                    match term.kind {
                        Kind::Object => score.object += s,
                        Kind::Action => score.action += s,
                    }
                }
                score
            })
            .collect()
    }
}

/// Whether `word` (lower case) is a date or a time: in digits, or a day's or month's name.
fn is_date_or_time(word: &str) -> bool {
    text::marker(word).is_some() || lexicon::is_day_or_month(word)
}

/// `words` with two-word verbs that mean one thing joined ("set up" a database is to create
/// it, not to set a value), and "who" before an id read as asking for a person ("who is
/// <id>": a user).
fn joined_phrases(words: Vec<String>) -> Vec<String> {
    // "who is <id>", "whos <id>": the id follows within two words.
    let asks_who = words.iter().enumerate().any(|(i, w)| {
        matches!(w.as_str(), "who" | "whos")
            && words
                .iter()
                .skip(i + 1)
                .take(2)
                .any(|next| text::is_object_id(next))
    });
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut iter = words.into_iter().peekable();
    while let Some(word) = iter.next() {
        if word == "set" && iter.peek().is_some_and(|next| next == "up") {
            iter.next();
            out.push("setup".to_owned());
        } else if asks_who && matches!(word.as_str(), "who" | "whos") {
            out.push(word);
            out.push("user".to_owned());
        } else {
            out.push(word);
        }
    }
    out
}

/// `words` with a verb that moves a thing to a time ("move the 2pm on friday to 4") read as
/// "reschedule": a new time for the thing, not a new place for it.
fn reschedules(words: Vec<String>) -> Vec<String> {
    let mut words = joined_phrases(words);
    let to_time = |rest: &[String]| {
        rest.windows(2).any(|pair| {
            let (to, next) = (pair[0].as_str(), pair[1].as_str());
            to == "to"
                && (text::is_number(next) || is_date_or_time(next) || TIME_WORDS.contains(&next))
        })
    };
    for i in 0..words.len() {
        if MOVE_VERBS.contains(&words[i].as_str()) && to_time(&words[i + 1..]) {
            words[i] = "reschedule".to_owned();
        }
    }
    words
}

/// `text` with the title words of a link's slug dropped, and a database view's link read as
/// pointing at a database: a path segment `Offsite-Planning-<32 hex
/// digits>` names a page by its title and id, and the title's words ("planning") are the page's,
/// not the person's request. The id stays.
fn title_slugs(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|token| {
            let link = token.starts_with("http://")
                || token.starts_with("https://")
                || token.starts_with("www.");
            if !link {
                return token.to_owned();
            }
            let body = token.trim_end();
            let mut out = String::with_capacity(token.len());
            for (i, segment) in body.split('/').enumerate() {
                if i > 0 {
                    out.push('/');
                }
                let path = segment.split(['?', '#']).next().unwrap_or_default();
                match path.rsplit_once('-') {
                    Some((_, id)) if text::is_object_id(id) => out.push_str(id),
                    _ => out.push_str(segment),
                }
            }
            // A view of a database (`?v=`) points at the database; a Notion link to a page
            // (not to one block of it) at a page.
            if body.contains("?v=") {
                out.push_str(" database");
            } else if body.contains("notion.so/") || body.contains("notion.site/") {
                out.push_str(" page");
            }
            out.push_str(&token[body.len()..]);
            out
        })
        .collect()
}

/// `text` with the `#` before a 32-hex-digit id (a link to one block of a page) read as the
/// word "block".
fn anchor_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str(if hex == 32 { " block " } else { "#" });
        rest = after;
    }
    out.push_str(rest);
    out
}
