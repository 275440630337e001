//! `POST /v1/connect/{project}/actions/run`.
//!
//! Request problems are HTTP errors; problems *inside* the action come back
//! as 200 with `ret: null` and an error observation in `os`, as the real API
//! reports them. With a `stash_id`, the files the fixture says the action
//! writes (`x_emulator.files`) are synced to the File Stash (`stash.rs`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::components::{effective_props, find_component, lv_value};
use super::{Kind, body_value, check_project, error_observation, required, typed};
use crate::accounts::Account;
use crate::catalog::{Component, ComponentType, FileEncoding, prop_flag, prop_name, prop_type};
use crate::clock;
use crate::error::{ApiError, ApiResult, ok_json};
use crate::journal::RunEntry;
use crate::placeholders;
use crate::stash::{StashRequest, StoredFile};
use crate::state::SharedState;

/// Any configured value equal to this makes the action fail, so clients can
/// exercise their error path without a fixture change.
const FAIL_MARKER: &str = "__emulator_fail__";

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // `stash_id` is read from the raw body by `StashRequest::parse`
struct RunBody {
    id: Option<String>,
    external_user_id: Option<String>,
    version: Option<String>,
    configured_props: Option<Map<String, Value>>,
    dynamic_props_id: Option<String>,
    stash_id: Option<Value>,
}

struct RunResult {
    body: Value,
    /// `Name: message` of the error observation, when the action failed.
    error: Option<String>,
}

pub async fn run(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let raw = body_value(&body);
    let outcome = match &raw {
        Ok(v) => execute(&st, v),
        Err(e) => Err(e.clone()),
    };
    let raw = raw.unwrap_or(Value::Null);
    let str_field = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_string);
    let error = match &outcome {
        Ok(r) => r.error.clone(),
        Err(e) => Some(e.error.clone()),
    };
    st.journal.record_run(RunEntry {
        seq: 0,
        ts_ms: clock::now_ms(),
        id: str_field("id"),
        version: str_field("version"),
        external_user_id: str_field("external_user_id"),
        configured_props: raw.get("configured_props").cloned().unwrap_or(Value::Null),
        dynamic_props_id: str_field("dynamic_props_id"),
        stash_id: raw.get("stash_id").cloned().unwrap_or(Value::Null),
        outcome: if error.is_none() { "ok" } else { "error" },
        error,
    });
    outcome.map(|r| ok_json(r.body))
}

fn execute(st: &SharedState, raw: &Value) -> ApiResult<RunResult> {
    let req: RunBody = typed(raw.clone())?;
    let id = required(&req.id, "id")?;
    let user = required(&req.external_user_id, "external_user_id")?;
    let stash_request = StashRequest::parse(raw.get("stash_id"))?;
    // There is no action with a trigger's key: the run is refused as a bad request.
    if st
        .catalog
        .component(id)
        .is_some_and(|c| c.component_type == ComponentType::Trigger)
    {
        return Err(ApiError::bad_request(format!(
            "{id} is a trigger, not an action: triggers cannot be run (deploy them instead)"
        )));
    }
    let c = find_component(st, Kind::Actions, id, req.version.as_deref())?;
    let props = effective_props(st, c, req.dynamic_props_id.as_deref(), user)?;
    let configured = req.configured_props.unwrap_or_default();

    // Accounts first: naming a wrong account is a request error (404), while
    // a missing or broken one is the action failing.
    let mut account_problem = None;
    for p in props.iter().filter(|p| prop_type(p) == Some("app")) {
        let name = prop_name(p).unwrap_or("app");
        let Some(value) = configured.get(name).filter(|v| !v.is_null()) else {
            let slug = p.get("app").and_then(Value::as_str).unwrap_or(name);
            if !st.catalog.needs_account(slug) {
                continue;
            }
            account_problem.get_or_insert_with(|| {
                format!(
                    "No account connected: prop {name} needs {{\"authProvisionId\": \"apn_…\"}}"
                )
            });
            continue;
        };
        let account = named_account(st, name, value, user, p.get("app").and_then(Value::as_str))?;
        if account.dead {
            account_problem
                .get_or_insert_with(|| format!("Account {} is dead: reconnect it", account.id));
        } else if !account.healthy {
            account_problem.get_or_insert_with(|| format!("Account {} is unhealthy", account.id));
        }
    }
    // Last of the request checks: an unknown stash is a 404 like an unknown
    // account, and a new stash exists from here on, whatever the action does.
    let stash = st.stash.open(&stash_request)?;
    let stash = stash.as_deref();
    if let Some(message) = account_problem {
        return Ok(failure(c, "AccountError", &message, stash));
    }

    let missing = missing_required(&props, &configured);
    if !missing.is_empty() {
        return Ok(failure(
            c,
            "ConfigurationError",
            &format!("Missing required props: {}", missing.join(", ")),
            stash,
        ));
    }
    if configured.values().any(contains_fail_marker) {
        return Ok(failure(c, "Error", "Emulated failure", stash));
    }
    if let Some(e) = &c.emu.error {
        return Ok(failure(c, &e.name, &e.message, stash));
    }

    let visible = without_auth(&props, &configured);
    let ret = match &c.emu.ret {
        Some(template) => placeholders::fill(template, &visible),
        None => json!({ "configured_props": visible }),
    };
    let summary = match &c.emu.summary {
        Some(t) => placeholders::fill_text(t, &visible),
        None => format!("Ran {}", c.name),
    };
    let mut exports = json!({ "$summary": summary });
    if let Some(stash_id) = stash
        && !c.emu.files.is_empty()
    {
        exports["$filestash_uploads"] = json!(stash_files(st, c, user, stash_id, &visible));
    }
    Ok(RunResult {
        body: json!({
            "exports": exports,
            "os": [],
            "ret": ret,
            "stash_id": stash,
        }),
        error: None,
    })
}

/// The fixture's files, stored in the stash, as `$filestash_uploads` lists them.
fn stash_files(
    st: &SharedState,
    c: &Component,
    user: &str,
    stash_id: &str,
    visible: &Map<String, Value>,
) -> Vec<Value> {
    let key_prefix = format!("1day/{}/{}", st.cfg.project_id, st.accounts.user_id(user));
    c.emu
        .files
        .iter()
        .map(|f| {
            let bytes = match f.encoding {
                FileEncoding::Text => placeholders::fill_text(&f.content, visible).into_bytes(),
                // Checked at start-up.
                FileEncoding::Base64 => base64::engine::general_purpose::STANDARD
                    .decode(&f.content)
                    .unwrap_or_default(),
            };
            st.stash.upload(
                &key_prefix,
                &st.base_url,
                StoredFile {
                    stash_id: stash_id.to_string(),
                    local_path: f.path.clone(),
                    bytes: Bytes::from(bytes),
                    content_type: f
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".to_string()),
                    created_ms: clock::now_ms(),
                },
            )
        })
        .collect()
}

/// A failed action writes no files, but keeps its stash: the id comes back as
/// on success (UNCONFIRMED: the docs show only successful runs).
/// The account an app prop's value names (`{"authProvisionId": "apn_…"}`), when it is one of
/// `user`'s (and of `app`, when given); otherwise a 404 as an unknown account: naming a wrong
/// account is a request error, for runs and deploys alike.
pub(crate) fn named_account(
    st: &SharedState,
    name: &str,
    value: &Value,
    user: &str,
    app: Option<&str>,
) -> ApiResult<Account> {
    let apn = value.get("authProvisionId").and_then(Value::as_str);
    apn.and_then(|apn| st.accounts.find(apn))
        .filter(|a| a.external_id == user)
        .filter(|a| app.is_none_or(|slug| a.app_slug == slug))
        .ok_or_else(|| {
            ApiError::not_found(match apn {
                Some(apn) => format!("account {apn} not found"),
                None => format!(
                    "account not found: prop {name} must be {{\"authProvisionId\": \"apn_…\"}}"
                ),
            })
        })
}

fn failure(c: &Component, name: &str, message: &str, stash: Option<&str>) -> RunResult {
    let stack = format!(
        "{name}: {message}\n    at Object.run (file:///tmp/__pdg__/dist/code/{}/{}.mjs:1:1)",
        c.key, c.version
    );
    RunResult {
        body: json!({
            "exports": {},
            "os": [error_observation(name, message, Some(stack))],
            "ret": null,
            "stash_id": stash,
        }),
        error: Some(format!("{name}: {message}")),
    }
}

/// Props a caller must set: not optional, no default, and a kind that takes
/// a user value (apps are checked separately; alerts and interfaces have none).
pub(crate) fn missing_required<'a>(
    props: &'a [Value],
    configured: &Map<String, Value>,
) -> Vec<&'a str> {
    props
        .iter()
        .filter(|p| {
            let t = prop_type(p).unwrap_or("");
            !(t == "app"
                || t == "alert"
                || t == "dir"
                || t == "data_store"
                || t.starts_with("$.interface.")
                || t.starts_with("$.service."))
        })
        .filter(|p| {
            !(prop_flag(p, "optional")
                || prop_flag(p, "hidden")
                || prop_flag(p, "disabled")
                || p.get("default").is_some())
        })
        .filter_map(prop_name)
        .filter(|n| configured.get(*n).is_none_or(Value::is_null))
        .collect()
}

fn contains_fail_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s == FAIL_MARKER,
        Value::Array(items) => items.iter().any(contains_fail_marker),
        Value::Object(m) => m.values().any(contains_fail_marker),
        _ => false,
    }
}

/// Configured props as the action's code sees them, minus anything that is or
/// looks like account auth, so neither the echo nor a placeholder can leak it.
/// A `{"__lv": {label, value}}` value reaches a `withLabel` prop as `{label, value}`
/// and any other prop as its `value`.
fn without_auth(props: &[Value], configured: &Map<String, Value>) -> Map<String, Value> {
    let app_props: Vec<&str> = props
        .iter()
        .filter(|p| prop_type(p) == Some("app"))
        .filter_map(prop_name)
        .collect();
    let with_label = |k: &str| {
        props
            .iter()
            .any(|p| prop_name(p) == Some(k) && prop_flag(p, "withLabel"))
    };
    configured
        .iter()
        .filter(|(k, v)| !app_props.contains(&k.as_str()) && v.get("authProvisionId").is_none())
        .map(|(k, v)| {
            let seen = match v.get("__lv") {
                Some(inner) if with_label(k) => inner.clone(),
                Some(_) => lv_value(v).clone(),
                None => v.clone(),
            };
            (k.clone(), seen)
        })
        .collect()
}
