//! `searchServices`: the LLM's first discovery step. The API's `q` matches app names and slugs
//! only (PipedreamHQ/pipedream#18765, #15426), so "crm", "send sms" or "google drive" would find
//! nothing. Instead the whole catalog (`GET /v1/connect/apps`, every page: about 3,000 apps) is
//! fetched once, cached with stale-if-error, and ranked here over names, slugs, descriptions
//! and categories; the answer is the compact shape Director's tool loop expects.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::connect::apps::{App, takes_account};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::engine::args::Args;
use crate::engine::director::Director;
use crate::engine::director::tools::budget::{
    SERVICE_DESCRIPTION_CHARS, SERVICES_BUDGET_BYTES, trim_text, without_doc_link,
};
use crate::engine::director::tools::rank::{Query, Score, reading_said, words};
use crate::engine::director::tools::word_index::{Entry, WordIndex};
use crate::engine::error::{Error, Result};
use crate::engine::json::to_json;
use crate::engine::transport::cache::Ticket;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
const MAX_QUERY_CHARS: usize = 200;

/// The app catalog, indexed once for ranking, with each app's answer text written once.
pub struct AppCatalog {
    apps: Vec<IndexedApp>,
    index: WordIndex,
    /// Slug → position of the first app with it.
    slugs: HashMap<String, usize>,
}

/// What a search needs of an app once the catalog is indexed.
struct IndexedApp {
    name: String,
    /// Whether its app props take an account (not when `auth_type` is `none`).
    needs_account: bool,
    featured_weight: f64,
    /// The app as a search answer lists it (`Service`), in JSON: the same for every search.
    service: Box<RawValue>,
}

impl AppCatalog {
    /// The display name of the app `slug`, if the catalog has it.
    pub fn name_of(&self, slug: &str) -> Option<&str> {
        self.slugs.get(slug).map(|&i| self.apps[i].name.as_str())
    }

    /// Whether an app prop of `slug` takes an account, if the catalog has the app.
    pub fn needs_account(&self, slug: &str) -> Option<bool> {
        self.slugs.get(slug).map(|&i| self.apps[i].needs_account)
    }

    pub fn new(apps: Vec<App>) -> Self {
        let index = WordIndex::new(apps.iter().map(ranked_words));
        let mut slugs = HashMap::with_capacity(apps.len());
        for (i, app) in apps.iter().enumerate() {
            slugs.entry(app.name_slug.clone()).or_insert(i);
        }
        let apps = apps
            .into_iter()
            .map(|app| IndexedApp {
                service: RawValue::from_string(to_json(&Service::from(&app)))
                    .expect("to_json writes JSON"),
                featured_weight: app.featured_weight.unwrap_or(0.0),
                needs_account: takes_account(app.auth_type.as_deref()),
                name: app.name,
            })
            .collect();
        Self { apps, index, slugs }
    }

    /// The app at `position`, as a search answer lists it.
    pub fn service(&self, position: usize) -> &RawValue {
        &self.apps[position].service
    }

    /// The apps matching `query`, best first (an exact name or slug, then more words matched,
    /// then featured apps), by position.
    pub fn search(&self, query: &str, limit: usize) -> AppsFound {
        let query = Query::new(query).respelled(&self.index);
        let mut hits: Vec<(Score, usize)> = self
            .index
            .search(&query)
            .into_iter()
            .map(|(i, score)| (score, i))
            .collect();
        hits.sort_by(|(score_a, a), (score_b, b)| {
            let (a, b) = (&self.apps[*a], &self.apps[*b]);
            score_b
                .cmp(score_a)
                .then(b.featured_weight.total_cmp(&a.featured_weight))
                .then(a.name.cmp(&b.name))
        });
        AppsFound {
            total: hits.len() as u64,
            positions: hits.into_iter().take(limit).map(|(_, i)| i).collect(),
            reading: query.reading(),
        }
    }
}

/// The apps a search found: the best `limit` by position, how many matched in all, and what
/// the query's words were read as, if any were (`Query::reading`).
pub struct AppsFound {
    pub positions: Vec<usize>,
    pub total: u64,
    pub reading: Option<String>,
}

/// What an app is ranked by: its name and slug, the words of both (the title), and those of
/// its description and categories (the body).
fn ranked_words(app: &App) -> Entry<'_> {
    Entry {
        names: [&app.name, &app.name_slug],
        title: words(&format!("{} {}", app.name, app.name_slug)),
        body: words(&format!(
            "{} {}",
            app.description.as_deref().unwrap_or_default(),
            app.categories.as_deref().unwrap_or_default().join(" ")
        )),
    }
}

/// One search hit, as Director's tool loop reads it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Service {
    pub app_slug: String,
    pub name: String,
    pub description: String,
    pub logo_url: Option<String>,
    pub categories: Vec<String>,
    pub auth_type: Option<String>,
}

impl From<&App> for Service {
    fn from(app: &App) -> Self {
        let description = app
            .description
            .as_deref()
            .map(|d| trim_text(without_doc_link(d), SERVICE_DESCRIPTION_CHARS))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("{} integration", app.name));
        Self {
            app_slug: app.name_slug.clone(),
            name: app.name.clone(),
            description,
            logo_url: app.img_src.clone().filter(|s| !s.is_empty()),
            categories: app.categories.clone().unwrap_or_default(),
            auth_type: app.auth_type.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchServicesArgs {
    pub query: String,
    pub limit: usize,
}

impl SearchServicesArgs {
    /// Checks a JS argument object. The error names the field and the expected shape, so an
    /// LLM that sent a bad tool call can fix it.
    pub fn parse(args: &Value) -> Result<Self> {
        let a = Args::new(
            args,
            "searchServices expects { query: string, limit?: number }",
        )?;
        let query = a.required_string("query", MAX_QUERY_CHARS, "\"gmail\" or \"crm\"")?;
        let limit = a
            .integer("limit", 1, MAX_LIMIT as u64)?
            .map_or(DEFAULT_LIMIT, |l| l as usize);
        Ok(Self { query, limit })
    }

    /// The cache key: searches differing only in letter case are the same search.
    pub fn cache_key(&self) -> (String, usize) {
        (self.query.to_lowercase(), self.limit)
    }
}

/// What is cached for a search: the services it lists, as positions in the catalog they were
/// ranked from, and the total found. The catalog keeps each service's JSON text, so a cached
/// search holds a few bytes per service instead of its text (tens of thousands of searches
/// are cached). It keeps that catalog alive while it is cached, even after a refresh.
pub struct ServiceHits {
    /// `None` for an answer that lists nothing.
    catalog: Option<Arc<AppCatalog>>,
    listed: Box<[u32]>,
    pub total_found: u64,
    /// What the query's words were read as, if any were.
    reading: Option<Box<str>>,
    /// Ranked from a catalog served stale (the refresh failed).
    stale: bool,
}

impl std::fmt::Debug for ServiceHits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHits")
            .field("listed", &self.listed)
            .field("total_found", &self.total_found)
            .field("stale", &self.stale)
            .finish()
    }
}

impl ServiceHits {
    /// The best of those `found` that fit `SERVICES_BUDGET_BYTES` as a JSON array, in order (at
    /// least one).
    pub fn new(catalog: Arc<AppCatalog>, found: AppsFound, stale: bool) -> Self {
        let mut len = "[]".len();
        let mut listed = Vec::new();
        for &position in &found.positions {
            len += catalog.service(position).get().len() + usize::from(!listed.is_empty());
            if !listed.is_empty() && len > SERVICES_BUDGET_BYTES {
                break;
            }
            listed.push(u32::try_from(position).expect("a catalog is capped far below u32::MAX"));
        }
        Self {
            catalog: Some(catalog),
            listed: listed.into(),
            total_found: found.total,
            reading: found.reading.map(Into::into),
            stale,
        }
    }

    /// An answer that lists nothing.
    pub fn none() -> Self {
        Self {
            catalog: None,
            listed: Box::default(),
            total_found: 0,
            reading: None,
            stale: false,
        }
    }

    fn services(&self) -> impl Iterator<Item = &RawValue> {
        let catalog = self.catalog.as_deref();
        self.listed
            .iter()
            .filter_map(move |&p| catalog.map(|c| c.service(p as usize)))
    }
}

#[derive(Debug, Serialize)]
pub struct SearchServicesResult {
    pub query: String,
    pub services: ServiceHitsView,
    pub total_found: u64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached: Option<bool>,
    /// Set when an expired answer is served because the refresh failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    /// A rate-limited failure: how long to wait, as on every failed answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// Serializes the services of a shared `ServiceHits` without copying them.
#[derive(Debug)]
pub struct ServiceHitsView(pub Arc<ServiceHits>);

impl Serialize for ServiceHitsView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.services())
    }
}

impl SearchServicesResult {
    pub fn found(query: String, hits: Arc<ServiceHits>, cached: bool, stale: bool) -> Self {
        let stale = stale || hits.stale;
        let n = hits.listed.len();
        let total = hits.total_found;
        const NEXT: &str =
            "Use pipedream_get_components with an app_slug to see available actions.";
        let mut message = match n {
            0 => format!(
                "No services found for \"{query}\". Try broader terms like \"email\", \"database\", or \"crm\"."
            ),
            // Said, so that a model narrows the query instead of taking the list for all.
            _ if (n as u64) < total => format!(
                "Found {total} services matching \"{query}\"; these are the best {n} (a longer list is cut to the limit, and to about 4 KB: add words to narrow the search). {NEXT}"
            ),
            1 => format!("Found 1 service matching \"{query}\". {NEXT}"),
            _ => format!("Found {n} services matching \"{query}\". {NEXT}"),
        };
        if let Some(reading) = &hits.reading {
            message.push_str(&reading_said(reading, "services"));
        }
        if stale {
            message.push_str(STALE_NOTE);
        }
        Self {
            total_found: hits.total_found,
            services: ServiceHitsView(hits),
            query,
            message,
            error: None,
            cached: Some(cached),
            stale: stale.then_some(true),
            retry_after_ms: None,
        }
    }

    /// Failures are answers too: the tool loop shows `message` to the LLM instead of throwing.
    pub fn failed(query: String, error: &Error) -> Self {
        Self {
            message: format!("Failed to search Pipedream services: {error}"),
            query,
            services: ServiceHitsView(Arc::new(ServiceHits::none())),
            total_found: 0,
            error: Some(error.code().as_str()),
            cached: None,
            stale: None,
            retry_after_ms: error.retry_after_ms(),
        }
    }
}

/// Appended to the message of an answer served stale.
pub const STALE_NOTE: &str = " (Served from cache: Pipedream could not be reached to refresh this answer, so it may be out of date.)";

impl Director {
    /// A fresh hit: the ticket of the entry it came from and the answer.
    pub(crate) fn search_services_cached(
        &self,
        args: &SearchServicesArgs,
    ) -> Option<(Ticket, String)> {
        let (hits, ticket) = self.searches.probe_ticket(&args.cache_key())?;
        let answer = SearchServicesResult::found(args.query.clone(), hits, true, false);
        Some((ticket, to_json(&answer)))
    }

    pub(crate) async fn search_services(&self, args: SearchServicesArgs) -> String {
        let looked_up = self
            .searches
            .get_or_fetch(args.cache_key(), self.fetch_services(&args))
            .await;
        if let Ok(l) = &looked_up
            && l.value.stale
        {
            // Ranked from a catalog served stale: answer it, but do not keep it as a fresh
            // answer, which would outlive the catalog's own stale window.
            self.searches.invalidate(&args.cache_key()).await;
        }
        to_json(&match looked_up {
            Ok(l) => SearchServicesResult::found(args.query, l.value, l.cached, l.stale),
            Err(e) => SearchServicesResult::failed(args.query, &e),
        })
    }

    async fn fetch_services(&self, args: &SearchServicesArgs) -> Result<Arc<ServiceHits>> {
        let catalog = self
            .app_catalog
            .get_or_fetch_dated(CATALOG_KEY, async {
                let apps = self.connect.list_all_apps().await?;
                Ok(apps.map(|apps| Arc::new(AppCatalog::new(apps))))
            })
            .await?;
        let found = catalog.value.search(&args.query, args.limit);
        Ok(Arc::new(ServiceHits::new(
            catalog.value,
            found,
            catalog.stale,
        )))
    }
}

/// The one key of the catalog cache.
pub const CATALOG_KEY: &str = "apps";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_defaults() {
        let a = SearchServicesArgs::parse(&json!({"query": "  Gmail "})).unwrap();
        assert_eq!(
            a,
            SearchServicesArgs {
                query: "Gmail".into(),
                limit: 20
            }
        );
        assert_eq!(a.cache_key(), ("gmail".into(), 20));
        let a = SearchServicesArgs::parse(&json!({"query": "crm", "limit": 5})).unwrap();
        assert_eq!(a.limit, 5);
    }

    #[test]
    fn rejects_bad_args_with_a_clear_message() {
        for (args, needle) in [
            (json!(null), "got null"),
            (json!("gmail"), "got a string"),
            (json!({}), "`query` must be a non-empty string"),
            (json!({"query": ""}), "`query` must be a non-empty string"),
            (
                json!({"query": 5}),
                "`query` must be a string, got a number",
            ),
            (
                json!({"query": "x", "limit": 0}),
                "`limit` must be a whole number",
            ),
            (
                json!({"query": "x", "limit": 2.5}),
                "`limit` must be a whole number",
            ),
            (
                json!({"query": "x", "limit": 101}),
                "`limit` must be a whole number",
            ),
            (
                json!({"query": "x", "limit": "5"}),
                "`limit` must be a number",
            ),
            (json!({"query": "x".repeat(201)}), "longer than 200"),
        ] {
            let e = SearchServicesArgs::parse(&args).unwrap_err();
            assert_eq!(e.code().as_str(), "PIPEDREAM_INVALID_ARGS");
            assert!(e.to_string().contains(needle), "{args}: {e}");
        }
    }

    #[test]
    fn maps_apps_to_services() {
        let app: App = serde_json::from_value(json!({
            "id": "app_1", "name_slug": "gmail", "name": "Gmail", "auth_type": "oauth",
            "description": "", "img_src": "https://x/logo", "categories": null,
            "featured_weight": 5
        }))
        .unwrap();
        let s = Service::from(&app);
        assert_eq!(s.description, "Gmail integration");
        assert_eq!(s.categories, Vec::<String>::new());
        assert_eq!(s.logo_url.as_deref(), Some("https://x/logo"));
    }

    #[test]
    fn the_catalog_ranks_names_then_descriptions_and_categories() {
        let apps: Vec<App> = serde_json::from_value(json!([
            {"name_slug": "hubspot", "name": "HubSpot", "description": "Inbound marketing and sales CRM", "categories": ["CRM"], "featured_weight": 9},
            {"name_slug": "pipedrive", "name": "Pipedrive", "description": "Sales pipeline software", "categories": ["CRM"], "featured_weight": 5},
            {"name_slug": "twilio", "name": "Twilio", "description": "Send SMS and voice messages", "categories": ["Communication"]},
            {"name_slug": "google_drive", "name": "Google Drive", "description": "File storage", "categories": ["Files"]},
            {"name_slug": "_2chat", "name": "2Chat", "description": "WhatsApp API"}
        ]))
        .unwrap();
        let catalog = AppCatalog::new(apps);
        let slugs = |q: &str| {
            catalog
                .search(q, 10)
                .positions
                .into_iter()
                .map(|p| {
                    serde_json::from_str::<Value>(catalog.service(p).get()).unwrap()["app_slug"]
                        .clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(slugs("crm"), vec!["hubspot", "pipedrive"]);
        assert_eq!(slugs("send sms"), vec!["twilio"]);
        assert_eq!(slugs("google drive")[0], "google_drive");
        assert_eq!(slugs("2chat"), vec!["_2chat"]);
        assert_eq!(catalog.search("crm", 1).total, 2);
        assert!(slugs("zzzz").is_empty());
        assert_eq!(catalog.name_of("pipedrive"), Some("Pipedrive"));
        assert_eq!(catalog.name_of("Pipedrive"), None);
    }

    #[test]
    fn a_hit_is_the_json_of_its_service() {
        let apps: Vec<App> = serde_json::from_value(json!([
            {"name_slug": "gmail", "name": "Gmail", "description": "Send and read mail. [See the docs](https://x)", "categories": ["Communication"], "img_src": "https://x/logo"},
            {"name_slug": "zoho_mail", "name": "Zoho Mail \u{00e9}", "auth_type": "oauth"}
        ]))
        .unwrap();
        // Zoho Mail has the word in its name, Gmail only in its description.
        let expected: Vec<String> = [&apps[1], &apps[0]]
            .map(|a| to_json(&Service::from(a)))
            .to_vec();
        let catalog = Arc::new(AppCatalog::new(apps));
        let found = catalog.search("mail", 10);
        assert_eq!(found.total, 2);
        let services: Vec<&str> = found
            .positions
            .iter()
            .map(|&p| catalog.service(p).get())
            .collect();
        assert_eq!(services, expected);
        // A cached search lists them by position, and writes the same text.
        let text = listed(ServiceHits::new(catalog.clone(), found, false));
        assert_eq!(text, format!("[{}]", expected.join(",")));
    }

    /// The services a search answer lists, as its JSON text.
    fn listed(hits: ServiceHits) -> String {
        to_json(&ServiceHitsView(Arc::new(hits)))
    }

    /// What the catalog's services at `positions` make as one JSON array.
    fn joined(catalog: &AppCatalog, positions: &[usize]) -> String {
        let texts: Vec<&str> = positions
            .iter()
            .map(|&p| catalog.service(p).get())
            .collect();
        format!("[{}]", texts.join(","))
    }

    #[test]
    fn cached_services_are_the_longest_prefix_within_the_budget() {
        let app = |i: usize, name: String| -> App {
            serde_json::from_value(json!({
                "name_slug": format!("app_{i}"), "name": name, "auth_type": "keys",
                "description": "x".repeat(i % 37), "categories": ["Tools"]
            }))
            .unwrap()
        };
        let catalog = Arc::new(AppCatalog::new(
            (0..100).map(|i| app(i, format!("App {i}"))).collect(),
        ));
        let found = catalog.search("app", 100);
        let ranked = found.positions.clone();
        assert_eq!((ranked.len(), found.total), (100, 100));
        let hits = ServiceHits::new(catalog.clone(), found, false);
        let count = hits.listed.len();
        assert!(count > 1 && count < ranked.len());
        let text = listed(hits);
        assert_eq!(text, joined(&catalog, &ranked[..count]));
        assert!(text.len() <= SERVICES_BUDGET_BYTES);
        assert!(joined(&catalog, &ranked[..=count]).len() > SERVICES_BUDGET_BYTES);
        let parsed: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.len(), count);

        // One service larger than the budget is still answered.
        let catalog = Arc::new(AppCatalog::new(vec![
            app(0, format!("App {}", "y".repeat(SERVICES_BUDGET_BYTES))),
            app(1, "App z".into()),
        ]));
        let found = catalog.search("app", 10);
        let ranked = found.positions.clone();
        assert!(catalog.service(ranked[0]).get().len() > SERVICES_BUDGET_BYTES);
        let text = listed(ServiceHits::new(catalog.clone(), found, false));
        assert_eq!(text, joined(&catalog, &ranked[..1]));
    }

    #[test]
    fn result_shapes() {
        let hits = Arc::new(ServiceHits::none());
        let v = serde_json::to_value(SearchServicesResult::found(
            "zzz".into(),
            hits,
            false,
            false,
        ))
        .unwrap();
        assert_eq!(v["services"], json!([]));
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("No services found for \"zzz\"")
        );
        assert_eq!(v["cached"], json!(false));
        assert!(v.get("error").is_none());
        let v = serde_json::to_value(SearchServicesResult::failed("q".into(), &Error::Disabled))
            .unwrap();
        assert_eq!(v["error"], json!("PIPEDREAM_DISABLED"));
        assert!(v.get("cached").is_none());
    }
}
