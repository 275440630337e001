//! Component catalog routes, served three times over (components, actions,
//! triggers): list, retrieve, configure (remote options) and props (reload).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Kind, check_project, parse_body, required};
use crate::catalog::{Component, ComponentType, prop_flag, prop_name};
use crate::error::{ApiError, ApiResult, ok_json};
use crate::ids;
use crate::pagination::{self, PageRequest};
use crate::query::Query;
use crate::state::{DynamicProps, SharedState, lock};

const DEFAULT_OPTIONS_PAGE_SIZE: usize = 10;

pub async fn list(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
    kind: Kind,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let page = PageRequest::from_query(&q, st.cfg.max_page_size)?;
    // Only /components takes component_type; /actions and /triggers imply it.
    let wanted_type = match (kind, q.non_empty("component_type")) {
        (Kind::Components, Some("action")) => Some(ComponentType::Action),
        (Kind::Components, Some("trigger")) => Some(ComponentType::Trigger),
        (Kind::Components, Some(other)) => {
            return Err(ApiError::bad_request(format!(
                "component_type must be action or trigger, got {other:?}"
            )));
        }
        _ => None,
    };
    let app_slug = q
        .non_empty("app")
        .map(|a| st.catalog.app(a).map_or(a, |app| app.name_slug.as_str()));
    // As the real API: `q` matches the component key only (PipedreamHQ/pipedream#19005).
    let needle = q.non_empty("q").map(str::to_lowercase);
    let items: Vec<&Component> = st
        .catalog
        .components
        .iter()
        .filter(|c| kind.admits(c.component_type))
        .filter(|c| wanted_type.is_none_or(|t| c.component_type == t))
        .filter(|c| app_slug.is_none_or(|s| c.app_slug == s))
        .filter(|c| {
            needle
                .as_deref()
                .is_none_or(|n| c.key.to_lowercase().contains(n))
        })
        .collect();
    Ok(ok_json(pagination::page(&items, page, |c| c.json.clone())))
}

pub async fn retrieve(
    State(st): State<SharedState>,
    Path((project, key)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    kind: Kind,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let c = find_component(&st, kind, &key, q.non_empty("version"))?;
    Ok(ok_json(json!({ "data": c.json })))
}

/// The component `key` if it exists in this collection at this version.
pub fn find_component<'a>(
    st: &'a SharedState,
    kind: Kind,
    key: &str,
    version: Option<&str>,
) -> ApiResult<&'a Component> {
    st.catalog
        .component(key)
        .filter(|c| kind.admits(c.component_type))
        .filter(|c| version.is_none_or(|v| v == c.version || v == "latest"))
        .ok_or_else(|| ApiError::not_found("component not found"))
}

/// The props a request works against: those saved under `dynamic_props_id`
/// when one is given (it must belong to this component), else the static ones.
pub fn effective_props(
    st: &SharedState,
    component: &Component,
    dynamic_props_id: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let Some(id) = dynamic_props_id.filter(|s| !s.is_empty()) else {
        return Ok(component.props.clone());
    };
    let saved = lock(&st.dynamic_props).get(id).cloned();
    match saved {
        Some(d) if d.component_key == component.key => Ok(d.props),
        Some(_) => Err(ApiError::bad_request(format!(
            "dynamic_props_id {id} does not belong to component {}",
            component.key
        ))),
        None => Err(ApiError::bad_request(format!(
            "unknown dynamic_props_id {id}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // `blocking` is type-checked, then unused: nothing here is async
struct ConfigureBody {
    id: Option<String>,
    version: Option<String>,
    external_user_id: Option<String>,
    prop_name: Option<String>,
    configured_props: Option<Map<String, Value>>,
    dynamic_props_id: Option<String>,
    blocking: Option<bool>,
    page: Option<u64>,
    prev_context: Option<Value>,
    query: Option<String>,
}

pub async fn configure(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    body: Bytes,
    kind: Kind,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let req: ConfigureBody = parse_body(&body)?;
    let id = required(&req.id, "id")?;
    required(&req.external_user_id, "external_user_id")?;
    let prop = required(&req.prop_name, "prop_name")?;
    let c = find_component(&st, kind, id, req.version.as_deref())?;
    let props = effective_props(&st, c, req.dynamic_props_id.as_deref())?;
    // Dynamic props can be configured before a reload has named them.
    let def = props
        .iter()
        .chain(c.emu.dynamic_props.iter())
        .find(|p| prop_name(p) == Some(prop))
        .ok_or_else(|| ApiError::bad_request(format!("prop {prop} not found on {}", c.key)))?;

    let fixture = c.emu.remote_options.get(prop);
    if fixture.is_none() && !prop_flag(def, "remoteOptions") {
        return Ok(ok_json(json!({
            "options": null,
            "stringOptions": null,
            "context": null,
            "errors": [format!("prop {prop} has no remote options")],
            "observations": [],
        })));
    }

    let page = req.page.map(|p| p as usize).unwrap_or_else(|| {
        req.prev_context
            .as_ref()
            .and_then(|ctx| ctx.get("page"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    });
    let needle = req.query.as_deref().map(str::to_lowercase);
    let matches = |v: &Value| {
        needle
            .as_deref()
            .is_none_or(|n| option_label(v).to_lowercase().contains(n))
    };
    let size = fixture
        .and_then(|f| f.page_size)
        .unwrap_or(DEFAULT_OPTIONS_PAGE_SIZE)
        .max(1);
    let start = page.saturating_mul(size);
    let mut more = false;
    let mut cut = |list: Option<&Vec<Value>>| -> Option<Vec<Value>> {
        let filtered: Vec<&Value> = list?.iter().filter(|v| matches(v)).collect();
        more |= filtered.len() > start.saturating_add(size);
        Some(
            filtered
                .into_iter()
                .skip(start)
                .take(size)
                .cloned()
                .collect(),
        )
    };
    let options = cut(fixture.and_then(|f| f.options.as_ref()));
    let string_options = cut(fixture.and_then(|f| f.string_options.as_ref()));
    // A remote-options prop the fixture gives nothing for answers an empty list.
    let options = match (&options, &string_options) {
        (None, None) => Some(Vec::new()),
        _ => options,
    };
    Ok(ok_json(json!({
        "options": options,
        "stringOptions": string_options,
        "context": if more { json!({ "page": page + 1 }) } else { Value::Null },
        "errors": [],
        "observations": [],
    })))
}

/// What `query` is matched against: the label of `{label, value}` (or of the
/// `{__lv: …}` wrapper), or the primitive itself.
fn option_label(v: &Value) -> String {
    let inner = v.get("__lv").unwrap_or(v);
    match inner.get("label").or_else(|| inner.get("value")) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => match inner {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // `blocking` is type-checked, then unused
struct ReloadBody {
    id: Option<String>,
    version: Option<String>,
    external_user_id: Option<String>,
    configured_props: Option<Map<String, Value>>,
    dynamic_props_id: Option<String>,
    blocking: Option<bool>,
}

pub async fn reload_props(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    body: Bytes,
    kind: Kind,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let req: ReloadBody = parse_body(&body)?;
    let id = required(&req.id, "id")?;
    required(&req.external_user_id, "external_user_id")?;
    let c = find_component(&st, kind, id, req.version.as_deref())?;
    // Validated for the 400, but a reload always starts from the static props.
    effective_props(&st, c, req.dynamic_props_id.as_deref())?;

    let configured = req.configured_props.unwrap_or_default();
    let missing: Vec<&str> = c
        .props
        .iter()
        .filter(|p| prop_flag(p, "reloadProps"))
        .filter_map(prop_name)
        .filter(|n| configured.get(*n).is_none_or(Value::is_null))
        .collect();
    let errors: Vec<String> = missing
        .iter()
        .map(|n| format!("prop {n} must be configured before dynamic props can load"))
        .collect();
    let mut props = c.props.clone();
    if missing.is_empty() {
        props.extend(c.emu.dynamic_props.iter().cloned());
    }

    let dyp_id = ids::prefixed("dyp_", 10);
    lock(&st.dynamic_props).insert(
        dyp_id.clone(),
        DynamicProps {
            component_key: c.key.clone(),
            props: props.clone(),
        },
    );
    Ok(ok_json(json!({
        "observations": [],
        "errors": errors,
        "dynamicProps": { "id": dyp_id, "configurableProps": props },
    })))
}
