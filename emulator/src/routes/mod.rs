//! The HTTP surface: route table, layers, and checks shared by handlers.

pub mod accounts;
pub mod apps;
pub mod components;
pub mod file_stash;
pub mod proxy;
pub mod run;
pub mod tokens;
pub mod triggers;
pub mod users;

use std::any::Any;
use std::sync::OnceLock;

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

use crate::catalog::ComponentType;
use crate::error::{ApiError, ApiResult, json_response};
use crate::state::SharedState;
use crate::{auth, control, gateway};

/// Which of the three component collections a route serves; they share
/// handlers and differ only in what they admit.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Components,
    Actions,
    Triggers,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Components, Kind::Actions, Kind::Triggers];

    fn segment(self) -> &'static str {
        match self {
            Kind::Components => "components",
            Kind::Actions => "actions",
            Kind::Triggers => "triggers",
        }
    }

    pub fn admits(self, t: ComponentType) -> bool {
        match self {
            Kind::Components => true,
            Kind::Actions => t == ComponentType::Action,
            Kind::Triggers => t == ComponentType::Trigger,
        }
    }
}

pub fn router(state: SharedState) -> Router {
    let mut api = Router::new()
        .route("/v1/connect/apps", get(apps::list))
        .route("/v1/connect/apps/{app_id}", get(apps::retrieve))
        .route("/v1/connect/{project}/accounts", get(accounts::list))
        .route(
            "/v1/connect/{project}/accounts/{account_id}",
            get(accounts::retrieve).delete(accounts::delete),
        )
        .route(
            "/v1/connect/{project}/apps/{app_id}/accounts",
            delete(accounts::delete_by_app),
        )
        .route("/v1/connect/{project}/users", get(users::list))
        .route(
            "/v1/connect/{project}/users/{external_user_id}",
            delete(users::delete),
        )
        .route("/v1/connect/{project}/tokens", post(tokens::create))
        .route("/v1/connect/tokens/{ctok}/validate", get(tokens::validate))
        .route("/v1/connect/{project}/actions/run", post(run::run))
        .route("/v1/connect/{project}/triggers/deploy", post(triggers::deploy))
        .route(
            "/v1/connect/{project}/deployed-triggers",
            get(triggers::list),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}",
            get(triggers::retrieve)
                .put(triggers::update)
                .delete(triggers::delete),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}/events",
            get(triggers::events),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}/webhooks",
            get(triggers::list_webhooks).put(triggers::set_webhooks),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}/webhooks/{webhook_id}",
            get(triggers::retrieve_webhook),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}/webhooks/{webhook_id}/regenerate_signing_key",
            post(triggers::regenerate_signing_key),
        )
        .route(
            "/v1/connect/{project}/deployed-triggers/{trigger_id}/pipelines",
            get(triggers::pipelines).put(triggers::set_pipelines),
        )
        .route(
            "/v1/connect/{project}/file_stash/download",
            get(file_stash::download),
        )
        // HEAD comes in through the GET route and goes upstream as HEAD.
        .route(
            "/v1/connect/{project}/proxy/{url_64}",
            get(proxy::proxy)
                .post(proxy::proxy)
                .put(proxy::proxy)
                .patch(proxy::proxy)
                .delete(proxy::proxy),
        );
    for kind in Kind::ALL {
        let base = format!("/v1/connect/{{project}}/{}", kind.segment());
        api = api
            .route(&base, get(move |st, p, q| components::list(st, p, q, kind)))
            .route(
                &format!("{base}/{{key}}"),
                get(move |st, p, q| components::retrieve(st, p, q, kind)),
            )
            .route(
                &format!("{base}/configure"),
                post(move |st, p, b| components::configure(st, p, b, kind)),
            )
            .route(
                &format!("{base}/props"),
                post(move |st, p, b| components::reload_props(st, p, b, kind)),
            );
    }
    // Environment is checked on matched routes only, after auth (401 before 400).
    let api = api.route_layer(middleware::from_fn(require_environment));

    Router::new()
        .route("/v1/oauth/token", post(auth::oauth_token))
        .merge(api)
        .nest("/__emulator", control::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_bearer,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gateway::gateway,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("not found")
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal emulator error").into_response()
}

async fn require_environment(req: Request, next: Next) -> Response {
    match req
        .headers()
        .get("x-pd-environment")
        .map(|v| v.to_str().unwrap_or(""))
    {
        Some("development") | Some("production") => next.run(req).await,
        None => {
            ApiError::bad_request("missing x-pd-environment header (development or production)")
                .into_response()
        }
        Some(other) => ApiError::bad_request(format!(
            "invalid x-pd-environment {other:?}: must be development or production"
        ))
        .into_response(),
    }
}

/// Marks an answer that is not the API's own and goes out exactly as made:
/// an upstream's answer relayed by the proxy, S3's XML from a presigned URL.
#[derive(Debug, Clone, Copy)]
pub struct Verbatim;

/// Turns framework-made errors (405, extractor rejections, body limit) into
/// the API's JSON error shape, so no client ever sees text/plain.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if resp.extensions().get::<Verbatim>().is_some() {
        return resp;
    }
    let status = resp.status();
    // A known path with the wrong method is still an unknown route to the
    // contract (and to the real API, which answers 404 there).
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::not_found("not found").into_response();
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let text = to_bytes(resp.into_body(), 64 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| crate::error::reason_for(status));
    json_response(status, &json!({ "error": text }))
}

/// 400 for a malformed id, 404 for any project but ours.
pub fn check_project(st: &SharedState, project: &str) -> ApiResult<()> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let valid = PATTERN
        .get_or_init(|| Regex::new(r"^proj_[a-zA-Z0-9]+$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(project));
    if !valid {
        return Err(ApiError::bad_request(format!(
            "invalid project id {project:?}: must match ^proj_[a-zA-Z0-9]+$"
        )));
    }
    if project != st.cfg.project_id {
        return Err(ApiError::not_found(format!("project {project} not found")));
    }
    Ok(())
}

/// JSON body as a Value; an empty body reads as `{}` so the handler can
/// name the missing field instead of complaining about syntax.
pub fn body_value(body: &Bytes) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    }
    Ok(v)
}

pub fn typed<T: DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    typed(body_value(body)?)
}

/// An `Observation` of kind `error`: `{ts, k: "error", err: {name, message, stack?}}`.
pub fn error_observation(name: &str, message: &str, stack: Option<String>) -> Value {
    let mut err = json!({ "name": name, "message": message });
    if let Some(stack) = stack {
        err["stack"] = json!(stack);
    }
    json!({ "ts": crate::clock::now_ms(), "k": "error", "err": err })
}

/// A required non-empty string field.
pub fn required<'a>(v: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::bad_request(format!("{name} is required"))),
    }
}
