//! Free-text ranking for the discovery tools. The API's own `q` matches only a key or name
//! substring ("create issue" misses `jira-create-issue`, "crm" finds no CRM app), so both app
//! search and component search rank on the client: every query word is looked for in the
//! title (name, slug or key: strong) and the body (description, categories: weak), and an
//! exact name or key match comes first.

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

/// A query, prepared once for scoring many candidates.
pub struct Query {
    text: String,
    slug: String,
    /// `-` and the slug: a name or key ending with it is an exact match (`clickup-get-lists`).
    dashed_slug: String,
    words: Vec<String>,
}

/// How well a candidate matches: exact matches first, then more query words matched, then a
/// higher score. Compare with `Ord` (greater is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score {
    pub(super) exact: bool,
    pub(super) matched: usize,
    pub(super) points: usize,
}

/// What one query word earns where it is found: as a whole word of the title, as the prefix of
/// another title word, in the body (whole or prefix). A word's points are the sum of those that
/// apply.
pub(super) const WHOLE_IN_TITLE: usize = 4;
pub(super) const PREFIX_IN_TITLE: usize = 2;
pub(super) const IN_BODY: usize = 1;

/// A query word shorter than this counts only whole: as a prefix ("no", "to") it is in
/// everything.
pub(super) const MIN_PREFIX_LEN: usize = 3;

impl Query {
    pub fn new(query: &str) -> Self {
        let slug = slug(query);
        Self {
            text: query.trim().to_lowercase(),
            dashed_slug: format!("-{slug}"),
            slug,
            words: words(query),
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

    /// The query's words, as `words` splits them.
    pub(super) fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether `matched` of the query's words are enough for a candidate that is not an exact
    /// match: at least half of them. "zzzz-no-such-app" must not find every app whose
    /// description says "app".
    pub(super) fn enough(&self, matched: usize) -> bool {
        matched > 0 && matched * 2 >= self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// `names` are what the candidate is called (its name, and its key or slug); `title` and
    /// `body` its words. `None` when no query word is found.
    pub fn score(&self, names: &[&str], title: &[String], body: &[String]) -> Option<Score> {
        let exact = names.iter().any(|n| {
            let n = n.to_lowercase();
            n == self.text
                || n == self.slug
                || (!self.slug.is_empty() && n.ends_with(&self.dashed_slug))
        });
        let mut matched = 0;
        let mut points = 0;
        for w in &self.words {
            let prefix = |t: &String| w.len() >= MIN_PREFIX_LEN && t.starts_with(w.as_str());
            let earned = title.iter().any(|t| t == w) as usize * WHOLE_IN_TITLE
                + title.iter().any(|t| t != w && prefix(t)) as usize * PREFIX_IN_TITLE
                + body.iter().any(|t| t == w || prefix(t)) as usize * IN_BODY;
            if earned > 0 {
                matched += 1;
                points += earned;
            }
        }
        let enough = self.enough(matched);
        (exact || enough).then_some(Score {
            exact,
            matched,
            points,
        })
    }
}

/// Ranks components against a free-text query: components matching too few of the words are
/// dropped; an exact name or key match comes first.
pub fn rank_components<'a>(components: &'a [Component], query: &str) -> Vec<&'a Component> {
    let query = Query::new(query);
    if query.is_empty() {
        return components.iter().collect();
    }
    let mut scored: Vec<(Score, &Component)> = components
        .iter()
        .filter_map(|c| {
            let title = words(&format!("{} {}", c.key, c.name));
            let body = words(&c.description);
            query
                .score(&[&c.name, &c.key], &title, &body)
                .map(|s| (s, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    scored.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn score(q: &str, name: &str, key: &str) -> Option<Score> {
        let q = Query::new(q);
        q.score(&[name, key], &words(&format!("{key} {name}")), &[])
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
        );
        assert!(
            score("list tasks", "List Tasks", "google_tasks-list-tasks")
                .unwrap()
                .exact
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
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-create-issue");
        assert!(!keys.contains(&"jira-get-user"));
        let keys: Vec<&str> = rank_components(&cs, "comments")
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys, vec!["jira-add-comment"]);
        assert_eq!(rank_components(&cs, " ").len(), 4);
        // Asked for by its own name, a component comes first even when others match more.
        let keys: Vec<&str> = rank_components(&cs, "Get User")
            .iter()
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(keys[0], "jira-get-user");
    }
}
