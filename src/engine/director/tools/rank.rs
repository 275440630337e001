//! Free-text ranking for the discovery tools. The API's own `q` matches only a key or name
//! substring ("create issue" misses `jira-create-issue`, "crm" finds no CRM app), so both app
//! search and component search rank on the client: every query word is looked for in the
//! title (name, slug or key: strong) and the body (description, categories: weak), weighted by
//! how rare it is among the candidates, stop words left out; an exact name or key match comes
//! first.

use std::collections::{BTreeMap, BTreeSet};

use super::respell::{self, Vocabulary};
use crate::engine::connect::components::Component;

/// Words of a text, lower-cased, split on anything that is not a letter or digit, with a
/// plural `s` dropped so "emails" finds "email".
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_owned(),
                _ => w,
            }
        })
        .collect()
}

/// The query as a slug (`"Get Lists"` → `get-lists`), to compare with keys and slugs.
fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// A name without its spaces and separators (`Google Sheets`, `google_sheets` → `googlesheets`),
/// so a query that joins or splits the words differently still names it exactly.
pub(super) fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Words that say nothing about which app or action is meant ("send an email with gmail"):
/// left out of the query. Counted, they matched most of the catalog and let apps in on them
/// alone; a query of nothing else asks for nothing in particular.
const STOP_WORDS: [&str; 28] = [
    "a", "an", "and", "as", "at", "by", "for", "from", "i", "in", "into", "is", "it", "me", "my",
    "of", "on", "or", "please", "that", "the", "then", "this", "to", "using", "via", "with",
    "your",
];

/// A query, prepared once for scoring many candidates.
#[derive(Clone)]
pub struct Query {
    text: String,
    slug: String,
    /// `-` and the slug: a name or key ending with it is an exact match (`clickup-get-lists`).
    dashed_slug: String,
    /// The query without separators, when long enough to name something (`googlesheets`).
    compact: Option<String>,
    /// The slug's first part when there are more (`slack` of `slack-send-message`): a
    /// component key given to the app search names its app.
    head: Option<String>,
    words: Vec<String>,
    /// The words read as others (`respelled`): what each was, and what it was read as.
    read: Vec<(String, String)>,
}

/// How well a candidate matches: exact matches first, then more query words matched, then
/// more points (each query word's, weighted by how rare it is among the candidates). Compare
/// with `Ord` (greater is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score {
    pub(super) exact: Naming,
    pub(super) matched: usize,
    pub(super) points: u64,
}

/// Whether the query names a candidate: not; with its words joined or split otherwise
/// (`googlesheets`), or as the first part of a key (`slack` of `slack-send-message`); as the
/// end of a longer key (`update-contact` of
/// `hubspot-create-or-update-contact`); or exactly (its name, slug, or key after the app's
/// slug). Greater is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Naming {
    #[default]
    No,
    Joined,
    Ending,
    Exact,
}

/// What one query word earns where it is found: as a whole word of the title, as the prefix of
/// another title word, in the body (whole or prefix). A word's points are the sum of those that
/// apply, times its weight.
pub(super) const WHOLE_IN_TITLE: usize = 4;
pub(super) const PREFIX_IN_TITLE: usize = 2;
pub(super) const IN_BODY: usize = 1;

/// A query word shorter than this counts only whole: as a prefix ("no", "to") it is in
/// everything.
pub(super) const MIN_PREFIX_LEN: usize = 3;

/// How much a query word weighs when `found` of `candidates` have it: the rarer, the more
/// (`ln(1 + candidates / found)`, at least a little for a word every candidate has). A word no
/// candidate has weighs most: it still counts against finding too little.
pub fn weight(found: usize, candidates: usize) -> f64 {
    (1.0 + candidates as f64 / found.max(1) as f64).ln()
}

/// Where one query word was found in one candidate.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) whole_in_title: bool,
    pub(super) prefix_in_title: bool,
    pub(super) in_body: bool,
}

impl Found {
    fn points(self) -> usize {
        self.whole_in_title as usize * WHOLE_IN_TITLE
            + self.prefix_in_title as usize * PREFIX_IN_TITLE
            + self.in_body as usize * IN_BODY
    }
}

impl Query {
    pub fn new(query: &str) -> Self {
        let slug = slug(query);
        let meaningful: Vec<String> = words(query)
            .into_iter()
            .filter(|w| !STOP_WORDS.contains(&w.as_str()))
            .collect();
        let compact = compact(query);
        let head = slug
            .split_once('-')
            .map(|(head, _)| head.to_owned())
            .filter(|h| h.len() >= MIN_PREFIX_LEN);
        Self {
            head,
            text: query.trim().to_lowercase(),
            dashed_slug: format!("-{slug}"),
            slug,
            compact: (compact.len() >= MIN_PREFIX_LEN).then_some(compact),
            words: meaningful,
            read: Vec::new(),
        }
    }

    /// The whole query, trimmed and lower-cased.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The query as a slug (`get-lists`).
    pub(super) fn slug(&self) -> &str {
        &self.slug
    }

    /// The query without separators (`googlesheets`), if it is long enough.
    pub(super) fn compact(&self) -> Option<&str> {
        self.compact.as_deref()
    }

    /// The slug's first part, when it has more (`slack` of `slack-send-message`).
    pub(super) fn head(&self) -> Option<&str> {
        self.head.as_deref()
    }

    /// The query's words, as `words` splits them, stop words left out (none: the query asks
    /// for nothing in particular).
    pub(super) fn words(&self) -> &[String] {
        &self.words
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The query with each word the candidates do not have read as the word meant
    /// (`respell`).
    pub(super) fn respelled(&self, vocabulary: &impl Vocabulary) -> Self {
        let respelled = respell::respell(&self.words, vocabulary);
        Self {
            words: respelled.words,
            read: respelled.read,
            ..self.clone()
        }
    }

    /// What the query's words were read as (`"gmial" as "gmail"`), for the answer to say: a
    /// word read as another may have been meant as it was.
    pub(super) fn reading(&self) -> Option<String> {
        (!self.read.is_empty()).then(|| {
            let read: Vec<String> = self
                .read
                .iter()
                .map(|(word, meant)| format!("{word:?} as {meant:?}"))
                .collect();
            read.join(", ")
        })
    }

    /// Whether the query names `name` (lower-cased; `compact_name` without separators).
    pub(super) fn names(&self, name: &str, compact_name: &str) -> Naming {
        let before = (!self.slug.is_empty())
            .then(|| name.strip_suffix(&self.dashed_slug))
            .flatten();
        if name == self.text || name == self.slug || before.is_some_and(|b| !b.contains('-')) {
            Naming::Exact
        } else if before.is_some() {
            Naming::Ending
        } else if self.compact.as_deref() == Some(compact_name)
            || self.head.as_deref() == Some(name)
        {
            Naming::Joined
        } else {
            Naming::No
        }
    }

    /// Where query word `w` is in a candidate's `title` and `body`.
    pub(super) fn find(w: &str, title: &[String], body: &[String]) -> Found {
        let prefix = |t: &String| w.len() >= MIN_PREFIX_LEN && t.starts_with(w);
        Found {
            whole_in_title: title.iter().any(|t| t == w),
            prefix_in_title: title.iter().any(|t| t != w && prefix(t)),
            in_body: body.iter().any(|t| t == w || prefix(t)),
        }
    }

    /// How many of `candidates` (their title and body words) have each query word, counted by
    /// looking in every one: what `WordIndex::search` reads off its postings instead.
    pub(super) fn found_in<'c>(
        &self,
        candidates: impl Iterator<Item = (&'c [String], &'c [String])> + Clone,
    ) -> Vec<usize> {
        self.words
            .iter()
            .map(|w| {
                candidates
                    .clone()
                    .filter(|(title, body)| Self::find(w, title, body) != Found::default())
                    .count()
            })
            .collect()
    }

    /// The score of a candidate found so (`found[i]` for query word `i`, which `weights[i]`
    /// weighs), `None` when it matches too little: neither exactly, nor half of the query's
    /// words ("zzzz-no-such-app" must not find every app whose description says "app"), nor a
    /// rare word as a whole word of its name ("create a github issue" finds GitHub).
    pub(super) fn scored(&self, exact: Naming, found: &[Found], weights: &[f64]) -> Option<Score> {
        // A word at most one in eight candidates have: a name holding it is what the query is
        // about ("note" among an app's 24 actions, "github" among 3,000 apps).
        let rare = weight(1, 8);
        let (mut points, mut matched, mut named) = (0.0, 0, false);
        for (f, w) in found.iter().zip(weights) {
            if *f != Found::default() {
                points += f.points() as f64 * w;
                matched += 1;
                named |= f.whole_in_title && *w >= rare;
            }
        }
        // Three words are enough of a long request ("create a new issue in the repository
        // with a title and a body and then assign it").
        let enough = matched > 0 && (matched * 2 >= self.words.len() || matched >= 3 || named);
        (exact != Naming::No || enough).then_some(Score {
            exact,
            matched,
            points: (points * 1000.0).round() as u64,
        })
    }

    /// `names` are what the candidate is called (its name, and its key or slug); `title` and
    /// `body` its words; `weights` those of the query's words (`weight`). `None` when it is no
    /// exact match and matches too little.
    pub fn score(
        &self,
        names: &[&str],
        title: &[String],
        body: &[String],
        weights: &[f64],
    ) -> Option<Score> {
        let exact = names
            .iter()
            .map(|n| self.names(&n.to_lowercase(), &compact(n)))
            .max()
            .unwrap_or_default();
        let found: Vec<Found> = self
            .words
            .iter()
            .map(|w| Self::find(w, title, body))
            .collect();
        self.scored(exact, &found, weights)
    }
}

/// What an answer's message says of a query's words read as others (`Query::reading`), the
/// candidates called `noun`: the same sentence from every tool.
pub(super) fn reading_said(reading: &str, noun: &str) -> String {
    format!(" Read {reading}, since no {noun} have those words.")
}

/// Components ranked for a query, best first, and what its words were read as, if any were
/// (`Query::reading`).
pub struct Ranked<'a> {
    pub components: Vec<&'a Component>,
    pub reading: Option<String>,
}

/// Ranks components against a free-text query: components matching too few of the words are
/// dropped; an exact name or key match comes first.
pub fn rank_components<'a>(components: &'a [Component], query: &str) -> Ranked<'a> {
    let query = Query::new(query);
    if query.is_empty() {
        return Ranked {
            components: components.iter().collect(),
            reading: None,
        };
    }
    let texts: Vec<(Vec<String>, Vec<String>)> = components
        .iter()
        .map(|c| {
            (
                words(&format!("{} {}", c.key, c.name)),
                words(&c.description),
            )
        })
        .collect();
    let candidates = || texts.iter().map(|(title, body)| (&title[..], &body[..]));
    let mut have = query.found_in(candidates());
    // The vocabulary is counted only for a query with a word that finds nothing.
    let query = match have.contains(&0) {
        false => query,
        true => {
            let respelled = query.respelled(&Counted::new(candidates()));
            have = respelled.found_in(candidates());
            respelled
        }
    };
    let weights: Vec<f64> = have.iter().map(|&h| weight(h, texts.len())).collect();
    let mut scored: Vec<(Score, &Component)> = components
        .iter()
        .zip(&texts)
        .filter_map(|(c, (title, body))| {
            query
                .score(&[&c.name, &c.key], title, body, &weights)
                .map(|s| (s, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    Ranked {
        components: scored.into_iter().map(|(_, c)| c).collect(),
        reading: query.reading(),
    }
}

/// The words of candidates scanned one by one (each one's title and body words), counted, and
/// the pairs of words written one after the other.
pub(super) struct Counted<'a> {
    counts: BTreeMap<&'a str, usize>,
    pairs: BTreeSet<(&'a str, &'a str)>,
}

impl<'a> Counted<'a> {
    pub(super) fn new(candidates: impl IntoIterator<Item = (&'a [String], &'a [String])>) -> Self {
        let mut counts = BTreeMap::new();
        let mut pairs = BTreeSet::new();
        let mut seen: Vec<&str> = Vec::new();
        for (title, body) in candidates {
            seen.clear();
            seen.extend(title.iter().chain(body).map(String::as_str));
            seen.sort_unstable();
            seen.dedup();
            for w in &seen {
                *counts.entry(*w).or_insert(0) += 1;
            }
            for text in [title, body] {
                pairs.extend(text.windows(2).map(|p| (p[0].as_str(), p[1].as_str())));
            }
        }
        Self { counts, pairs }
    }
}

impl Vocabulary for Counted<'_> {
    fn has(&self, w: &str) -> bool {
        self.counts
            .range(w..)
            .next()
            .is_some_and(|(v, _)| *v == w || (w.len() >= MIN_PREFIX_LEN && v.starts_with(w)))
    }
    fn count(&self, w: &str) -> usize {
        self.counts.get(w).copied().unwrap_or(0)
    }
    fn adjacent(&self, left: &str, right: &str) -> bool {
        self.pairs.contains(&(left, right))
    }
    fn each(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn score(q: &str, name: &str, key: &str) -> Option<Score> {
        let q = Query::new(q);
        let weights = vec![1.0; q.words().len()];
        q.score(
            &[name, key],
            &words(&format!("{key} {name}")),
            &[],
            &weights,
        )
    }

    #[test]
    fn an_exact_name_or_key_outranks_more_word_matches() {
        let exact = score("Get Lists", "Get Lists", "clickup-get-lists").unwrap();
        let other = score(
            "Get Lists",
            "Get List Comments",
            "clickup-get-list-comments",
        )
        .unwrap();
        assert!(exact > other);
        assert!(
            score("clickup-get-lists", "Get Lists", "clickup-get-lists")
                .unwrap()
                .exact
                == Naming::Exact
        );
        assert!(
            score("list tasks", "List Tasks", "google_tasks-list-tasks")
                .unwrap()
                .exact
                == Naming::Exact
        );
        assert!(score("zzz", "Get Lists", "clickup-get-lists").is_none());
        assert!(score("zzzz no such list", "Get Lists", "clickup-get-lists").is_none());
        assert!(score("get lists now", "Get Lists", "clickup-get-lists").is_some());
    }

    fn component(key: &str, name: &str, description: &str) -> Component {
        serde_json::from_str(
            &json!({
                "key": key, "name": name, "version": "0.1.0", "description": description,
                "configurable_props": [{"name": "app", "type": "app", "app": "jira"}]
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn ranks_by_words_in_name_description_and_key() {
        let cs = vec![
            component(
                "jira-search-issues",
                "Search Issues with JQL",
                "Search issues.",
            ),
            component(
                "jira-create-issue",
                "Create Issue",
                "Creates an issue in Jira.",
            ),
            component(
                "jira-add-comment",
                "Add Comment",
                "Adds a comment to an issue.",
            ),
            component("jira-get-user", "Get User", "Gets a user."),
        ];
        let keys: Vec<&str> = rank_components(&cs, "create issue")
            .components
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-create-issue");
        assert!(!keys.contains(&"jira-get-user"));
        let keys: Vec<&str> = rank_components(&cs, "comments")
            .components
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys, vec!["jira-add-comment"]);
        assert_eq!(rank_components(&cs, " ").components.len(), 4);
        // Asked for by its own name, a component comes first even when others match more.
        let keys: Vec<&str> = rank_components(&cs, "Get User")
            .components
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-get-user");
    }

    /// The key after the app's slug is the name; a longer key that ends so is not (HubSpot's
    /// "Update Contact" against "Batch Create or Update Contact"). A rare word of a name lets
    /// its component in on a longer sentence; stop words alone ask for nothing in particular.
    #[test]
    fn keys_names_and_sentences() {
        let mut cs: Vec<Component> = (0..10)
            .map(|i| {
                component(
                    &format!("hubspot-get-thing-{i}"),
                    &format!("Get Thing {i}"),
                    "Gets a contact.",
                )
            })
            .collect();
        cs.push(component(
            "hubspot-batch-create-or-update-contact",
            "Batch Create or Update Contact",
            "Contacts.",
        ));
        cs.push(component(
            "hubspot-update-contact",
            "Update Contact",
            "Updates a contact.",
        ));
        cs.push(component(
            "hubspot-create-note",
            "Create Note",
            "Create a new note.",
        ));
        let keys = |q: &str| -> Vec<String> {
            rank_components(&cs, q)
                .components
                .iter()
                .map(|c| c.key.clone())
                .collect()
        };
        assert_eq!(keys("update-contact")[0], "hubspot-update-contact");
        assert_eq!(keys("Update Contact")[0], "hubspot-update-contact");
        assert!(keys("add a note to a contact").contains(&"hubspot-create-note".to_owned()));
        // Three words are enough of a long request (half of it would be four).
        let github = vec![
            component(
                "github-create-issue",
                "Create Issue",
                "Create a new issue in a Github repo.",
            ),
            component("github-get-repo", "Get Repository", "Get a repository."),
        ];
        let long = "create a new issue in the repository with a title and a body and then assign it to someone";
        assert_eq!(
            rank_components(&github, long).components[0].key,
            "github-create-issue"
        );
        assert_eq!(keys("the a to").len(), cs.len());
    }
}
