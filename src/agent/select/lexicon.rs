//! How people say things in chat, mapped to the words tool descriptions use.
//!
//! A person writes "whats on thurs" or "jot this down"; a calendar tool says "list events" and a
//! notes tool says "create page". Each group below maps chat words (and their common short
//! forms) to the generic words of calendar, notes, task and comment APIs, marked as naming a
//! thing (object) or an action. Only object words can make a server win; action words rank the
//! tools of a server that already won. The table is vocabulary, not a list of phrases: it does
//! not know any particular server's tool names.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::text::stem;

/// What a word contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It names a thing the tools are about (an event, a page, a date).
    Object,
    /// It names an action (create, list, delete).
    Action,
}

/// One group: chat words, the catalog words they stand for, and their kind.
struct Group {
    chat: &'static [&'static str],
    catalog: &'static [&'static str],
    kind: Kind,
}

const GROUPS: &[Group] = &[
    // Dates and times: a message about a day is about the calendar.
    Group {
        chat: &[
            "today",
            "tonight",
            "tomorrow",
            "tomorow",
            "tommorow",
            "tommorrow",
            "tmorrow",
            "tmrw",
            "tmr",
            "tmrow",
            "tmw",
            "tomoro",
            "2moro",
            "2day",
            "yesterday",
            "mon",
            "monday",
            "tue",
            "tues",
            "tuesday",
            "wed",
            "weds",
            "wednesday",
            "thu",
            "thur",
            "thurs",
            "thursday",
            "fri",
            "friday",
            "sat",
            "saturday",
            "sun",
            "sunday",
            "weekend",
            "week",
            "wk",
            "weekly",
            "month",
            "monthly",
            "morning",
            "afternoon",
            "evening",
            "noon",
            "midday",
            "tonite",
            "pm",
            "oclock",
            "@time",
            "@date",
            "jan",
            "january",
            "feb",
            "february",
            "mar",
            "march",
            "apr",
            "april",
            "jun",
            "june",
            "jul",
            "july",
            "aug",
            "august",
            "sep",
            "sept",
            "september",
            "oct",
            "october",
            "nov",
            "november",
            "dec",
            "december",
            "hour",
            "hours",
            "hr",
            "minutes",
            "mins",
            "min",
            "schedule",
            "sched",
            "agenda",
            "diary",
            "upcoming",
            "daily",
            "fortnight",
            "eod",
            "weekday",
            "weekdays",
            "whens",
        ],
        catalog: &["event", "calendar", "time"],
        kind: Kind::Object,
    },
    Group {
        chat: &["calendar", "calender", "cal", "gcal"],
        catalog: &["calendar"],
        kind: Kind::Object,
    },
    // Things that happen at a time.
    Group {
        chat: &[
            "meeting",
            "meet",
            "mtg",
            "appointment",
            "appt",
            "call",
            "standup",
            "sync",
            "1on1",
            "lunch",
            "dinner",
            "breakfast",
            "brunch",
            "coffee",
            "drinks",
            "party",
            "birthday",
            "bday",
            "dentist",
            "doctor",
            "gym",
            "class",
            "lesson",
            "interview",
            "webinar",
            "conference",
            "reservation",
            "booking",
            "hangout",
            "catchup",
            "trip",
            "vacation",
            "holiday",
            "pto",
            "ooo",
            "concert",
            "practice",
            "workout",
            "date",
            "session",
            "shift",
            "recurring",
            "occurrence",
            "series",
            "offsite",
            "retreat",
            "kickoff",
            "townhall",
            "allhands",
            "demo",
            "review",
            "retro",
            "presentation",
            "workshop",
            "seminar",
            "wedding",
            "funeral",
            "visit",
        ],
        catalog: &["event", "calendar"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "free",
            "busy",
            "available",
            "availability",
            "slot",
            "gap",
            "clash",
            "conflict",
            "overlap",
        ],
        catalog: &["busy", "free", "availability", "calendar"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "invite",
            "invitation",
            "rsvp",
            "attend",
            "attending",
            "guest",
            "attendee",
            "organizer",
            "coming",
            "joining",
            "decline",
            "accept",
        ],
        catalog: &["invitation", "attendee", "guest", "event"],
        kind: Kind::Object,
    },
    Group {
        chat: &["remind", "reminder", "notify", "notification"],
        catalog: &["reminder", "event"],
        kind: Kind::Object,
    },
    // Notes and documents.
    Group {
        chat: &[
            "note",
            "notepad",
            "memo",
            "doc",
            "document",
            "wiki",
            "writeup",
            "journal",
            "draft",
            "idea",
            "recipe",
            "outline",
            "article",
            "notebook",
            "page",
            "essay",
            "brainstorm",
            "bookmark",
            "checklist",
            "shopping",
            "grocery",
            "groceries",
            "wishlist",
            "packing",
            "minutes",
            "handbook",
            "readme",
            "faq",
            "template",
            "post",
            "paragraph",
            "heading",
            "section",
            "bullet",
            "jot",
            "notes",
        ],
        catalog: &["page", "content", "block"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "todo",
            "task",
            "backlog",
            "ticket",
            "tracker",
            "kanban",
            "board",
            "project",
            "roadmap",
            "sprint",
            "issue",
            "bug",
            "okr",
            "goal",
            "habit",
            "crm",
            "inventory",
            "done",
            "undone",
            "completed",
        ],
        catalog: &["task", "database", "page", "status"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "table",
            "db",
            "spreadsheet",
            "sheet",
            "column",
            "field",
            "row",
            "property",
            "entry",
            "record",
            "tag",
            "status",
            "priority",
            "due",
            "deadline",
            "assignee",
        ],
        catalog: &["database", "row", "property"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "comment",
            "feedback",
            "reply",
            "remark",
            "discussion",
            "thread",
            "mention",
            "annotate",
        ],
        catalog: &["comment", "discussion"],
        kind: Kind::Object,
    },
    Group {
        chat: &[
            "people",
            "person",
            "member",
            "teammate",
            "colleague",
            "coworker",
            "team",
            "user",
            "workspace",
        ],
        catalog: &["user", "workspace"],
        kind: Kind::Object,
    },
    // Actions.
    Group {
        chat: &[
            "add", "new", "create", "make", "write", "start", "setup", "put", "schedule", "book",
            "plan", "log", "record", "save", "draft", "jot", "insert", "append", "capture",
            "store", "keep", "remember", "type", "organise", "organize", "arrange",
        ],
        catalog: &["create", "add", "append", "new"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "show",
            "list",
            "what",
            "whats",
            "whatre",
            "check",
            "see",
            "view",
            "display",
            "anything",
            "get",
            "tell",
            "give",
            "fetch",
            "pull",
            "upcoming",
            "next",
            "left",
            "happening",
            "planned",
            "going",
        ],
        catalog: &["list", "get"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "find", "search", "look", "lookup", "where", "wheres", "locate", "seek", "dig", "which",
        ],
        catalog: &["search", "find", "query"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "read",
            "open",
            "contents",
            "content",
            "say",
            "says",
            "said",
            "inside",
            "text",
            "body",
            "summarise",
            "summarize",
            "summary",
            "tldr",
            "recap",
            "written",
        ],
        catalog: &["content", "read"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "change",
            "edit",
            "update",
            "modify",
            "rename",
            "fix",
            "set",
            "mark",
            "tick",
            "reschedule",
            "postpone",
            "push",
            "delay",
            "shift",
            "bump",
            "extend",
            "shorten",
            "adjust",
            "correct",
            "tweak",
            "complete",
            "finish",
            "prepone",
            "earlier",
            "later",
        ],
        catalog: &["update", "change", "edit", "reschedule"],
        kind: Kind::Action,
    },
    Group {
        chat: &["move", "relocate", "transfer", "file"],
        catalog: &["move"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "delete",
            "remove",
            "erase",
            "trash",
            "drop",
            "kill",
            "cancel",
            "scrap",
            "clear",
            "nuke",
            "bin",
            "archive",
            "rid",
            "wipe",
            "del",
            "cancelled",
            "canceled",
        ],
        catalog: &["delete", "archive", "remove", "cancel"],
        kind: Kind::Action,
    },
    Group {
        chat: &["restore", "undo", "undelete", "recover", "unarchive"],
        catalog: &["restore"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "accept",
            "decline",
            "reject",
            "rsvp",
            "respond",
            "answer",
            "tentative",
        ],
        catalog: &["respond", "invitation"],
        kind: Kind::Action,
    },
];

/// The groups each stemmed chat word belongs to.
fn by_stem() -> &'static HashMap<String, Vec<usize>> {
    static MAP: OnceLock<HashMap<String, Vec<usize>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, group) in GROUPS.iter().enumerate() {
            for word in group.chat {
                let groups = map.entry(stem(word)).or_default();
                if !groups.contains(&index) {
                    groups.push(index);
                }
            }
        }
        map
    })
}

fn groups_of(word: &str) -> impl Iterator<Item = &'static Group> {
    let direct = GROUPS.iter().position(|g| g.chat.contains(&word));
    let stemmed = by_stem().get(&stem(word)).map_or(&[][..], Vec::as_slice);
    let mut indexes: Vec<usize> = stemmed.to_vec();
    if let Some(i) = direct
        && !indexes.contains(&i)
    {
        indexes.push(i);
    }
    indexes.into_iter().filter_map(|i| GROUPS.get(i))
}

/// The catalog words `word` (lower case, unstemmed) stands for, with their kind; plural and
/// inflected forms (`meetings`, `scheduled`) count as the word.
pub fn expand(word: &str) -> impl Iterator<Item = (&'static str, Kind)> {
    groups_of(word).flat_map(|g| g.catalog.iter().map(move |c| (*c, g.kind)))
}

/// Whether `word` (lower case, unstemmed) is known and only ever an action word.
#[must_use]
pub fn is_action(word: &str) -> bool {
    let mut groups = groups_of(word).peekable();
    groups.peek().is_some() && groups.all(|g| g.kind == Kind::Action)
}

/// Whether `word` is known to the table at all.
#[must_use]
pub fn knows(word: &str) -> bool {
    groups_of(word).next().is_some()
}

/// Every chat word the table knows, for spelling correction.
pub fn chat_words() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().flat_map(|g| g.chat.iter().copied())
}

/// Every chat word of the action groups.
pub fn action_chat_words() -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .filter(|g| g.kind == Kind::Action)
        .flat_map(|g| g.chat.iter().copied())
}

/// Every catalog word the table maps to; these are generic API words, treated as actions when
/// they appear in a message only in an action group.
pub fn catalog_action_words() -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .filter(|g| g.kind == Kind::Action)
        .flat_map(|g| g.catalog.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_words_point_to_the_calendar() {
        let terms: Vec<&str> = expand("thurs").map(|(t, _)| t).collect();
        assert!(terms.contains(&"event"));
        assert!(expand("thurs").all(|(_, k)| k == Kind::Object));
    }

    #[test]
    fn verbs_are_actions() {
        assert!(is_action("delete"));
        assert!(is_action("find"));
        assert!(!is_action("schedule"), "schedule also names the calendar");
        assert!(!is_action("weather"));
    }
}
