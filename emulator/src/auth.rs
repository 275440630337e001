//! OAuth client-credentials token issuance and bearer checks.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::clock;
use crate::error::{ApiError, json_response};
use crate::ids;
use crate::state::SharedState;

#[derive(Debug, Clone, Copy)]
struct IssuedToken {
    seq: u64,
    expires_at_ms: u64,
}

/// Issued access tokens, and the `--api-key` static tokens with their expiry.
/// Reads (every request) vastly outnumber writes, so RwLock.
#[derive(Default)]
pub struct TokenStore {
    tokens: RwLock<HashMap<String, IssuedToken>>,
    next_seq: AtomicU64,
    /// `--api-key` token -> expiry (ms). Real Connect endpoints take only OAuth
    /// access tokens (1 h) or Connect tokens, so a "static" token stops working.
    api_keys: RwLock<HashMap<String, u64>>,
    api_key_ttl_secs: u64,
}

pub enum TokenCheck {
    Valid,
    Missing,
    Invalid,
    Expired,
}

impl TokenStore {
    /// API keys start their lifetime now (at start-up).
    pub fn new(api_keys: impl IntoIterator<Item = String>, api_key_ttl_secs: u64) -> Self {
        let store = Self {
            api_keys: RwLock::new(api_keys.into_iter().map(|k| (k, 0)).collect()),
            api_key_ttl_secs,
            ..Self::default()
        };
        store.rearm_api_keys();
        store
    }

    /// Every API key valid again for a full `--api-key-ttl-secs` from now
    /// (start-up and `POST /__emulator/reset`).
    pub fn rearm_api_keys(&self) {
        let expires_at_ms =
            clock::now_ms().saturating_add(self.api_key_ttl_secs.saturating_mul(1000));
        for v in self
            .api_keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            *v = expires_at_ms;
        }
    }

    pub fn issue(&self, ttl_secs: u64) -> (String, u64) {
        let token = format!("pdemu_{}", ids::hex(32));
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let expires_at_ms = clock::now_ms().saturating_add(ttl_secs.saturating_mul(1000));
        self.tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), IssuedToken { seq, expires_at_ms });
        (token, seq)
    }

    /// The sequence number of an issued token, expired or not (for the request log).
    pub fn seq_of(&self, token: &str) -> Option<u64> {
        self.tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .map(|t| t.seq)
    }

    pub fn expire_all(&self) {
        let now = clock::now_ms();
        for t in self
            .tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            t.expires_at_ms = t.expires_at_ms.min(now);
        }
        for v in self
            .api_keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            *v = (*v).min(now);
        }
    }

    fn check(&self, token: &str) -> TokenCheck {
        if let Some(&expires_at_ms) = self
            .api_keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
        {
            return if clock::now_ms() >= expires_at_ms {
                TokenCheck::Expired
            } else {
                TokenCheck::Valid
            };
        }
        match self
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
        {
            None => TokenCheck::Invalid,
            Some(t) if clock::now_ms() >= t.expires_at_ms => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }
}

/// The token from `Authorization: Bearer <token>`, if that header is there.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

pub fn check_request(st: &SharedState, headers: &HeaderMap) -> TokenCheck {
    match bearer(headers) {
        None | Some("") => TokenCheck::Missing,
        Some(t) => st.tokens.check(t),
    }
}

/// Who authenticated a `/v1/connect/*` request, put in the request's
/// extensions by [`require_bearer`]. The Connect API takes two kinds of
/// bearer: OAuth access tokens (server side) and Connect tokens (client side,
/// "short-lived tokens scoped to individual end users"); some answers differ
/// between them (a trigger webhook's `signing_key` is "only returned for
/// OAuth-authenticated requests").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An issued OAuth access token, or an `--api-key` token (they stand for one).
    OAuth,
    /// A `ctok_…` from `POST …/tokens`: its external user and environment.
    Connect {
        external_user_id: String,
        environment: String,
    },
}

/// The routes that take a Connect token as bearer here: the deployed-trigger
/// ones, where the OAuth/Connect difference shows. Which other routes the real
/// API opens to Connect tokens is not modelled (they stay 401 here).
fn takes_connect_token(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1/connect/") else {
        return false;
    };
    let Some((_project, rest)) = rest.split_once('/') else {
        return false;
    };
    rest == "triggers/deploy"
        || rest == "deployed-triggers"
        || rest.starts_with("deployed-triggers/")
}

/// Guards every `/v1/connect/*` path, matched route or not, so an
/// unauthenticated caller learns nothing about which routes exist.
pub async fn require_bearer(
    State(st): State<SharedState>,
    mut req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/v1/connect/") {
        return next.run(req).await;
    }
    let msg = match check_request(&st, req.headers()) {
        TokenCheck::Valid => {
            req.extensions_mut().insert(Caller::OAuth);
            return next.run(req).await;
        }
        TokenCheck::Invalid if takes_connect_token(req.uri().path()) => {
            match connect_caller(&st, req.headers()) {
                Some(Ok(caller)) => {
                    req.extensions_mut().insert(caller);
                    return next.run(req).await;
                }
                Some(Err(())) => "connect token expired",
                None => "invalid access token",
            }
        }
        TokenCheck::Missing => "missing bearer token: send Authorization: Bearer <access_token>",
        TokenCheck::Invalid => "invalid access token",
        TokenCheck::Expired => "access token expired",
    };
    ApiError::unauthorized(msg).into_response()
}

/// The Connect token in the bearer, if it is one this emulator minted: Ok
/// while it lives, Err once expired. A token spent on connecting an account
/// still authenticates (single use is documented for the connect flow only;
/// UNCONFIRMED for API calls).
fn connect_caller(st: &SharedState, headers: &HeaderMap) -> Option<Result<Caller, ()>> {
    let token = bearer(headers)?;
    let tokens = crate::state::lock(&st.connect_tokens);
    let t = tokens.get(token)?;
    if t.expired() {
        return Some(Err(()));
    }
    Some(Ok(Caller::Connect {
        external_user_id: t.external_user_id.clone(),
        environment: t.environment.clone(),
    }))
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[allow(dead_code)] // accepted for fidelity; scopes are not enforced
    scope: Option<String>,
    #[allow(dead_code)] // SDK 1.x form bodies carry these
    project_id: Option<String>,
    #[allow(dead_code)]
    environment: Option<String>,
}

/// `POST /v1/oauth/token`. SDK 3 sends JSON; SDK 1 sent a form body
/// (client_secret_post), and client_secret_basic is accepted as well.
pub async fn oauth_token(
    State(st): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("application/x-www-form-urlencoded"));
    let mut req: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else if is_form {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid form body: {e}")))?
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    if req.client_id.is_none()
        && let Some((id, secret)) = basic_credentials(&headers)
    {
        req.client_id = Some(id);
        req.client_secret = Some(secret);
    }
    if req.grant_type.as_deref() != Some("client_credentials") {
        return Err(ApiError::bad_request("unsupported_grant_type"));
    }
    if req.client_id.as_deref() != Some(st.cfg.client_id.as_str())
        || req.client_secret.as_deref() != Some(st.cfg.client_secret.as_str())
    {
        return Err(ApiError::unauthorized("invalid_client"));
    }
    let (token, _) = st.tokens.issue(st.cfg.token_ttl_secs);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": st.cfg.token_ttl_secs,
            "created_at": clock::now_secs(),
        }),
    ))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}
