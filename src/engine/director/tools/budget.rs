//! Keeping discovery answers small: an LLM reads every byte we return, so long texts are cut
//! to a budget, at a character boundary, with an ellipsis that says something was left out.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

/// `text` with runs of white space folded, cut to at most `max_chars` characters.
pub fn trim_text(text: &str, max_chars: usize) -> String {
    trim(text, max_chars).to_string()
}

/// `text` folded and cut (see `fold` and `cut`), borrowed from `text` when folding changed
/// nothing.
pub fn trim(text: &str, max_chars: usize) -> Trimmed<'_> {
    match fold(text) {
        Cow::Borrowed(folded) => cut(folded, max_chars),
        Cow::Owned(folded) => {
            let t = cut(&folded, max_chars);
            Trimmed {
                head: Cow::Owned(t.head.into_owned()),
                cut: t.cut,
            }
        }
    }
}

/// `text` with each run of white space folded to one space and none at either end; borrowed
/// when it already is (most descriptions), so a list's texts are folded once, not per level.
pub fn fold(text: &str) -> Cow<'_, str> {
    if is_folded(text) {
        return Cow::Borrowed(text);
    }
    if text.is_ascii() {
        // A byte at a time, where `split_whitespace` decodes every character.
        let mut out = String::with_capacity(text.len());
        let mut space = false;
        for b in text.bytes() {
            if is_ascii_space(b) {
                space = !out.is_empty();
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(char::from(b));
            }
        }
        return Cow::Owned(out);
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// What `char::is_whitespace` is in ASCII: `is_ascii_whitespace` leaves out \x0b.
fn is_ascii_space(b: u8) -> bool {
    b == b' ' || b.wrapping_sub(b'\t') <= b'\r' - b'\t'
}

/// No white space but single spaces between words. ASCII text, most of it, is checked without
/// decoding characters, in passes the compiler can run many bytes at a time: decoding every
/// character, then a byte at a time with a flag carried between them, was most of the cost of
/// folding an app's component list.
fn is_folded(text: &str) -> bool {
    if text.is_ascii() {
        let bytes = text.as_bytes();
        let other_space = bytes
            .iter()
            .fold(false, |seen, &b| seen | (b != b' ' && is_ascii_space(b)));
        return !other_space
            && bytes.first() != Some(&b' ')
            && bytes.last() != Some(&b' ')
            && !text.contains("  ");
    }
    let mut after_space = true;
    let clean = text.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !after_space);
        after_space = c.is_whitespace();
        ok
    });
    clean && (!after_space || text.is_empty())
}

/// Folded text (see `fold`) cut to at most `max_chars` characters. Something left out ends in
/// an ellipsis, preferably at a word boundary.
pub fn cut(folded: &str, max_chars: usize) -> Trimmed<'_> {
    let ascii = folded.is_ascii();
    let fits = folded.len() <= max_chars || (!ascii && folded.chars().count() <= max_chars);
    if fits || max_chars == 0 {
        let head = if max_chars == 0 { "" } else { folded };
        return Trimmed {
            head: Cow::Borrowed(head),
            cut: false,
        };
    }
    let keep = max_chars - 1;
    let end = if ascii {
        keep
    } else {
        folded
            .char_indices()
            .nth(keep)
            .map_or(folded.len(), |(i, _)| i)
    };
    let mut head = &folded[..end];
    // Prefer to end at a word boundary when one is close.
    if let Some(space) = head.rfind(' ').filter(|&i| i + 24 >= head.len()) {
        head = &head[..space];
    }
    Trimmed {
        head: Cow::Borrowed(head.trim_end_matches([' ', ',', ';', ':', '.'])),
        cut: true,
    }
}

/// A prefix of a text and whether it was cut, written as one string (with `…` when cut), so
/// answers borrow their texts instead of copying each one at every detail level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed<'a> {
    head: Cow<'a, str>,
    cut: bool,
}

impl Trimmed<'_> {
    /// Nothing of the text is left: it is empty or an ellipsis alone.
    pub fn says_nothing(&self) -> bool {
        self.head.is_empty() || (!self.cut && self.head == "…")
    }

    /// Its length in UTF-8, the ellipsis included: the least its JSON string's contents take.
    pub fn len(&self) -> usize {
        self.head.len() + if self.cut { '…'.len_utf8() } else { 0 }
    }
}

impl fmt::Display for Trimmed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.head)?;
        if self.cut {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl Serialize for Trimmed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.cut {
            s.collect_str(self)
        } else {
            s.serialize_str(&self.head)
        }
    }
}

/// Byte budgets of serialized discovery answers (an LLM reads all of it).
pub const COMPONENTS_BUDGET_BYTES: usize = 24 * 1024;
pub const SERVICE_DESCRIPTION_CHARS: usize = 100;
/// The most a `searchServices` answer's service list may take: with the rest of the answer it
/// stays under 4 KB, however many apps match.
pub const SERVICES_BUDGET_BYTES: usize = 3 * 1024;

/// Pipedream descriptions end with "[See the documentation](https://…)": useful to a person,
/// noise for a model choosing an action. The link is dropped from compact answers.
pub fn without_doc_link(text: &str) -> &str {
    // A `[` first: searching for the whole phrase from every position was 3 % of a list.
    let link = text
        .match_indices('[')
        .map(|(i, _)| i)
        .find(|&i| text[i..].starts_with("[See the "));
    match link {
        Some(i) if text[i..].contains("](http") => text[..i].trim_end(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(trim_text("Send  an\n email", 40), "Send an email");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_at_a_char_boundary() {
        let text = "Créer un “document” 日本語のテキスト 🚀 ".repeat(20);
        for max in [1, 5, 17, 33, 100] {
            let t = trim_text(&text, max);
            assert!(t.chars().count() <= max, "{max}: {t}");
            assert!(t.ends_with('…'));
        }
    }

    #[test]
    fn cuts_at_a_word_boundary_when_close() {
        assert_eq!(trim_text("alpha beta gamma delta", 13), "alpha beta…");
    }

    #[test]
    fn drops_the_documentation_link() {
        assert_eq!(
            without_doc_link(
                "Send an email. [See the documentation](https://developers.google.com)"
            ),
            "Send an email."
        );
        assert_eq!(
            without_doc_link("No link [See the bottom]"),
            "No link [See the bottom]"
        );
    }

    /// The plain definition the one-pass `trim_text` must agree with.
    fn reference(text: &str, max_chars: usize) -> String {
        if max_chars == 0 {
            return String::new();
        }
        let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if folded.chars().count() <= max_chars {
            return folded;
        }
        let mut cut: String = folded.chars().take(max_chars - 1).collect();
        if let Some(space) = cut.rfind(' ').filter(|&i| i + 24 >= cut.len()) {
            cut.truncate(space);
        }
        let mut out = cut.trim_end_matches([' ', ',', ';', ':', '.']).to_owned();
        out.push('…');
        out
    }

    proptest::proptest! {
        #[test]
        fn fold_then_cut_matches_the_definition(
            text in "([a-z]{1,9}|[ \t\n\u{a0}\u{b}]{1,3}|[é日🚀,.…]){0,40}",
            max in 0usize..80,
        ) {
            proptest::prop_assert_eq!(trim_text(&text, max), reference(&text, max));
            let folded = fold(&text);
            proptest::prop_assert_eq!(folded.as_ref(), reference(&text, usize::MAX));
            proptest::prop_assert_eq!(fold(&folded), folded.clone());
            proptest::prop_assert!(matches!(fold(&folded), Cow::Borrowed(_)));
            proptest::prop_assert_eq!(cut(&folded, max).says_nothing(), ["", "…"].contains(&reference(&text, max).as_str()));
        }

        /// ASCII text takes a path of its own: every ASCII white space, and controls that are not.
        #[test]
        fn ascii_folds_as_the_definition_does(
            text in "([a-z]{1,9}|[ \t\n\r\u{b}\u{c}]{1,3}|[,.\u{1c}\u{1f}\u{0}]){0,40}",
        ) {
            let folded = fold(&text);
            proptest::prop_assert_eq!(folded.as_ref(), reference(&text, usize::MAX));
            proptest::prop_assert!(matches!(fold(&folded), Cow::Borrowed(_)));
        }
    }
}
