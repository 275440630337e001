//! The core client: configuration, the API caller and the caches. Operations live in their
//! own modules (`apps`, `discovery`, `configure`) as `impl Client` blocks; `operation` is the
//! one entry point the binding and `handleToolCall` use.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::api::Api;
use super::apps::{AppCatalog, ServiceHits};
use super::cache::ResponseCache;
use super::components::Component;
use super::config::{Config, ConfigError};
use super::configure::OptionsPage;
use super::discovery::{AppComponents, ComponentKind};
use super::error::{Error, Result};
use super::events::Sink;
use super::idempotency::{Replays, Runs};
use super::stats::{CacheCounts, Stats};

/// How long a reload's `dynamic_props_id` is named in later calls.
const DYNAMIC_PROPS_TTL: Duration = Duration::from_secs(600);

/// How long an account resolution is reused.
const ACCOUNT_CHOICE_TTL: Duration = Duration::from_secs(60);

/// Remote options depend on the user's live data; they are reused only briefly.
const OPTIONS_TTL: Duration = Duration::from_secs(60);

pub struct Client {
    pub(crate) config: Config,
    pub(crate) api: Api,
    pub(crate) searches: ResponseCache<(String, usize), Arc<ServiceHits>>,
    /// Every app, for `searchServices`' ranking (one entry).
    pub(crate) app_catalog: ResponseCache<&'static str, Arc<AppCatalog>>,
    pub(crate) app_components: ResponseCache<(String, ComponentKind), Arc<AppComponents>>,
    pub(crate) components: ResponseCache<(String, Option<String>), Arc<Component>>,
    pub(crate) prop_options: ResponseCache<String, Arc<OptionsPage>>,
    pub(crate) events: Sink,
    /// Which account a (user, app) resolved to, for a minute: a configure, a reload and the
    /// run of one node would otherwise each list the user's accounts.
    pub(crate) account_choices: moka::sync::Cache<(String, String), String>,
    /// The last reload's `dynamic_props_id` per (component, user): configure and reload after
    /// a reload name it, as Pipedream's own client does.
    pub(crate) dynamic_props: moka::sync::Cache<(String, String), String>,
    /// Answers kept per idempotency key, and the keyed runs under way.
    pub(crate) replays: Replays,
    pub(crate) runs: Runs,
    pub(crate) stats: Arc<Stats>,
}

impl Client {
    pub fn new(config: Config, events: Sink) -> Result<Self> {
        let stats = Arc::new(Stats::default());
        let api = Api::new(&config, events.clone(), stats.clone())?;
        let (ttl, stale, max) = (
            config.cache_ttl,
            config.cache_stale,
            config.cache_max_entries,
        );
        Ok(Self {
            searches: ResponseCache::new(ttl, stale, max),
            app_catalog: ResponseCache::new(ttl, stale, 1),
            app_components: ResponseCache::new(ttl, stale, max),
            components: ResponseCache::new(ttl, stale, max),
            prop_options: ResponseCache::new(ttl.min(OPTIONS_TTL), Duration::ZERO, max),
            replays: moka::sync::Cache::builder()
                .max_capacity(config.idempotency_max_entries)
                .time_to_live(config.idempotency_ttl)
                .build(),
            runs: Runs::default(),
            dynamic_props: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(DYNAMIC_PROPS_TTL)
                .build(),
            account_choices: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ACCOUNT_CHOICE_TTL)
                .support_invalidation_closures()
                .build(),
            config,
            api,
            events,
            stats,
        })
    }

    fn cache_counts(&self) -> CacheCounts {
        [
            self.searches.counts(),
            self.app_components.counts(),
            self.components.counts(),
            self.prop_options.counts(),
        ]
        .into_iter()
        .fold(CacheCounts::default(), |a, c| CacheCounts {
            hits: a.hits + c.hits,
            misses: a.misses + c.misses,
            stale: a.stale + c.stale,
            entries: a.entries + c.entries,
        })
    }

    /// `getStats()`: this client's traffic so far, as JSON.
    pub fn stats_json(&self) -> String {
        to_json(&self.stats.snapshot(self.cache_counts()))
    }

    /// `metrics()`: the same in the Prometheus text format.
    pub fn metrics(&self) -> String {
        self.stats.prometheus(self.cache_counts())
    }

    /// Drops every cached discovery answer.
    pub fn clear_cache(&self) {
        self.searches.clear();
        self.app_catalog.clear();
        self.app_components.clear();
        self.components.clear();
        self.prop_options.clear();
    }

    /// `/v1/connect/{project_id}/{rest}`; project-scoped calls cannot go anywhere without one.
    pub(crate) fn project_path(&self, rest: &str) -> Result<String> {
        let project = self.config.project_id.as_deref().ok_or_else(|| {
            Error::InvalidConfig(ConfigError {
                option: "projectId".into(),
                problem: "is required for component, account and run calls; set PIPEDREAM_PROJECT_ID or pass projectId".into(),
            })
        })?;
        Ok(format!("/v1/connect/{project}/{rest}"))
    }

    /// A 404 that says what was not found. The server's text decides between the project (a
    /// wrong PIPEDREAM_PROJECT_ID answers 404 too) and an account; otherwise it is `what`, the
    /// resource the path named, with how to find the right one.
    pub(crate) fn explain_not_found(&self, e: Error, what: impl FnOnce() -> String) -> Error {
        let Error::Api {
            status: 404,
            body,
            retry_after,
        } = e
        else {
            return e;
        };
        let said = body.to_ascii_lowercase();
        let project = self.config.project_id.as_deref().unwrap_or("(none)");
        let body = if said.contains("project") {
            format!(
                "project {project} was not found ({body}); check projectId / PIPEDREAM_PROJECT_ID"
            )
        } else if said.contains("account") {
            format!("the account was not found ({body}); listAccounts shows the user's accounts")
        } else if body.is_empty() {
            what()
        } else {
            format!("{} (the API said: {body})", what())
        };
        Error::Api {
            status: 404,
            body,
            retry_after,
        }
    }

    /// The external user for calls that act on someone's accounts: the call's own, else the
    /// client's default.
    pub(crate) fn external_user(&self, given: Option<String>, call: &str) -> Result<String> {
        given
            .or_else(|| self.config.external_user_id.clone())
            .ok_or_else(|| {
                Error::InvalidArgs(format!(
                    "{call} needs external_user_id: the Director user whose connected account is used (or set PIPEDREAM_EXTERNAL_USER_ID / the externalUserId option)"
                ))
            })
    }
}

/// Our result types always serialize; the fallback only guards against a future type that
/// could not, so a bug becomes a coded error instead of a panic. The text is ASCII (see
/// `AsciiJson`).
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiJson);
    match value.serialize(&mut ser) {
        // Only ASCII was written, so the bytes are UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => serde_json::json!({
            "error": "PIPEDREAM_BAD_RESPONSE",
            "message": format!("internal serialization error: {e}"),
        })
        .to_string(),
    }
}

/// Writes characters beyond ASCII as `\uXXXX` escapes. JS can then take the text as a
/// one-byte (Latin-1) string, a plain copy, where UTF-8 text is decoded into a two-byte string
/// that `JSON.parse` also reads more slowly.
struct AsciiJson;

impl serde_json::ser::Formatter for AsciiJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut utf16 = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut utf16) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use serde_json::{Value, json};

    #[test]
    fn json_text_is_ascii_and_reads_back_the_same() {
        let value = json!({ "name": "Zoë — 日本 😀", "plain": "a\"b\\c\n", "n": 1 });
        let text = to_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.contains("\\u00eb") && text.contains("\\ud83d\\ude00"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }
}
