//! Component catalog routes, served three times over (components, actions,
//! triggers): list, retrieve, configure (remote options) and props (reload).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Kind, check_project, error_observation, parse_body, required};
use crate::catalog::{
    Component, ComponentType, Paging, RemoteOptions, prop_flag, prop_name, prop_type,
};
use crate::clock;
use crate::error::{ApiError, ApiResult, ok_data, ok_json};
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
    if !st.cfg.list_without_props {
        return Ok(ok_json(pagination::page(&items, page, |c| &*c.wire)));
    }
    Ok(ok_json(pagination::page(&items, page, |c| {
        let mut item = c.json.clone();
        if let Value::Object(m) = &mut item {
            m.remove("configurable_props");
        }
        item
    })))
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
    Ok(ok_data(&c.wire))
}

/// The component `key` if it exists in this collection at this version.
pub fn find_component<'a>(
    st: &'a SharedState,
    kind: Kind,
    key: &str,
    version: Option<&str>,
) -> ApiResult<&'a Component> {
    let found = st
        .catalog
        .component(key)
        .filter(|c| kind.admits(c.component_type));
    match (found, version) {
        (None, _) => Err(ApiError::not_found(format!("component {key} not found"))),
        (Some(c), Some(v)) if v != c.version && v != "latest" => Err(ApiError::not_found(format!(
            "component {key} not found at version {v}"
        ))),
        (Some(c), _) => Ok(c),
    }
}

/// The props a request works against: those saved under `dynamic_props_id`
/// when one is given (it must come from a reload of this component for this
/// external user, and not have expired), else the static ones.
pub fn effective_props(
    st: &SharedState,
    component: &Component,
    dynamic_props_id: Option<&str>,
    external_user_id: &str,
) -> ApiResult<Vec<Value>> {
    let Some(id) = dynamic_props_id.filter(|s| !s.is_empty()) else {
        return Ok(component.props.clone());
    };
    let mut saved = lock(&st.dynamic_props);
    let expired = saved.get(id).is_some_and(|d| {
        st.cfg
            .dynamic_props_ttl_secs
            .is_some_and(|ttl| clock::now_ms() >= d.created_ms.saturating_add(ttl * 1000))
    });
    if expired {
        saved.remove(id);
        return Err(ApiError::bad_request(format!(
            "dynamic_props_id {id} has expired"
        )));
    }
    match saved.get(id) {
        // Another user's id is as unknown to this user as a made-up one.
        None => Err(ApiError::bad_request(format!(
            "unknown dynamic_props_id {id}"
        ))),
        Some(d) if d.external_user_id != external_user_id => Err(ApiError::bad_request(format!(
            "unknown dynamic_props_id {id}"
        ))),
        Some(d) if d.component_key != component.key => Err(ApiError::bad_request(format!(
            "dynamic_props_id {id} does not belong to component {}",
            component.key
        ))),
        Some(d) => Ok(d.props.clone()),
    }
}

/// `{"__lv": {label, value}}` (a `withLabel` / remote-option value) read as its value.
pub fn lv_value(v: &Value) -> &Value {
    match v.get("__lv") {
        Some(inner) => inner.get("value").unwrap_or(inner),
        None => v,
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
    let user = required(&req.external_user_id, "external_user_id")?;
    let prop = required(&req.prop_name, "prop_name")?;
    let c = find_component(&st, kind, id, req.version.as_deref())?;
    // Without a dynamic_props_id only the static props exist: a prop that a
    // reload adds is as unknown as a made-up one.
    let props = effective_props(&st, c, req.dynamic_props_id.as_deref(), user)?;
    let def = props
        .iter()
        .find(|p| prop_name(p) == Some(prop))
        .ok_or_else(|| {
            ApiError::bad_request(format!("prop {prop} not found on {}", c.key))
                .with_code("prop_not_found")
                .with_details(json!({ "prop_name": prop, "component_key": c.key }))
        })?;

    let fixture = c.emu.remote_options.get(prop);
    if prop_type(def) == Some("app") || (fixture.is_none() && !prop_flag(def, "remoteOptions")) {
        return Ok(ok_json(json!({
            "options": null,
            "stringOptions": null,
            "context": null,
            "errors": [format!("prop {prop} has no remote options")],
            "observations": [],
        })));
    }

    let configured = req.configured_props.unwrap_or_default();
    if let Some((name, message)) = account_problem(&st, &props, prop, fixture, &configured, user) {
        return Ok(options_error(&name, &message));
    }

    let empty = RemoteOptions::default();
    let fixture = fixture.unwrap_or(&empty);
    let needle = req.query.as_deref().map(str::to_lowercase);
    let matches = |v: &&Value| {
        needle
            .as_deref()
            .is_none_or(|n| option_label(v).to_lowercase().contains(n))
    };
    let options: Option<Vec<&Value>> = fixture
        .options
        .as_ref()
        .map(|l| l.iter().filter(matches).collect());
    let string_options: Option<Vec<&Value>> = fixture
        .string_options
        .as_ref()
        .map(|l| l.iter().filter(matches).collect());
    let total = options
        .iter()
        .chain(string_options.iter())
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let size = fixture
        .page_size
        .unwrap_or(DEFAULT_OPTIONS_PAGE_SIZE)
        .max(1);
    let prev = req.prev_context.as_ref().filter(|v| v.is_object());
    let with_extra = |key: &str, v: Value| {
        let mut ctx = fixture.context.clone().unwrap_or_default();
        ctx.insert(key.to_string(), v);
        Value::Object(ctx)
    };

    let (start, len, context) = match fixture.paging() {
        Paging::None => (0, usize::MAX, Value::Null),
        Paging::Page => {
            let page = req.page.unwrap_or(0) as usize;
            (page.saturating_mul(size), size, Value::Null)
        }
        Paging::NextPage => {
            let n = prev
                .and_then(|p| p.get("nextPage"))
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .filter(|n| *n >= 1)
                .unwrap_or(1) as usize;
            let start = (n - 1).saturating_mul(size);
            let more = total > start.saturating_add(size);
            let next = if more { json!(n + 1) } else { Value::Null };
            (start, size, with_extra("nextPage", next))
        }
        Paging::Cursor => {
            let cursor = prev
                .and_then(|p| p.get("cursor"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let start = if cursor.is_empty() {
                0
            } else {
                match decode_options_cursor(cursor) {
                    Some(pos) => pos,
                    // What slack's options() throws for a cursor it never issued.
                    None => {
                        return Ok(options_error_text(
                            "Error: An API error occurred: invalid_cursor",
                        ));
                    }
                }
            };
            let end = start.saturating_add(size);
            let next = if total > end {
                encode_options_cursor(end)
            } else {
                String::new()
            };
            (start, size, with_extra("cursor", json!(next)))
        }
    };
    let cut = |list: Option<Vec<&Value>>| -> Option<Vec<Value>> {
        Some(list?.into_iter().skip(start).take(len).cloned().collect())
    };
    let options = cut(options);
    let string_options = cut(string_options);
    // A remote-options prop the fixture gives nothing for answers an empty list.
    let options = match (&options, &string_options) {
        (None, None) => Some(Vec::new()),
        _ => options,
    };
    Ok(ok_json(json!({
        "options": options,
        "stringOptions": string_options,
        "context": context,
        "errors": [],
        "observations": [],
    })))
}

/// Options load "with the account": when the component has an app prop, the one
/// the options use (the fixture's `app_prop`, else the nearest app prop before
/// this prop, else the first) must name an account of this user for that app, in
/// a usable state. What goes wrong is `(error name, message)`.
fn account_problem(
    st: &SharedState,
    props: &[Value],
    prop: &str,
    fixture: Option<&RemoteOptions>,
    configured: &Map<String, Value>,
    user: &str,
) -> Option<(String, String)> {
    let is_app = |p: &&Value| prop_type(p) == Some("app");
    let app_prop = match fixture.and_then(|f| f.app_prop.as_deref()) {
        Some(name) => props.iter().find(|p| prop_name(p) == Some(name)),
        None => {
            let at = props.iter().position(|p| prop_name(p) == Some(prop));
            let before = at.map_or(&props[..0], |i| &props[..i]);
            before
                .iter()
                .rev()
                .find(is_app)
                .or_else(|| props.iter().find(is_app))
        }
    }?;
    let name = prop_name(app_prop).unwrap_or("app");
    let slug = app_prop.get("app").and_then(Value::as_str).unwrap_or(name);
    let Some(value) = configured.get(name).filter(|v| !v.is_null()) else {
        return Some((
            "Error".into(),
            format!(
                "No account configured: prop {name} needs {{\"authProvisionId\": \"apn_…\"}} of a connected {slug} account"
            ),
        ));
    };
    let apn = value.get("authProvisionId").and_then(Value::as_str);
    let account = apn
        .and_then(|apn| st.accounts.find(apn))
        .filter(|a| a.external_id == user && a.app_slug == slug);
    let Some(account) = account else {
        return Some((
            "Error".into(),
            format!(
                "Account {} not found for external user {user} and app {slug}",
                apn.unwrap_or("(no authProvisionId)")
            ),
        ));
    };
    if account.dead {
        Some((
            "Error".into(),
            format!("Account {} is dead: reconnect it", account.id),
        ))
    } else if !account.healthy {
        Some((
            "Error".into(),
            format!("Account {} is unhealthy", account.id),
        ))
    } else {
        None
    }
}

/// A failed `options()` call: HTTP 200, the error JSON-encoded as a string in
/// `errors` (which is how Pipedream's React client reads it: `JSON.parse(errors[0])`)
/// and as an error observation; no options and no context.
fn options_error(name: &str, message: &str) -> Response {
    ok_json(json!({
        "errors": [json!({ "name": name, "message": message }).to_string()],
        "observations": [error_observation(name, message, None)],
    }))
}

/// Same, for an options method that throws a bare string: `errors` holds the text.
fn options_error_text(text: &str) -> Response {
    ok_json(json!({
        "errors": [text],
        "observations": [error_observation("Error", text, None)],
    }))
}

const OPTIONS_CURSOR_TAG: &str = "offset:";

fn encode_options_cursor(pos: usize) -> String {
    STANDARD.encode(format!("{OPTIONS_CURSOR_TAG}{pos}"))
}

fn decode_options_cursor(s: &str) -> Option<usize> {
    let bytes = STANDARD.decode(s.as_bytes()).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(OPTIONS_CURSOR_TAG)?
        .parse()
        .ok()
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
    let user = required(&req.external_user_id, "external_user_id")?;
    let c = find_component(&st, kind, id, req.version.as_deref())?;
    // Validated for the 400, but a reload always starts from the static props.
    effective_props(&st, c, req.dynamic_props_id.as_deref(), user)?;

    let configured = req.configured_props.unwrap_or_default();
    let is_set = |n: &str| configured.get(n).is_some_and(|v| !lv_value(v).is_null());
    let missing: Vec<&str> = c
        .props
        .iter()
        .filter(|p| prop_flag(p, "reloadProps"))
        .filter_map(prop_name)
        .filter(|n| !is_set(n))
        .collect();
    let errors: Vec<String> = missing
        .iter()
        .map(|n| format!("prop {n} must be configured before dynamic props can load"))
        .collect();

    // The component's additionalProps() throws: only an error observation comes back.
    if missing.is_empty()
        && let Some(re) = &c.emu.reload_error
        && configured
            .get(&re.prop)
            .map(lv_value)
            .is_some_and(|v| !v.is_null() && re.value.as_ref().is_none_or(|want| v == want))
    {
        return Ok(ok_json(json!({
            "observations": [error_observation(&re.name, &re.message, None)],
        })));
    }

    let mut props = c.props.clone();
    if missing.is_empty() {
        props.extend(c.emu.dynamic_props.iter().cloned());
    }
    let dyp_id = ids::prefixed("dyp_", 10);
    lock(&st.dynamic_props).insert(
        dyp_id.clone(),
        DynamicProps {
            component_key: c.key.clone(),
            external_user_id: user.to_string(),
            created_ms: clock::now_ms(),
            props: props.clone(),
        },
    );
    Ok(ok_json(json!({
        "observations": [],
        "errors": errors,
        "dynamicProps": { "id": dyp_id, "configurableProps": props },
    })))
}
