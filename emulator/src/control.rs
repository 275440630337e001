//! `/__emulator/*`: the emulator-only control API tests use to inspect and
//! steer it. No auth, never logged, never faulted.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{Account, NewAccount};
use crate::error::{ApiError, ApiResult, json_response, ok_json};
use crate::query::Query;
use crate::routes::tokens::resolve_app;
use crate::routes::{body_value, parse_body, required};
use crate::state::{SharedState, lock};
use crate::triggers::{self, Faults};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/health", get(health))
        .route(
            "/connections",
            get(connections).delete(reset_connection_peak),
        )
        .route("/requests", get(requests))
        .route("/runs", get(runs))
        .route("/proxy", get(proxied))
        .route(
            "/faults",
            post(add_faults).get(list_faults).delete(clear_faults),
        )
        .route("/accounts", post(add_account).delete(clear_accounts))
        .route("/connect", post(connect))
        .route("/webhooks", get(webhooks))
        .route("/triggers", get(list_triggers))
        .route("/triggers/{id}/emit", post(emit))
        .route("/trigger-deliveries", get(trigger_deliveries))
        .route("/expire-tokens", post(expire_tokens))
        .route("/reset", post(reset))
        .route("/components/{key}/example", get(component_example))
        .route("/file-stash", get(file_stash))
        .route("/file-stash/age", post(age_file_stash))
        .route("/file-stash/downloads", post(file_stash_downloads))
        // Not control: the presigned File Stash `get_url`s stand in for S3 here,
        // where no bearer is asked for (see routes/file_stash.rs).
        .route("/s3/{*key}", get(crate::routes::file_stash::presigned_get))
}

/// Valid example params for a component, from its fixture (see `examples.rs`).
async fn component_example(
    State(st): State<SharedState>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> ApiResult<Response> {
    let c = st
        .catalog
        .component(&key)
        .ok_or_else(|| ApiError::not_found(format!("component {key} not found")))?;
    Ok(ok_json(
        json!({ "data": { "component_id": c.key, "params": crate::examples::example_params(c) } }),
    ))
}

async fn health() -> Response {
    ok_json(json!({ "ok": true }))
}

/// `{ open, peak, accepted }` TCP connections.
async fn connections(State(st): State<SharedState>) -> Response {
    ok_json(st.connections.snapshot())
}

async fn reset_connection_peak(State(st): State<SharedState>) -> Response {
    st.connections.reset_peak();
    ok_json(st.connections.snapshot())
}

async fn requests(State(st): State<SharedState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let filter = q
        .non_empty("path")
        .map(Regex::new)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("bad path regex: {e}")))?;
    let data: Vec<_> = st
        .journal
        .requests()
        .into_iter()
        .filter(|e| filter.as_ref().is_none_or(|re| re.is_match(&e.path)))
        .collect();
    Ok(ok_json(json!({ "data": data })))
}

async fn runs(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "data": st.journal.runs() }))
}

/// Every Connect proxy request that got past auth, environment and project checks.
async fn proxied(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "data": st.journal.proxied() }))
}

async fn add_faults(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let added = st.faults.add(v)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "data": added }),
    ))
}

async fn list_faults(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "data": st.faults.list() }))
}

async fn clear_faults(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "deleted": st.faults.clear() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddAccount {
    external_user_id: Option<String>,
    app: Option<String>,
    name: Option<String>,
    healthy: Option<bool>,
    dead: Option<bool>,
    id: Option<String>,
    /// Many accounts at once, one per external user `{external_user_id}-{i}`: a project larger
    /// than a client's listing caps, made in one request.
    count: Option<usize>,
}

/// Most accounts one `count` request makes.
const MAX_BULK: usize = 200_000;

async fn add_account(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: AddAccount = parse_body(&body)?;
    let user = required(&req.external_user_id, "external_user_id")?;
    let app_ref = required(&req.app, "app")?;
    let app = st
        .catalog
        .app(app_ref)
        .ok_or_else(|| ApiError::not_found(format!("app {app_ref} not found")))?;
    if let Some(id) = &req.id
        && !is_account_id(id)
    {
        return Err(ApiError::bad_request("id must match ^apn_[a-zA-Z0-9]+$"));
    }
    let account = |external_user_id: &str, id: Option<String>| {
        Account::new(NewAccount {
            external_user_id,
            app,
            name: req.name.clone(),
            healthy: req.healthy.unwrap_or(true),
            dead: req.dead.unwrap_or(false),
            id,
        })
    };
    if let Some(count) = req.count {
        if req.id.is_some() || !(1..=MAX_BULK).contains(&count) {
            return Err(ApiError::bad_request(format!(
                "count must be 1 to {MAX_BULK}, without id"
            )));
        }
        st.accounts
            .insert_new((0..count).map(|i| account(&format!("{user}-{i}"), None)));
        return Ok(json_response(
            StatusCode::CREATED,
            &json!({ "created": count }),
        ));
    }
    let account = account(user, req.id.clone());
    let data = account.to_json(&st.catalog, false);
    let id = account.id.clone();
    if !st.accounts.insert(account) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("account {id} already exists"),
        ));
    }
    Ok(json_response(StatusCode::CREATED, &json!({ "data": data })))
}

fn is_account_id(id: &str) -> bool {
    id.strip_prefix("apn_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Connect {
    token: Option<String>,
    app: Option<String>,
    name: Option<String>,
    fail: Option<bool>,
    error: Option<String>,
}

/// `POST /__emulator/connect`: the end user finishes the Connect Link of
/// `token` for `app` (default: the token's `app_id`). Success: an account for
/// the token's external user, the token is spent, and `CONNECTION_SUCCESS`
/// goes to its `webhook_uri`. `fail: true`: no account, the token stays
/// usable, and `CONNECTION_ERROR` (with `error`) goes to the webhook. The
/// delivery (retries included) completes before this answers.
async fn connect(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: Connect = parse_body(&body)?;
    let ctok = required(&req.token, "token")?;
    let fail = req.fail.unwrap_or(false);
    // Check and spend the token in one step, so two connects cannot share it.
    let (t, slug) = {
        let mut tokens = lock(&st.connect_tokens);
        let t = tokens
            .get_mut(ctok)
            .ok_or_else(|| ApiError::not_found(format!("connect token {ctok} not found")))?;
        if t.used {
            return Err(ApiError::bad_request(format!(
                "connect token {ctok} has already been used"
            )));
        }
        if t.expired() {
            return Err(ApiError::bad_request(format!(
                "connect token {ctok} has expired"
            )));
        }
        let requested = req.app.as_deref().filter(|a| !a.is_empty());
        let slug = resolve_app(&st, t, requested)
            .map_err(|e| {
                if e.ends_with("not found") {
                    ApiError::not_found(e)
                } else {
                    ApiError::bad_request(e)
                }
            })?
            .ok_or_else(|| ApiError::bad_request("app is required (the token has no app_id)"))?
            .to_string();
        if !fail {
            t.used = true;
        }
        (t.clone(), slug)
    };
    let app = st
        .catalog
        .app(&slug)
        .ok_or_else(|| ApiError::not_found(format!("app {slug} not found")))?;
    let session = st.next_connect_session();
    let mut payload = json!({
        "connect_token": ctok,
        "environment": t.environment,
        "connect_session_id": session,
    });
    let account = if fail {
        payload["event"] = json!("CONNECTION_ERROR");
        payload["error"] = json!(
            req.error
                .clone()
                .unwrap_or_else(|| "emulated connection error".to_string())
        );
        None
    } else {
        let account = Account::new(NewAccount {
            external_user_id: &t.external_user_id,
            app,
            name: req.name.clone(),
            healthy: true,
            dead: false,
            id: None,
        });
        let data = account.to_json(&st.catalog, false);
        st.accounts.insert(account);
        payload["event"] = json!("CONNECTION_SUCCESS");
        payload["account"] = webhook_account(&data, &app.json);
        Some(data)
    };
    let webhook = match &t.webhook_uri {
        Some(url) => Some(crate::webhooks::deliver(&st.webhooks, url, payload.clone()).await),
        None => None,
    };
    let status = if fail {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json_response(
        status,
        &json!({ "data": {
            "event": payload["event"],
            "connect_session_id": session,
            "account": account,
            "webhook": webhook,
        }}),
    ))
}

/// The account as the connection webhook carries it: never credentials, and
/// the app with its `connect` block (the docs' payload example has one). Apps
/// list and retrieve already carry the fixture's block; an app whose fixture
/// has none gets the block of an app the proxy does not serve, which is how
/// the proxy treats it.
fn webhook_account(account: &Value, app: &Value) -> Value {
    let mut account = account.clone();
    let mut app = app.clone();
    if app.get("connect").is_none_or(Value::is_null) {
        app["connect"] = json!({
            "allowed_domains": null,
            "base_proxy_target_url": null,
            "proxy_enabled": false,
        });
    }
    account["app"] = app;
    account
}

/// Every live File Stash and its files.
async fn file_stash(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "data": st.stash.list() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Age {
    ms: Option<u64>,
}

/// `{ms}`: every stash, stashed file and presigned URL becomes that much older,
/// so the 30-minute and 24-hour limits can be tested without waiting.
async fn age_file_stash(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: Age = parse_body(&body)?;
    let ms = req
        .ms
        .ok_or_else(|| ApiError::bad_request("ms is required"))?;
    st.stash.age(ms);
    Ok(ok_json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Downloads {
    redirect: Option<bool>,
}

/// `{redirect}`: whether `…/file_stash/download` answers 302 to a presigned URL instead of
/// the bytes (both are in the API's OpenAPI). Reset sets it back to the bytes.
async fn file_stash_downloads(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let req: Downloads = parse_body(&body)?;
    let redirect = req
        .redirect
        .ok_or_else(|| ApiError::bad_request("redirect (true or false) is required"))?;
    st.stash.redirect_downloads(redirect);
    Ok(ok_json(json!({ "ok": true })))
}

async fn webhooks(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "data": st.webhooks.all() }))
}

/// Every deployed trigger, of every user and environment, in deploy order.
async fn list_triggers(State(st): State<SharedState>) -> Response {
    let data: Vec<Value> = st
        .triggers
        .filtered(|_| true)
        .iter()
        .map(|t| t.to_control_json())
        .collect();
    ok_json(json!({ "data": data }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Emit {
    payload: Option<Value>,
    summary: Option<String>,
    count: Option<u64>,
    faults: Option<Faults>,
}

/// Most events one emit may record.
const MAX_EMIT_COUNT: u64 = 100;

/// `POST /__emulator/triggers/{id}/emit`: the trigger emits `count` events
/// (default 1) — `payload` each time, or else the fixture's next samples —
/// and each goes to every webhook of the trigger, `faults` applied. Answers
/// once every delivery (retries included) is done. An inactive trigger emits
/// nothing: `{data: {active: false, events: [], deliveries: []}}`.
async fn emit(
    State(st): State<SharedState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: Emit = parse_body(&body)?;
    if let Some(p) = &req.payload
        && !p.is_object()
    {
        return Err(ApiError::bad_request(
            "payload must be a JSON object (an event's `e`)",
        ));
    }
    let count = req.count.unwrap_or(1);
    if !(1..=MAX_EMIT_COUNT).contains(&count) {
        return Err(ApiError::bad_request(format!(
            "count must be from 1 to {MAX_EMIT_COUNT}"
        )));
    }
    let faults = req.faults.unwrap_or_default();
    let recorded = st
        .triggers
        .update(
            &id,
            |_| true,
            |t| -> ApiResult<_> {
                if !t.active {
                    return Ok(None);
                }
                let c = st.catalog.component(&t.component_key);
                if req.payload.is_none() && c.is_none_or(|c| c.emu.samples.is_empty()) {
                    return Err(ApiError::bad_request(format!(
                        "component {} has no x_emulator.samples: send a payload",
                        t.component_key
                    )));
                }
                let mut events = Vec::new();
                for _ in 0..count {
                    let payload = match (&req.payload, c) {
                        (Some(p), _) => p.clone(),
                        (None, Some(c)) => t.next_sample(c).unwrap_or_default(),
                        (None, None) => Value::Null,
                    };
                    let summary = req
                        .summary
                        .clone()
                        .or_else(|| c.and_then(|c| t.summary_for(c, &payload)));
                    events.push(t.record(payload, summary));
                }
                Ok(Some((events, t.targets())))
            },
        )
        .ok_or_else(|| ApiError::not_found(format!("trigger {id} not found")))??;
    let Some((events, targets)) = recorded else {
        return Ok(ok_json(
            json!({ "data": { "active": false, "events": [], "deliveries": [] } }),
        ));
    };
    let deliveries = triggers::deliver_all(
        &st.trigger_deliveries,
        st.trigger_deliveries.generation(),
        &targets,
        &events,
        &faults,
    )
    .await;
    let events: Vec<Value> = events.iter().map(|e| e.to_json()).collect();
    Ok(ok_json(json!({ "data": {
        "active": true,
        "events": events,
        "deliveries": deliveries,
    }})))
}

/// `{data: [Delivery]}`, oldest first; `?trigger_id=` keeps one trigger's.
async fn trigger_deliveries(
    State(st): State<SharedState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let id = q.non_empty("trigger_id");
    let data: Vec<_> = st
        .trigger_deliveries
        .all()
        .into_iter()
        .filter(|d| id.is_none_or(|id| d.trigger_id == id))
        .collect();
    Ok(ok_json(json!({ "data": data })))
}

async fn clear_accounts(State(st): State<SharedState>) -> Response {
    ok_json(json!({ "deleted": st.accounts.clear() }))
}

async fn expire_tokens(State(st): State<SharedState>) -> Response {
    st.tokens.expire_all();
    ok_json(json!({ "ok": true }))
}

async fn reset(State(st): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    // Tolerate (and ignore) a JSON body; reject junk so typos surface.
    body_value(&body)?;
    st.reset();
    Ok(ok_json(json!({ "ok": true })))
}
