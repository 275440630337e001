//! Query words no candidate has, read as the word meant: a common synonym the names use instead
//! ("edit" for `update`, "dm" for `direct message`), two words the candidates write together
//! written as one ("pullrequest"), or a word with a common slip of the keys ("gmial",
//! "hubspt", "twillio"). Only a word that finds nothing is read again, so a query whose words
//! are all found ranks as it did; what was read so is said in the answer's message.

/// The candidates' words, as `rank::words` splits them.
pub(super) trait Vocabulary {
    /// Whether a candidate has `w`, whole or (when `w` is long enough to count so) as the
    /// prefix of a word: whether `w` finds anything.
    fn has(&self, w: &str) -> bool;
    /// How many candidates have `w` as a whole word.
    fn count(&self, w: &str) -> usize;
    /// Whether a candidate's title or body has `right` right after `left`.
    fn adjacent(&self, left: &str, right: &str) -> bool;
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
    (&["post", "publish"], &["send"]),
    (&["reply", "respond", "answer"], &["reply", "send"]),
    (&["dm"], &["direct message", "private message"]),
    (&["attach"], &["upload"]),
    (&["invite"], &["add"]),
    (&["gdrive"], &["google drive"]),
    (&["gcal"], &["google calendar"]),
    (&["gsheet"], &["google sheet"]),
];

/// Shortest word a slip is corrected in, and shortest part of a word split in two: shorter,
/// too many words are a letter from another.
const MIN_LEN: usize = 5;
const MIN_PART: usize = 3;

/// A query's words, each one the candidates do not have replaced by what it was most likely
/// meant as when that is found, and what was read so (`gmial` → `gmail`).
pub(super) struct Respelled {
    pub(super) words: Vec<String>,
    pub(super) read: Vec<(String, String)>,
}

pub(super) fn respell(words: &[String], vocabulary: &impl Vocabulary) -> Respelled {
    let mut out = Respelled {
        words: Vec::with_capacity(words.len()),
        read: Vec::new(),
    };
    for w in words {
        match (!vocabulary.has(w)).then(|| meant(w, vocabulary)).flatten() {
            Some(meant) => {
                out.read.push((w.clone(), meant.join(" ")));
                out.words.extend(meant);
            }
            None => out.words.push(w.clone()),
        }
    }
    out
}

fn meant(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    synonym(w, vocabulary)
        .or_else(|| split(w, vocabulary))
        .or_else(|| slip(w, vocabulary).map(|t| vec![t]))
}

fn synonym(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    let (_, replacements) = SYNONYMS.iter().find(|(words, _)| words.contains(&w))?;
    replacements.iter().find_map(|r| {
        let words: Vec<String> = r.split(' ').map(str::to_owned).collect();
        words.iter().all(|w| vocabulary.has(w)).then_some(words)
    })
}

/// `w` as two words a candidate writes one after the other ("pullrequest" → "pull request"),
/// the split whose rarer half more candidates have. Words that are merely both somewhere are
/// not enough: "netsuite" is no "net" and "suite".
fn split(w: &str, vocabulary: &impl Vocabulary) -> Option<Vec<String>> {
    let chars: Vec<(usize, char)> = w.char_indices().collect();
    if chars.len() < 2 * MIN_PART {
        return None;
    }
    (MIN_PART..=chars.len() - MIN_PART)
        .filter_map(|i| {
            let (left, right) = w.split_at(chars[i].0);
            let fewer = vocabulary.count(left).min(vocabulary.count(right));
            (fewer > 0 && vocabulary.adjacent(left, right)).then_some((fewer, left, right))
        })
        // The first of equals: `max_by_key` keeps the last.
        .fold(None, |best: Option<(usize, &str, &str)>, s| match best {
            Some(b) if b.0 >= s.0 => Some(b),
            _ => Some(s),
        })
        .map(|(_, left, right)| vec![left.to_owned(), right.to_owned()])
}

/// The word `w` was most likely meant as by a slip of the keys (`slipped`), that most
/// candidates have; the first in sorted order among equals.
fn slip(w: &str, vocabulary: &impl Vocabulary) -> Option<String> {
    if w.chars().count() < MIN_LEN || w.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for v in vocabulary.each() {
        // A character is one to four bytes: more apart than that is more than one slip.
        if v.len().abs_diff(w.len()) > 4 || v.chars().count() < MIN_LEN || !slipped(w, v) {
            continue;
        }
        let n = vocabulary.count(v);
        if n > 0 && best.is_none_or(|(b, _)| n > b) {
            best = Some((n, v));
        }
    }
    best.map(|(_, v)| v.to_owned())
}

/// Whether `typed` is `meant` with one slip of the keys: two neighbouring letters swapped
/// ("gmial"), one left out ("hubspt"), or one doubled ("twillio"). A letter changed for another,
/// or one added that is no double, is not taken for a slip: it turns words into other words
/// ("sheep" is no "sheet", "flights" no "lights").
fn slipped(typed: &str, meant: &str) -> bool {
    if typed.is_ascii() && meant.is_ascii() {
        return slipped_in(typed.as_bytes(), meant.as_bytes());
    }
    let chars = |s: &str| s.chars().collect::<Vec<char>>();
    slipped_in(&chars(typed), &chars(meant))
}

fn slipped_in<T: PartialEq>(typed: &[T], meant: &[T]) -> bool {
    let head = typed.iter().zip(meant).take_while(|(x, y)| x == y).count();
    if typed.len() == meant.len() {
        head + 1 < typed.len()
            && typed[head] == meant[head + 1]
            && typed[head + 1] == meant[head]
            && typed[head + 2..] == meant[head + 2..]
    } else if typed.len() + 1 == meant.len() {
        typed[head..] == meant[head + 1..]
    } else if typed.len() == meant.len() + 1 {
        // The letter in excess is `typed[head]`; in a run of it, the first of the run.
        head > 0 && typed[head] == typed[head - 1] && typed[head + 1..] == meant[head..]
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Words, how many candidates have each, and the pairs written one after the other.
    struct Counted<'a>(BTreeMap<&'a str, usize>, Vec<(&'a str, &'a str)>);

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
        fn adjacent(&self, left: &str, right: &str) -> bool {
            self.1.contains(&(left, right))
        }
        fn each(&self) -> impl Iterator<Item = &str> {
            self.0.keys().copied()
        }
    }

    fn vocabulary<'a>(words: &[(&'a str, usize)]) -> Counted<'a> {
        Counted(words.iter().copied().collect(), Vec::new())
    }

    fn respelled(query: &[&str], v: &Counted) -> Vec<String> {
        let words: Vec<String> = query.iter().map(|w| (*w).to_owned()).collect();
        respell(&words, v).words
    }

    #[test]
    fn only_words_that_find_nothing_are_read_again_and_what_was_is_told() {
        let v = vocabulary(&[("update", 3), ("message", 9), ("edit", 1), ("retrieve", 2)]);
        // Found as it is: kept, even where a synonym or a correction exists.
        assert_eq!(respelled(&["edit", "message"], &v), ["edit", "message"]);
        assert_eq!(respelled(&["mess"], &v), ["mess"]);
        let v = vocabulary(&[("update", 3), ("message", 9)]);
        let words = ["modify".to_owned(), "mesage".to_owned(), "zebra".to_owned()];
        let r = respell(&words, &v);
        // Nothing close: kept, and still counts against finding too little.
        assert_eq!(r.words, ["update", "message", "zebra"]);
        assert_eq!(
            r.read,
            [
                ("modify".to_owned(), "update".to_owned()),
                ("mesage".to_owned(), "message".to_owned())
            ]
        );
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
    fn a_word_splits_into_two_a_candidate_writes_together() {
        let mut v = vocabulary(&[("pull", 2), ("request", 5), ("pullr", 9), ("equest", 1)]);
        // Both words somewhere, never together: not a split ("netsuite" is no "net suite").
        assert_eq!(respelled(&["pullrequest"], &v), ["pullrequest"]);
        v.1 = vec![("pull", "request"), ("pullr", "equest")];
        assert_eq!(respelled(&["pullrequest"], &v), ["pull", "request"]);
        // Halves shorter than three letters are not words enough.
        let mut v = vocabulary(&[("to", 9), ("do", 9)]);
        v.1 = vec![("to", "do")];
        assert_eq!(respelled(&["todo"], &v), ["todo"]);
    }

    #[test]
    fn a_slip_is_a_swap_a_letter_left_out_or_doubled_never_a_letter_changed() {
        let v = vocabulary(&[
            ("retrieve", 2),
            ("gmail", 1),
            ("email", 7),
            ("hubspot", 1),
            ("twilio", 1),
            ("sheet", 9),
            ("light", 4),
            ("sendgrid", 1),
            ("sendbird", 1),
        ]);
        assert_eq!(respelled(&["retreive"], &v), ["retrieve"]);
        assert_eq!(respelled(&["gmial"], &v), ["gmail"]);
        assert_eq!(respelled(&["hubspt"], &v), ["hubspot"]);
        assert_eq!(respelled(&["twillio"], &v), ["twilio"]);
        assert_eq!(respelled(&["emaill"], &v), ["email"]);
        assert_eq!(respelled(&["sendgird"], &v), ["sendgrid"]);
        // Words a letter apart from others are words: left as they are.
        for word in ["sheep", "flight", "lighty", "emall"] {
            assert_eq!(respelled(&[word], &v), [word]);
        }
        // Short words are left alone: too many are a letter apart.
        let v = vocabulary(&[("data", 9)]);
        assert_eq!(respelled(&["daat"], &v), ["daat"]);
    }

    #[test]
    fn slips() {
        for (typed, meant) in [
            ("abdc", "abcd"),
            ("bacd", "abcd"),
            ("abc", "abcd"),
            ("bcd", "abcd"),
            ("abccd", "abcd"),
            ("abcdd", "abcd"),
            ("aabcd", "abcd"),
            ("éa", "aé"),
        ] {
            assert!(slipped(typed, meant), "{typed} {meant}");
        }
        for (typed, meant) in [
            ("abcd", "abcd"),
            ("abce", "abcd"),
            ("badc", "abcd"),
            ("xabcd", "abcd"),
            ("abcdx", "abcd"),
            ("ab", "abcd"),
            ("dcba", "abcd"),
        ] {
            assert!(!slipped(typed, meant), "{typed} {meant}");
        }
    }
}
