//! Connect tokens for the hosted account-connection flow:
//! `POST /v1/connect/{project}/tokens` mints one and remembers its options;
//! `GET /v1/connect/tokens/{ctok}/validate` (no project in the path) answers
//! what the Connect UI asks before it shows the flow. `POST /__emulator/connect`
//! (control.rs) plays the user finishing it.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{check_project, parse_body, required};
use crate::clock;
use crate::error::{ApiError, ApiResult, ok_json};
use crate::ids;
use crate::query::Query;
use crate::state::{ConnectToken, SharedState, lock};

/// Default and maximum lifetime of a Connect token (4 hours), as documented.
const MAX_EXPIRES_IN: i64 = 14_400;

/// `project_app_name` in validate answers: the name the Connect UI shows.
pub const PROJECT_APP_NAME: &str = "Pipedream Emulator";

#[derive(Debug, Deserialize)]
struct CreateToken {
    external_user_id: Option<String>,
    allowed_origins: Option<Vec<String>>,
    success_redirect_uri: Option<String>,
    error_redirect_uri: Option<String>,
    webhook_uri: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
    allow_progressive_scopes: Option<bool>,
    app_id: Option<String>,
    oauth_app_id: Option<String>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

pub async fn create(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let req: CreateToken = parse_body(&body)?;
    let user = required(&req.external_user_id, "external_user_id")?;
    if user.chars().count() > 250 {
        return Err(ApiError::bad_request(
            "external_user_id must be at most 250 characters",
        ));
    }
    let expires_in = req.expires_in.unwrap_or(MAX_EXPIRES_IN);
    if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
        return Err(ApiError::bad_request(format!(
            "expires_in must be between 1 and {MAX_EXPIRES_IN} seconds"
        )));
    }
    let webhook_uri = non_empty(req.webhook_uri);
    if let Some(w) = &webhook_uri
        && !is_http_url(w)
    {
        return Err(ApiError::bad_request(format!(
            "webhook_uri must be an absolute http(s) URL, got {w:?}"
        )));
    }
    let token = format!("ctok_{}", ids::hex(16));
    let expires_at_ms = clock::now_ms() + expires_in as u64 * 1000;
    // Never with `&app=`, even when `app_id` is given: the docs tell the caller to
    // append `&app={appSlug}` before handing the link to the user.
    let url = format!("https://pipedream.com/_static/connect.html?token={token}&connectLink=true");
    // require_environment has already admitted only development|production.
    let environment = headers
        .get("x-pd-environment")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("production")
        .to_string();
    lock(&st.connect_tokens).insert(
        token.clone(),
        ConnectToken {
            external_user_id: user.to_string(),
            environment,
            expires_at_ms,
            app_id: non_empty(req.app_id),
            oauth_app_id: non_empty(req.oauth_app_id),
            success_redirect_uri: non_empty(req.success_redirect_uri),
            error_redirect_uri: non_empty(req.error_redirect_uri),
            webhook_uri,
            allowed_origins: req.allowed_origins.unwrap_or_default(),
            scope: non_empty(req.scope),
            allow_progressive_scopes: req.allow_progressive_scopes.unwrap_or(false),
            used: false,
        },
    );
    Ok(ok_json(json!({
        "token": token,
        "expires_at": Value::String(clock::iso8601_ms(expires_at_ms)),
        "connect_link_url": url,
    })))
}

/// An absolute `http://` or `https://` URL with a host.
pub fn is_http_url(s: &str) -> bool {
    s.parse::<Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some())
}

/// `GET /v1/connect/tokens/{ctok}/validate?app_id&account_id&oauth_app_id&app_override_id`.
///
/// Always 200 with the SDK's `ValidateTokenResponse`: `success` is its only
/// required field and `error` is documented as "Error message if validation
/// failed", so an unknown, expired or used token (or an app / account the
/// token cannot connect) is `{success: false, error, …}`, not a 4xx (the SDK
/// has no typed error for this call; a 4xx would surface as a bare PipedreamError).
pub async fn validate(
    State(st): State<SharedState>,
    Path(ctok): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let Some(t) = lock(&st.connect_tokens).get(&ctok).cloned() else {
        return Ok(ok_json(json!({
            "success": false,
            "error": format!("connect token {ctok} is not valid"),
        })));
    };
    let mut out = Map::new();
    out.insert("project_id".into(), json!(st.cfg.project_id));
    out.insert("project_environment".into(), json!(t.environment));
    out.insert("project_app_name".into(), json!(PROJECT_APP_NAME));
    if let Some(u) = &t.success_redirect_uri {
        out.insert("success_redirect_uri".into(), json!(u));
    }
    if let Some(u) = &t.error_redirect_uri {
        out.insert("error_redirect_uri".into(), json!(u));
    }
    if let Some(o) = q.non_empty("oauth_app_id").or(t.oauth_app_id.as_deref()) {
        out.insert("oauth_app_id".into(), json!(o));
    }
    if let Some(o) = q.non_empty("app_override_id") {
        // Echoed, as documented; the emulator has no overrides, so no field names.
        out.insert("app_override_id".into(), json!(o));
        out.insert("app_override_field_names".into(), json!([]));
    }
    match check_token(&st, &t, &ctok, &q) {
        Ok(app) => {
            if let Some(app) = app {
                out.insert("app".into(), app);
            }
            out.insert("success".into(), json!(true));
        }
        Err(e) => {
            out.insert("success".into(), json!(false));
            out.insert("error".into(), json!(e));
        }
    }
    Ok(ok_json(Value::Object(out)))
}

/// The app JSON the flow would connect (None when neither the request nor
/// the token names one), or why the token cannot be used.
fn check_token(
    st: &SharedState,
    t: &ConnectToken,
    ctok: &str,
    q: &Query,
) -> Result<Option<Value>, String> {
    if t.used {
        return Err(format!("connect token {ctok} has already been used"));
    }
    if t.expired() {
        return Err(format!("connect token {ctok} has expired"));
    }
    let app = resolve_app(st, t, q.non_empty("app_id"))?;
    if let Some(id) = q.non_empty("account_id") {
        let ok = st.accounts.find(id).is_some_and(|a| {
            a.external_id == t.external_user_id && app.is_none_or(|s| a.app_slug == s)
        });
        if !ok {
            return Err(format!("account {id} not found"));
        }
    }
    Ok(app.and_then(|s| st.catalog.app(s)).map(|a| a.json.clone()))
}

/// The name_slug of the app a connection with `t` is for: `requested` (an
/// `app_…` id or slug) or else the token's `app_id`; the two must agree.
pub fn resolve_app<'a>(
    st: &'a SharedState,
    t: &ConnectToken,
    requested: Option<&str>,
) -> Result<Option<&'a str>, String> {
    let lookup = |r: &str| {
        st.catalog
            .app(r)
            .map(|a| a.name_slug.as_str())
            .ok_or_else(|| format!("app {r} not found"))
    };
    let pinned = t.app_id.as_deref().map(lookup).transpose()?;
    let asked = requested.map(lookup).transpose()?;
    match (pinned, asked) {
        (Some(p), Some(a)) if p != a => {
            Err(format!("this connect token is scoped to app {p}, not {a}"))
        }
        (p, a) => Ok(a.or(p)),
    }
}
