//! How people say things in chat, mapped to the words tool descriptions use.
//!
//! A person writes "whats on thurs" or "jot this down"; a calendar tool says "list events" and a
//! notes tool says "create page". Each group below maps chat words (and their common short
//! forms) to the generic words of calendar, notes, task and comment APIs, marked as naming a
//! thing (object) or an action. Only object words can make a server win; action words rank the
//! tools of a server that already won. The table is vocabulary, not a list of phrases: it does
//! not know any particular server's tool names.
//!
//! Smaller tables help decide whether a message is a request at all: words that name what other
//! services do ([`is_elsewhere`]: the weather, a flight, music) and other apps, and the verbs that
//! ask to find or add something ([`intent`]), which make a request of a message whose object is a
//! name the catalog cannot know ("search for Bars Probe"). General questions are told apart by
//! their shape in [`super::general`].

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
    // An object id of 32 hex digits names a page, a block or a database of a notes app.
    Group {
        chat: &["@id"],
        catalog: &["page", "block"],
        kind: Kind::Object,
    },
    Group {
        chat: &["calendar", "calender", "cal", "gcal"],
        catalog: &["calendar"],
        kind: Kind::Object,
    },
    // The date and time it is now.
    Group {
        chat: &["date", "time", "clock", "timezone"],
        catalog: &["current", "time"],
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
            "items", "entries", "rows", "records", "filter", "filtered", "columns",
        ],
        catalog: &["row", "database", "query"],
        kind: Kind::Object,
    },
    // A state that picks some of a database's rows ("tasks that arent done").
    Group {
        chat: &[
            "done",
            "undone",
            "completed",
            "unfinished",
            "incomplete",
            "pending",
            "overdue",
            "outstanding",
            "remaining",
            "left",
            "arent",
            "isnt",
            "still",
        ],
        catalog: &["query", "filter"],
        kind: Kind::Action,
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
    // What the assistant is connected through ("which workspace is this hooked up to").
    Group {
        chat: &["connected", "connection", "hooked", "linked", "integration"],
        catalog: &["connection", "integration"],
        kind: Kind::Object,
    },
    // Actions.
    Group {
        chat: &[
            "add", "new", "create", "make", "write", "start", "setup", "put", "stick", "schedule",
            "book", "plan", "log", "record", "save", "draft", "jot", "insert", "append", "capture",
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
            "which",
        ],
        catalog: &["list", "get"],
        kind: Kind::Action,
    },
    Group {
        chat: &[
            "find", "search", "look", "lookup", "where", "wheres", "locate", "seek", "dig",
            "which", "when", "whens",
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
            "move",
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
    // Deleting a page moves it to the trash.
    Group {
        chat: &[
            "delete", "remove", "erase", "trash", "bin", "scrap", "archive", "del", "discard",
        ],
        catalog: &["trash", "archive"],
        kind: Kind::Action,
    },
    Group {
        chat: &["wipe", "clear", "empty", "everything"],
        catalog: &["clear"],
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

/// Other spellings and short forms of catalog words, read as the word itself.
const SPELLINGS: &[(&str, &str)] = &[
    ("calender", "calendar"),
    ("cal", "calendar"),
    ("cals", "calendars"),
    ("gcal", "calendar"),
    ("colour", "color"),
    ("colours", "colors"),
    ("db", "database"),
    ("dbs", "databases"),
];

/// Words that name what other services do: messages, media, travel, shopping, money, devices,
/// news and the web. A message about these more than about the catalog's things is not for the
/// catalog, unless the catalog itself knows the word (checked by the caller).
const ELSEWHERE: &[&str] = &[
    // Messages.
    "email",
    "emails",
    "mail",
    "inbox",
    "sms",
    "voicemail",
    "tweet",
    // Media.
    "music",
    "song",
    "songs",
    "playlist",
    "album",
    "podcast",
    "radio",
    "movie",
    "movies",
    "film",
    "video",
    "videos",
    "tv",
    "episode",
    "photo",
    "photos",
    "picture",
    "pictures",
    // Travel and getting around.
    "flight",
    "flights",
    "airline",
    "airport",
    "hotel",
    "taxi",
    "cab",
    "directions",
    "traffic",
    "parking",
    // Shopping, food and money.
    "pizza",
    "delivery",
    "takeout",
    "cart",
    "purchase",
    "buy",
    "price",
    "prices",
    "stock",
    "stocks",
    "crypto",
    "bitcoin",
    "bank",
    "balance",
    "pay",
    "payment",
    "electricity",
    "mortgage",
    "loan",
    // Devices and the home.
    "alarm",
    "alarms",
    "timer",
    "lights",
    "lamp",
    "thermostat",
    "heating",
    "volume",
    "bluetooth",
    "vacuum",
    "phone",
    "battery",
    // News, weather and the web.
    "weather",
    "forecast",
    "temperature",
    "rain",
    "news",
    "headlines",
    "trending",
    "score",
    "scores",
    "match",
    "online",
    "internet",
    "upload",
    "download",
    // What a model answers from its own knowledge.
    "joke",
    "jokes",
    "poem",
    "riddle",
];

/// Names of other apps and services: a message that names one is for it, unless it also names
/// a configured server (checked by the caller).
const OTHER_APPS: &[&str] = &[
    "gmail",
    "outlook",
    "whatsapp",
    "imessage",
    "twitter",
    "instagram",
    "facebook",
    "tiktok",
    "reddit",
    "linkedin",
    "snapchat",
    "spotify",
    "youtube",
    "netflix",
    "airbnb",
    "uber",
    "lyft",
    "amazon",
    "ebay",
    "paypal",
    "venmo",
    "jira",
    "github",
    "gitlab",
    "trello",
    "asana",
    "dropbox",
    "onedrive",
    "excel",
    "powerpoint",
    "alexa",
    "siri",
];

/// What a request verb asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// To find, look up or open something.
    Find,
    /// To add or create something.
    Add,
}

/// Verbs that, with a name the catalog cannot know, make a request of a message.
const INTENTS: &[(&str, Intent)] = &[
    ("search", Intent::Find),
    ("find", Intent::Find),
    ("look", Intent::Find),
    ("lookup", Intent::Find),
    ("locate", Intent::Find),
    ("open", Intent::Find),
    ("pull", Intent::Find),
    ("where", Intent::Find),
    ("wheres", Intent::Find),
    ("dig", Intent::Find),
    ("wrote", Intent::Find),
    // Changing or removing something by its name needs it found first.
    ("rename", Intent::Find),
    ("delete", Intent::Find),
    ("remove", Intent::Find),
    ("archive", Intent::Find),
    ("edit", Intent::Find),
    ("update", Intent::Find),
    ("move", Intent::Find),
    ("reschedule", Intent::Find),
    ("cancel", Intent::Find),
    ("add", Intent::Add),
    ("write", Intent::Add),
    ("create", Intent::Add),
    ("jot", Intent::Add),
    ("save", Intent::Add),
    ("log", Intent::Add),
    ("schedule", Intent::Add),
];

/// Names of days and months and the days near today, as written in chat.
const DAYS_AND_MONTHS: &[&str] = &[
    "today",
    "tonight",
    "tomorrow",
    "tmrw",
    "tmr",
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
];

/// Whether `word` (lower case) names a day or a month.
#[must_use]
pub fn is_day_or_month(word: &str) -> bool {
    DAYS_AND_MONTHS.contains(&word)
}

/// Whether `word` (lower case) names something other services do.
#[must_use]
pub fn is_elsewhere(word: &str) -> bool {
    ELSEWHERE.contains(&word)
}

/// Whether `word` (lower case) names another app or service.
#[must_use]
pub fn is_other_app(word: &str) -> bool {
    OTHER_APPS.contains(&word)
}

/// The catalog word that `word` (lower case) is another spelling or short form of.
#[must_use]
pub fn spelling(word: &str) -> Option<&'static str> {
    SPELLINGS
        .iter()
        .find(|(other, _)| *other == word)
        .map(|(_, catalog)| *catalog)
}

/// The request a verb (lower case, unstemmed or stemmed) makes, if it is one of [`INTENTS`].
#[must_use]
pub fn intent(word: &str) -> Option<Intent> {
    let stemmed = stem(word);
    INTENTS
        .iter()
        .find(|(verb, _)| *verb == word || stem(verb) == stemmed)
        .map(|(_, intent)| *intent)
}

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

/// The catalog words `word` (lower case, unstemmed) stands for, with their kind and whether each
/// is its group's first (what the word means, rather than something related); plural and
/// inflected forms (`meetings`, `scheduled`) count as the word.
pub fn expand(word: &str) -> impl Iterator<Item = (&'static str, Kind, bool)> {
    groups_of(word).flat_map(|g| {
        g.catalog
            .iter()
            .enumerate()
            .map(move |(i, c)| (*c, g.kind, i == 0))
    })
}

/// Whether `word` (lower case, unstemmed) is known and only ever an action word.
#[must_use]
pub fn is_action(word: &str) -> bool {
    let mut groups = groups_of(word).peekable();
    groups.peek().is_some() && groups.all(|g| g.kind == Kind::Action)
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
        let terms: Vec<&str> = expand("thurs").map(|(t, _, _)| t).collect();
        assert!(terms.contains(&"event"));
        assert!(expand("thurs").all(|(_, k, _)| k == Kind::Object));
    }

    #[test]
    fn other_services_and_general_questions_are_told_apart() {
        assert!(is_elsewhere("weather") && is_other_app("spotify"));
        assert_eq!(spelling("calender"), Some("calendar"));
        assert!(!is_elsewhere("meeting") && !is_elsewhere("page"));
        assert_eq!(intent("searching"), Some(Intent::Find));
        assert_eq!(intent("add"), Some(Intent::Add));
        assert_eq!(intent("tell"), None);
    }

    #[test]
    fn verbs_are_actions() {
        assert!(is_action("delete"));
        assert!(is_action("find"));
        assert!(!is_action("schedule"), "schedule also names the calendar");
        assert!(!is_action("weather"));
    }
}
