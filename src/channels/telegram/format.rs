//! The model's Markdown turned into Telegram's HTML parse mode.
//!
//! Telegram's HTML mode needs only `<`, `>` and `&` escaped and accepts a small set of tags, so
//! it is the forgiving choice for model output. Bold (`**x**`, `__x__`), italics (`*x*`, `_x_`),
//! strike-through (`~~x~~`), inline code, fenced code blocks (with a language), links and `#`
//! headings (shown bold) are converted; everything else is shown as written. The output is
//! always well formed: every tag opened is closed, and an unclosed marker or fence is shown as
//! text (a fence is closed at the end). The visible text is never longer than the input, so a
//! chunk that fits Telegram's limit as plain text still fits.
//!
//! Telegram drops a text link it does not take without a word, showing only its label: a link
//! to a host without a dot (`localhost`, a single-label cluster name) and a `mailto:` link. Such
//! links are written out (`Grafana (http://localhost:3000)`), by the same rule
//! ([`takes_url`]) that decides which links may be buttons.

use std::fmt::Write as _;

/// How deep bold and italics may nest.
const MAX_DEPTH: usize = 4;

/// Whether Telegram takes `url` as a link button or a text link: `http` or `https` to a host
/// with a dot in it or an IP address. TDLib's link check refuses any other host ("Wrong HTTP
/// URL") and any other scheme ("Unsupported URL protocol").
#[must_use]
pub fn takes_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return false;
    }
    match parsed.host() {
        Some(url::Host::Domain(host)) => host.trim_end_matches('.').contains('.'),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        None => false,
    }
}

/// How many UTF-16 code units of `html` Telegram shows once it has parsed the tags and
/// entities this module writes (its length limit counts these).
#[must_use]
pub fn visible_len(html: &str) -> usize {
    let mut count = 0;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => return count + rest.encode_utf16().count(),
            },
            '&' => {
                let end = rest[..rest.len().min(10)].find(';');
                match end {
                    Some(end) => {
                        count += 1;
                        rest = &rest[end + 1..];
                    }
                    None => {
                        count += 1;
                        rest = &rest[1..];
                    }
                }
            }
            c => {
                count += c.len_utf16();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    count
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// Converts the model's Markdown to Telegram HTML.
#[must_use]
pub fn markdown_to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + 32);
    let mut fence: Option<bool> = None; // Some(has_code_tag) while inside a fenced block
    let mut first_in_fence = true;
    let lines: Vec<&str> = markdown.split('\n').collect();
    let last = lines.len().saturating_sub(1);
    for (n, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match fence.take() {
                Some(code) => {
                    out.push_str(if code { "</code></pre>" } else { "</pre>" });
                }
                None => {
                    let lang: String = info
                        .trim()
                        .chars()
                        .take_while(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '#' | '_')
                        })
                        .take(32)
                        .collect();
                    if lang.is_empty() {
                        out.push_str("<pre>");
                        fence = Some(false);
                    } else {
                        let _ = write!(out, "<pre><code class=\"language-{lang}\">");
                        fence = Some(true);
                    }
                    first_in_fence = true;
                    continue;
                }
            }
        } else if fence.is_some() {
            if !first_in_fence {
                out.push('\n');
            }
            first_in_fence = false;
            push_escaped(&mut out, line);
            continue;
        } else if let Some(heading) = heading_text(trimmed) {
            out.push_str("<b>");
            inline(&mut out, heading, 0);
            out.push_str("</b>");
        } else {
            inline(&mut out, line, 0);
        }
        if n != last {
            out.push('\n');
        }
    }
    if let Some(code) = fence {
        out.push_str(if code { "</code></pre>" } else { "</pre>" });
    }
    out
}

/// The text of a `#`..`######` heading line.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    line[hashes..].strip_prefix(' ').map(str::trim)
}

/// Converts one line's inline Markdown.
fn inline(out: &mut String, text: &str, depth: usize) {
    let mut rest = text;
    // The previous character, for the word-boundary check of `_`.
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let inside_word = c == '_' && prev.is_some_and(char::is_alphanumeric);
        let consumed = match c {
            '`' => code_span(out, rest),
            '*' | '_' | '~' if depth < MAX_DEPTH && !inside_word => emphasis(out, rest, depth),
            '[' => link(out, rest, depth),
            _ => None,
        };
        match consumed {
            Some(n) => {
                prev = rest[..n].chars().next_back();
                rest = &rest[n..];
            }
            None => {
                let len = c.len_utf8();
                push_escaped(out, &rest[..len]);
                prev = Some(c);
                rest = &rest[len..];
            }
        }
    }
}

/// `` `code` ``: returns the bytes consumed.
fn code_span(out: &mut String, rest: &str) -> Option<usize> {
    let ticks = rest.bytes().take_while(|b| *b == b'`').count();
    let marker = &rest[..ticks];
    let body = &rest[ticks..];
    let end = body.find(marker)?;
    let code = &body[..end];
    if code.trim().is_empty() {
        return None;
    }
    out.push_str("<code>");
    push_escaped(out, code);
    out.push_str("</code>");
    Some(ticks + end + ticks)
}

/// `**bold**`, `__bold__`, `*italic*`, `_italic_`, `~~strike~~`.
fn emphasis(out: &mut String, rest: &str, depth: usize) -> Option<usize> {
    let (marker, tag) = if rest.starts_with("**") {
        ("**", "b")
    } else if rest.starts_with("__") {
        ("__", "b")
    } else if rest.starts_with("~~") {
        ("~~", "s")
    } else if rest.starts_with('*') {
        ("*", "i")
    } else if rest.starts_with('_') {
        ("_", "i")
    } else {
        return None;
    };
    let body = &rest[marker.len()..];
    // The opening marker must be followed by a non-space.
    if body.chars().next().is_none_or(char::is_whitespace) {
        return None;
    }
    let end = closing(body, marker)?;
    let inner = &body[..end];
    let after = &body[end + marker.len()..];
    // `snake_case_words` are not italics: an underscore marker must not touch a word character.
    if marker.starts_with('_') && after.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let _ = write!(out, "<{tag}>");
    inline(out, inner, depth + 1);
    let _ = write!(out, "</{tag}>");
    Some(marker.len() + end + marker.len())
}

/// Where the closing `marker` of an emphasis starts in `body`: preceded by a non-space, and for
/// single markers not part of a double one.
fn closing(body: &str, marker: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = body[from..].find(marker) {
        let at = from + found;
        let before = body[..at].chars().next_back();
        let doubled = marker.len() == 1 && body[at + 1..].starts_with(marker);
        let code_inside = body[..at].contains('`');
        if at > 0 && before.is_some_and(|c| !c.is_whitespace()) && !doubled && !code_inside {
            return Some(at);
        }
        if doubled {
            from = at + 2;
        } else {
            from = at + marker.len();
        }
    }
    None
}

/// `[text](url)` for safe URL schemes; a link Telegram would drop is written out after its
/// label.
fn link(out: &mut String, rest: &str, depth: usize) -> Option<usize> {
    let close = rest.find("](")?;
    let label = &rest[1..close];
    if label.is_empty() || label.contains('[') || label.contains('\n') {
        return None;
    }
    let url_start = close + 2;
    let url_len = rest[url_start..].find(')')?;
    let url = rest[url_start..url_start + url_len].trim();
    let lower = url.to_ascii_lowercase();
    let safe = ["http://", "https://", "tg://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s));
    if !safe || url.contains(char::is_whitespace) || url.contains('"') {
        return None;
    }
    if takes_url(url) || lower.starts_with("tg://") {
        out.push_str("<a href=\"");
        push_escaped(out, url);
        out.push_str("\">");
        inline(out, label, depth + 1);
        out.push_str("</a>");
    } else {
        inline(out, label, depth + 1);
        let address = url.get(7..).filter(|_| lower.starts_with("mailto:"));
        if address != Some(label) {
            out.push_str(" (");
            push_escaped(out, url);
            out.push(')');
        }
    }
    Some(url_start + url_len + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            markdown_to_html("a < b && c > d"),
            "a &lt; b &amp;&amp; c &gt; d"
        );
        assert_eq!(
            markdown_to_html("<b>not a tag</b>"),
            "&lt;b&gt;not a tag&lt;/b&gt;"
        );
    }

    #[test]
    fn converts_inline_markdown() {
        assert_eq!(
            markdown_to_html("**bold** and *it* and __b__ and _i_"),
            "<b>bold</b> and <i>it</i> and <b>b</b> and <i>i</i>"
        );
        assert_eq!(
            markdown_to_html("use `a<b>` here"),
            "use <code>a&lt;b&gt;</code> here"
        );
        assert_eq!(
            markdown_to_html("**bold *nested* x**"),
            "<b>bold <i>nested</i> x</b>"
        );
        assert_eq!(markdown_to_html("~~gone~~"), "<s>gone</s>");
        assert_eq!(
            markdown_to_html("see [docs](https://x.io/a?b=1&c=2)"),
            "see <a href=\"https://x.io/a?b=1&amp;c=2\">docs</a>"
        );
        assert_eq!(markdown_to_html("# Title\ntext"), "<b>Title</b>\ntext");
    }

    #[test]
    fn writes_out_links_telegram_would_drop() {
        assert_eq!(
            markdown_to_html("[Grafana](http://localhost:3000) and [docs](https://x.io)"),
            "Grafana (http://localhost:3000) and <a href=\"https://x.io\">docs</a>"
        );
        assert_eq!(
            markdown_to_html("[mail me](mailto:a@b.co) or [a@b.co](mailto:a@b.co)"),
            "mail me (mailto:a@b.co) or a@b.co"
        );
        assert_eq!(
            markdown_to_html("[svc](http://grafana:3000/d?a=1&b=2)"),
            "svc (http://grafana:3000/d?a=1&amp;b=2)"
        );
        assert!(takes_url("http://127.0.0.1:8080/x"));
        assert!(takes_url("http://[::1]:8080/x"));
        assert!(takes_url("https://gw.example/connect/1"));
        assert!(!takes_url("http://localhost:8000/connect"));
        assert!(!takes_url("http://notion-mcp:8000/"));
        assert!(!takes_url("mailto:a@b.co"));
        assert!(!takes_url("ftp://files.example/x"));
    }

    #[test]
    fn counts_what_telegram_shows() {
        assert_eq!(visible_len("<b>a &lt; b</b>"), 5);
        assert_eq!(visible_len("<pre></pre>"), 0);
        assert_eq!(visible_len("😀"), 2);
        let html = markdown_to_html("**x** `a<b>` [l](https://x.io) & done");
        assert_eq!(visible_len(&html), "x a<b> l & done".encode_utf16().count());
    }

    #[test]
    fn leaves_lone_markers_and_unsafe_links_alone() {
        assert_eq!(markdown_to_html("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(
            markdown_to_html("snake_case_name and **unclosed"),
            "snake_case_name and **unclosed"
        );
        assert_eq!(
            markdown_to_html("[x](javascript:alert(1))"),
            "[x](javascript:alert(1))"
        );
        assert_eq!(markdown_to_html("`"), "`");
    }

    #[test]
    fn converts_fenced_code_and_closes_unclosed_fences() {
        assert_eq!(
            markdown_to_html("Here:\n```rust\nlet a = 1 < 2;\n**x**\n```\ndone"),
            "Here:\n<pre><code class=\"language-rust\">let a = 1 &lt; 2;\n**x**</code></pre>\ndone"
        );
        assert_eq!(markdown_to_html("```\nopen"), "<pre>open</pre>");
    }

    /// Every opened tag is closed, in order, for arbitrary marker soup.
    #[test]
    fn output_is_balanced_for_marker_soup() {
        let pieces = [
            "*",
            "**",
            "_",
            "__",
            "`",
            "~~",
            "[a](https://b)",
            "x",
            " ",
            "\n",
            "```",
            "<",
            "&",
            "[",
            "](",
        ];
        let mut seed: u64 = 7;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..12 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push_str(pieces[usize::try_from(seed >> 33).unwrap() % pieces.len()]);
            }
            let html = markdown_to_html(&text);
            assert!(balanced(&html), "{text:?} -> {html:?}");
        }
    }

    fn balanced(html: &str) -> bool {
        let mut stack = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                return false;
            };
            let tag = &rest[start + 1..start + end];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.to_owned()) {
                    return false;
                }
            } else {
                stack.push(tag.split(' ').next().unwrap_or_default().to_owned());
            }
            rest = &rest[start + end + 1..];
        }
        stack.is_empty()
    }
}
