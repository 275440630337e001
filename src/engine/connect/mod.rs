//! The Connect API as typed Rust: apps, components, props (configure and reload), accounts and
//! action runs, with the caches of what they fetch. No LLM wording here: what Director and its
//! LLM see is built from these in `director`.

pub mod accounts;
pub mod actions;
pub mod apps;
pub mod components;
pub mod connections;
pub mod file_stash;
mod lenient;
pub mod props;
pub mod proxy;
pub mod tokens;
pub mod trigger_webhooks;
pub mod triggers;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::config::{Config, ConfigError};
use crate::engine::error::{Error, Result};
use crate::engine::events::Sink;
use crate::engine::stats::{CacheCounts, Stats};
use crate::engine::transport::api::Api;
use crate::engine::transport::cache::{OnFirstUse, ResponseCache, on_first_use};

use components::{AppComponents, Component, ComponentKind};
use props::OptionsPage;

/// The API's envelope around one thing: `{ "data": … }`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct One<T> {
    pub data: T,
}

/// `text` as one URL path segment: every byte but the unreserved ones percent-encoded, so an
/// external user id (any text) cannot change the path. `.` and `..` are encoded too: as they
/// are, a URL library or a server would read them as "this" and "parent" segments.
pub fn segment(text: &str) -> String {
    if text == "." || text == ".." {
        return "%2E".repeat(text.len());
    }
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How long a reload's `dynamic_props_id` is named in later calls.
const DYNAMIC_PROPS_TTL: Duration = Duration::from_secs(600);

/// How long an account resolution is reused.
const ACCOUNT_CHOICE_TTL: Duration = Duration::from_secs(60);

/// Remote options depend on the user's live data; they are reused only briefly.
const OPTIONS_TTL: Duration = Duration::from_secs(60);

/// One project's Connect API: the authenticated, limited, retried caller and the caches of
/// what the resources fetched.
pub struct Connect {
    pub config: Config,
    pub api: Api,
    pub(crate) app_components: ResponseCache<(String, ComponentKind), Arc<AppComponents>>,
    pub(crate) components: ResponseCache<(String, Option<String>), Arc<Component>>,
    pub(crate) prop_options: ResponseCache<String, Arc<OptionsPage>>,
    /// Each app's record: what it allows through the proxy, whether it takes an account.
    pub(crate) app_records: ResponseCache<String, Arc<apps::AppRecord>>,
    /// Which account a (user, app) resolved to, for a minute: a configure, a reload and the
    /// run of one node would otherwise each list the user's accounts.
    pub(crate) account_choices: OnFirstUse<moka::sync::Cache<(String, String), String>>,
    /// The last reload's `dynamic_props_id` per (component, user): configure after a reload
    /// names it, as Pipedream's own client does.
    pub(crate) dynamic_props: OnFirstUse<moka::sync::Cache<(String, String), String>>,
}

impl Connect {
    pub fn new(config: Config, events: Sink, stats: Arc<Stats>) -> Result<Self> {
        let api = Api::new(&config, events, stats)?;
        let (ttl, stale, max) = (
            config.cache_ttl,
            config.cache_stale,
            config.cache_max_entries,
        );
        Ok(Self {
            app_components: ResponseCache::new(ttl, stale, max),
            components: ResponseCache::new(ttl, stale, max),
            prop_options: ResponseCache::new(ttl.min(OPTIONS_TTL), Duration::ZERO, max),
            app_records: ResponseCache::new(ttl, stale, max),
            dynamic_props: on_first_use(|| {
                moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(DYNAMIC_PROPS_TTL)
                    .build()
            }),
            account_choices: on_first_use(|| {
                moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(ACCOUNT_CHOICE_TTL)
                    .support_invalidation_closures()
                    .build()
            }),
            config,
            api,
        })
    }

    /// Hits, misses, stale serves and entries of the caches here.
    pub fn cache_counts(&self) -> [CacheCounts; 3] {
        [
            self.app_components.counts(),
            self.components.counts(),
            self.prop_options.counts(),
        ]
    }

    /// Drops every cached answer, the shared store's too.
    pub fn clear_cache(&self) {
        self.api.clear_shared_cache();
        self.app_components.clear();
        self.components.clear();
        self.prop_options.clear();
        self.app_records.clear();
    }

    /// `PIPEDREAM_DISABLED` when the client is turned off.
    pub fn enabled(&self) -> Result<()> {
        match self.config.enabled {
            true => Ok(()),
            false => Err(Error::Disabled),
        }
    }

    /// `/v1/connect/{project_id}/{rest}`; project-scoped calls cannot go anywhere without one.
    pub fn project_path(&self, rest: &str) -> Result<String> {
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
    pub fn explain_not_found(&self, e: Error, what: impl FnOnce() -> String) -> Error {
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
        let body = if names_only_the_project(&said) {
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
    pub fn external_user(&self, given: Option<String>, call: &str) -> Result<String> {
        given
            .or_else(|| self.config.external_user_id.clone())
            .ok_or_else(|| {
                Error::InvalidArgs(format!(
                    "{call} needs external_user_id: the Director user whose connected account is used (or set PIPEDREAM_EXTERNAL_USER_ID / the externalUserId option)"
                ))
            })
    }
}

/// Whether a 404's (lowercased) body is about the project alone: "project … not found", not
/// "account apn_x not found in project proj_y".
pub(crate) fn names_only_the_project(said: &str) -> bool {
    said.contains("project")
        && !["account", "user", "trigger", "webhook", "component"]
            .iter()
            .any(|thing| said.contains(thing))
}

#[cfg(test)]
mod tests {
    use super::names_only_the_project;

    #[test]
    fn a_404_is_about_the_project_only_when_it_names_nothing_else() {
        assert!(names_only_the_project("project proj_wrong1 not found"));
        assert!(names_only_the_project(
            "project 45672999 was not found or you do not have access"
        ));
        for other in [
            "account apn_x not found in project proj_y",
            "external user u1 not found in project proj_y",
            "component slack-x not found in this project",
            "deployed trigger dc_1 not found in project proj_y",
            "not found",
        ] {
            assert!(!names_only_the_project(other), "{other}");
        }
    }
}
