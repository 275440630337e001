//! `POST /v1/connect/{project}/tokens`: Connect tokens for the hosted
//! account-connection flow. The emulator only mints and remembers them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_project, parse_body, required};
use crate::clock;
use crate::error::{ApiError, ApiResult, ok_json};
use crate::ids;
use crate::state::{ConnectToken, SharedState, lock};

/// Default and maximum lifetime of a Connect token (4 hours), as documented.
const MAX_EXPIRES_IN: i64 = 14_400;

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // the optional fields are type-checked, then unused
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

pub async fn create(
    State(st): State<SharedState>,
    Path(project): Path<String>,
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
    let token = format!("ctok_{}", ids::hex(16));
    let expires_at_ms = clock::now_ms() + expires_in as u64 * 1000;
    let app_id = req.app_id.filter(|a| !a.is_empty());
    // Never with `&app=`, even when `app_id` is given: the docs tell the caller to
    // append `&app={appSlug}` before handing the link to the user.
    let url = format!("https://pipedream.com/_static/connect.html?token={token}&connectLink=true");
    lock(&st.connect_tokens).insert(
        token.clone(),
        ConnectToken {
            external_user_id: user.to_string(),
            expires_at_ms,
            app_id,
        },
    );
    Ok(ok_json(json!({
        "token": token,
        "expires_at": Value::String(clock::iso8601_ms(expires_at_ms)),
        "connect_link_url": url,
    })))
}
