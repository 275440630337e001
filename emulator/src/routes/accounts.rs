//! `GET /v1/connect/{project}/accounts`, `GET|DELETE …/accounts/{account_id}`
//! and `DELETE …/apps/{app_id}/accounts`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::check_project;
use crate::error::{ApiError, ApiResult, ok_json};
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

/// The bare `Account` (SDK 3 `accounts.retrieve` parses the body itself as
/// `Account`, with no `{data}` envelope).
pub async fn retrieve(
    State(st): State<SharedState>,
    Path((project, account_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let include_credentials = q.bool("include_credentials")?.unwrap_or(false);
    let account = st
        .accounts
        .find(&account_id)
        .ok_or_else(|| account_not_found(&account_id))?;
    Ok(ok_json(account.to_json(&st.catalog, include_credentials)))
}

/// 204, no body.
pub async fn delete(
    State(st): State<SharedState>,
    Path((project, account_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    st.accounts
        .remove(&account_id)
        .ok_or_else(|| account_not_found(&account_id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every account of the app (`app_…` id or name slug), of every user: 204,
/// also when there were none; 404 for an app not in the catalog.
pub async fn delete_by_app(
    State(st): State<SharedState>,
    Path((project, app_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let app = st
        .catalog
        .app(&app_id)
        .ok_or_else(|| ApiError::not_found(format!("app {app_id} not found")))?;
    st.accounts.remove_where(|a| a.app_slug == app.name_slug);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn account_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("account {id} not found"))
}
