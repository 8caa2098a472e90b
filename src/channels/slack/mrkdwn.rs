//! Turning the model's Markdown into Slack's mrkdwn.

/// Escapes the three characters Slack's text fields reserve.
#[must_use]
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
}
