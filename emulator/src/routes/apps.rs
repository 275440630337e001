//! `GET /v1/connect/apps` and `GET /v1/connect/apps/{app_id}` (no project).

use std::cmp::Ordering;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use crate::catalog::App;
use crate::error::{ApiError, ApiResult, ok_data, ok_json};
use crate::pagination::{self, PageRequest};
use crate::query::Query;
use crate::state::SharedState;

#[derive(Clone, Copy)]
enum SortKey {
    Name,
    NameSlug,
    FeaturedWeight,
}

pub async fn list(State(st): State<SharedState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let page = PageRequest::from_query(&q, st.cfg.max_page_size)?;
    let sort_key = match q.non_empty("sort_key") {
        None => None,
        Some("name") => Some(SortKey::Name),
        Some("name_slug") => Some(SortKey::NameSlug),
        Some("featured_weight") => Some(SortKey::FeaturedWeight),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort_key must be name, name_slug or featured_weight, got {other:?}"
            )));
        }
    };
    let descending = match q.non_empty("sort_direction") {
        None => matches!(sort_key, None | Some(SortKey::FeaturedWeight)),
        Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort_direction must be asc or desc, got {other:?}"
            )));
        }
    };
    let has_actions = q.bool("has_actions")?;
    let has_triggers = q.bool("has_triggers")?;
    let has_components = q.bool("has_components")?;
    let needle = q.non_empty("q").map(str::to_lowercase);

    let mut apps: Vec<&App> = st
        .catalog
        .apps
        .iter()
        .filter(|a| {
            // Name and slug only, never description or categories, and the whole
            // string as one substring (PipedreamHQ/pipedream#18765, #15426).
            needle.as_deref().is_none_or(|n| {
                a.name.to_lowercase().contains(n) || a.name_slug.to_lowercase().contains(n)
            })
        })
        .filter(|a| has_actions.is_none_or(|want| (a.action_count > 0) == want))
        .filter(|a| has_triggers.is_none_or(|want| (a.trigger_count > 0) == want))
        .filter(|a| {
            has_components.is_none_or(|want| (a.action_count + a.trigger_count > 0) == want)
        })
        .collect();

    let key = sort_key.unwrap_or(SortKey::FeaturedWeight);
    apps.sort_by(|a, b| {
        let primary = match key {
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            SortKey::NameSlug => a.name_slug.cmp(&b.name_slug),
            SortKey::FeaturedWeight => a
                .featured_weight
                .partial_cmp(&b.featured_weight)
                .unwrap_or(Ordering::Equal),
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        // Ties always break by slug ascending so paging is stable.
        primary.then_with(|| a.name_slug.cmp(&b.name_slug))
    });

    Ok(ok_json(pagination::page(&apps, page, |a| &*a.wire)))
}

pub async fn retrieve(
    State(st): State<SharedState>,
    Path(app_id): Path<String>,
) -> ApiResult<Response> {
    let app = st
        .catalog
        .app(&app_id)
        .ok_or_else(|| ApiError::not_found(format!("app {app_id} not found")))?;
    Ok(ok_data(&app.wire))
}
