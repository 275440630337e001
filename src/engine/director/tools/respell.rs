//! Query words no candidate has, read as the word meant: a common synonym the names use instead
//! ("edit" for `update`, "dm" for `direct message`), two words written as one ("addrow"), or a
//! word one typo away ("retreive", "gmial"). Only a word that finds nothing is read again, so a
//! query whose words are all found ranks as it did; a word read again still counts as one.

/// The candidates' words, as `rank::words` splits them.
pub(super) trait Vocabulary {
    /// Whether a candidate has `w`, whole or (when `w` is long enough to count so) as the
    /// prefix of a word: whether `w` finds anything.
    fn has(&self, w: &str) -> bool;
    /// How many candidates have `w` as a whole word.
    fn count(&self, w: &str) -> usize;
    /// Each distinct word, in sorted order.
    fn each(&self) -> impl Iterator<Item = &str>;
}

/// What a word is often written for in action and app names, tried in order; a replacement of
/// several words is taken when every one is found. Verbs first: an LLM asks to "edit" or
/// "remove" what Pipedream's actions call `update` and `delete`.
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &["edit", "modify", "change", "amend", "alter", "patch"],
        &["update"],
    ),
    (&["remove", "erase", "destroy", "trash"], &["delete"]),
    (&["delete"], &["remove"]),
    (&["make", "new", "insert", "add"], &["create"]),
    (&["create"], &["add", "new"]),
    (
        &["fetch", "retrieve", "read", "obtain", "show", "view"],
        &["get", "find", "list"],
    ),
    (&["get"], &["retrieve", "find"]),
    (&["lookup", "locate", "search"], &["find", "search"]),
    (&["find"], &["search", "get"]),
    (&["post", "publish", "write"], &["send", "create"]),
    (&["reply", "respond", "answer"], &["reply", "send"]),
    (&["dm"], &["direct message", "private message"]),
    (&["attach"], &["upload"]),
    (&["invite"], &["add"]),
];

/// Shortest word a typo is corrected in, and shortest part of a word split in two: shorter,
/// too many words are one letter from another ("date" is not a typo of "data").
const MIN_LEN: usize = 5;
const MIN_PART: usize = 3;

/// `words` with each one `vocabulary` does not have replaced by what it was most likely meant
/// as, when that is found; left as it is otherwise.
pub(super) fn respell(words: &[String], vocabulary: &impl Vocabulary) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        match (!vocabulary.has(w)).then(|| meant(w, vocabulary)).flatten() {
            Some(meant) => out.extend(meant),
            None => out.push(w.clone()),
        }
    }
    out
}

fn meant(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    synonym(w, vocabulary)
        .or_else(|| split(w, vocabulary))
        .or_else(|| typo(w, vocabulary).map(|t| vec![t]))
}

fn synonym(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    let (_, replacements) = SYNONYMS.iter().find(|(words, _)| words.contains(&w))?;
    replacements.iter().find_map(|r| {
        let words: Vec<String> = r.split(' ').map(str::to_owned).collect();
        words.iter().all(|w| vocabulary.has(w)).then_some(words)
    })
}

/// `w` as two whole words the candidates have ("addrow" → "add row"), the split whose rarer
/// half more candidates have.
fn split(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    let chars: Vec<(usize, char)> = w.char_indices().collect();
    if chars.len() < 2 * MIN_PART {
        return None;
    }
    (MIN_PART..=chars.len() - MIN_PART)
        .filter_map(|i| {
            let (left, right) = w.split_at(chars[i].0);
            let fewer = vocabulary.count(left).min(vocabulary.count(right));
            (fewer > 0).then_some((fewer, left, right))
        })
        // The first of equals: `max_by_key` keeps the last.
        .fold(None, |best: Option<(usize, &str, &str)>, s| match best {
            Some(b) if b.0 >= s.0 => Some(b),
            _ => Some(s),
        })
        .map(|(_, left, right)| vec![left.to_owned(), right.to_owned()])
}

/// The word one edit from `w` (a letter added, dropped, changed, or two swapped) that most
/// candidates have; the first in sorted order among equals.
fn typo(w: &str, vocabulary: &impl Vocabulary) -> Option<String> {
    if w.chars().count() < MIN_LEN || w.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for v in vocabulary.each() {
        // A character is one to four bytes: more apart than that is more than one edit.
        if v.len().abs_diff(w.len()) > 4 || v.chars().count() < MIN_LEN || !one_edit_apart(w, v) {
            continue;
        }
        let n = vocabulary.count(v);
        if n > 0 && best.is_none_or(|(b, _)| n > b) {
            best = Some((n, v));
        }
    }
    best.map(|(_, v)| v.to_owned())
}

/// Whether `a` and `b` differ by one edit: a character inserted or deleted, one changed, or two
/// adjacent ones swapped.
fn one_edit_apart(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return apart(a.as_bytes(), b.as_bytes());
    }
    let chars = |s: &str| s.chars().collect::<Vec<char>>();
    apart(&chars(a), &chars(b))
}

fn apart<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let head = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 if head == short.len() => false,
        0 => {
            let rest = |from: usize| short[from..] == long[from..];
            rest(head + 1)
                || (head + 1 < short.len()
                    && short[head] == long[head + 1]
                    && short[head + 1] == long[head]
                    && rest(head + 2))
        }
        1 => short[head..] == long[head + 1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Words and how many candidates have each.
    struct Counted<'a>(BTreeMap<&'a str, usize>);

    impl Vocabulary for Counted<'_> {
        fn has(&self, w: &str) -> bool {
            self.0
                .range(w..)
                .next()
                .is_some_and(|(v, _)| *v == w || (w.len() >= 3 && v.starts_with(w)))
        }
        fn count(&self, w: &str) -> usize {
            self.0.get(w).copied().unwrap_or(0)
        }
        fn each(&self) -> impl Iterator<Item = &str> {
            self.0.keys().copied()
        }
    }

    fn vocabulary<'a>(words: &[(&'a str, usize)]) -> Counted<'a> {
        Counted(words.iter().copied().collect())
    }

    fn respelled(query: &[&str], v: &Counted) -> Vec<String> {
        let words: Vec<String> = query.iter().map(|w| (*w).to_owned()).collect();
        respell(&words, v)
    }

    #[test]
    fn only_words_that_find_nothing_are_read_again() {
        let v = vocabulary(&[
            ("update", 3),
            ("message", 9),
            ("edit", 1),
            ("add", 4),
            ("row", 3),
            ("retrieve", 2),
            ("direct", 1),
            ("pull", 2),
            ("request", 5),
        ]);
        // Found as it is: kept, even where a synonym or a correction exists.
        assert_eq!(respelled(&["edit", "message"], &v), ["edit", "message"]);
        assert_eq!(respelled(&["mess"], &v), ["mess"]);
        let v = vocabulary(&[("update", 3), ("message", 9), ("add", 4), ("row", 3)]);
        assert_eq!(respelled(&["modify", "message"], &v), ["update", "message"]);
        assert_eq!(respelled(&["addrow"], &v), ["add", "row"]);
        // Nothing close: kept, and still counts against finding too little.
        assert_eq!(respelled(&["zebra"], &v), ["zebra"]);
    }

    #[test]
    fn synonyms_of_several_words_need_every_word() {
        let v = vocabulary(&[("direct", 1), ("message", 4), ("user", 3)]);
        assert_eq!(
            respelled(&["dm", "user"], &v),
            ["direct", "message", "user"]
        );
        let v = vocabulary(&[("private", 1), ("message", 4)]);
        assert_eq!(respelled(&["dm"], &v), ["private", "message"]);
        let v = vocabulary(&[("message", 4)]);
        assert_eq!(respelled(&["dm"], &v), ["dm"]);
    }

    #[test]
    fn joined_words_split_where_the_rarer_half_is_commonest() {
        let v = vocabulary(&[("pull", 2), ("request", 5), ("pullr", 9), ("equest", 1)]);
        assert_eq!(respelled(&["pullrequest"], &v), ["pull", "request"]);
        // Halves shorter than three letters are not words enough.
        let v = vocabulary(&[("to", 9), ("do", 9)]);
        assert_eq!(respelled(&["todo"], &v), ["todo"]);
    }

    #[test]
    fn a_typo_is_the_commonest_word_one_edit_away() {
        let v = vocabulary(&[("retrieve", 2), ("receive", 1), ("gmail", 1), ("email", 7)]);
        assert_eq!(respelled(&["retreive"], &v), ["retrieve"]);
        // "gmial" is a swap from "gmail", two edits from "email".
        assert_eq!(respelled(&["gmial"], &v), ["gmail"]);
        assert_eq!(respelled(&["emaill"], &v), ["email"]);
        // Short words are left alone: too many are a letter apart.
        let v = vocabulary(&[("data", 9)]);
        assert_eq!(respelled(&["date"], &v), ["date"]);
    }

    #[test]
    fn one_edit() {
        for (a, b) in [
            ("abcd", "abce"),
            ("abcd", "abdc"),
            ("abcd", "bacd"),
            ("abcd", "abcde"),
            ("abcd", "xabcd"),
            ("abcd", "acd"),
            ("é", "e"),
        ] {
            assert!(one_edit_apart(a, b), "{a} {b}");
            assert!(one_edit_apart(b, a), "{b} {a}");
        }
        for (a, b) in [
            ("abcd", "abcd"),
            ("abcd", "badc"),
            ("abcd", "abxy"),
            ("abcd", "ab"),
            ("abcd", "dcba"),
        ] {
            assert!(!one_edit_apart(a, b), "{a} {b}");
        }
    }
}
