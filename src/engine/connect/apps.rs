//! Apps: the catalog as the Connect API lists it (`GET /v1/connect/apps`, every page).

use serde::Deserialize;

use super::Connect;
use crate::engine::config::EndpointClass;
use crate::engine::error::Result;
use crate::engine::transport::api::Bearer;
use crate::engine::transport::cache::Dated;
use crate::engine::transport::pagination::{self, Page};

/// Most apps the catalog holds (Pipedream has about 3,000).
const MAX_CATALOG: usize = 20_000;
/// The most the API serves a page.
const PAGE_SIZE: usize = 100;

/// An app as the API sends it (only the fields we use; the rest are ignored).
#[derive(Debug, Deserialize)]
pub struct App {
    pub name_slug: String,
    pub name: String,
    #[serde(default)]
    pub auth_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub img_src: Option<String>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub featured_weight: Option<f64>,
}

impl Connect {
    /// Every app, all pages (each through the shared cache, when there is one).
    pub async fn list_all_apps(&self) -> Result<Dated<Vec<App>>> {
        pagination::collect_dated(MAX_CATALOG, |after, want| {
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
        .await
    }
}
