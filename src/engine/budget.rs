//! Keeping discovery answers small: an LLM reads every byte we return, so long texts are cut
//! to a budget, at a character boundary, with an ellipsis that says something was left out.

/// `text` with runs of white space folded, cut to at most `max_chars` characters.
pub fn trim_text(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max_chars {
        return folded;
    }
    let keep = max_chars.saturating_sub(1);
    let mut cut: String = folded.chars().take(keep).collect();
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
}
