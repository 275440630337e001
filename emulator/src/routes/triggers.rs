//! Deployed triggers: `POST /v1/connect/{project}/triggers/deploy` and the
//! `…/deployed-triggers/*` routes (the SDK's `triggers.deploy` and
//! `deployedTriggers.*`). The store, events and deliveries are in
//! `triggers.rs`.
//!
//! `external_user_id` is a query parameter everywhere but deploy (the SDK
//! strips it from bodies), and required: a trigger of another user, or of the
//! other environment, is as unknown as a made-up id. Unlike a run, a deploy
//! runs the source's hooks at once, so every problem with the props is the
//! request's error (an HTTP 4xx), not something found later.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::components::{effective_props, find_component};
use super::run::{missing_required, named_account};
use super::tokens::is_http_url;
use super::{Kind, body_value, check_project, parse_body, required, typed};
use crate::auth::Caller;
use crate::catalog::{ComponentType, prop_name, prop_type};
use crate::clock;
use crate::error::{ApiError, ApiResult, ok_json};
use crate::ids;
use crate::pagination::{self, PageRequest};
use crate::query::Query;
use crate::state::SharedState;
use crate::triggers::{self, Faults, Trigger, Webhook};

/// The first half of a deployed trigger's `name`. The docs' example is
/// `"My first project - exu_oedidz"`: the project's name, then the owner's
/// `exu_…` (UNCONFIRMED beyond that one example). This is the project's name here.
pub const PROJECT_NAME: &str = "Pipedream Emulator";

/// `events?n=` default, as documented ("defaults to 20 if not provided").
const DEFAULT_EVENTS: u64 = 20;
/// UNCONFIRMED: the API's own cap; more than this is refused here.
const MAX_EVENTS_N: u64 = triggers::MAX_EVENTS as u64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployBody {
    id: Option<String>,
    version: Option<String>,
    external_user_id: Option<String>,
    configured_props: Option<Map<String, Value>>,
    dynamic_props_id: Option<String>,
    workflow_id: Option<String>,
    webhook_url: Option<String>,
    emit_on_deploy: Option<bool>,
}

/// `x-pd-environment`, already checked to be development|production.
fn environment(headers: &HeaderMap) -> String {
    headers
        .get("x-pd-environment")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("production")
        .to_string()
}

/// A Connect token acts only for its own external user, in its own
/// environment. UNCONFIRMED: the real status and text (403 here).
fn check_caller(caller: &Caller, user: &str, env: &str) -> ApiResult<()> {
    let Caller::Connect {
        external_user_id,
        environment,
    } = caller
    else {
        return Ok(());
    };
    if external_user_id != user {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this connect token is for another external user than {user}"),
        ));
    }
    if environment != env {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this connect token is for the {environment} environment"),
        ));
    }
    Ok(())
}

/// Who a `…/deployed-triggers*` request acts for: `external_user_id` from the
/// query (required) and the request's environment.
struct Scope {
    user: String,
    env: String,
}

impl Scope {
    /// The project checked, then the query read, then who the request acts for: the
    /// order in which a `…/deployed-triggers*` request is refused.
    fn of(
        st: &SharedState,
        project: &str,
        raw: Option<&str>,
        headers: &HeaderMap,
        caller: &Caller,
    ) -> ApiResult<(Query, Self)> {
        check_project(st, project)?;
        let q = Query::parse(raw)?;
        let scope = Self::read(&q, headers, caller)?;
        Ok((q, scope))
    }

    fn read(q: &Query, headers: &HeaderMap, caller: &Caller) -> ApiResult<Self> {
        let user = q
            .non_empty("external_user_id")
            .ok_or_else(|| ApiError::bad_request("external_user_id is required"))?
            .to_string();
        let env = environment(headers);
        check_caller(caller, &user, &env)?;
        Ok(Self { user, env })
    }

    fn sees(&self, t: &Trigger) -> bool {
        t.external_user_id == self.user && t.environment == self.env
    }

    /// `f` on trigger `id` when this scope sees it; else the trigger is not found.
    fn update<R>(
        &self,
        st: &SharedState,
        id: &str,
        f: impl FnOnce(&mut Trigger) -> R,
    ) -> ApiResult<R> {
        st.triggers
            .update(id, |t| self.sees(t), f)
            .ok_or_else(|| trigger_not_found(id))
    }
}

fn trigger_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("trigger {id} not found"))
}

fn webhook_url(url: &str) -> ApiResult<()> {
    if is_http_url(url) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "webhook_url must be an absolute http(s) URL, got {url:?}"
        )))
    }
}

/// Pipedream workflow ids look like `p_abc123` (UNCONFIRMED that the API checks
/// more than that it is a string; anything else is refused here).
fn workflow_id(id: &str) -> ApiResult<()> {
    let ok = id
        .strip_prefix("p_")
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid workflow id {id:?}: must match ^p_[a-zA-Z0-9]+$"
        )))
    }
}

/// The checks a deploy's (and a PUT's) configured props must pass: every app
/// prop names a usable account of this user and app (missing: 400 naming the
/// prop; wrong: 404 as an unknown account), and every required prop is set
/// (400 listing them). A dead or unhealthy account is a 400: the deploy hook
/// could not call the app (UNCONFIRMED).
fn check_configured(
    st: &SharedState,
    props: &[Value],
    configured: &Map<String, Value>,
    user: &str,
) -> ApiResult<()> {
    for p in props.iter().filter(|p| prop_type(p) == Some("app")) {
        let name = prop_name(p).unwrap_or("app");
        let slug = p.get("app").and_then(Value::as_str).unwrap_or(name);
        let Some(value) = configured.get(name).filter(|v| !v.is_null()) else {
            if !st.catalog.needs_account(slug) {
                continue;
            }
            return Err(ApiError::bad_request(format!(
                "prop {name} is required: {{\"authProvisionId\": \"apn_…\"}} of a connected {slug} account"
            ))
            .with_details(json!({ "prop_name": name })));
        };
        let account = named_account(st, name, value, user, Some(slug))?;
        if account.dead {
            return Err(ApiError::bad_request(format!(
                "account {} is dead: reconnect it",
                account.id
            )));
        }
        if !account.healthy {
            return Err(ApiError::bad_request(format!(
                "account {} is unhealthy",
                account.id
            )));
        }
    }
    let missing = missing_required(props, configured);
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Missing required props: {}",
            missing.join(", ")
        ))
        .with_details(json!({ "missing_props": missing })));
    }
    Ok(())
}

/// Configured props as the API shows them: as sent, plus what the server
/// fills in, as in the docs' example: `{"type": "$.service.db"}` for a
/// `$.service.db` prop and `{"endpoint_url": "https://….m.pipedream.net"}` for
/// a `$.interface.http` prop (made once per trigger). A `$.interface.timer`
/// prop left unset gets its `default` (UNCONFIRMED).
fn server_filled(
    props: &[Value],
    sent: &Map<String, Value>,
    endpoint_url: &mut Option<String>,
) -> Map<String, Value> {
    let mut out = sent.clone();
    for p in props {
        let Some(name) = prop_name(p) else { continue };
        match prop_type(p) {
            Some("$.service.db") => {
                out.insert(name.into(), json!({ "type": "$.service.db" }));
            }
            Some("$.interface.http") => {
                let url = endpoint_url
                    .get_or_insert_with(|| format!("https://{}.m.pipedream.net", ids::hex(8)));
                out.insert(name.into(), json!({ "endpoint_url": url }));
            }
            Some("$.interface.timer") if out.get(name).is_none_or(Value::is_null) => {
                if let Some(d) = p.get("default") {
                    out.insert(name.into(), d.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// `POST /v1/connect/{project}/triggers/deploy` → `{data: DeployedComponent}`.
/// Always a new trigger. With `webhook_url` it gets one webhook, and an OAuth
/// caller gets its key as `webhook_signing_key`. Unless `emit_on_deploy` is
/// false it emits `--deploy-emits` fixture samples now, delivered in the
/// background (the answer does not wait for the webhook).
pub async fn deploy(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let req: DeployBody = typed(body_value(&body)?)?;
    let id = required(&req.id, "id")?;
    let user = required(&req.external_user_id, "external_user_id")?;
    let env = environment(&headers);
    check_caller(&caller, user, &env)?;
    // There is no trigger with an action's key: refused as a bad request (as a
    // run of a trigger's key is).
    if st
        .catalog
        .component(id)
        .is_some_and(|c| c.component_type == ComponentType::Action)
    {
        return Err(ApiError::bad_request(format!(
            "{id} is an action, not a trigger: actions cannot be deployed (run them instead)"
        )));
    }
    let c = find_component(&st, Kind::Triggers, id, req.version.as_deref())?;
    let props = effective_props(&st, c, req.dynamic_props_id.as_deref(), user)?;
    if let Some(url) = &req.webhook_url {
        webhook_url(url)?;
    }
    if let Some(w) = &req.workflow_id {
        workflow_id(w)?;
    }
    let sent = req.configured_props.unwrap_or_default();
    check_configured(&st, &props, &sent, user)?;

    let mut endpoint_url = None;
    let configured = server_filled(&props, &sent, &mut endpoint_url);
    let owner_id = st.accounts.user_id(user);
    let now = clock::now_ms();
    let emit_on_deploy = req.emit_on_deploy.unwrap_or(true);
    let mut t = Trigger {
        id: ids::prefixed("dc_", 7),
        external_user_id: user.to_string(),
        name: format!("{PROJECT_NAME} - {owner_id}"),
        owner_id,
        environment: env,
        component_key: c.key.clone(),
        component_id: triggers::component_id(&c.key),
        configurable_props: props,
        configured_props: configured,
        endpoint_url,
        active: true,
        created_ms: now,
        updated_ms: now,
        name_slug: String::new(),
        emit_on_deploy,
        // "Optional ID of a workflow to receive trigger events": the trigger's
        // first pipeline.
        workflow_ids: req.workflow_id.into_iter().collect(),
        webhooks: req
            .webhook_url
            .as_deref()
            .map(Webhook::new)
            .into_iter()
            .collect(),
        events: Default::default(),
        next_sample: 0,
    };
    let deploy_emits = if emit_on_deploy {
        st.cfg.deploy_emits
    } else {
        0
    };
    let mut events = Vec::new();
    for _ in 0..deploy_emits {
        let Some(payload) = t.next_sample(c) else {
            break;
        };
        let summary = t.summary_for(c, &payload);
        events.push(t.record(payload, summary));
    }
    let t = st.triggers.insert(t);
    let targets = t.targets();
    if !events.is_empty() && !targets.is_empty() {
        let generation = st.trigger_deliveries.generation();
        let st = st.clone();
        tokio::spawn(async move {
            triggers::deliver_all(
                &st.trigger_deliveries,
                generation,
                &targets,
                &events,
                &Faults::default(),
            )
            .await;
        });
    }
    let mut data = t.to_json();
    // "Only returned for OAuth-authenticated requests when `webhook_url` is supplied."
    if caller == Caller::OAuth
        && let Some(w) = t.webhooks.first()
    {
        data["webhook_signing_key"] = json!(w.signing_key);
    }
    Ok(ok_json(json!({ "data": data })))
}

/// `GET …/deployed-triggers` → `{data: [Emitter], page_info}`, the user's
/// triggers in this environment, in deploy order. `emitter_type` defaults to
/// `source`; `email`, `http` and `timer` emitters are not emulated (an empty page).
pub async fn list(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (q, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let page = PageRequest::from_query(&q, st.cfg.max_page_size)?;
    let items = match q.non_empty("emitter_type") {
        None | Some("source") => st.triggers.filtered(|t| scope.sees(t)),
        Some("email") | Some("http") | Some("timer") => Vec::new(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "emitter_type must be one of email, http, source, timer; got {other:?}"
            )));
        }
    };
    Ok(ok_json(pagination::page(&items, page, Trigger::to_json)))
}

/// `GET …/deployed-triggers/{id}` → `{data: DeployedComponent}`.
pub async fn retrieve(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let data = scope.update(&st, &id, |t| t.to_json())?;
    Ok(ok_json(json!({ "data": data })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    active: Option<bool>,
    configured_props: Option<Map<String, Value>>,
    name: Option<String>,
    emit_on_deploy: Option<bool>,
}

/// `PUT …/deployed-triggers/{id}` → `{data: DeployedComponent}`, `updated_at`
/// now. `configured_props` replaces the old ones ("will overwrite previously
/// configured props"), checked as on deploy against the props the trigger was
/// deployed with. Deactivated (`active: false`), a trigger emits nothing.
pub async fn update(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let req: UpdateBody = parse_body(&body)?;
    let props = scope.update(&st, &id, |t| t.configurable_props.clone())?;
    if let Some(name) = &req.name
        && name.trim().is_empty()
    {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    if let Some(sent) = &req.configured_props {
        check_configured(&st, &props, sent, &scope.user)?;
    }
    scope.update(&st, &id, |t| {
        if let Some(sent) = &req.configured_props {
            t.configured_props = server_filled(&t.configurable_props, sent, &mut t.endpoint_url);
        }
        if let Some(active) = req.active {
            t.active = active;
        }
        if let Some(e) = req.emit_on_deploy {
            t.emit_on_deploy = e;
        }
        t.updated_ms = clock::now_ms();
    })?;
    if let Some(name) = &req.name {
        st.triggers.rename(&id, name);
    }
    let data = scope.update(&st, &id, |t| t.to_json())?;
    Ok(ok_json(json!({ "data": data })))
}

/// `DELETE …/deployed-triggers/{id}` → 204, no body. `ignore_hook_errors` is
/// read (a bool, else 400) and has nothing to ignore here: no hook fails.
pub async fn delete(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (q, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    q.bool("ignore_hook_errors")?;
    st.triggers
        .remove(&id, |t| scope.sees(t))
        .ok_or_else(|| trigger_not_found(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/deployed-triggers/{id}/events?n=` → `{data: [EmittedEvent]}`,
/// newest first, at most `n` (1..=100, default 20). No page_info.
pub async fn events(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (q, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let n = match q.get("n") {
        None | Some("") => DEFAULT_EVENTS,
        Some(s) => s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_EVENTS_N).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "n must be an integer from 1 to {MAX_EVENTS_N}, got {s:?}"
                ))
            })?,
    };
    let data: Vec<Value> = scope.update(&st, &id, |t| {
        t.events
            .iter()
            .rev()
            .take(n as usize)
            .map(|e| e.to_json())
            .collect()
    })?;
    Ok(ok_json(json!({ "data": data })))
}

/// `{webhook_urls, webhooks}`, not in `data` (SDK `GetTriggerWebhooksResponse`);
/// `signing_key` "is only returned for OAuth-authenticated requests".
fn webhooks_json(t: &Trigger, caller: &Caller) -> Value {
    let with_key = *caller == Caller::OAuth;
    json!({
        "webhook_urls": t.webhook_urls(),
        "webhooks": t.webhooks.iter().map(|w| w.to_list_json(with_key)).collect::<Vec<_>>(),
    })
}

/// `GET …/deployed-triggers/{id}/webhooks`.
pub async fn list_webhooks(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let data = scope.update(&st, &id, |t| webhooks_json(t, &caller))?;
    Ok(ok_json(data))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksBody {
    webhook_urls: Option<Vec<String>>,
}

/// `PUT …/deployed-triggers/{id}/webhooks` `{webhook_urls}`: the whole list is
/// replaced. A URL that stays keeps its webhook (id and key); a new URL gets a
/// new webhook. A URL given twice is refused (UNCONFIRMED).
pub async fn set_webhooks(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let req: WebhooksBody = parse_body(&body)?;
    let urls = req
        .webhook_urls
        .ok_or_else(|| ApiError::bad_request("webhook_urls is required"))?;
    for (i, url) in urls.iter().enumerate() {
        webhook_url(url)?;
        if urls[..i].contains(url) {
            return Err(ApiError::bad_request(format!(
                "webhook_urls has {url:?} twice"
            )));
        }
    }
    let data = scope.update(&st, &id, |t| {
        let mut old = std::mem::take(&mut t.webhooks);
        t.webhooks = urls
            .iter()
            .map(|url| match old.iter().position(|w| &w.url == url) {
                Some(i) => old.remove(i),
                None => Webhook::new(url),
            })
            .collect();
        webhooks_json(t, &caller)
    })?;
    Ok(ok_json(data))
}

/// `GET …/deployed-triggers/{id}/webhooks/{webhook_id}` → `{data: WebhookWithSigningKey}`.
/// The key is in it for every caller: the SDK's type requires it (UNCONFIRMED
/// for Connect-token callers).
pub async fn retrieve_webhook(
    State(st): State<SharedState>,
    Path((project, id, webhook_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let data = scope
        .update(&st, &id, |t| {
            t.webhooks
                .iter()
                .find(|w| w.id == webhook_id)
                .map(Webhook::to_full_json)
        })?
        .ok_or_else(|| ApiError::not_found(format!("webhook {webhook_id} not found")))?;
    Ok(ok_json(json!({ "data": data })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

/// `POST …/webhooks/{webhook_id}/regenerate_signing_key` (no body) →
/// `{data: WebhookWithSigningKey}` with a new key; deliveries from now on are
/// signed with it, so the old one stops verifying at once.
pub async fn regenerate_signing_key(
    State(st): State<SharedState>,
    Path((project, id, webhook_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let _: NoBody = parse_body(&body)?;
    let data = scope
        .update(&st, &id, |t| {
            t.webhooks.iter_mut().find(|w| w.id == webhook_id).map(|w| {
                w.regenerate();
                w.to_full_json()
            })
        })?
        .ok_or_else(|| ApiError::not_found(format!("webhook {webhook_id} not found")))?;
    Ok(ok_json(json!({ "data": data })))
}

/// `GET …/deployed-triggers/{id}/pipelines` → `{workflow_ids}`, not in `data`.
pub async fn pipelines(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let ids = scope.update(&st, &id, |t| t.workflow_ids.clone())?;
    Ok(ok_json(json!({ "workflow_ids": ids })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelinesBody {
    workflow_ids: Option<Vec<String>>,
}

/// `PUT …/deployed-triggers/{id}/pipelines` `{workflow_ids}` (required): stored
/// as given, answered as GET does. Nothing is delivered to workflows here.
pub async fn set_pipelines(
    State(st): State<SharedState>,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, scope) = Scope::of(&st, &project, raw.as_deref(), &headers, &caller)?;
    let req: PipelinesBody = parse_body(&body)?;
    let ids = req
        .workflow_ids
        .ok_or_else(|| ApiError::bad_request("workflow_ids is required"))?;
    for w in &ids {
        workflow_id(w)?;
    }
    let ids = scope.update(&st, &id, |t| {
        t.workflow_ids = ids;
        t.workflow_ids.clone()
    })?;
    Ok(ok_json(json!({ "workflow_ids": ids })))
}
