//! Slack's text format, both ways: the model's Markdown turned into mrkdwn for sending, and the
//! text of a message Slack delivered turned back into what the person typed.
//!
//! Slack escapes `&`, `<` and `>` in what people type (`&amp;`, `&lt;`, `&gt;`) and writes links
//! and references between angle brackets: `<https://…>`, `<https://…|label>`,
//! `<mailto:…|label>`, user mentions `<@U…>` (`<@U…|name>`), channels `<#C…|name>`, and special
//! mentions such as `<!here>` or `<!subteam^S…|@team>`. [`typed`] undoes all of it in one place;
//! [`escape`] does the first part for what the gateway sends.

/// Escapes the three characters Slack's text fields reserve.
#[must_use]
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the person typed, from the text of a message as Slack delivered it: entities decoded,
/// links written out (a link whose label is not the address as `label (address)`), mentions as
/// `@name` and channels as `#name`.
#[must_use]
pub fn typed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&unescape(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) => {
                out.push_str(&reference(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                // Slack escapes every `<` a person types, so this is not a reference.
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(&unescape(rest));
    out
}

/// One `<…>` reference, as the person typed it.
fn reference(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(unescape(label)).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        return format!("@{}", label.unwrap_or_else(|| unescape(user)));
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or_else(|| unescape(channel)));
    }
    if let Some(special) = target.strip_prefix('!') {
        return match special {
            "here" | "channel" | "everyone" => format!("@{special}"),
            _ => label.unwrap_or_else(|| {
                let name = special.split('^').next().unwrap_or_default();
                format!("@{}", unescape(name))
            }),
        };
    }
    let url = unescape(target);
    match label {
        Some(label) if !same_address(&url, &label) => format!("{label} ({url})"),
        Some(label) => label,
        None => url,
    }
}

/// Whether a link's label is its address as the person typed it (`example.com` for
/// `http://example.com`, `ann@example.com` for `mailto:ann@example.com`).
fn same_address(url: &str, label: &str) -> bool {
    let bare = url
        .strip_prefix("mailto:")
        .or_else(|| url.split_once("://").map(|(_, rest)| rest))
        .unwrap_or(url);
    label == url || label == bare || label == bare.trim_end_matches('/')
}

/// Decodes the three entities Slack writes (`&amp;`, `&lt;`, `&gt;`); anything else stays.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let (decoded, used) = if after.starts_with("&amp;") {
            ('&', 5)
        } else if after.starts_with("&lt;") {
            ('<', 4)
        } else if after.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// Converts common Markdown to mrkdwn: `**bold**` → `*bold*`, `__bold__` → `*bold*`,
/// `[text](url)` → `<url|text>`, `# Heading` → `*Heading*`, `~~x~~` → `~x~`; code spans and fenced
/// blocks are kept as they are (a fence without the language, which Slack would show as code,
/// and closed at the end when the text leaves it open). Text is escaped first, so the result is
/// safe to send.
#[must_use]
pub fn from_markdown(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut in_fence = false;
    for (i, line) in markdown.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            out.push_str("```");
            continue;
        }
        if in_fence {
            out.push_str(&escape(line));
            continue;
        }
        let trimmed = line.trim_start();
        let heading = trimmed.trim_start_matches('#');
        if trimmed.starts_with('#') && heading.starts_with(' ') {
            out.push('*');
            out.push_str(&inline(heading.trim()));
            out.push('*');
        } else if let Some(item) = trimmed
            .strip_prefix("* ")
            .or_else(|| trimmed.strip_prefix("- "))
        {
            out.push_str("• ");
            out.push_str(&inline(item));
        } else {
            out.push_str(&inline(line));
        }
    }
    if in_fence {
        out.push_str("\n```");
    }
    out
}

/// Converts inline Markdown in one line, leaving code spans alone.
fn inline(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&escape(part));
        } else {
            out.push_str(&links(
                &escape(part)
                    .replace("**", "*")
                    .replace("__", "*")
                    .replace("~~", "~"),
            ));
        }
    }
    out
}

/// Rewrites `[text](url)` as `<url|text>`.
fn links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find("](") else { break };
        let url_part = &after[close + 2..];
        let Some(end) = url_part.find(')') else { break };
        let (label, url) = (&after[..close], &url_part[..end]);
        if url.starts_with("http://") || url.starts_with("https://") || url.starts_with("mailto:") {
            out.push_str(&rest[..open]);
            out.push_str(&format!("<{url}|{label}>"));
        } else {
            out.push_str(&rest[..open + 1 + close + 2 + end + 1]);
        }
        rest = &url_part[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_common_markdown() {
        assert_eq!(
            from_markdown("**bold** and [site](https://x.org)"),
            "*bold* and <https://x.org|site>"
        );
        assert_eq!(from_markdown("# Title\n- a\n- b"), "*Title*\n• a\n• b");
        assert_eq!(from_markdown("a < b & c"), "a &lt; b &amp; c");
        assert_eq!(from_markdown("`**x**` **y**"), "`**x**` *y*");
        assert_eq!(from_markdown("```\n**raw**\n```"), "```\n**raw**\n```");
        assert_eq!(
            from_markdown("```python\nif a < b: __init__()\n```\n**after**"),
            "```\nif a &lt; b: __init__()\n```\n*after*"
        );
        assert_eq!(from_markdown("```\nopen"), "```\nopen\n```");
        assert_eq!(from_markdown("[bad](javascript:x)"), "[bad](javascript:x)");
    }

    #[test]
    fn reads_back_what_people_typed() {
        assert_eq!(
            typed("is 3 &lt; 5 &amp; 7 &gt; 2? fetch <https://example.com/?a=1&amp;b=2>"),
            "is 3 < 5 & 7 > 2? fetch https://example.com/?a=1&b=2"
        );
        assert_eq!(
            typed("see <https://x.org/a|the docs> and <http://example.com|example.com>"),
            "see the docs (https://x.org/a) and example.com"
        );
        assert_eq!(
            typed("mail <mailto:ann@example.com|ann@example.com>"),
            "mail ann@example.com"
        );
        assert_eq!(
            typed("ask <@U123> and <@U456|bob> in <#C1|general> or <#C2>"),
            "ask @U123 and @bob in #general or #C2"
        );
        assert_eq!(
            typed("<!here> <!subteam^S1|@ops> <!date^1392734382^{date}|Feb 18> <!subteam^S2>"),
            "@here @ops Feb 18 @subteam"
        );
        assert_eq!(typed("&amp;lt; stays &lt; once"), "&lt; stays < once");
        assert_eq!(typed("a < b & c"), "a < b & c");
        assert_eq!(typed("<unclosed"), "<unclosed");
    }
}
