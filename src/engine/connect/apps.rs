//! Apps: the catalog as the Connect API lists it (`GET /v1/connect/apps`, every page).

use std::sync::Arc;

use serde::Deserialize;

use super::One;
use super::proxy::AppProxy;
use super::{Connect, lenient};
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, Result};
use crate::engine::transport::api::Bearer;
use crate::engine::transport::cache::Dated;
use crate::engine::transport::pagination::{self, Page};

/// Most apps the catalog holds (Pipedream has about 3,000).
const MAX_CATALOG: usize = 20_000;
/// The most the API serves a page.
const PAGE_SIZE: usize = 100;

/// An app as the API sends it (only the fields we use; the rest are ignored), read as
/// `lenient` reads component definitions: one app's odd field must not empty the catalog.
#[derive(Debug, Deserialize)]
pub struct App {
    /// Empty when missing or not text: such an app cannot be named, and is left out.
    #[serde(default, deserialize_with = "lenient::text_or_empty")]
    pub name_slug: String,
    /// The slug when missing or not text.
    #[serde(default, deserialize_with = "lenient::text_or_empty")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub auth_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub img_src: Option<String>,
    #[serde(default, deserialize_with = "lenient::texts")]
    pub categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub featured_weight: Option<f64>,
}

/// What component lists, runs and proxy requests read from one app's record
/// (`GET /v1/connect/apps/{slug}`).
#[derive(Debug, Default, Deserialize)]
pub struct AppRecord {
    /// The display name (not text: none).
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    /// `connect`: what the app allows through the proxy.
    #[serde(default, rename = "connect")]
    pub proxy: Option<AppProxy>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub auth_type: Option<String>,
}

impl AppRecord {
    pub fn needs_account(&self) -> bool {
        takes_account(self.auth_type.as_deref())
    }
}

/// What a 404 for the app `slug` means.
pub(crate) fn unknown_app(slug: &str) -> String {
    format!(
        "there is no app with the slug {slug:?}; call searchServices (pipedream_search_services) to find the right app_slug"
    )
}

/// Whether an app prop of an app with this `auth_type` takes an account: not when the app has
/// no auth (helper functions, data stores), whose prop Pipedream's own form leaves unset
/// (connect-react `appPropErrors`: "These apps don't require authentication").
pub fn takes_account(auth_type: Option<&str>) -> bool {
    auth_type != Some("none")
}

impl Connect {
    /// `app`'s record, through the cache.
    pub async fn app_record(&self, app: &str, bearer: &Bearer) -> Result<Arc<AppRecord>> {
        Ok(self.app_record_dated(app, bearer).await?.value)
    }

    /// `app_record`, and how old the record is: for an answer made from it that is cached too.
    pub async fn app_record_dated(
        &self,
        app: &str,
        bearer: &Bearer,
    ) -> Result<Dated<Arc<AppRecord>>> {
        let found = self
            .app_records
            .get_or_fetch_dated(app.to_owned(), async {
                let found: Result<Dated<One<AppRecord>>> = self
                    .api
                    .get_shared(
                        EndpointClass::Read,
                        &format!("/v1/connect/apps/{app}"),
                        &[],
                        bearer,
                    )
                    .await;
                found
                    .map(|one| one.map(|one| Arc::new(one.data)))
                    .map_err(|e| self.explain_not_found(e, || unknown_app(app)))
            })
            .await?;
        Ok(found.dated())
    }

    /// Every app, all pages (each through the shared cache, when there is one).
    pub async fn list_all_apps(&self) -> Result<Dated<Vec<App>>> {
        let mut apps = pagination::collect_dated(MAX_CATALOG, |after, want| {
            let mut query = vec![("limit", want.min(PAGE_SIZE).to_string())];
            query.extend(after.map(|a| ("after", a)));
            async move {
                self.api
                    .get_shared::<Page<App>>(
                        EndpointClass::Read,
                        "/v1/connect/apps",
                        &query,
                        &Bearer::Client,
                    )
                    .await
            }
        })
        .await?;
        let listed = apps.value.len();
        apps.value.retain_mut(|app| {
            if app.name.is_empty() {
                app.name.clone_from(&app.name_slug);
            }
            !app.name_slug.is_empty()
        });
        // An odd app is left out; a catalog of nothing but odd apps is a broken answer.
        if apps.value.is_empty() && listed > 0 {
            return Err(Error::BadResponse(format!(
                "none of the {listed} apps the API listed has a name_slug"
            )));
        }
        Ok(apps)
    }
}
