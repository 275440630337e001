//! `GET /v1/connect/{project}/accounts`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::check_project;
use crate::error::{ApiResult, ok_json};
use crate::pagination::{self, PageRequest};
use crate::query::Query;
use crate::state::SharedState;

pub async fn list(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let page = PageRequest::from_query(&q, st.cfg.max_page_size)?;
    let include_credentials = q.bool("include_credentials")?.unwrap_or(false);
    let user = q.non_empty("external_user_id");
    // An unknown app simply matches nothing, like an unknown user does.
    let app_slug = q
        .non_empty("app")
        .map(|a| st.catalog.app(a).map_or(a, |app| app.name_slug.as_str()));
    let accounts = st.accounts.filtered(|a| {
        user.is_none_or(|u| a.external_id == u) && app_slug.is_none_or(|s| a.app_slug == s)
    });
    Ok(ok_json(pagination::page(&accounts, page, |a| {
        a.to_json(&st.catalog, include_credentials)
    })))
}
