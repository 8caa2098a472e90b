//! How a reply is laid out into messages: cut where the platform's limit runs out, counted on
//! what the platform counts, without ever breaking a code block.
//!
//! The reply is read once as a whole, line by line, knowing for every line whether it is inside
//! a fenced code block and in which language. It is then cut into pieces of whole lines (a line
//! longer than a message is cut at a space, else anywhere), preferring a paragraph break or the
//! start of a code block when that keeps at least a quarter of the message. Every piece is a
//! document of its own: a code block that goes on in the next message is closed at the end of
//! this one and opened again, with its language, at the start of the next, so formatting a piece
//! gives exactly what formatting the whole answer gives for those lines (`__init__` in code stays
//! literal, and the text after a block is not code). Whether a piece fits is the caller's
//! question ([`split`] takes it as a function), because what counts is the platform's: Telegram
//! counts the text it shows after parsing the formatting, Slack the text as sent, escapes
//! included. Cutting is stable as a streamed reply grows: a piece stays the same once the text
//! has moved past it.

/// The fence a code block is opened and closed with.
const FENCE: &str = "```";

/// One line of the reply with what it is.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    /// The language of the code block this line is in or opens (`Some("")` without one); `None`
    /// outside code blocks.
    code: Option<&'a str>,
    /// Whether the line is a fence (opening or closing a block).
    fence: bool,
    /// Whether the line is the closing fence of its block.
    closes: bool,
}

impl Line<'_> {
    /// Whether a piece ending with this line leaves a code block open.
    fn open_after(&self) -> bool {
        self.code.is_some() && !self.closes
    }

    /// Whether a piece starting with this line must open the code block first.
    fn needs_reopen(&self) -> bool {
        self.code.is_some() && !self.fence
    }

    fn is_blank(&self) -> bool {
        self.code.is_none() && self.text.trim().is_empty()
    }
}

/// The language named after a fence, as far as formatters read it.
fn language(info: &str) -> &str {
    let info = info.trim();
    let end = info
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '#' | '_' | '.')))
        .map_or(info.len(), |(i, _)| i);
    &info[..end.min(32)]
}

/// Reads `text` into lines, each knowing its code block.
fn read(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut open: Option<&str> = None;
    for text in text.split('\n') {
        let trimmed = text.trim_start();
        if let Some(info) = trimmed.strip_prefix(FENCE) {
            match open.take() {
                Some(lang) => lines.push(Line {
                    text,
                    code: Some(lang),
                    fence: true,
                    closes: true,
                }),
                None => {
                    let lang = language(info);
                    open = Some(lang);
                    lines.push(Line {
                        text,
                        code: Some(lang),
                        fence: true,
                        closes: false,
                    });
                }
            }
        } else {
            lines.push(Line {
                text,
                code: open,
                fence: false,
                closes: false,
            });
        }
    }
    lines
}

/// The piece made of `lines`, with the code block reopened at its start and closed at its end
/// when it is cut there; `more` says whether the reply goes on after it.
fn render(lines: &[Line<'_>], more: bool) -> String {
    let mut out = String::new();
    let Some(first) = lines.first() else {
        return out;
    };
    if first.needs_reopen() {
        out.push_str(FENCE);
        out.push_str(first.code.unwrap_or_default());
        out.push('\n');
    }
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.text);
    }
    if more && lines.last().is_some_and(Line::open_after) {
        out.push('\n');
        out.push_str(FENCE);
    }
    out
}

/// Cuts `text` into self-contained pieces for which `fits` holds; see the module documentation.
/// Blank lines at the cuts are dropped, and no piece is empty. A piece that cannot be made to
/// fit even as a single character is kept (the platform's refusal is then handled where it is
/// sent).
pub fn split(text: &str, fits: &dyn Fn(&str) -> bool) -> Vec<String> {
    let lines = read(text.trim_end());
    let mut pieces = Vec::new();
    let mut start = 0;
    loop {
        while lines
            .get(start)
            .is_some_and(|l| l.is_blank() || (l.closes && start > 0))
        {
            // A closing fence at the start of a piece was already written by the piece before.
            start += 1;
        }
        if start >= lines.len() {
            return pieces;
        }
        let rest = &lines[start..];
        if rest[0].fence
            && !rest[0].closes
            && rest.len() > 1
            && !fits(&render(&rest[..2], rest.len() > 2))
        {
            // An opening fence whose first line does not fit with it: that line opens the
            // block again itself, so the fence alone (an empty block) is never a piece.
            start += 1;
            continue;
        }
        if !fits(&render(&rest[..1], rest.len() > 1)) {
            // One line longer than a message: cut the line itself, and go on from its rest,
            // read again inside its code block.
            let (head, tail) = cut_line(rest[0], rest.len() > 1, fits);
            pieces.push(head);
            let Some(tail) = tail else {
                start += 1;
                continue;
            };
            let mut remainder = String::new();
            if rest[0].needs_reopen() {
                remainder.push_str(FENCE);
                remainder.push_str(rest[0].code.unwrap_or_default());
                remainder.push('\n');
            }
            remainder.push_str(&tail);
            for line in &rest[1..] {
                remainder.push('\n');
                remainder.push_str(line.text);
            }
            pieces.extend(split(&remainder, fits));
            return pieces;
        }
        let end = better_cut(&lines, start, start + longest_fit(rest, fits));
        let piece = trim_piece(&render(&lines[start..end], end < lines.len()));
        if !piece.is_empty() {
            pieces.push(piece);
        }
        start = end;
    }
}

/// A piece without blank lines around it (code keeps its own blank lines inside the fences).
fn trim_piece(piece: &str) -> String {
    piece.trim_end().trim_start_matches(['\n', '\r']).to_owned()
}

/// How many of `rest`'s lines fit in one piece (at least one).
fn longest_fit(rest: &[Line<'_>], fits: &dyn Fn(&str) -> bool) -> usize {
    let fits_n = |n: usize| fits(&render(&rest[..n], n < rest.len()));
    if fits_n(rest.len()) {
        return rest.len();
    }
    // Grow fast, then narrow down: `fits_n(good)` holds and `fits_n(bad)` does not.
    let mut good = 1;
    let mut bad = rest.len();
    let mut step = 1;
    while good + step < bad {
        if fits_n(good + step) {
            good += step;
            step *= 2;
        } else {
            bad = good + step;
            break;
        }
    }
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if fits_n(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    good
}

/// Moves a cut at `end` back to a paragraph break, or to before a code block that would be cut,
/// when that keeps at least a quarter of the piece.
fn better_cut(lines: &[Line<'_>], start: usize, end: usize) -> usize {
    if end >= lines.len() {
        return end;
    }
    let bytes = |to: usize| -> usize { lines[start..to].iter().map(|l| l.text.len() + 1).sum() };
    let total = bytes(end);
    let keeps = |at: usize| at > start && bytes(at) * 4 > total;
    // A code block cut by this piece: cut before it instead.
    if lines[end - 1].open_after()
        && let Some(open) = (start..end)
            .rev()
            .find(|i| lines[*i].fence && !lines[*i].closes)
        && keeps(open)
    {
        return open;
    }
    if lines[end - 1].open_after() {
        // Never end a piece on an opening fence, which would show an empty block.
        if lines[end - 1].fence && end - 1 > start {
            return end - 1;
        }
        return end;
    }
    (start + 1..end)
        .rev()
        .find(|i| lines[*i].is_blank())
        .filter(|i| keeps(*i))
        .unwrap_or(end)
}

/// Cuts one line that does not fit alone: the longest head that fits (at a space when that
/// keeps a quarter of it) and the rest. Text loses the space at the cut; code keeps every
/// character.
fn cut_line(line: Line<'_>, more: bool, fits: &dyn Fn(&str) -> bool) -> (String, Option<String>) {
    let text = line.text;
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(text.len()))
        .collect();
    let head_fits = |at: usize| {
        let head = Line {
            text: &text[..at],
            ..line
        };
        fits(&render(&[head], more || at < text.len()))
    };
    // The longest head that fits, by binary search over character boundaries.
    let (mut good, mut bad) = (0usize, bounds.len());
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if head_fits(bounds[mid - 1]) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    if good == 0 {
        // Not even one character fits: keep the line whole.
        return (render(&[line], more), None);
    }
    let mut at = bounds[good - 1];
    // At a space, preferably one outside a link's `[label](address)`.
    let spaces = || {
        text[..at]
            .char_indices()
            .rev()
            .filter(|(i, c)| *c == ' ' && *i * 4 > at)
            .map(|(i, _)| i)
    };
    let balanced = |head: &str| {
        head.matches('[').count() == head.matches(']').count()
            && head.matches('(').count() == head.matches(')').count()
    };
    if let Some(space) = spaces()
        .find(|i| balanced(&text[..*i]))
        .or_else(|| spaces().next())
    {
        at = space + 1;
    }
    let (head, tail) = text.split_at(at);
    let (head, tail) = if line.code.is_some() {
        (head, tail)
    } else {
        (head.trim_end(), tail.trim_start())
    };
    let head = Line { text: head, ..line };
    let piece = render(&[head], true);
    (piece, (!tail.is_empty()).then(|| tail.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars_at_most(limit: usize) -> impl Fn(&str) -> bool {
        move |piece: &str| piece.chars().count() <= limit
    }

    #[test]
    fn short_text_is_one_piece_and_blank_text_none() {
        assert_eq!(split("  hello \n", &chars_at_most(10)), vec!["  hello"]);
        assert!(split("   \n\n", &chars_at_most(10)).is_empty());
    }

    #[test]
    fn cuts_at_paragraphs_then_lines_then_words() {
        let text = "aaaa aaaa\n\nbbbb bbbb\ncccc";
        assert_eq!(
            split(text, &chars_at_most(12)),
            vec!["aaaa aaaa", "bbbb bbbb", "cccc"]
        );
        assert_eq!(
            split("one two three four", &chars_at_most(9)),
            vec!["one two", "three", "four"]
        );
        assert_eq!(
            split("abcdefghij", &chars_at_most(4)),
            vec!["abcd", "efgh", "ij"]
        );
    }

    #[test]
    fn prefers_not_to_cut_inside_a_link() {
        let text = "see [the doc](https://x.io/a) and [one more](https://x.io/b) please";
        let pieces = split(text, &chars_at_most(45));
        assert_eq!(
            pieces,
            vec![
                "see [the doc](https://x.io/a) and",
                "[one more](https://x.io/b) please"
            ]
        );
    }

    #[test]
    fn never_cuts_inside_a_character() {
        let text = "😀".repeat(5);
        let utf16 = |piece: &str| piece.encode_utf16().count() <= 4;
        assert_eq!(split(&text, &utf16), vec!["😀😀", "😀😀", "😀"]);
    }

    #[test]
    fn a_code_block_across_messages_is_closed_and_reopened_with_its_language() {
        let code: Vec<String> = (0..30)
            .map(|i| format!("x_{i} = a*b*c  # __init__"))
            .collect();
        let text = format!(
            "Intro line.\n```python\n{}\n```\nAfter the block.",
            code.join("\n")
        );
        let pieces = split(&text, &chars_at_most(400));
        assert!(pieces.len() >= 3, "{pieces:#?}");
        for piece in &pieces {
            assert!(piece.chars().count() <= 400, "{piece}");
            let fences = piece.lines().filter(|l| l.starts_with("```")).count();
            assert_eq!(fences % 2, 0, "balanced fences: {piece}");
        }
        // Every piece but the first that holds code opens the block again with its language.
        for piece in &pieces[1..] {
            if piece.contains("x_") {
                assert!(piece.starts_with("```python\n"), "{piece}");
            }
        }
        // The text after the block is not code: the fences before it in its piece balance.
        let after = pieces
            .iter()
            .find(|p| p.contains("After the block."))
            .expect("the text after the block");
        let before = &after[..after.find("After the block.").unwrap_or_default()];
        assert_eq!(before.matches("```").count() % 2, 0, "{after}");
        // Taking the fences the cut added away gives the answer back.
        let joined = pieces.join("\n").replace("\n```\n```python\n", "\n");
        assert_eq!(joined, text);
    }

    #[test]
    fn a_block_that_fits_in_the_next_message_is_not_cut() {
        let text = format!(
            "{}\n\n```\n{}\n```",
            "p ".repeat(60).trim_end(),
            "c".repeat(50)
        );
        let pieces = split(&text, &chars_at_most(140));
        assert_eq!(pieces.len(), 2, "{pieces:#?}");
        assert!(pieces[1].starts_with("```\n"));
        assert!(pieces[1].ends_with("\n```"));
    }

    #[test]
    fn a_long_code_line_keeps_every_character() {
        let line = "a b".repeat(40);
        let text = format!("```\n{line}\n```");
        let pieces = split(&text, &chars_at_most(50));
        let code: String = pieces
            .iter()
            .map(|p| {
                p.trim_start_matches("```\n")
                    .trim_end_matches("\n```")
                    .to_owned()
            })
            .collect();
        assert_eq!(code, line);
        assert!(pieces.iter().all(|p| p.chars().count() <= 50));
        assert!(
            pieces
                .iter()
                .all(|p| p.lines().any(|l| !l.starts_with("```"))),
            "no piece is an empty block: {pieces:#?}"
        );
    }

    #[test]
    fn cutting_is_stable_as_text_grows() {
        let mut full = String::new();
        for i in 0..60 {
            full.push_str(&format!("word{i} and more words here\n"));
            if i % 7 == 0 {
                full.push_str("```rust\nlet a = 1;\nlet b = 2;\n```\n\n");
            }
        }
        let fits = chars_at_most(120);
        let final_pieces = split(&full, &fits);
        for n in (1..full.len()).step_by(5) {
            if !full.is_char_boundary(n) {
                continue;
            }
            let pieces = split(&full[..n], &fits);
            if let Some((_, done)) = pieces.split_last() {
                assert_eq!(done, &final_pieces[..done.len()], "prefix of {n} bytes");
            }
        }
    }

    #[test]
    fn an_unfittable_character_is_kept_rather_than_lost() {
        assert_eq!(split("ab", &|_: &str| false), vec!["ab"]);
    }
}
