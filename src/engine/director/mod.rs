//! What Director and its LLM see: the discovery tools (arguments, compact answers, ranking,
//! JSON Schemas, the system prompt) and the `pipedream_connect` node (validation, the run,
//! stored variables and records, idempotent replay). Built on `connect`; nothing here sends a
//! request itself.

pub mod node;
pub mod prompt;
pub mod prop_type;
pub mod tools;

use std::sync::Arc;

use crate::engine::connect::Connect;
use crate::engine::events::Sink;
use crate::engine::stats::{CacheCounts, Stats};
use crate::engine::transport::cache::{OnFirstUse, ResponseCache, on_first_use};

use node::idempotency::{Replays, Runs};
use node::shared_idempotency::SharedIdempotency;
use tools::rendered::Rendered;
use tools::search::{AppCatalog, ServiceHits};

/// The state Director's calls keep: answers to searches, the ranked app catalog, and the
/// idempotent runs.
pub struct Director {
    pub connect: Connect,
    pub(crate) searches: ResponseCache<(String, usize), Arc<ServiceHits>>,
    /// Every app, indexed for `searchServices`' ranking (one entry).
    pub(crate) app_catalog: ResponseCache<&'static str, Arc<AppCatalog>>,
    /// Answers kept per idempotency key, and the keyed runs under way.
    pub(crate) replays: OnFirstUse<Replays>,
    pub(crate) runs: Runs,
    /// The second level under `runs` when there is a shared store: one run per key across
    /// every instance.
    pub(crate) shared_runs: Option<SharedIdempotency>,
    pub(crate) events: Sink,
    pub(crate) stats: Arc<Stats>,
    /// The text of recent cache hits, for the synchronous fast path.
    pub(crate) rendered: Rendered,
    /// Executions under way at once: four per connection `maxConnections` allows. The rest
    /// wait before anything is built or sent, so 10,000 queued runs cost kilobytes each.
    pub(crate) admission: tokio::sync::Semaphore,
}

impl Director {
    pub fn new(connect: Connect, events: Sink, stats: Arc<Stats>) -> Self {
        let config = &connect.config;
        let admitted = 4 * config.max_connections;
        let (ttl, stale, max) = (
            config.cache_ttl,
            config.cache_stale,
            config.cache_max_entries,
        );
        Self {
            searches: ResponseCache::new(ttl, stale, max),
            app_catalog: ResponseCache::new(ttl, stale, 1),
            replays: {
                let (max, ttl) = (config.idempotency_max_entries, config.idempotency_ttl);
                on_first_use(move || {
                    moka::sync::Cache::builder()
                        .max_capacity(max)
                        .time_to_live(ttl)
                        .build()
                })
            },
            runs: Runs::default(),
            shared_runs: connect.api.store().map(|store| {
                SharedIdempotency::new(
                    store.clone(),
                    config.project_id.as_deref(),
                    config.idempotency_ttl,
                )
            }),
            connect,
            events,
            stats,
            rendered: Rendered::default(),
            admission: tokio::sync::Semaphore::new(admitted),
        }
    }

    /// Hits, misses, stale serves and entries of every discovery cache.
    pub fn cache_counts(&self) -> CacheCounts {
        std::iter::once(self.searches.counts())
            .chain(self.connect.cache_counts())
            .fold(CacheCounts::default(), |a, c| CacheCounts {
                hits: a.hits + c.hits,
                misses: a.misses + c.misses,
                stale: a.stale + c.stale,
                entries: a.entries + c.entries,
            })
    }

    /// Drops every cached discovery answer.
    pub fn clear_cache(&self) {
        self.searches.clear();
        self.app_catalog.clear();
        self.connect.clear_cache();
        self.rendered.clear();
    }
}
