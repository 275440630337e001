//! `GET /v1/connect/{project}/users` and `DELETE …/users/{external_user_id}`.
//! An external user exists while it has at least one connected account.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::check_project;
use crate::error::{ApiError, ApiResult, ok_json};
use crate::pagination::{self, PageRequest};
use crate::query::Query;
use crate::state::SharedState;

/// `{data: [ExternalUser], page_info}`; `q` is a case-insensitive substring
/// of the external user id.
pub async fn list(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let page = PageRequest::from_query(&q, st.cfg.max_page_size)?;
    let needle = q.non_empty("q").map(str::to_lowercase);
    let mut users = st.accounts.users();
    if let Some(n) = &needle {
        users.retain(|u| u.external_id.to_lowercase().contains(n.as_str()));
    }
    Ok(ok_json(pagination::page(&users, page, |u| u.to_json())))
}

/// Deletes the user's accounts: 204; 404 when the user has none.
pub async fn delete(
    State(st): State<SharedState>,
    Path((project, external_user_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    if st.accounts.remove_user(&external_user_id) == 0 {
        return Err(ApiError::not_found(format!(
            "external user {external_user_id} not found"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
