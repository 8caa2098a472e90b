//! Names that someone else chose (a chat user's name, an OAuth client's `client_name`), made safe
//! to show on a page or in a message.
//!
//! A name may carry characters that change how the text around it is displayed rather than
//! adding to it: control characters, and Unicode's bidirectional formatting characters, with
//! which "elgooG yb deifireV" plus U+202E displays as "Verified by Google". [`sanitize`] drops
//! them (and other invisible formatting characters), folds runs of whitespace into one space and
//! bounds the length, so that what a person reads is what the name holds.

/// Whether `c` changes the display of the text around it instead of showing as itself:
/// control characters, bidirectional embeddings, overrides, isolates and marks, and invisible
/// separators and joiners that can hide or fake text.
#[must_use]
pub fn is_formatting(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' // arabic letter mark
                | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // hangul fillers
                | '\u{180E}' // mongolian vowel separator
                | '\u{200B}'..='\u{200F}' // zero-width space, joiners, LRM, RLM
                | '\u{2028}'..='\u{202E}' // line/paragraph separators, embeddings, overrides
                | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, isolates, deprecated formats
                | '\u{FEFF}' // zero-width no-break space
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
                | '\u{E0000}'..='\u{E007F}' // tags
        )
}

/// `name` without formatting characters (see [`is_formatting`]), with each run of whitespace
/// turned into one space, trimmed, and cut to `max_chars` characters.
#[must_use]
pub fn sanitize(name: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(name.len().min(max_chars * 4));
    let mut count = 0;
    let mut space = false;
    for c in name.chars() {
        if is_formatting(c) && !c.is_whitespace() {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= max_chars {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_overrides_and_controls_are_dropped() {
        assert_eq!(
            sanitize("\u{202E}elgooG yb deifireV", 200),
            "elgooG yb deifireV"
        );
        assert_eq!(sanitize("Ann\u{2066}\u{2069}\u{200F}", 200), "Ann");
        assert_eq!(sanitize("a\u{0}b\u{7}c\u{1b}[31m", 200), "abc[31m");
        assert_eq!(sanitize("zero\u{200B}width\u{FEFF}", 200), "zerowidth");
    }

    #[test]
    fn whitespace_is_folded_and_length_bounded() {
        assert_eq!(sanitize("  Ann \n\t Smith  ", 200), "Ann Smith");
        assert_eq!(sanitize("Ann\u{2028}Smith", 200), "Ann Smith");
        assert_eq!(sanitize("abcdef", 3), "abc");
        assert_eq!(sanitize("ab cdef", 3), "ab");
        assert_eq!(sanitize("\u{202E}\u{202E}", 10), "");
        assert_eq!(sanitize("Zoë 😀 ∑", 200), "Zoë 😀 ∑");
    }
}
