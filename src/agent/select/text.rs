//! Turning chat text and tool text into comparable terms: words split on punctuation, `snake_case`
//! and `camelCase`, lower-cased, stop words dropped, light suffix stripping, times and dates
//! recognised, and misspellings mapped to a known word by edit distance.

/// The most characters of one text that are read.
const MAX_TEXT_CHARS: usize = 8192;
/// The most words taken from one text.
const MAX_WORDS: usize = 512;

/// Common English function words and chat filler that say nothing about which tool is wanted.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "e",
    "eg",
    "for",
    "from",
    "got",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "how",
    "i",
    "id",
    "if",
    "im",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "kind",
    "know",
    "let",
    "lets",
    "like",
    "ll",
    "me",
    "might",
    "mine",
    "more",
    "most",
    "much",
    "must",
    "my",
    "need",
    "needs",
    "no",
    "not",
    "now",
    "of",
    "off",
    "oh",
    "ok",
    "okay",
    "on",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "please",
    "plz",
    "re",
    "s",
    "she",
    "should",
    "so",
    "some",
    "such",
    "t",
    "than",
    "thank",
    "thanks",
    "thx",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "to",
    "too",
    "u",
    "uh",
    "um",
    "up",
    "us",
    "use",
    "ve",
    "very",
    "via",
    "want",
    "wanna",
    "was",
    "way",
    "we",
    "well",
    "were",
    "when",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yeah",
    "yes",
    "you",
    "your",
    "yours",
    "yo",
    "d",
    "m",
    "gonna",
    "gotta",
    "really",
    "maybe",
    "same",
    "each",
    "every",
    "given",
    "etc",
    "using",
    "used",
    "default",
    "optionally",
    "otherwise",
    "instead",
    "http",
    "https",
    "www",
    "com",
    "org",
    "good",
    "great",
    "nice",
    "cool",
    "lol",
    "haha",
    "hello",
    "w",
    "pls",
    "rn",
    "tho",
    "self",
];

/// Whether `word` looks like an identifier (letters and digits mixed, long): neutral evidence.
#[must_use]
pub fn is_identifier(word: &str) -> bool {
    word.len() >= 8
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(char::is_alphabetic)
}

/// A marker term for an object id of 32 hex digits (a UUID, with or without its dashes), the
/// shape of a notes app's page, block and database ids.
pub const ID_TERM: &str = "@id";

/// Whether `word` is an object id: 32 hex digits, letters and digits mixed.
#[must_use]
pub fn is_object_id(word: &str) -> bool {
    word.len() == 32
        && word.chars().all(|c| c.is_ascii_hexdigit())
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(|c| c.is_ascii_alphabetic())
}

/// `text` with every UUID (`8-4-4-4-12` hex digits) written without its dashes, so that
/// [`words`] keeps it one word that [`is_object_id`] recognises.
#[must_use]
pub fn join_uuids(text: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let chars: Vec<char> = text.chars().take(MAX_TEXT_CHARS).collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = i
            .checked_sub(1)
            .and_then(|j| chars.get(j))
            .is_none_or(|c| !c.is_alphanumeric());
        let mut end = i;
        let mut matched = starts;
        for (n, len) in GROUPS.iter().enumerate() {
            if !matched {
                break;
            }
            if n > 0 {
                matched = chars.get(end) == Some(&'-');
                end += 1;
            }
            matched = matched
                && chars
                    .get(end..end + len)
                    .is_some_and(|g| g.iter().all(char::is_ascii_hexdigit));
            end += len;
        }
        if matched && chars.get(end).is_none_or(|c| !c.is_alphanumeric()) {
            out.extend(chars[i..end].iter().filter(|c| **c != '-'));
            i = end;
        } else {
            if let Some(c) = chars.get(i) {
                out.push(*c);
            }
            i += 1;
        }
    }
    out
}

/// Whether `word` (lower case, unstemmed) is a stop word.
#[must_use]
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// The lower-case words of `text`, split on anything that is not a letter or digit and at
/// `camelCase` boundaries, bounded in number. Apostrophes join (`what's` → `whats`); a `:` after
/// digits stays (`10:30`), and so do `/`, `.` and `-` between digits (`14/03`, `2026-04-02`), so
/// that [`marker`] can read times and dates.
#[must_use]
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    let mut chars = text.chars().take(MAX_TEXT_CHARS).peekable();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '’' {
            continue;
        }
        let numeric = !current.is_empty()
            && current
                .chars()
                .all(|d| d.is_ascii_digit() || matches!(d, '/' | '.' | '-'));
        let joins_digits = numeric
            && matches!(c, '/' | '.' | '-')
            && chars.peek().is_some_and(char::is_ascii_digit);
        if c.is_alphanumeric()
            || joins_digits
            || (c == ':' && !current.is_empty() && current.chars().all(|d| d.is_ascii_digit()))
        {
            if c.is_uppercase() && prev_lower && !current.is_empty() {
                push_word(&mut out, &mut current);
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            push_word(&mut out, &mut current);
        }
        if out.len() >= MAX_WORDS {
            return out;
        }
    }
    push_word(&mut out, &mut current);
    out
}

fn push_word(out: &mut Vec<String>, current: &mut String) {
    let word = current.trim_end_matches(':');
    if !word.is_empty() {
        out.push(word.to_owned());
    }
    current.clear();
}

/// A marker term for a clock time (`3pm`, `10:30`, `15h`).
pub const TIME_TERM: &str = "@time";
/// A marker term for a calendar date (`5/12`, `2026-05-01`, `12th`).
pub const DATE_TERM: &str = "@date";

/// Recognises clock times and dates written in digits: `3pm`, `10:30`, `12th`, and numeric dates
/// (`14/03`, `3/5`, `12.06`, `10/11/2026`, `2026-04-02`).
#[must_use]
pub fn marker(word: &str) -> Option<&'static str> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    if numeric_date(word) {
        return Some(DATE_TERM);
    }
    let rest = &word[digits..];
    match rest {
        "am" | "pm" | "h" | "hr" | "hrs" | "oclock" => Some(TIME_TERM),
        "st" | "nd" | "rd" | "th" => Some(DATE_TERM),
        _ if rest.starts_with(':') && rest.len() > 1 => Some(TIME_TERM),
        _ if rest.starts_with('.')
            && rest
                .get(1..3)
                .is_some_and(|m| m.chars().all(|c| c.is_ascii_digit()))
            && matches!(rest.get(3..), Some("am" | "pm" | "h")) =>
        {
            Some(TIME_TERM)
        }
        _ => None,
    }
}

/// Whether `word` is a date in digits: day and month (either order) with `/` or `.` and an
/// optional year, or an ISO date `yyyy-mm-dd`.
fn numeric_date(word: &str) -> bool {
    let Some(separator) = ['/', '.', '-'].into_iter().find(|&s| word.contains(s)) else {
        return false;
    };
    let parts: Vec<&str> = word.split(separator).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    let day_month = |a: &str, b: &str| {
        let (a, b) = (number(a), number(b));
        (1..=31).contains(&a) && (1..=31).contains(&b) && (a <= 12 || b <= 12)
    };
    match (separator, parts.as_slice()) {
        ('-', [year, month, day]) => {
            year.len() == 4 && (1..=12).contains(&number(month)) && (1..=31).contains(&number(day))
        }
        ('/' | '.', [a, b]) => {
            a.len() <= 2 && b.len() <= 2 && day_month(a, b) && (separator == '/' || b.len() == 2)
        }
        ('/' | '.', [a, b, year]) => {
            a.len() <= 2 && b.len() <= 2 && matches!(year.len(), 2 | 4) && day_month(a, b)
        }
        _ => false,
    }
}

/// Whether `word` is a number (digits, possibly with a decimal point or separators) that is not
/// a time or a date: it says nothing about which tool is wanted.
#[must_use]
pub fn is_number(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | '-' | ','))
        && marker(word).is_none()
}

/// Reduces a lower-case word to a crude stem so that `events`/`event`, `scheduled`/`schedule`,
/// `meetings`/`meeting` meet. Applied to tool text and chat text alike.
#[must_use]
pub fn stem(word: &str) -> String {
    let mut w: String = word.to_owned();
    if !w.is_ascii() || w.len() <= 3 {
        return w;
    }
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        w = format!("{base}y");
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    if w.len() > 5 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if w.len() > 4 && w.ends_with("ed") {
        w.truncate(w.len() - 2);
    }
    if w.len() > 3 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    let bytes = w.as_bytes();
    if let [.., a, b] = bytes
        && a == b
        && !b"aeiouslz".contains(b)
        && w.len() > 3
    {
        w.truncate(w.len() - 1);
    }
    w
}

/// The optimal-string-alignment distance between two words (insertions, deletions,
/// substitutions and swaps of neighbours each cost one), or `None` once it exceeds `max`.
#[must_use]
pub fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// How many edits a misspelling of a word this long may contain.
#[must_use]
pub fn allowed_edits(word: &str) -> usize {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Splits `text` into what lies outside double quotes and what lies inside them: in a tool's
/// description, quoted text is an example of its input ("Dentist Friday 3pm"), not what it does.
#[must_use]
pub fn split_quoted(text: &str) -> (String, String) {
    let (mut outside, mut inside) = (String::new(), String::new());
    let mut quoted = false;
    for c in text.chars().take(MAX_TEXT_CHARS) {
        match c {
            '"' | '“' | '”' => {
                quoted = !quoted;
                outside.push(' ');
                inside.push(' ');
            }
            _ if quoted => inside.push(c),
            _ => outside.push(c),
        }
    }
    (outside, inside)
}

/// Greetings whose time words do not mean a time.
const GREETINGS: &[&str] = &[
    "good morning",
    "good afternoon",
    "good evening",
    "good night",
    "morning all",
    "have a nice day",
    "have a good day",
    "have a good weekend",
    "have a nice weekend",
];

/// Splits a message into its frame (what the person asks for) and its payload (text to be
/// written somewhere: quoted text, and what follows a short lead-in ending in a colon, as in
/// "note to self: buy milk"). Greetings are dropped from the frame.
#[must_use]
pub fn frame_and_payload(message: &str) -> (String, String) {
    let message: String = message.chars().take(MAX_TEXT_CHARS).collect();
    let mut frame = String::new();
    let mut payload = String::new();
    // A lead-in of at most six words before ": ".
    let (lead, rest) = match message
        .find(": ")
        .or_else(|| message.strip_suffix(':').map(str::len))
    {
        Some(i) if message[..i].split_whitespace().count() <= 6 => {
            (&message[..i], message.get(i + 1..).unwrap_or_default())
        }
        _ => (message.as_str(), ""),
    };
    payload.push_str(rest);
    let chars: Vec<char> = lead.chars().collect();
    let mut quote: Option<char> = None;
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + 1).copied();
        let opens = matches!(c, '"' | '“' | '‘' | '\'')
            && before.is_none_or(|b| b.is_whitespace() || b == '(');
        let closes = |open: char| {
            let pair = match open {
                '“' => c == '”' || c == '"',
                '‘' => c == '’' || c == '\'',
                other => c == other || (other == '\'' && c == '’'),
            };
            pair && after.is_none_or(|a| !a.is_alphanumeric())
        };
        match quote {
            Some(open) if closes(open) => {
                quote = None;
                payload.push(' ');
            }
            Some(_) => payload.push(c),
            None if opens => quote = Some(c),
            None => frame.push(c),
        }
    }
    let mut lower = frame.to_lowercase();
    for greeting in GREETINGS {
        lower = lower.replace(greeting, " ");
    }
    (lower, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_become_one_object_id() {
        let text = join_uuids("page 4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a2c, and 9-12 x");
        assert_eq!(text, "page 4c6e8a0c2e4a4c6e8a0c2e4a6c8e0a2c, and 9-12 x");
        let ids: Vec<String> = words(&text)
            .into_iter()
            .filter(|w| is_object_id(w))
            .collect();
        assert_eq!(ids, ["4c6e8a0c2e4a4c6e8a0c2e4a6c8e0a2c"]);
        assert!(
            !is_object_id("4ao8v2tqn1lmg7k0dc39s5erb6"),
            "a calendar event id"
        );
        assert_eq!(
            join_uuids("x4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a2c"),
            "x4c6e8a0c-2e4a-4c6e-8a0c-2e4a6c8e0a2c"
        );
    }

    #[test]
    fn words_split_case_and_punctuation() {
        assert_eq!(
            words("listEvents get_page What's on THURS? 10:30 3pm"),
            [
                "list", "events", "get", "page", "whats", "on", "thurs", "10:30", "3pm"
            ]
        );
        assert_eq!(words("note to self:"), ["note", "to", "self"]);
    }

    #[test]
    fn payload_is_split_from_the_frame() {
        let (frame, payload) = frame_and_payload("note to self: buy milk");
        assert_eq!((frame.trim(), payload.trim()), ("note to self", "buy milk"));
        let (frame, payload) = frame_and_payload("mark 'renew passport' as done");
        assert_eq!(
            frame.split_whitespace().collect::<Vec<_>>(),
            ["mark", "as", "done"]
        );
        assert_eq!(payload.trim(), "renew passport");
        let (frame, _) = frame_and_payload("move the kids' party at 10:30 to 11");
        assert!(
            frame.contains("kids' party") && frame.contains("10:30"),
            "{frame}"
        );
        let (frame, _) = frame_and_payload("Good morning :)");
        assert!(!frame.contains("morning"));
    }

    #[test]
    fn quoted_examples_are_split_off() {
        let (outside, inside) =
            split_quoted("Create an event from one sentence such as \"Dentist Friday 3pm\"; done.");
        assert!(!outside.contains("Dentist") && outside.contains("sentence"));
        assert_eq!(inside.trim(), "Dentist Friday 3pm");
    }

    #[test]
    fn stems_meet() {
        assert_eq!(stem("events"), stem("event"));
        assert_eq!(stem("scheduled"), stem("schedule"));
        assert_eq!(stem("meetings"), stem("meeting"));
        assert_eq!(stem("entries"), stem("entry"));
        assert_eq!(stem("planned"), stem("plan"));
        assert_eq!(stem("notes"), stem("note"));
    }

    #[test]
    fn markers_recognise_times_and_dates() {
        assert_eq!(marker("3pm"), Some(TIME_TERM));
        assert_eq!(marker("10:30"), Some(TIME_TERM));
        assert_eq!(marker("12th"), Some(DATE_TERM));
        assert_eq!(marker("42"), None);
        assert_eq!(marker("pm"), None);
        for date in ["14/03", "3/5", "12.06", "10/11/2026", "2026-04-02", "4/7"] {
            assert_eq!(marker(date), Some(DATE_TERM), "{date}");
        }
        for other in ["2-4", "1.5", "40/50", "13/13", "2026-13-01", "3.5"] {
            assert_eq!(marker(other), None, "{other}");
        }
        assert_eq!(
            words("on 14/03, 2026-04-02 or 12.06? 2-4 pm"),
            ["on", "14/03", "2026-04-02", "or", "12.06", "2-4", "pm"]
        );
        assert!(is_number("2-4") && is_number("17") && !is_number("14/03"));
        assert_eq!(marker("3.30pm"), Some(TIME_TERM));
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        assert_eq!(edit_distance("calender", "calendar", 2), Some(1));
        assert_eq!(edit_distance("meetign", "meeting", 1), Some(1));
        assert_eq!(edit_distance("notion", "motion", 1), Some(1));
        assert_eq!(edit_distance("flight", "filter", 1), None);
        assert_eq!(edit_distance("", "ab", 2), Some(2));
    }
}
