//! An inverted index of the app catalog, for `searchServices`. Scoring every app of the catalog
//! for each search (`Query::score`: its words, lower-cased names) cost time in proportion to the
//! catalog, about 3,000 apps on the real API; the index looks up the query's words and names
//! and touches only the apps that have them. It gives the same scores as `Query::score`, which
//! a test checks on generated catalogs.

use std::collections::{BTreeMap, HashMap};

use crate::engine::director::tools::rank::{
    Found, MIN_PREFIX_LEN, Naming, Query, Score, compact, weight,
};
use crate::engine::director::tools::respell::Vocabulary;

/// One candidate's ranking words: what it is called (each compared whole, lower-cased) and the
/// words of its title and body, as `rank::words` splits them.
pub struct Entry<'a> {
    pub names: [&'a str; 2],
    pub title: Vec<String>,
    pub body: Vec<String>,
}

pub struct WordIndex {
    /// Every distinct word of any title or body, sorted, so the words a query word is a prefix
    /// of are one run starting at the word itself.
    words: Vec<Postings>,
    /// Each lower-cased name → the candidates called that.
    names: HashMap<Box<str>, Vec<u32>>,
    /// Whatever follows the first `-` in a lower-cased name → the candidates whose name ends
    /// so (the key after the app's slug).
    first_suffixes: HashMap<Box<str>, Vec<u32>>,
    /// Whatever follows a later `-` → the candidates whose name ends so.
    suffixes: HashMap<Box<str>, Vec<u32>>,
    /// Each name without separators (`googlesheets`) → the candidates called that.
    compacts: HashMap<Box<str>, Vec<u32>>,
    /// Every pair of words some title or body has one after the other, as their positions in
    /// `words` (first << 32 | second), sorted.
    pairs: Vec<u64>,
    len: usize,
}

/// The candidates having a word in their title, and those having it in their body, in order.
struct Postings {
    word: Box<str>,
    title: Vec<u32>,
    body: Vec<u32>,
}

/// The candidates whose name ends in `-` and `slug`, in `ends`.
fn ending<'m>(ends: &'m HashMap<Box<str>, Vec<u32>>, slug: &str) -> Option<&'m Vec<u32>> {
    (!slug.is_empty()).then(|| ends.get(slug)).flatten()
}

/// `w`'s title and body postings, made empty the first time (the word copied then only).
fn postings<'m>(
    words: &'m mut BTreeMap<String, (Vec<u32>, Vec<u32>)>,
    w: &str,
) -> &'m mut (Vec<u32>, Vec<u32>) {
    if !words.contains_key(w) {
        words.insert(w.to_owned(), Default::default());
    }
    words.get_mut(w).expect("just inserted")
}

/// Appends `id` unless it is already the last one (ids are added in order).
fn add(ids: &mut Vec<u32>, id: u32) {
    if ids.last() != Some(&id) {
        ids.push(id);
    }
}

impl WordIndex {
    /// The index of `entries`; a candidate's id is its position.
    pub fn new<'a>(entries: impl IntoIterator<Item = Entry<'a>>) -> Self {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut words: BTreeMap<String, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
        let mut names: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut first_suffixes: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut suffixes: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut compacts: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut len = 0;
        for (id, entry) in entries.iter().enumerate() {
            let id = u32::try_from(id).expect("a catalog is capped far below u32::MAX");
            len += 1;
            for w in &entry.title {
                add(&mut postings(&mut words, w).0, id);
            }
            for w in &entry.body {
                add(&mut postings(&mut words, w).1, id);
            }
            for name in entry.names {
                add(compacts.entry(compact(name).into()).or_default(), id);
                let name = name.to_lowercase();
                for (n, (at, _)) in name.match_indices('-').enumerate() {
                    let ends = if n == 0 {
                        &mut first_suffixes
                    } else {
                        &mut suffixes
                    };
                    add(ends.entry(name[at + 1..].into()).or_default(), id);
                }
                add(names.entry(name.into()).or_default(), id);
            }
        }
        let words: Vec<Postings> = words
            .into_iter()
            .map(|(word, (title, body))| Postings {
                word: word.into(),
                title,
                body,
            })
            .collect();
        // Every word of an entry is in `words`.
        let position = |w: &str| words.partition_point(|p| *p.word < *w);
        let mut pairs: Vec<u64> = entries
            .iter()
            .flat_map(|e| [&e.title, &e.body])
            .flat_map(|text| text.windows(2))
            .map(|p| pair(position(&p[0]), position(&p[1])))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        Self {
            words,
            names,
            first_suffixes,
            suffixes,
            compacts,
            pairs,
            len,
        }
    }

    /// The candidates `query` finds, by id, with the score `Query::score` would give them (with
    /// each query word weighted by how many candidates have it).
    pub fn search(&self, query: &Query) -> Vec<(usize, Score)> {
        let mut exact = vec![Naming::No; self.len];
        let slug = query.slug();
        let compacted = query.compact().and_then(|c| self.compacts.get(c));
        for (ids, naming) in [
            (self.names.get(query.text()), Naming::Exact),
            (self.names.get(slug), Naming::Exact),
            (ending(&self.first_suffixes, slug), Naming::Exact),
            (ending(&self.suffixes, slug), Naming::Ending),
            (compacted, Naming::Joined),
            (query.head().and_then(|h| self.names.get(h)), Naming::Joined),
        ] {
            for &id in ids.into_iter().flatten() {
                let e = &mut exact[id as usize];
                *e = (*e).max(naming);
            }
        }

        // Where each query word was found, per candidate (`n` words a candidate), and who has
        // any of them.
        let n = query.words().len();
        let mut found = vec![Found::default(); self.len * n];
        let mut seen = vec![false; self.len];
        let mut candidates: Vec<u32> = Vec::new();
        let mut have = vec![0usize; n];
        for (i, w) in query.words().iter().enumerate() {
            let start = self.words.partition_point(|p| *p.word < **w);
            for p in self.words[start..]
                .iter()
                .take_while(|p| p.word.starts_with(w.as_str()))
            {
                // The run starts with the word itself, if any title or body has it.
                let whole = *p.word == **w;
                if !whole && w.len() < MIN_PREFIX_LEN {
                    break;
                }
                let mut mark = |id: u32, set: fn(&mut Found)| {
                    let f = &mut found[id as usize * n + i];
                    if *f == Found::default() {
                        have[i] += 1;
                        if !std::mem::replace(&mut seen[id as usize], true) {
                            candidates.push(id);
                        }
                    }
                    set(f);
                };
                for &id in &p.title {
                    match whole {
                        true => mark(id, |f| f.whole_in_title = true),
                        false => mark(id, |f| f.prefix_in_title = true),
                    }
                }
                for &id in &p.body {
                    mark(id, |f| f.in_body = true);
                }
            }
        }
        let weights: Vec<f64> = have.iter().map(|&h| weight(h, self.len)).collect();
        for (id, _) in exact.iter().enumerate().filter(|(_, e)| **e != Naming::No) {
            if !std::mem::replace(&mut seen[id], true) {
                candidates.push(id as u32);
            }
        }
        candidates.sort_unstable();
        candidates
            .into_iter()
            .filter_map(|id| {
                let id = id as usize;
                let score = query.scored(exact[id], &found[id * n..(id + 1) * n], &weights)?;
                Some((id, score))
            })
            .collect()
    }
}

impl WordIndex {
    /// Where the word `w` is in `words`, if any title or body has it.
    fn position(&self, w: &str) -> Option<usize> {
        self.words.binary_search_by(|p| (*p.word).cmp(w)).ok()
    }
}

/// Two words' positions in `words` as one entry of `pairs`.
fn pair(left: usize, right: usize) -> u64 {
    let at = |p: usize| u64::try_from(p).expect("a catalog is capped far below u32::MAX");
    at(left) << 32 | at(right)
}

impl Vocabulary for WordIndex {
    fn has(&self, w: &str) -> bool {
        let start = self.words.partition_point(|p| *p.word < *w);
        self.words
            .get(start)
            .is_some_and(|p| *p.word == *w || (w.len() >= MIN_PREFIX_LEN && p.word.starts_with(w)))
    }

    fn count(&self, w: &str) -> usize {
        let Some(at) = self.position(w) else {
            return 0;
        };
        let Postings { title, body, .. } = &self.words[at];
        // Both are sorted: the candidates in either, counted once.
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < title.len() || j < body.len() {
            match (title.get(i), body.get(j)) {
                (Some(a), Some(b)) if a == b => (i, j) = (i + 1, j + 1),
                (Some(a), Some(b)) if a < b => i += 1,
                (Some(_), None) => i += 1,
                _ => j += 1,
            }
            n += 1;
        }
        n
    }

    fn adjacent(&self, left: &str, right: &str) -> bool {
        let (Some(l), Some(r)) = (self.position(left), self.position(right)) else {
            return false;
        };
        self.pairs.binary_search(&pair(l, r)).is_ok()
    }

    fn each(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|p| &*p.word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::director::tools::rank::{Counted, words};
    use proptest::prelude::*;

    /// A candidate: two names and a body text.
    type Candidate = (String, String, String);

    fn entries(candidates: &[Candidate]) -> Vec<Entry<'_>> {
        candidates
            .iter()
            .map(|(name, slug, body)| Entry {
                names: [name, slug],
                title: words(&format!("{name} {slug}")),
                body: words(body),
            })
            .collect()
    }

    /// What scoring every candidate with `Query::score` finds, each word weighted by how many
    /// candidates have it.
    fn scanned(candidates: &[Candidate], query: &str) -> Vec<(usize, Score)> {
        let entries = entries(candidates);
        let scanned = || entries.iter().map(|e| (&e.title[..], &e.body[..]));
        let query = Query::new(query).respelled(&Counted::new(scanned()));
        let weights: Vec<f64> = query
            .found_in(scanned())
            .into_iter()
            .map(|have| weight(have, entries.len()))
            .collect();
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let score = query.score(&e.names, &e.title, &e.body, &weights)?;
                Some((i, score))
            })
            .collect()
    }

    fn indexed(candidates: &[Candidate], query: &str) -> Vec<(usize, Score)> {
        let index = WordIndex::new(entries(candidates));
        index.search(&Query::new(query).respelled(&index))
    }

    /// Text from a small alphabet, so that words, prefixes, hyphenated names, plurals and
    /// letters whose lower case differs (`Σ`, `İ`) meet often.
    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("ab"),
                Just("abc"),
                Just("abcs"),
                Just("mail"),
                Just("Mails"),
                Just("mial"),
                Just("abcmail"),
                Just("edit"),
                Just("update"),
                Just("-"),
                Just(" "),
                Just("_"),
                Just("é"),
                Just("Σ"),
                Just("İ"),
                Just("9"),
            ],
            0..max,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn scores_as_scanning_every_candidate_does(
            candidates in proptest::collection::vec((text(6), text(6), text(10)), 0..12),
            query in text(6),
        ) {
            prop_assert_eq!(indexed(&candidates, &query), scanned(&candidates, &query));
        }
    }

    #[test]
    fn exact_names_prefixes_and_short_words() {
        let c = |name: &str, slug: &str, body: &str| (name.into(), slug.into(), body.into());
        let candidates = vec![
            c("Get Lists", "clickup-get-lists", ""),
            c("Gmail", "gmail", "Send email"),
            c("No Code", "no_code", "nothing"),
            c("Mailchimp", "mailchimp", "marketing"),
        ];
        for query in [
            "get lists",
            "clickup-get-lists",
            "get-lists",
            "mail",
            "emails",
            "no",
            "not",
            "zzzz",
            "",
            "   ",
        ] {
            assert_eq!(
                indexed(&candidates, query),
                scanned(&candidates, query),
                "{query:?}"
            );
        }
        // The cases above do find something.
        assert_eq!(indexed(&candidates, "get-lists")[0].0, 0);
        assert_eq!(indexed(&candidates, "get-lists")[0].1.exact, Naming::Exact);
        assert_eq!(
            indexed(&candidates, "mail")
                .iter()
                .map(|h| h.0)
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(indexed(&candidates, "no").len(), 1);
    }
}
