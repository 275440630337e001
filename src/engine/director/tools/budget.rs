//! Keeping discovery answers small: an LLM reads every byte we return, so long texts are cut
//! to a budget, at a character boundary, with an ellipsis that says something was left out.

/// `text` with runs of white space folded, cut to at most `max_chars` characters.
pub fn trim_text(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    // One pass that folds white space and stops one character past the budget: this runs for
    // every description of every listed component, so whole words are copied at once.
    let mut folded = String::with_capacity(text.len().min(4 * max_chars + 4));
    let mut chars = 0;
    let mut over = false;
    for word in text.split_whitespace() {
        let sep = usize::from(chars > 0);
        let len = if word.is_ascii() {
            word.len()
        } else {
            word.chars().count()
        };
        if chars + sep + len <= max_chars {
            if sep == 1 {
                folded.push(' ');
            }
            folded.push_str(word);
            chars += sep + len;
            continue;
        }
        // The word does not fit: keep what does, then stop (something is left out).
        if chars + sep <= max_chars {
            if sep == 1 {
                folded.push(' ');
            }
            chars += sep;
            folded.extend(word.chars().take(max_chars - chars));
        }
        over = true;
        break;
    }
    if !over {
        return folded;
    }
    let keep = max_chars - 1;
    let mut cut = folded;
    if let Some((end, _)) = cut.char_indices().nth(keep) {
        cut.truncate(end);
    }
    // Prefer to end at a word boundary when one is close.
    if let Some(space) = cut.rfind(' ').filter(|&i| i + 24 >= cut.len()) {
        cut.truncate(space);
    }
    let mut out = cut.trim_end_matches([' ', ',', ';', ':', '.']).to_owned();
    out.push('…');
    out
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
    match text.find("[See the ") {
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
        fn one_pass_trim_matches_the_definition(
            text in "([a-z]{1,9}|[ \t\n]{1,3}|[é日🚀,.]){0,40}",
            max in 0usize..80,
        ) {
            proptest::prop_assert_eq!(trim_text(&text, max), reference(&text, max));
        }
    }
}
