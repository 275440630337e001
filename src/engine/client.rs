//! The core client: configuration, the API caller and the caches, with one method per public
//! operation. Results leave as JSON strings: the binding hands them to `JSON.parse`, which is
//! several times faster than building JS objects property by property through Node-API.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Serialize;
use serde_json::Value;

use super::api::Api;
use super::apps::{App, MAX_LIMIT, SearchServicesArgs, SearchServicesResult, Service, ServiceHits};
use super::cache::ResponseCache;
use super::config::{ClientOptions, Config};
use super::error::{Error, Result};
use super::limiter::EndpointClass;
use super::pagination::{self, Page};

pub struct Client {
    config: Config,
    api: Api,
    searches: ResponseCache<(String, usize), Arc<ServiceHits>>,
}

/// A call split in two: what can be answered at once without I/O (disabled, bad arguments,
/// cache hit), and the checked arguments for the async path otherwise.
pub enum Prepared<T> {
    Ready(String),
    Pending(T),
}

impl Client {
    pub fn new(config: Config) -> Result<Self> {
        let api = Api::new(&config)?;
        let searches = ResponseCache::new(config.cache_ttl, config.cache_max_entries);
        Ok(Self {
            config,
            api,
            searches,
        })
    }

    /// The client behind the module-level functions, configured from the environment (`vars`:
    /// the `PIPEDREAM_*` variables that are set). It is rebuilt when one of them changes, so a
    /// `.env` loaded after `require()` (or a test that points the module elsewhere) takes effect.
    pub fn shared_from_env(vars: &HashMap<String, String>) -> Result<Arc<Client>> {
        type Shared = Option<(HashMap<String, String>, Arc<Client>)>;
        static SHARED: LazyLock<Mutex<Shared>> = LazyLock::new(Default::default);
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, client)) = shared.as_ref().filter(|(seen, _)| seen == vars) {
            return Ok(client.clone());
        }
        let config = Config::resolve(ClientOptions::default(), |k| vars.get(k).cloned())?;
        let client = Arc::new(Client::new(config)?);
        *shared = Some((vars.clone(), client.clone()));
        Ok(client)
    }

    /// Drops every cached discovery answer.
    pub fn clear_cache(&self) {
        self.searches.clear();
    }

    pub fn prepare_search_services(&self, args: &Value) -> Prepared<SearchServicesArgs> {
        let echo = || query_of(args);
        if !self.config.enabled {
            return Prepared::Ready(to_json(&SearchServicesResult::failed(
                echo(),
                &Error::Disabled,
            )));
        }
        let args = match SearchServicesArgs::parse(args) {
            Ok(a) => a,
            Err(e) => return Prepared::Ready(to_json(&SearchServicesResult::failed(echo(), &e))),
        };
        match self.searches.probe(&args.cache_key()) {
            Some(hits) => Prepared::Ready(to_json(&SearchServicesResult::found(
                args.query, hits, true,
            ))),
            None => Prepared::Pending(args),
        }
    }

    /// The answer when the JS arguments could not even be read as JSON (a function, a symbol,
    /// a BigInt, a cycle).
    pub fn search_services_unreadable(reason: &str) -> String {
        let error = Error::InvalidArgs(format!(
            "searchServices expects {{ query: string, limit?: number }} made of plain JSON values: {reason}"
        ));
        to_json(&SearchServicesResult::failed(String::new(), &error))
    }

    /// The answer when no client could be built (module functions with a bad environment).
    pub fn search_services_failed(args: &Value, error: &Error) -> String {
        to_json(&SearchServicesResult::failed(query_of(args), error))
    }

    pub async fn run_search_services(&self, args: SearchServicesArgs) -> String {
        let looked_up = self
            .searches
            .get_or_fetch(args.cache_key(), self.fetch_services(&args))
            .await;
        to_json(&match looked_up {
            Ok(l) => SearchServicesResult::found(args.query, l.value, l.cached),
            Err(e) => SearchServicesResult::failed(args.query, &e),
        })
    }

    async fn fetch_services(&self, args: &SearchServicesArgs) -> Result<Arc<ServiceHits>> {
        let collected = pagination::collect(args.limit, |after, want| {
            let mut query = vec![
                ("q", args.query.clone()),
                ("limit", want.min(MAX_LIMIT).to_string()),
            ];
            query.extend(after.map(|a| ("after", a)));
            async move {
                self.api
                    .get::<Page<App>>(EndpointClass::Read, "/v1/connect/apps", &query)
                    .await
            }
        })
        .await?;
        Ok(Arc::new(ServiceHits {
            services: collected.items.into_iter().map(Service::from).collect(),
            total_found: collected.total_count,
        }))
    }
}

fn query_of(args: &Value) -> String {
    args.get("query")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Our result types always serialize; the fallback only guards against a future type that
/// could not, so a bug becomes a coded error instead of a panic.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        serde_json::json!({
            "error": "PIPEDREAM_BAD_RESPONSE",
            "message": format!("internal serialization error: {e}"),
        })
        .to_string()
    })
}
