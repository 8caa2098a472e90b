//! Whether a message asks about the world rather than for the person's own things.
//!
//! A request wants the person's own data or an action on it: it says whose things they are
//! ("my notes", "our calendar"), asks about their time ("do I have", "tomorrow"), points at
//! something by an id or a link, or writes into one of the services ("in notion", "to my
//! calendar"). A general question asks how to do something, what something is, for advice, for
//! arithmetic on dates and times, for writing help, or about the assistant itself. The services'
//! words turn up in both ("tips for a 15 min standup", "how do I share my calendar"), so this is
//! decided by the message's shape, before and apart from which server or tool, and each kind of
//! general question is undone only by the signs of a request that can go with it: a how-to
//! question about "my calendar" is still a how-to question, a question about what something is
//! becomes a request when it is about "my" things or "today".

use super::lexicon;
use super::text;

/// The kinds of general questions, each undone by different signs of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// About the assistant itself ("do you keep my data", "what can you do").
    Assistant,
    /// How to do something, or advice ("how do I share my calendar", "tips for ...").
    HowTo,
    /// Writing help: a text to compose, or the quoted text to rework ("draft an agenda for ...").
    Writing,
    /// What something is ("what is time blocking", "is notion free").
    Knowledge,
    /// Arithmetic on dates and times ("3pm PST in CET", "how many days from ... to ...").
    Arithmetic,
    /// How the person feels ("i feel overwhelmed with meetings").
    Mood,
}

/// Words that open a message politely and say nothing about it.
const POLITE: &[&str] = &[
    "hey", "hi", "hello", "ok", "okay", "so", "pls", "please", "plz", "quick", "question", "btw",
    "um", "hmm", "and", "also", "oh",
];
/// Openings that ask the assistant to do what follows ("can you ...").
const ASKING: &[&str] = &[
    "can you",
    "could you",
    "would you",
    "will you",
    "can u",
    "could u",
    "i need you to",
    "i want you to",
];

/// Openings of each kind (words as [`text::words`] gives them, joined by spaces).
const OPENINGS: &[(&str, Kind)] = &[
    ("do you", Kind::Assistant),
    ("are you", Kind::Assistant),
    ("have you", Kind::Assistant),
    ("who are you", Kind::Assistant),
    ("who made you", Kind::Assistant),
    ("who built you", Kind::Assistant),
    ("what are you", Kind::Assistant),
    ("what can you", Kind::Assistant),
    ("what model", Kind::Assistant),
    ("who can see", Kind::Assistant),
    ("how do you work", Kind::Assistant),
    ("how do", Kind::HowTo),
    ("how do i", Kind::HowTo),
    ("how do you", Kind::HowTo),
    ("how do we", Kind::HowTo),
    ("how can i", Kind::HowTo),
    ("how can we", Kind::HowTo),
    ("how to", Kind::HowTo),
    ("how should", Kind::HowTo),
    ("how does", Kind::HowTo),
    ("how often", Kind::HowTo),
    ("how long should", Kind::HowTo),
    ("how long does", Kind::HowTo),
    ("how much should", Kind::HowTo),
    ("is there a way", Kind::HowTo),
    ("whats the best way", Kind::HowTo),
    ("whats a good way", Kind::HowTo),
    ("best way", Kind::HowTo),
    ("should i", Kind::HowTo),
    ("tips", Kind::HowTo),
    ("best practices", Kind::HowTo),
    ("whats a good", Kind::HowTo),
    ("any tips", Kind::HowTo),
    ("advice", Kind::HowTo),
    ("any advice", Kind::HowTo),
    ("recommend", Kind::HowTo),
    ("suggest", Kind::HowTo),
    ("ideas for", Kind::HowTo),
    ("remind me how", Kind::HowTo),
    ("remind me what", Kind::HowTo),
    ("remind me why", Kind::HowTo),
    ("write me a", Kind::Writing),
    ("write me an", Kind::Writing),
    ("write a", Kind::Writing),
    ("write an", Kind::Writing),
    ("write some", Kind::Writing),
    ("draft", Kind::Writing),
    ("rewrite", Kind::Writing),
    ("compose", Kind::Writing),
    ("rephrase", Kind::Writing),
    ("reword", Kind::Writing),
    ("proofread", Kind::Writing),
    ("give me a", Kind::Writing),
    ("give me an", Kind::Writing),
    ("give me some", Kind::Writing),
    ("come up with", Kind::Writing),
    ("help me write", Kind::Writing),
    ("help me draft", Kind::Writing),
    ("help me sketch", Kind::Writing),
    ("help me name", Kind::Writing),
    ("help me word", Kind::Writing),
    ("good name for", Kind::Writing),
    ("a good name for", Kind::Writing),
    ("help me come up with", Kind::Writing),
    ("what is", Kind::Knowledge),
    ("what even is", Kind::Knowledge),
    ("is there a limit", Kind::Mood),
    ("what are", Kind::Knowledge),
    ("whats a", Kind::Knowledge),
    ("whats an", Kind::Knowledge),
    ("whats the difference", Kind::Knowledge),
    ("whats the point", Kind::Knowledge),
    ("whats the best", Kind::Knowledge),
    ("whats another", Kind::Knowledge),
    ("whats the ideal", Kind::Knowledge),
    ("whats the usual", Kind::Knowledge),
    ("whats the typical", Kind::Knowledge),
    ("whats the etiquette", Kind::Knowledge),
    ("whats the right", Kind::Knowledge),
    ("whats the proper", Kind::Knowledge),
    ("pros and cons", Kind::Knowledge),
    ("what time does", Kind::Knowledge),
    ("difference between", Kind::Knowledge),
    ("what should", Kind::Knowledge),
    ("what year", Kind::Knowledge),
    ("why", Kind::Knowledge),
    ("explain", Kind::Knowledge),
    ("can you explain", Kind::Knowledge),
    ("define", Kind::Knowledge),
    ("tell me about", Kind::Knowledge),
    ("tell me a", Kind::Knowledge),
    ("who is", Kind::Knowledge),
    ("who was", Kind::Knowledge),
    ("who won", Kind::Knowledge),
    ("who invented", Kind::Knowledge),
    ("who wrote", Kind::Knowledge),
    ("when was", Kind::Knowledge),
    ("is it", Kind::Knowledge),
    ("compare", Kind::Knowledge),
    ("which is better", Kind::Knowledge),
    ("convert", Kind::Arithmetic),
    ("calculate", Kind::Arithmetic),
    ("if i", Kind::Arithmetic),
    ("i feel", Kind::Mood),
    ("im feeling", Kind::Mood),
    ("feeling", Kind::Mood),
    ("im so", Kind::Mood),
    ("i am so", Kind::Mood),
    ("ugh", Kind::Mood),
    ("i hate", Kind::Mood),
    ("i love", Kind::Mood),
    ("i have so many", Kind::Mood),
    ("i have too many", Kind::Mood),
    ("thanks", Kind::Mood),
    ("thank you", Kind::Mood),
    ("thx", Kind::Mood),
];

/// Verbs that rework the text a message quotes ("summarise this: ...", "translate '...'").
const REWORK: &[&str] = &[
    "tldr",
    "summarise",
    "summarize",
    "translate",
    "fix",
    "shorten",
    "make",
    "turn",
    "correct",
    "polish",
    "tidy",
];
/// Words that say the quoted text is the name of something, not a text to rework.
const NAMING: &[&str] = &["called", "named", "titled", "entitled"];
/// Words in "-ing" that ask what is going on rather than what something is.
const ONGOING: &[&str] = &[
    "happening",
    "coming",
    "going",
    "upcoming",
    "pending",
    "outstanding",
    "remaining",
    "missing",
    "something",
    "anything",
    "everything",
    "nothing",
];
/// Words that make what follows a thing of the message's own.
const DETERMINERS: &[&str] = &["the", "my", "a", "an", "our", "this", "that", "your"];
/// Words after a rework verb that point at the message's own text.
const THIS: &[&str] = &["this", "that", "it", "these"];

/// Words anywhere in a message that ask for advice.
const ADVICE: &[&str] = &[
    "tips",
    "advice",
    "recommendations",
    "suggestions",
    "recommend",
];
/// Phrases anywhere in a message that ask how to do something, in a later sentence as well
/// ("my schedule is insane, how do i say no"), or about an app's keys.
const HOW_ANYWHERE: &[&str] = &[
    "how do i",
    "how can i",
    "how should i",
    "keyboard shortcut",
    "shortcut",
    "shortcuts",
    "hotkey",
];
/// Phrases anywhere in a message that compare or weigh things ("25 or 50 min meetings, which is
/// better", "cornell notes vs zettelkasten").
const COMPARING: &[&str] = &[
    "difference between",
    "which is better",
    "which should i",
    "which one should i",
    "vs",
    "versus",
    "what happens to",
    "what happens if",
];

/// Time zone names: a message that names one converts times.
const TIME_ZONES: &[&str] = &[
    "utc", "gmt", "pst", "pdt", "est", "edt", "cst", "cdt", "mst", "mdt", "cet", "cest", "eet",
    "eest", "wet", "west", "bst", "ist", "jst", "kst", "aest", "aedt", "nzst", "nzdt", "sgt",
    "hkt",
];
/// Units of time that "how many" counts in arithmetic.
const UNITS: &[&str] = &[
    "days", "weeks", "months", "years", "hours", "minutes", "mins", "seconds", "working",
    "business", "weekdays", "weekends", "sundays", "mondays",
];
/// Phrases of calendar arithmetic.
const ARITHMETIC: &[&str] = &[
    "day of the week",
    "week number",
    "leap year",
    "days between",
    "days from",
    "days until",
    "days till",
    "weeks between",
    "weeks until",
    "how long until",
    "how long till",
    // "3pm in new york is what time in tokyo" (not "what time is it in tokyo": the clock now).
    "is what time in",
    "when does it end",
    "what time does it end",
];
/// Words that say the things are the person's own.
const OWNER: &[&str] = &["my", "mine", "our", "ours", "myself"];
/// Words before an owner word that make its noun someone the text is for, not whose things
/// they are ("a message for my coworker").
const BENEFICIARY: &[&str] = &[
    "for", "with", "w", "like", "than", "to", "send", "tell", "email", "text",
];
/// Phrases that ask about the person's own time or things.
const PERSONAL: &[&str] = &[
    "do i have",
    "do i need to",
    "have i got",
    "ive got",
    "am i",
    "have i",
    "did i",
    "did we",
    "i have",
    "do we have",
    "are we",
    "is there",
    "are there",
    "anything",
];
/// Words that place a question in the person's own time.
const NOW: &[&str] = &[
    "today",
    "tonight",
    "tomorrow",
    "tmrw",
    "tmr",
    "tomorow",
    "tommorow",
    "yesterday",
    "now",
    "todays",
    "tomorrows",
];
/// Words after "this", "next" or "last" that place a question in the person's own time.
const PERIODS: &[&str] = &[
    "week",
    "weekend",
    "month",
    "morning",
    "afternoon",
    "evening",
];
/// Verbs that, opening a message, act on the person's things.
const ACTS: &[&str] = &[
    "show",
    "list",
    "add",
    "put",
    "schedule",
    "book",
    "block",
    "move",
    "cancel",
    "delete",
    "remove",
    "create",
    "find",
    "search",
    "look",
    "open",
    "pull",
    "check",
    "mark",
    "rename",
    "archive",
    "update",
    "change",
    "accept",
    "decline",
    "clear",
    "invite",
    "remind",
    "ping",
    "nudge",
    "wake",
    "alert",
    "note",
    "jot",
    "save",
    "log",
    "set",
    "reschedule",
    "push",
    "get",
    "read",
    "share",
    "plan",
    "organise",
    "organize",
];
/// Words after "in", "into", "to" or "on" that say where a text goes.
const PLACES: &[&str] = &[
    "notion",
    "page",
    "pages",
    "database",
    "db",
    "calendar",
    "cal",
    "doc",
    "docs",
    "notes",
    "wiki",
    "workspace",
    "list",
    "todo",
    "tracker",
];
/// Company names that come before a product's name ("google calendar").
/// Names of products and the companies behind them: a yes-or-no question that opens with one is
/// about the product ("is notion free", "does google calendar work offline").
const BRANDS: &[&str] = &[
    "google",
    "microsoft",
    "apple",
    "outlook",
    "notion",
    "slack",
    "zoom",
    "teams",
    "obsidian",
    "evernote",
    "todoist",
    "trello",
];

/// What the message says besides its words.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signs {
    /// Whether it quotes or dictates text (the payload of [`text::frame_and_payload`]).
    pub payload: bool,
    /// Whether it holds an id or a link.
    pub pointer: bool,
}

/// The kind of general question `frame` (lower case, from [`text::frame_and_payload`]) asks, or
/// `None` when it is a request or neither. `names_server(word)` says whether a word names a
/// configured server.
#[must_use]
pub fn general(frame: &str, signs: Signs, names_server: impl Fn(&str) -> bool) -> Option<Kind> {
    let all = text::words(frame);
    let mut words: &[String] = &all;
    // Polite openings and "can you" say nothing about the kind.
    loop {
        if let Some((first, rest)) = words.split_first()
            && POLITE.contains(&first.as_str())
        {
            words = rest;
            continue;
        }
        let joined = words.join(" ");
        if joined.starts_with("can you explain") {
            break;
        }
        match ASKING
            .iter()
            .find(|a| joined == **a || joined.starts_with(&format!("{a} ")))
        {
            Some(a) => words = words.get(a.split(' ').count()..).unwrap_or_default(),
            None => break,
        }
    }
    let joined = format!(" {} ", words.join(" "));
    let has = |phrase: &str| joined.contains(&format!(" {phrase} "));
    let opens = |phrase: &str| joined.starts_with(&format!(" {phrase} "));
    let first = words.first().map_or("", String::as_str);
    let second = words.get(1).map_or("", String::as_str);

    let acts = ACTS.contains(&first) || has("write down") || has("note down");
    let acts_anywhere = acts || words.iter().any(|w| ACTS.contains(&w.as_str()));
    let owner = words.iter().enumerate().any(|(i, w)| {
        OWNER.contains(&w.as_str())
            && !i
                .checked_sub(1)
                .and_then(|j| words.get(j))
                .is_some_and(|b| BENEFICIARY.contains(&b.as_str()))
    });
    let personal = PERSONAL.iter().any(|p| has(p)) && !has("is there a way");
    let now = words.iter().any(|w| NOW.contains(&w.as_str()))
        || ["this", "next", "last"]
            .iter()
            .any(|w| PERIODS.iter().any(|p| has(&format!("{w} {p}"))));
    let destination = words.windows(2).any(|pair| {
        matches!(pair[0].as_str(), "in" | "into" | "to" | "onto" | "on")
            && (PLACES.contains(&pair[1].as_str()) || names_server(&pair[1]))
    }) || words.windows(3).any(|w| {
        matches!(w[0].as_str(), "in" | "into" | "to" | "onto" | "on")
            && (OWNER.contains(&w[1].as_str()) || w[1] == "the" || w[1] == "a")
            && (PLACES.contains(&w[2].as_str()) || names_server(&w[2]))
    }) || words.windows(4).any(|w| {
        // "put it on the Retros page": a place named by its title.
        matches!(w[0].as_str(), "in" | "into" | "to" | "onto" | "on")
            && (OWNER.contains(&w[1].as_str()) || w[1] == "the")
            && PLACES.contains(&w[3].as_str())
    });

    let mut kind = OPENINGS
        .iter()
        .filter(|(phrase, _)| opens(phrase))
        .max_by_key(|(phrase, _)| phrase.len())
        .map(|(_, kind)| *kind);
    // "make a new calendar called 'Kids'": the quoted text names a thing to create.
    let names_a_thing = NAMING.iter().any(|w| has(w));
    if kind.is_none()
        && REWORK.contains(&first)
        && ((signs.payload && !names_a_thing) || THIS.contains(&second))
    {
        kind = Some(Kind::Writing);
    }
    // "whats time blocking", "whats timeboxing": what a practice is. A thing the services know
    // ("whats the meeting about", "whats this morning like") is not a practice.
    if kind.is_none()
        && opens("whats")
        && !DETERMINERS.contains(&second)
        && words.iter().skip(1).take(2).any(|w| {
            w.len() > 5
                && w.ends_with("ing")
                && !ONGOING.contains(&w.as_str())
                && lexicon::expand(w).next().is_none()
        })
    {
        kind = Some(Kind::Knowledge);
    }
    // "give me 5 ideas for ...", "5 ideas for a team offsite".
    if kind.is_none()
        && ((opens("give me") && words.get(2).is_some_and(|w| text::is_number(w)))
            || (text::is_number(first) && matches!(second, "ideas" | "names" | "ways" | "tips")))
    {
        kind = Some(Kind::Writing);
    }
    // "what does EOD mean", "what does OOO stand for".
    if kind.is_none()
        && (opens("what does") || opens("what do"))
        && (has("mean") || has("stand for"))
    {
        kind = Some(Kind::Knowledge);
    }
    // "does notion ...", "is google calendar ...", "can a google calendar event ...": a
    // question about a product.
    let third = words.get(2).map_or("", String::as_str);
    let product = |w: &str| names_server(w) || BRANDS.contains(&w);
    if kind.is_none()
        && matches!(first, "is" | "does" | "can" | "do" | "are" | "will")
        && (product(second) || (matches!(second, "a" | "an" | "the") && product(third)))
    {
        kind = Some(Kind::Knowledge);
    }
    // "what markdown does notion support": what a product can do.
    if kind.is_none()
        && words.windows(3).any(|w| {
            matches!(w[0].as_str(), "does" | "do") && product(&w[1]) && w[2].starts_with("support")
        })
    {
        kind = Some(Kind::Knowledge);
    }
    // "what sections should a kickoff page have".
    if kind.is_none() && first == "what" && third == "should" {
        kind = Some(Kind::Knowledge);
    }
    if kind.is_none() && HOW_ANYWHERE.iter().any(|p| has(p)) {
        kind = Some(Kind::HowTo);
    }
    if kind.is_none() && COMPARING.iter().any(|p| has(p)) {
        kind = Some(Kind::Knowledge);
    }
    // "if 12 people sit in a 90 min meeting ...".
    if kind.is_none() && first == "if" && text::is_number(second) {
        kind = Some(Kind::Arithmetic);
    }
    if kind.is_none() && arithmetic(words, &joined) {
        kind = Some(Kind::Arithmetic);
    }
    if kind.is_none() && words.iter().any(|w| ADVICE.contains(&w.as_str())) {
        kind = Some(Kind::Mood);
    }
    let kind = kind?;
    let request = match kind {
        Kind::Assistant => false,
        Kind::HowTo => signs.pointer,
        // "rewrite the About page with this": a text of theirs to change.
        Kind::Writing => {
            signs.pointer || destination || (owner && !opens("write me")) || second == "the"
        }
        // "who is tomasz in notion": a person looked up in a service.
        Kind::Knowledge => {
            signs.pointer
                || owner
                || personal
                || now
                || (first.starts_with("who") && words.iter().any(|w| names_server(w)))
        }
        Kind::Arithmetic => signs.pointer || owner || personal || acts || destination,
        Kind::Mood => signs.pointer || acts_anywhere,
    };
    (!request).then_some(kind)
}

/// Whether `words` compute with dates and times: time zones, "how many days from ... to ...",
/// "45 min after 13:50", "17% of 2340".
fn arithmetic(words: &[String], joined: &str) -> bool {
    let has = |phrase: &str| joined.contains(&format!(" {phrase} "));
    if words.iter().any(|w| TIME_ZONES.contains(&w.as_str())) || ARITHMETIC.iter().any(|p| has(p)) {
        return true;
    }
    let numeric = |w: &str| w.chars().next().is_some_and(|c| c.is_ascii_digit());
    words
        .windows(2)
        .any(|pair| pair[0] == "many" && UNITS.contains(&pair[1].as_str()))
        || words.windows(3).any(|w| {
            // "45 min after 13:50", "3/8 of 120".
            (numeric(&w[0])
                && matches!(
                    w[1].as_str(),
                    "min" | "mins" | "minutes" | "hours" | "hrs" | "h" | "days" | "weeks"
                )
                && matches!(w[2].as_str(), "after" | "before" | "from"))
                || (numeric(&w[0]) && w[1] == "of" && numeric(&w[2]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(message: &str) -> Option<Kind> {
        let (frame, payload) = text::frame_and_payload(message);
        let signs = Signs {
            payload: !payload.trim().is_empty(),
            pointer: message.contains("http")
                || text::words(message).iter().any(|w| text::is_identifier(w)),
        };
        general(&frame, signs, |w| w == "notion" || w == "gcal")
    }

    #[test]
    fn conversions_product_questions_summaries_and_recommendations_are_general() {
        for message in [
            "3pm in new york is what time in tokyo",
            "what markdown does notion support",
            "tldr this: 'The committee met on Tuesday and agreed to postpone the vote.'",
            "one big tasks database or separate ones per project? what do ppl recommend",
            "is there a limit on how many guests a google calendar event can have",
            "help me word a polite msg to my landlord asking to reschedule the inspection",
            "if a meeting starts at 10:40 and runs 95 min when does it end",
            "write a short reminder msg i can send my team about friday's deadline",
            "5 ideas for a team offsite pls",
            "good name for a notion page where i keep recipes? something cute",
        ] {
            assert!(kind(message).is_some(), "{message}");
        }
        for message in [
            "what time is it in tokyo rn",
            "write a quick agenda for thursday's retro and put it on the Retros page",
            "summarize https://www.notion.so/Offsite-Planning-d013082e9585fd47cfc45d36db4a20b6",
        ] {
            assert_eq!(kind(message), None, "{message}");
        }
    }

    #[test]
    fn general_questions_are_told_from_requests() {
        assert_eq!(
            kind("how do i share my google calendar with my partner"),
            Some(Kind::HowTo)
        );
        assert_eq!(kind("tips for running a 15 min standup"), Some(Kind::HowTo));
        assert_eq!(
            kind("draft an agenda for a 1h kickoff with a new client"),
            Some(Kind::Writing)
        );
        assert_eq!(
            kind("write a short bday message for my coworker jess"),
            Some(Kind::Writing)
        );
        assert_eq!(kind("3pm PST in CET?"), Some(Kind::Arithmetic));
        assert_eq!(
            kind("how many days from 2026-12-09 to 2027-03-01"),
            Some(Kind::Arithmetic)
        );
        assert_eq!(kind("what's 45 min after 13:50"), Some(Kind::Arithmetic));
        assert_eq!(
            kind("do you keep my data or is it gone after the chat?"),
            Some(Kind::Assistant)
        );
        assert_eq!(
            kind("whats the difference between a notion database and a page"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("is notion free for personal use"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("summarise this in 2 sentences: the launch slipped a week"),
            Some(Kind::Writing)
        );
        assert_eq!(
            kind("can a google calendar event start in one time zone and end in another?"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("whats the actual difference between a page and a database in notion"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("whats the keyboard shortcut in notion for a toggle list"),
            Some(Kind::HowTo)
        );
        assert_eq!(
            kind("my schedule is insane this month, how do i say no to things"),
            Some(Kind::HowTo)
        );
        assert_eq!(
            kind("what sections should a project kickoff page have"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("is notion better than obsidian"),
            Some(Kind::Knowledge)
        );
        assert_eq!(
            kind("if 12 people sit in a 90 min meeting, how much did it cost"),
            Some(Kind::Arithmetic)
        );
    }

    #[test]
    fn requests_that_look_like_them_are_not() {
        for request in [
            "what is on my calendar tomorrow",
            "how many days until my vacation",
            "draft an agenda page for the client kickoff in notion",
            "write my standup update into today's notion page",
            "summarise the meeting notes from monday",
            "schedule a call at 10am EST friday with the NY team",
            "tell me about my day",
            "is the 5th of jan free for a day trip",
            "can you add lunch with sam on friday",
            "what is the date today",
            "tell me about my day",
            "rewrite the whole About me page with this: Hi, I'm Jana.",
            "thanks, now add lunch with sam on friday",
            "what does the project brief say about deadlines",
            "who is tomasz in notion, i need his user id to tag him",
        ] {
            assert_eq!(kind(request), None, "{request}");
        }
    }
}
